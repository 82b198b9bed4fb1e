namespace Hearth.Store;

/// <summary>How a <see cref="ModelReference"/> names its file.</summary>
public enum ModelReferenceKind
{
    /// <summary><c>hf:owner/repo/path/file.gguf</c>: one exact file.</summary>
    HubFile,

    /// <summary><c>hf:owner/repo:QUANT</c> or <c>hf:owner/repo</c>: the file is chosen from the repository's listing.</summary>
    HubQuantization,

    /// <summary>A catalog short name, optionally with a quantization suffix.</summary>
    Catalog,
}

/// <summary>
/// A parsed model name as <c>hearth pull</c> accepts it. Forms:
/// <list type="bullet">
/// <item><c>hf:owner/repo/file.gguf</c> (the file may be in a folder: <c>hf:owner/repo/dir/file.gguf</c>);</item>
/// <item><c>hf:owner/repo:Q4_K_M</c>: the single-file GGUF whose name carries the tag (case-insensitive);</item>
/// <item><c>hf:owner/repo</c>: the repository's only GGUF file, otherwise its Q4_K_M;</item>
/// <item>a catalog name such as <c>qwen2.5:0.5b</c>, or with a tag: <c>qwen2.5:0.5b-q8_0</c>, <c>phi4-mini:q8_0</c>.</item>
/// </list>
/// </summary>
public sealed class ModelReference
{
    /// <summary>The prefix of Hub references.</summary>
    public const string HubPrefix = "hf:";

    /// <summary>The tag <c>hf:owner/repo</c> falls back to when the repository has several GGUF files.</summary>
    public const string DefaultQuantization = "Q4_K_M";

    private ModelReference(ModelReferenceKind kind, string name, string owner, string repository, string? file, string? quantization, CatalogEntry? entry)
    {
        Kind = kind;
        Name = name;
        Owner = owner;
        Repository = repository;
        File = file;
        Quantization = quantization;
        CatalogEntry = entry;
    }

    public ModelReferenceKind Kind { get; }

    /// <summary>The name the model gets in the store: the reference in canonical (lower-case) form, a valid <see cref="ModelName"/>.</summary>
    public string Name { get; }

    /// <summary>The Hub account owning the repository (letter case as given).</summary>
    public string Owner { get; }

    /// <summary>The Hub repository (letter case as given).</summary>
    public string Repository { get; }

    /// <summary>The file's path in the repository when it is known without asking the Hub; null for a quantization selection.</summary>
    public string? File { get; }

    /// <summary>The quantization tag to select, when the file is chosen by tag; null otherwise (and for bare <c>hf:owner/repo</c>).</summary>
    public string? Quantization { get; }

    /// <summary>The catalog entry of a catalog name.</summary>
    public CatalogEntry? CatalogEntry { get; }

    /// <summary>The branch, tag or commit to read from.</summary>
    public string Revision => CatalogEntry?.Revision ?? "main";

    /// <summary>The SHA-256 the reference pins (catalog entries may), or null.</summary>
    public string? Sha256 => File != null ? CatalogEntry?.Sha256 : null;

    /// <summary><c>owner/repo</c>.</summary>
    public string RepositoryId => Owner + "/" + Repository;

    /// <summary>The source in <c>hf:</c> form, letter case preserved: <c>hf:owner/repo/file</c> or <c>hf:owner/repo:QUANT</c>.</summary>
    public string Source => HubPrefix + RepositoryId + (File != null ? "/" + File : Quantization != null ? ":" + Quantization : "");

    public override string ToString() => Name;

    /// <summary>Parses a reference, with <see cref="ModelCatalog.Default"/> for short names.</summary>
    /// <exception cref="InvalidModelNameException">The text is malformed (bad characters, path components such as <c>..</c>).</exception>
    /// <exception cref="ModelNotFoundException">The text is well-formed but neither <c>hf:</c> nor a catalog name.</exception>
    public static ModelReference Parse(string text) => Parse(text, ModelCatalog.Default);

    /// <summary>Parses a reference against <paramref name="catalog"/>.</summary>
    /// <exception cref="InvalidModelNameException">The text is malformed (bad characters, path components such as <c>..</c>).</exception>
    /// <exception cref="ModelNotFoundException">The text is well-formed but neither <c>hf:</c> nor a catalog name.</exception>
    public static ModelReference Parse(string text, ModelCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(catalog);
        var trimmed = text.Trim();
        if (trimmed.StartsWith(HubPrefix, StringComparison.OrdinalIgnoreCase)) return ParseHub(text, trimmed[HubPrefix.Length..]);

        var name = ModelName.Normalize(trimmed);
        if (catalog.TryMatch(name, out var entry, out var quant))
        {
            return quant == null
                ? new ModelReference(ModelReferenceKind.Catalog, name, entry.Owner, entry.Repository, entry.File, null, entry)
                : new ModelReference(ModelReferenceKind.Catalog, name, entry.Owner, entry.Repository, null, quant.ToUpperInvariant(), entry);
        }

        throw new ModelNotFoundException(trimmed,
            $"unknown model '{trimmed}': give hf:OWNER/REPO/FILE.gguf, hf:OWNER/REPO:QUANT, or one of: {string.Join(", ", catalog.Entries.Select(e => e.Name))}");
    }

    /// <summary>Parses without throwing; <paramref name="reference"/> is null when the text is not a valid reference.</summary>
    public static bool TryParse(string text, ModelCatalog catalog, out ModelReference? reference)
    {
        try
        {
            reference = Parse(text, catalog);
            return true;
        }
        catch (ModelStoreException)
        {
            reference = null;
            return false;
        }
    }

    private static ModelReference ParseHub(string original, string rest)
    {
        string? quant = null;
        int colon = rest.IndexOf(':');
        if (colon >= 0)
        {
            quant = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!QuantizationTags.IsTag(quant)) throw new InvalidModelNameException(original, $"'{quant}' is not a quantization tag (such as Q4_K_M or Q8_0)");
        }

        var parts = rest.Split('/');
        if (parts.Length < 2) throw new InvalidModelNameException(original, "expected hf:OWNER/REPO/FILE.gguf or hf:OWNER/REPO:QUANT");
        CheckRepoPart(original, parts[0], "owner");
        CheckRepoPart(original, parts[1], "repository");
        string? file = null;
        if (parts.Length > 2)
        {
            if (quant != null) throw new InvalidModelNameException(original, "give either a file or a :QUANT tag, not both");
            file = string.Join('/', parts[2..]);
            if (!file.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase)) throw new InvalidModelNameException(original, $"'{file}' is not a .gguf file");
        }

        var name = ModelName.Normalize(HubPrefix + rest + (quant != null ? ":" + quant : ""));
        var kind = file != null ? ModelReferenceKind.HubFile : ModelReferenceKind.HubQuantization;
        return new ModelReference(kind, name, parts[0], parts[1], file, quant?.ToUpperInvariant(), null);
    }

    private static void CheckRepoPart(string original, string part, string what)
    {
        if (part.Length is 0 or > 96) throw new InvalidModelNameException(original, $"the {what} must be 1 to 96 characters");
        if (!char.IsAsciiLetterOrDigit(part[0]) || !part.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            throw new InvalidModelNameException(original, $"the {what} '{part}' may hold only letters, digits, '.', '_' and '-', starting with a letter or digit");
    }
}
