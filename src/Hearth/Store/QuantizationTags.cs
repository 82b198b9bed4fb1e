using System.Text.RegularExpressions;
using Hearth.Quantization;

namespace Hearth.Store;

/// <summary>Finding quantization tags (Q4_K_M, q8_0, F16, IQ4_XS, ...) in GGUF file names.</summary>
internal static partial class QuantizationTags
{
    /// <summary>Tags known to llama.cpp, longest first so <c>Q4_K_M</c> is found before <c>Q4_K</c> could be.</summary>
    private static readonly string[] s_known = Enum.GetNames<LlamaFileType>().Append("Q4_K").Append("Q5_K").Append("Q3_K")
        .OrderByDescending(n => n.Length).ToArray();

    /// <summary>Whether <paramref name="text"/> looks like a quantization tag: a letter, then letters, digits and underscores.</summary>
    public static bool IsTag(string text) => text.Length is > 0 and <= 24 && char.IsAsciiLetter(text[0]) && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>
    /// Whether <paramref name="fileName"/> contains <paramref name="tag"/> case-insensitively as a whole token: not
    /// preceded by a letter or digit and not followed by a letter, digit or underscore (so <c>Q4_K</c> does not match
    /// <c>Q4_K_M</c>, nor <c>Q4_XS</c> match <c>IQ4_XS</c>).
    /// </summary>
    public static bool Matches(string fileName, string tag)
    {
        for (int at = fileName.IndexOf(tag, StringComparison.OrdinalIgnoreCase); at >= 0; at = fileName.IndexOf(tag, at + 1, StringComparison.OrdinalIgnoreCase))
        {
            int end = at + tag.Length;
            bool startOk = at == 0 || !char.IsAsciiLetterOrDigit(fileName[at - 1]);
            bool endOk = end == fileName.Length || !(char.IsAsciiLetterOrDigit(fileName[end]) || fileName[end] == '_');
            if (startOk && endOk) return true;
        }

        return false;
    }

    /// <summary>The known tag a file name carries (upper case), or null.</summary>
    public static string? TagOf(string fileName) => s_known.FirstOrDefault(t => Matches(BaseName(fileName), t));

    /// <summary>Whether the file is one part of a split model (<c>-00001-of-00003.gguf</c>).</summary>
    public static bool IsSplitPart(string fileName) => SplitPart().IsMatch(fileName);

    /// <summary>Whether the path names a GGUF model file (not a multimodal projector).</summary>
    public static bool IsModelFile(string path) =>
        path.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) && !BaseName(path).StartsWith("mmproj", StringComparison.OrdinalIgnoreCase);

    public static string BaseName(string path) => path[(path.LastIndexOf('/') + 1)..];

    /// <summary>
    /// Picks the file for <paramref name="tag"/> among a repository's files: GGUF model files whose name carries the
    /// tag, single-file models preferred over split ones.
    /// </summary>
    /// <exception cref="QuantizationSelectionException">No file matches, several single files match, or only a split model does.</exception>
    public static HubFile Select(string repository, IReadOnlyList<HubFile> files, string tag)
    {
        var models = files.Where(f => IsModelFile(f.Path)).ToList();
        var available = models.Where(f => !IsSplitPart(f.Path)).Select(f => TagOf(f.Path)).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        string offered = available.Count > 0 ? "available: " + string.Join(", ", available) : "the repository has no single-file GGUF models";
        var matching = models.Where(f => Matches(f.Path, tag)).ToList();
        var single = matching.Where(f => !IsSplitPart(f.Path)).ToList();
        if (single.Count == 1) return single[0];
        if (single.Count > 1)
            throw new QuantizationSelectionException($"{repository}: several files match '{tag}' ({string.Join(", ", single.Select(f => f.Path))}); pull one by its file name with hf:{repository}/FILE", available);
        if (matching.Count > 0)
            throw new QuantizationSelectionException($"{repository}: '{tag}' is only available as a split model ({matching[0].Path}, ...), which Hearth cannot load; {offered}", available);
        throw new QuantizationSelectionException($"{repository}: no GGUF file matches '{tag}'; {offered}", available);
    }

    [GeneratedRegex(@"-\d{5}-of-\d{5}\.gguf$", RegexOptions.IgnoreCase)]
    private static partial Regex SplitPart();
}
