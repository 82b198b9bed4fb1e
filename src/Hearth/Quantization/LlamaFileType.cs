using System.Globalization;

namespace Hearth.Quantization;

/// <summary>
/// A model file's overall type as stored in <c>general.file_type</c>, numbered exactly as llama.cpp's
/// <c>llama_ftype</c> (<c>LLAMA_FTYPE_MOSTLY_*</c>). "Mostly" because 1-D tensors (norms, biases) stay F32 and the mixes
/// put some tensors in other types (see <see cref="QuantizationMix"/>). Member names are the ones
/// <c>llama-quantize</c> accepts on its command line.
/// </summary>
public enum LlamaFileType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q8_0 = 7,
    Q5_0 = 8,
    Q5_1 = 9,
    Q2_K = 10,
    Q3_K_S = 11,
    Q3_K_M = 12,
    Q3_K_L = 13,
    Q4_K_S = 14,
    Q4_K_M = 15,
    Q5_K_S = 16,
    Q5_K_M = 17,
    Q6_K = 18,
    IQ2_XXS = 19,
    IQ2_XS = 20,
    Q2_K_S = 21,
    IQ3_XS = 22,
    IQ3_XXS = 23,
    IQ1_S = 24,
    IQ4_NL = 25,
    IQ3_S = 26,
    IQ3_M = 27,
    IQ2_S = 28,
    IQ2_M = 29,
    IQ4_XS = 30,
    IQ1_M = 31,
    BF16 = 32,
    TQ1_0 = 36,
    TQ2_0 = 37,
    MXFP4_MOE = 38,
}

/// <summary>Names and parsing of <see cref="LlamaFileType"/>.</summary>
public static class LlamaFileTypes
{
    /// <summary>The quantization scheme version llama.cpp writes as <c>general.quantization_version</c> (GGML_QNT_VERSION).</summary>
    public const uint QuantizationVersion = 2;

    /// <summary>
    /// Parses a file type name such as <c>Q4_K_M</c>, <c>q8_0</c> or <c>F16</c> (case-insensitive; numbers are not
    /// accepted).
    /// </summary>
    public static bool TryParse(string? text, out LlamaFileType type)
    {
        type = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        if (s.Length == 0 || char.IsDigit(s[0]) || s[0] is '-' or '+' || s.Contains(',')) return false;
        return Enum.TryParse(s, ignoreCase: true, out type) && Enum.IsDefined(type);
    }

    /// <summary>Parses a file type name.</summary>
    /// <exception cref="ArgumentException">The name is not a llama.cpp file type; the message lists the ones Hearth can write.</exception>
    public static LlamaFileType Parse(string text) =>
        TryParse(text, out var type)
            ? type
            : throw new ArgumentException($"unknown file type '{text}' (Hearth can write: {string.Join(", ", QuantizationMix.SupportedFileTypes)})", nameof(text));

    /// <summary>The name of a <c>general.file_type</c> value, or <c>ftype N</c> for a number llama.cpp does not define.</summary>
    public static string Name(uint value) =>
        Enum.IsDefined((LlamaFileType)value) ? ((LlamaFileType)value).ToString() : "ftype " + value.ToString(CultureInfo.InvariantCulture);
}
