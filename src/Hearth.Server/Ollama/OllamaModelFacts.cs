using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Hearth.Gguf;
using Hearth.Quantization;

namespace Hearth.Server.Ollama;

/// <summary>What <c>/api/tags</c>, <c>/api/show</c> and <c>/api/ps</c> say about a model file.</summary>
internal sealed record OllamaModelFacts(string Digest, string Family, string ParameterSize, string QuantizationLevel)
{
    /// <summary>The <c>details</c> object.</summary>
    public JsonObject Details() => new()
    {
        ["parent_model"] = "",
        ["format"] = "gguf",
        ["family"] = Family,
        ["families"] = new JsonArray(Family),
        ["parameter_size"] = ParameterSize,
        ["quantization_level"] = QuantizationLevel,
    };

    /// <summary>Family, size and quantization from a file's metadata and tensor table.</summary>
    public static (string Family, string ParameterSize, string Quantization) Describe(GgufFile file)
    {
        string family = file.GetString("general.architecture") ?? "unknown";
        long parameters = file.GetInteger("general.parameter_count") is long n && n > 0 ? n : file.Tensors.Sum(t => t.ElementCount);
        string quantization = file.GetInteger("general.file_type") is long ft and >= 0 and <= uint.MaxValue
            ? LlamaFileTypes.Name((uint)ft)
            // Without general.file_type: the type holding most of the matrix weights.
            : file.Tensors.Where(t => t.Shape.Length >= 2).GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)).Select(g => g.Key.ToString()).FirstOrDefault() ?? "unknown";
        return (family, HumanCount(parameters), quantization);
    }

    /// <summary>A parameter count as Ollama prints it: <c>8.0B</c>, <c>494.03M</c>, <c>292.5K</c>.</summary>
    public static string HumanCount(long n) => n switch
    {
        >= 1_000_000_000 => (n / 1e9).ToString("0.0", CultureInfo.InvariantCulture) + "B",
        >= 1_000_000 => (n / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (n / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "K",
        _ => n.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// Facts about model files, each computed once per file version (path, length, modification time): the SHA-256 of a
/// multi-gigabyte file is read once, not on every <c>/api/tags</c>.
/// </summary>
internal sealed class OllamaModelCatalog
{
    private readonly ConcurrentDictionary<string, Lazy<Task<OllamaModelFacts>>> _facts = new(StringComparer.Ordinal);

    /// <exception cref="FileNotFoundException">The file is gone.</exception>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file.</exception>
    public async Task<OllamaModelFacts> FactsAsync(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"model file '{System.IO.Path.GetFileName(path)}' is gone", path);
        string prefix = info.FullName + "|";
        string key = $"{prefix}{info.Length}|{info.LastWriteTimeUtc.Ticks}";
        // Older versions of the same file are forgotten.
        foreach (var k in _facts.Keys)
        {
            if (k.StartsWith(prefix, StringComparison.Ordinal) && k != key) _facts.TryRemove(k, out _);
        }

        var lazy = _facts.GetOrAdd(key, _ => new Lazy<Task<OllamaModelFacts>>(() => Task.Run(() => ComputeAsync(info.FullName))));
        try
        {
            return await lazy.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failure is not remembered: the next request tries again.
            _facts.TryRemove(new KeyValuePair<string, Lazy<Task<OllamaModelFacts>>>(key, lazy));
            throw;
        }
    }

    private static async Task<OllamaModelFacts> ComputeAsync(string path)
    {
        (string family, string size, string quantization) described;
        using (var file = GgufFile.Open(path)) described = OllamaModelFacts.Describe(file);
        string digest;
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            digest = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream).ConfigureAwait(false));
        }

        return new OllamaModelFacts(digest, described.family, described.size, described.quantization);
    }
}
