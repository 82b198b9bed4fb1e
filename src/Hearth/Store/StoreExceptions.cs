namespace Hearth.Store;

/// <summary>Base of the errors the model store, the Hub client and the downloader raise.</summary>
public class ModelStoreException : HearthException
{
    public ModelStoreException(string message) : base(message) { }

    public ModelStoreException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// A model name or reference is malformed: characters outside the allowed set, a path-like component (<c>..</c>,
/// an absolute path, a backslash), or a form <see cref="ModelReference"/> does not know.
/// </summary>
public sealed class InvalidModelNameException : ModelStoreException
{
    public InvalidModelNameException(string name, string problem) : base($"invalid model name '{name}': {problem}") => Name = name;

    /// <summary>The name as given.</summary>
    public string Name { get; }
}

/// <summary>A name is not in the store, or is neither a catalog name nor an <c>hf:</c> reference.</summary>
public sealed class ModelNotFoundException : ModelStoreException
{
    public ModelNotFoundException(string name, string message) : base(message) => Name = name;

    /// <summary>"model 'NAME' not found".</summary>
    public ModelNotFoundException(string name) : this(name, $"model '{name}' not found")
    {
    }

    /// <summary>The name as given.</summary>
    public string Name { get; }
}

/// <summary>The Hugging Face Hub (or the endpoint standing in for it) refused or failed a request.</summary>
public class HubException : ModelStoreException
{
    public HubException(string message, int? statusCode = null) : base(message) => StatusCode = statusCode;

    public HubException(string message, Exception inner, int? statusCode = null) : base(message, inner) => StatusCode = statusCode;

    /// <summary>The HTTP status of the failing response, or null when no response came (a dropped connection).</summary>
    public int? StatusCode { get; }
}

/// <summary>The Hub answered 404: the repository or the file does not exist (or is private and no token was sent).</summary>
public sealed class HubNotFoundException : HubException
{
    public HubNotFoundException(string message) : base(message, 404) { }
}

/// <summary>The Hub answered 401 or 403: the repository is gated or private and needs a (valid) <c>HF_TOKEN</c>.</summary>
public sealed class HubAuthorizationException : HubException
{
    public HubAuthorizationException(string message, int statusCode) : base(message, statusCode) { }
}

/// <summary>
/// A <c>:QUANT</c> selection found no file, several equally good files, or only a split (multi-file) model;
/// <see cref="AvailableQuantizations"/> lists what the repository offers.
/// </summary>
public sealed class QuantizationSelectionException : ModelStoreException
{
    public QuantizationSelectionException(string message, IReadOnlyList<string> available) : base(message) => AvailableQuantizations = available;

    /// <summary>The quantization tags found in the repository's single-file GGUF names.</summary>
    public IReadOnlyList<string> AvailableQuantizations { get; }
}

/// <summary>
/// Downloaded bytes are not what was expected: a SHA-256 or size mismatch, more bytes than announced, or a file that
/// is not a valid GGUF. The partial download has been deleted; pulling again starts afresh.
/// </summary>
public sealed class ModelIntegrityException : ModelStoreException
{
    public ModelIntegrityException(string message) : base(message) { }

    public ModelIntegrityException(string message, Exception inner) : base(message, inner) { }
}
