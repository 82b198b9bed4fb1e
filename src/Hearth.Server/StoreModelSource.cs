using Hearth.Store;

namespace Hearth.Server;

/// <summary>
/// Serves the models of the local <see cref="ModelStore"/> (<c>~/.hearth</c> or <c>HEARTH_HOME</c>): lists, resolves and
/// deletes by store name or catalog alias, and pulls from the Hub. The store's name rules keep every path inside it.
/// </summary>
public sealed class StoreModelSource(ModelStore store, HubClient hub) : IModelSource
{
    public ModelStore Store { get; } = store;

    public IReadOnlyList<ModelEntry> List() =>
        Store.List().Select(m => new ModelEntry(m.Name, m.Path, m.Size, File.GetLastWriteTimeUtc(m.Path))).ToList();

    public string Resolve(string name)
    {
        try
        {
            return Store.Resolve(name);
        }
        catch (InvalidModelNameException e)
        {
            throw new Hearth.Store.ModelNotFoundException(name, $"model '{name}' not found: {e.Message}");
        }
    }

    public async Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation)
    {
        var report = new Progress(progress);
        var stored = await Store.PullAsync(name, hub, report, cancellation).ConfigureAwait(false);
        progress.Report(new PullStatus($"pulled {stored.Name}", stored.Size, stored.Size, "sha256:" + stored.Sha256));
    }

    public bool Delete(string name)
    {
        if (Store.Find(name) == null) return false;
        Store.Remove(name);
        return true;
    }

    /// <summary>Store progress in the words Ollama's pull stream uses.</summary>
    private sealed class Progress(IProgress<PullStatus> target) : IProgress<PullProgress>
    {
        public void Report(PullProgress value) => target.Report(value.Stage switch
        {
            PullStage.Resolving => new PullStatus("pulling manifest"),
            PullStage.Downloading => new PullStatus($"pulling {value.File}", value.TotalBytes, value.BytesDone),
            PullStage.Retrying => new PullStatus($"retrying {value.File}: {value.Message}", value.TotalBytes, value.BytesDone),
            PullStage.Verifying => new PullStatus("verifying sha256 digest", value.TotalBytes, value.BytesDone),
            PullStage.UpToDate => new PullStatus("up to date", value.TotalBytes, value.BytesDone),
            _ => new PullStatus("writing manifest", value.TotalBytes, value.BytesDone),
        });
    }
}

/// <summary>Several sources as one: lists them all (the first source wins a name), resolves in order, pulls and deletes through the first that can.</summary>
public sealed class CompositeModelSource(params IModelSource[] sources) : IModelSource
{
    public IReadOnlyList<ModelEntry> List()
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        return sources.SelectMany(s => s.List()).Where(m => seen.Add(m.Name)).ToList();
    }

    public string Resolve(string name)
    {
        Hearth.Store.ModelNotFoundException? last = null;
        foreach (var s in sources)
        {
            try
            {
                return s.Resolve(name);
            }
            catch (Hearth.Store.ModelNotFoundException e)
            {
                last = e;
            }
        }

        throw last ?? new Hearth.Store.ModelNotFoundException(name);
    }

    public async Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation)
    {
        foreach (var s in sources)
        {
            try
            {
                await s.PullAsync(name, progress, cancellation).ConfigureAwait(false);
                return;
            }
            catch (NotSupportedException)
            {
            }
        }

        throw new NotSupportedException("no model source here can pull models");
    }

    public bool Delete(string name)
    {
        foreach (var s in sources)
        {
            try
            {
                if (s.Delete(name)) return true;
            }
            catch (NotSupportedException)
            {
            }
        }

        return false;
    }
}
