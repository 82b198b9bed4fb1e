using System.Globalization;
using System.Text.Json;
using Hearth.Gguf;
using Hearth.Quantization;

namespace Hearth.Store;

/// <summary>A model in the store, as its manifest records it.</summary>
/// <param name="Name">The store name (canonical, lower case).</param>
/// <param name="Source">Where it came from: <c>hf:owner/repo/file</c>.</param>
/// <param name="Repository">The Hub repository, <c>owner/repo</c>.</param>
/// <param name="Revision">The revision it was read from.</param>
/// <param name="File">The file's path in the repository.</param>
/// <param name="Path">The GGUF file on this machine (always inside the store's models directory).</param>
/// <param name="Size">Bytes.</param>
/// <param name="Sha256">The file's SHA-256, lower-case hex.</param>
/// <param name="Verified">Whether the hash matched a value given by the catalog or the Hub when it was pulled.</param>
/// <param name="PulledAt">When the pull completed (UTC).</param>
/// <param name="Architecture"><c>general.architecture</c>, when present.</param>
/// <param name="FileType">The llama.cpp file type (<c>general.file_type</c>), such as Q4_K_M, when present.</param>
public sealed record StoredModel(string Name, string Source, string Repository, string Revision, string File, string Path, long Size, string Sha256,
    bool Verified, DateTimeOffset PulledAt, string? Architecture, string? FileType);

/// <summary>What <c>hearth show</c> prints: a stored model and a summary of its GGUF metadata.</summary>
/// <param name="Model">The store's record.</param>
/// <param name="DisplayName"><c>general.name</c>, when present.</param>
/// <param name="Architecture"><c>general.architecture</c>.</param>
/// <param name="ParameterCount">Elements in all tensors.</param>
/// <param name="FileType">The llama.cpp file type name, when <c>general.file_type</c> is present.</param>
/// <param name="ContextLength"><c>{arch}.context_length</c>, when present.</param>
/// <param name="HasChatTemplate">Whether <c>tokenizer.chat_template</c> is present.</param>
/// <param name="TensorCount">Tensors in the file.</param>
/// <param name="GgufVersion">The GGUF version.</param>
public sealed record ModelDetails(StoredModel Model, string? DisplayName, string? Architecture, long ParameterCount, string? FileType, long? ContextLength,
    bool HasChatTemplate, int TensorCount, uint GgufVersion);

/// <summary>
/// The local model store: <c>{root}/models/</c> holds each model as <c>STEM.gguf</c> with a JSON manifest
/// <c>STEM.json</c> (name, source, file, size, sha256, pulled-at), where STEM is <see cref="ModelName.FileStem"/> of its
/// name. A download in progress lives in <c>STEM.gguf.partial</c> and is renamed to <c>STEM.gguf</c> only once its
/// SHA-256 and GGUF structure are verified, so the final name never holds a partial file. Names are validated by
/// <see cref="ModelName"/>: no name resolves to a path outside the models directory. Paths never come from manifests.
/// </summary>
public sealed class ModelStore
{
    private const int MaxManifestBytes = 1 << 20;
    private const string GgufExtension = ".gguf";
    private const string ManifestExtension = ".json";

    /// <summary>The suffix of a download in progress.</summary>
    public const string PartialExtension = ".partial";

    /// <summary>A store rooted at <paramref name="root"/> (the models are in <c>root/models</c>); nothing is created until a pull.</summary>
    /// <param name="root">The store's root directory.</param>
    /// <param name="catalog">Short names for <see cref="Resolve"/> and pulls; <see cref="ModelCatalog.Default"/> when null.</param>
    public ModelStore(string root, ModelCatalog? catalog = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = System.IO.Path.GetFullPath(root);
        ModelsDirectory = System.IO.Path.Combine(Root, "models");
        Catalog = catalog ?? ModelCatalog.Default;
    }

    /// <summary>The store's root directory.</summary>
    public string Root { get; }

    /// <summary>Where the GGUF files and manifests are.</summary>
    public string ModelsDirectory { get; }

    /// <summary>The catalog short names are read from.</summary>
    public ModelCatalog Catalog { get; }

    /// <summary>The store root: <c>HEARTH_HOME</c> when set, otherwise <c>~/.hearth</c>.</summary>
    /// <param name="getVariable">Reads an environment variable; <see cref="Environment.GetEnvironmentVariable(string)"/> when null.</param>
    /// <exception cref="ModelStoreException">Neither <c>HEARTH_HOME</c> nor a home directory is known.</exception>
    public static string DefaultRoot(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var home = getVariable("HEARTH_HOME");
        if (!string.IsNullOrWhiteSpace(home)) return System.IO.Path.GetFullPath(home);
        var profile = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (string.IsNullOrEmpty(profile)) throw new ModelStoreException("no home directory is known: set HEARTH_HOME to the directory for Hearth's models");
        return System.IO.Path.Combine(profile, ".hearth");
    }

    /// <summary>The store at <see cref="DefaultRoot"/>.</summary>
    public static ModelStore FromEnvironment(Func<string, string?>? getVariable = null) => new(DefaultRoot(getVariable));

    /// <summary>The models in the store, by name. Manifests that are unreadable or whose GGUF file is missing are left out.</summary>
    public IReadOnlyList<StoredModel> List()
    {
        if (!Directory.Exists(ModelsDirectory)) return [];
        var models = new List<StoredModel>();
        foreach (var manifest in Directory.EnumerateFiles(ModelsDirectory, "*" + ManifestExtension))
        {
            var stem = System.IO.Path.GetFileNameWithoutExtension(manifest);
            if (ReadManifest(manifest) is { } model && ModelName.FileStem(model.Name) == stem) models.Add(model);
        }

        return models.OrderBy(m => m.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Finds a stored model by name: its store name in any letter case, any spelling of the same reference
    /// (<c>hf:Owner/Repo/file.gguf</c>), or a catalog name / <c>hf:</c> file whose source file is in the store under another name.
    /// </summary>
    /// <returns>The model, or null when it is not in the store.</returns>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name (for example it contains <c>..</c> or a backslash).</exception>
    public StoredModel? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var canonical = ModelReference.TryParse(name, Catalog, out var reference) ? reference!.Name : ModelName.Normalize(name.Trim());
        if (ReadManifest(ManifestPath(canonical)) is { } model && model.Name == canonical) return model;
        if (reference?.File == null) return null;
        return List().FirstOrDefault(m => string.Equals(m.Repository, reference.RepositoryId, StringComparison.OrdinalIgnoreCase) && m.File == reference.File);
    }

    /// <summary>Like <see cref="Find"/>, but a missing model is an error.</summary>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name.</exception>
    /// <exception cref="ModelNotFoundException">No such model in the store; the message says how to pull it.</exception>
    public StoredModel Get(string name) =>
        Find(name) ?? throw new ModelNotFoundException(name, $"model '{name}' is not in the store ({ModelsDirectory}); pull it with: hearth pull {name}");

    /// <summary>
    /// The GGUF path of a stored model, for loading. Only store names and aliases resolve; file paths do not, so a
    /// name from a network request can never make the caller read a file outside the store.
    /// </summary>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name.</exception>
    /// <exception cref="ModelNotFoundException">No such model in the store.</exception>
    public string Resolve(string name) => Get(name).Path;

    /// <summary>A summary of a stored model's GGUF metadata.</summary>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name.</exception>
    /// <exception cref="ModelNotFoundException">No such model in the store.</exception>
    /// <exception cref="GgufFormatException">The stored file has become unreadable.</exception>
    public ModelDetails Show(string name)
    {
        var model = Get(name);
        using var gguf = GgufFile.Open(model.Path);
        var arch = gguf.GetString("general.architecture");
        return new ModelDetails(model, gguf.GetString("general.name"), arch, gguf.Tensors.Sum(t => t.ElementCount), FileTypeOf(gguf),
            arch != null ? gguf.GetInteger(arch + ".context_length") : null, gguf.Contains("tokenizer.chat_template"), gguf.Tensors.Count, gguf.Version);
    }

    /// <summary>Deletes a stored model: its GGUF file, its manifest and any partial download under its name.</summary>
    /// <returns>The model that was removed.</returns>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name.</exception>
    /// <exception cref="ModelNotFoundException">No such model in the store.</exception>
    public StoredModel Remove(string name)
    {
        var model = Get(name);
        // The manifest first: a model without a manifest is not listed, so a failure half way leaves no ghost entry.
        File.Delete(ManifestPath(model.Name));
        File.Delete(GgufPath(model.Name));
        File.Delete(PartialPath(model.Name));
        return model;
    }

    /// <summary>The path a download of <paramref name="name"/> in progress is kept at.</summary>
    /// <exception cref="InvalidModelNameException">The name is not a valid model name.</exception>
    public string PartialPath(string name) => GgufPath(name) + PartialExtension;

    /// <summary>Parses <paramref name="reference"/> (see <see cref="ModelReference"/>) and pulls it.</summary>
    /// <exception cref="InvalidModelNameException">The reference is malformed.</exception>
    /// <exception cref="ModelNotFoundException">It is neither an <c>hf:</c> reference nor a catalog name.</exception>
    public Task<StoredModel> PullAsync(string reference, HubClient hub, IProgress<PullProgress>? progress = null, CancellationToken cancellationToken = default) =>
        PullAsync(ModelReference.Parse(reference, Catalog), hub, progress, cancellationToken);

    /// <summary>
    /// Downloads a model into the store under <see cref="ModelReference.Name"/>: resolves the file on the Hub, resumes
    /// or starts <c>STEM.gguf.partial</c>, verifies its SHA-256 (when the catalog or the Hub gives one) and that it is a
    /// valid GGUF, then renames it to <c>STEM.gguf</c> and writes the manifest. When the store already holds the same
    /// file (same SHA-256) nothing is downloaded. On failure or cancellation the final name is untouched; a partial
    /// file is kept for resuming unless its bytes were found corrupt.
    /// </summary>
    /// <exception cref="HubNotFoundException">The repository or file does not exist (404).</exception>
    /// <exception cref="HubAuthorizationException">401/403: a gated or private repository needs HF_TOKEN.</exception>
    /// <exception cref="QuantizationSelectionException">A <c>:QUANT</c> tag selects no file or several.</exception>
    /// <exception cref="ModelIntegrityException">The download's hash or size is wrong or it is not a GGUF file.</exception>
    /// <exception cref="HubException">The Hub failed, or the connection kept dropping.</exception>
    /// <exception cref="ModelStoreException">Another pull of the same name is running.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<StoredModel> PullAsync(ModelReference reference, HubClient hub, IProgress<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(hub);
        var name = reference.Name;
        Directory.CreateDirectory(ModelsDirectory);
        using var pullLock = AcquirePullLock(name);
        progress?.Report(new PullProgress(PullStage.Resolving, name, reference.File, 0, null));
        var file = await hub.ResolveAsync(reference, cancellationToken).ConfigureAwait(false);

        if (ReadManifest(ManifestPath(name)) is { } existing && existing.Name == name && file.Sha256 != null && existing.Sha256 == file.Sha256)
        {
            progress?.Report(new PullProgress(PullStage.UpToDate, name, file.Path, existing.Size, existing.Size));
            return existing;
        }

        var partial = PartialPath(name);
        var download = await new ModelDownloader(hub).DownloadAsync(
            new DownloadRequest(hub.FileUri(file.Owner, file.Repository, file.Revision, file.Path), partial, name, file.Path, file.Size, file.Sha256),
            progress, cancellationToken).ConfigureAwait(false);

        string? arch, fileType;
        try
        {
            using var gguf = GgufFile.Open(partial);
            arch = gguf.GetString("general.architecture");
            fileType = FileTypeOf(gguf);
        }
        catch (GgufFormatException e)
        {
            File.Delete(partial);
            throw new ModelIntegrityException($"{file.Path} is not a valid GGUF file ({e.Problem}); the download was deleted", e);
        }

        var model = new StoredModel(name, $"{ModelReference.HubPrefix}{file.Owner}/{file.Repository}/{file.Path}", $"{file.Owner}/{file.Repository}", file.Revision,
            file.Path, GgufPath(name), download.Size, download.Sha256, download.Verified, DateTimeOffset.UtcNow, arch, fileType);
        File.Move(partial, model.Path, overwrite: true);
        WriteManifest(model);
        progress?.Report(new PullProgress(PullStage.Completed, name, file.Path, model.Size, model.Size));
        return model;
    }

    private string GgufPath(string name) => ConfinedPath(ModelName.FileStem(name) + GgufExtension);

    private string ManifestPath(string name) => ConfinedPath(ModelName.FileStem(name) + ManifestExtension);

    /// <summary>A file directly in the models directory; the name rules make escaping impossible, this checks it once more.</summary>
    private string ConfinedPath(string fileName)
    {
        var path = System.IO.Path.GetFullPath(System.IO.Path.Combine(ModelsDirectory, fileName));
        if (!string.Equals(System.IO.Path.GetDirectoryName(path), ModelsDirectory, StringComparison.Ordinal))
            throw new InvalidModelNameException(fileName, "it does not name a file inside the store");
        return path;
    }

    private IDisposable AcquirePullLock(string name)
    {
        var path = ConfinedPath(ModelName.FileStem(name) + ".lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new ModelStoreException($"another pull of '{name}' is running (lock {path})", e);
        }
    }

    private static string? FileTypeOf(GgufFile gguf) =>
        gguf.GetInteger("general.file_type") is { } t and >= 0 and <= uint.MaxValue ? LlamaFileTypes.Name((uint)t) : null;

    private StoredModel? ReadManifest(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxManifestBytes) return null;
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            string? S(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            var name = S("name");
            if (name == null || !ModelName.IsValid(name) || name != name.ToLowerInvariant()) return null;
            var gguf = GgufPath(name);
            if (!File.Exists(gguf)) return null;
            long size = root.TryGetProperty("size", out var sz) && sz.TryGetInt64(out var n) ? n : new FileInfo(gguf).Length;
            var pulledAt = DateTimeOffset.TryParse(S("pulledAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var when) ? when : File.GetLastWriteTimeUtc(gguf);
            bool verified = root.TryGetProperty("verified", out var ver) && ver.ValueKind == JsonValueKind.True;
            return new StoredModel(name, S("source") ?? "", S("repository") ?? "", S("revision") ?? "main", S("file") ?? "", gguf, size, S("sha256") ?? "",
                verified, pulledAt, S("architecture"), S("fileType"));
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void WriteManifest(StoredModel model)
    {
        var path = ManifestPath(model.Name);
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("format", 1);
            w.WriteString("name", model.Name);
            w.WriteString("source", model.Source);
            w.WriteString("repository", model.Repository);
            w.WriteString("revision", model.Revision);
            w.WriteString("file", model.File);
            w.WriteNumber("size", model.Size);
            w.WriteString("sha256", model.Sha256);
            w.WriteBoolean("verified", model.Verified);
            w.WriteString("pulledAt", model.PulledAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (model.Architecture != null) w.WriteString("architecture", model.Architecture);
            if (model.FileType != null) w.WriteString("fileType", model.FileType);
            w.WriteEndObject();
        }

        File.Move(temp, path, overwrite: true);
    }
}
