namespace Hearth.Server;

/// <summary>A model the server can serve, as listed by <c>/v1/models</c> and <c>/api/tags</c>.</summary>
public sealed record ModelEntry(string Name, string Path, long Size, DateTimeOffset Modified);

/// <summary>Progress of a pull, as <c>/api/pull</c> streams it.</summary>
public sealed record PullStatus(string Status, long? Total = null, long? Completed = null, string? Digest = null);

/// <summary>
/// Where the server's models come from (a models directory, the model store). Names are the only thing a request can
/// give: a source maps them to files it owns and never to an arbitrary path.
/// </summary>
public interface IModelSource
{
    /// <summary>Every model that can be served.</summary>
    IReadOnlyList<ModelEntry> List();

    /// <summary>The GGUF path of <paramref name="name"/>.</summary>
    /// <exception cref="Hearth.Store.ModelNotFoundException">No such model (or the name is not a valid model name).</exception>
    string Resolve(string name);

    /// <summary>Downloads <paramref name="name"/> into the source.</summary>
    /// <exception cref="NotSupportedException">This source cannot pull.</exception>
    Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation);

    /// <summary>Deletes a model; false when there is no such model.</summary>
    /// <exception cref="NotSupportedException">This source cannot delete.</exception>
    bool Delete(string name);
}
