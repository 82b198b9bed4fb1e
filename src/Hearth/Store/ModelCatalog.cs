namespace Hearth.Store;

/// <summary>
/// A short model name (such as <c>qwen2.5:0.5b</c>) and the public GGUF file on the Hugging Face Hub it stands for.
/// </summary>
/// <param name="Name">The short name, lower case, a valid <see cref="ModelName"/>.</param>
/// <param name="Owner">The Hub account that owns the repository.</param>
/// <param name="Repository">The Hub repository.</param>
/// <param name="File">The default file in the repository (its default quantization).</param>
/// <param name="Description">One line for listings.</param>
/// <param name="Sha256">The file's SHA-256 in lower-case hex when pinned; null to take it from the Hub.</param>
/// <param name="Revision">The branch, tag or commit the file is read from.</param>
public sealed record CatalogEntry(string Name, string Owner, string Repository, string File, string Description, string? Sha256 = null, string Revision = "main");

/// <summary>
/// The built-in short names <c>hearth pull</c> understands. A tag suffix picks another quantization from the same
/// repository: <c>qwen2.5:0.5b-q8_0</c>, or <c>phi4-mini:q8_0</c> for names without a colon.
/// </summary>
public sealed class ModelCatalog
{
    private readonly Dictionary<string, CatalogEntry> _entries;

    /// <summary>A catalog of the given entries (tests and embedders supply their own).</summary>
    /// <exception cref="ArgumentException">An entry has an invalid or duplicate name.</exception>
    public ModelCatalog(IEnumerable<CatalogEntry> entries)
    {
        _entries = new Dictionary<string, CatalogEntry>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!ModelName.IsValid(e.Name) || e.Name != e.Name.ToLowerInvariant() || e.Name.StartsWith("hf:", StringComparison.Ordinal))
                throw new ArgumentException($"catalog name '{e.Name}' is not a lower-case model name", nameof(entries));
            if (!_entries.TryAdd(e.Name, e)) throw new ArgumentException($"duplicate catalog name '{e.Name}'", nameof(entries));
        }
    }

    /// <summary>The built-in catalog: small instruction-tuned models in public, ungated GGUF repositories.</summary>
    public static ModelCatalog Default { get; } = new(
    [
        new("qwen2.5:0.5b", "Qwen", "Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf", "Qwen2.5 0.5B Instruct, Q4_K_M"),
        new("qwen2.5:1.5b", "Qwen", "Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf", "Qwen2.5 1.5B Instruct, Q4_K_M"),
        new("qwen2.5:3b", "Qwen", "Qwen2.5-3B-Instruct-GGUF", "qwen2.5-3b-instruct-q4_k_m.gguf", "Qwen2.5 3B Instruct, Q4_K_M"),
        new("qwen3:0.6b", "bartowski", "Qwen_Qwen3-0.6B-GGUF", "Qwen_Qwen3-0.6B-Q4_K_M.gguf", "Qwen3 0.6B, Q4_K_M"),
        new("qwen3:1.7b", "bartowski", "Qwen_Qwen3-1.7B-GGUF", "Qwen_Qwen3-1.7B-Q4_K_M.gguf", "Qwen3 1.7B, Q4_K_M"),
        new("llama3.2:1b", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Llama 3.2 1B Instruct, Q4_K_M"),
        new("llama3.2:3b", "bartowski", "Llama-3.2-3B-Instruct-GGUF", "Llama-3.2-3B-Instruct-Q4_K_M.gguf", "Llama 3.2 3B Instruct, Q4_K_M"),
        new("smollm2:135m", "HuggingFaceTB", "SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-q8_0.gguf", "SmolLM2 135M Instruct, Q8_0"),
        new("smollm2:360m", "HuggingFaceTB", "SmolLM2-360M-Instruct-GGUF", "smollm2-360m-instruct-q8_0.gguf", "SmolLM2 360M Instruct, Q8_0"),
        new("smollm2:1.7b", "HuggingFaceTB", "SmolLM2-1.7B-Instruct-GGUF", "smollm2-1.7b-instruct-q4_k_m.gguf", "SmolLM2 1.7B Instruct, Q4_K_M"),
        new("phi4-mini", "bartowski", "microsoft_Phi-4-mini-instruct-GGUF", "microsoft_Phi-4-mini-instruct-Q4_K_M.gguf", "Phi-4 mini instruct 3.8B, Q4_K_M"),
        new("gemma3:1b", "bartowski", "google_gemma-3-1b-it-GGUF", "google_gemma-3-1b-it-Q4_K_M.gguf", "Gemma 3 1B instruct, Q4_K_M"),
        new("gemma2:2b", "bartowski", "gemma-2-2b-it-GGUF", "gemma-2-2b-it-Q4_K_M.gguf", "Gemma 2 2B instruct, Q4_K_M"),
    ]);

    /// <summary>Every entry, in catalog order.</summary>
    public IReadOnlyCollection<CatalogEntry> Entries => _entries.Values;

    /// <summary>Looks up an exact short name (case-insensitive), without a quantization suffix.</summary>
    public CatalogEntry? Find(string name) => _entries.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>
    /// Splits <paramref name="name"/> into a catalog entry and an optional quantization tag: the exact name, or
    /// <c>NAME-QUANT</c>, or <c>NAME:QUANT</c> for entries whose name has no colon.
    /// </summary>
    /// <returns>Whether the name belongs to the catalog.</returns>
    public bool TryMatch(string name, out CatalogEntry entry, out string? quantization)
    {
        var lower = name.ToLowerInvariant();
        quantization = null;
        if (_entries.TryGetValue(lower, out entry!)) return true;
        foreach (var e in _entries.Values.OrderByDescending(e => e.Name.Length))
        {
            foreach (var separator in e.Name.Contains(':') ? "-" : "-:")
            {
                var prefix = e.Name + separator;
                if (lower.Length > prefix.Length && lower.StartsWith(prefix, StringComparison.Ordinal) && QuantizationTags.IsTag(lower[prefix.Length..]))
                {
                    entry = e;
                    quantization = lower[prefix.Length..];
                    return true;
                }
            }
        }

        entry = null!;
        return false;
    }
}
