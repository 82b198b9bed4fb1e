using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;

namespace Hearth.Serving;

/// <summary>How a <see cref="ModelHost"/> finds, loads and keeps models.</summary>
public sealed record ModelHostOptions
{
    /// <summary>Turns a model name from a request into a GGUF path; throws <see cref="Hearth.Store.ModelNotFoundException"/> for unknown names.</summary>
    public required Func<string, string> Resolve { get; init; }

    /// <summary>Bytes that loaded models (file + KV caches + buffers) may occupy together; 0 is unlimited.</summary>
    public long MemoryBudget { get; init; }

    /// <summary>How long an unused model stays loaded when a request gives no keep-alive.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromMinutes(5);

    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>Compute threads per model; 0 uses every core.</summary>
    public int Threads { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>A model does not fit in the memory budget even after every idle model was unloaded.</summary>
public sealed class ModelMemoryException(string message) : HearthException(message);

/// <summary>A model loaded by a <see cref="ModelHost"/>: the weights, its scheduler, and clients over it.</summary>
public sealed class LoadedModel
{
    internal LoadedModel(string name, string path, LanguageModel model, SequenceScheduler scheduler, DateTimeOffset loadedAt)
    {
        Name = name;
        Path = path;
        Model = model;
        Scheduler = scheduler;
        LoadedAt = loadedAt;
        Template = ChatTemplate.ForModel(model.File);
        Chat = new HearthChatClient(scheduler, Template, new GrammarChatConstraints());
        Embeddings = new HearthEmbeddingGenerator(scheduler);
    }

    public string Name { get; }

    public string Path { get; }

    public LanguageModel Model { get; }

    public SequenceScheduler Scheduler { get; }

    public ChatTemplate Template { get; }

    public HearthChatClient Chat { get; }

    public HearthEmbeddingGenerator Embeddings { get; }

    public DateTimeOffset LoadedAt { get; }

    /// <summary>File size plus every sequence's KV cache and buffers: what the model holds when all its pages are touched.</summary>
    public long Bytes => Model.File.FileLength + Scheduler.StateBytes;

    /// <summary>When an idle model is unloaded; <see cref="DateTimeOffset.MaxValue"/> keeps it.</summary>
    public DateTimeOffset ExpiresAt { get; internal set; }

    internal int Leases { get; set; }

    internal long LastUsed { get; set; }
}

/// <summary>A model in use by one request; disposing it starts the model's keep-alive.</summary>
public sealed class ModelLease : IDisposable
{
    private readonly ModelHost _host;
    private readonly TimeSpan _keepAlive;
    private int _disposed;

    internal ModelLease(ModelHost host, LoadedModel model, TimeSpan keepAlive)
    {
        _host = host;
        Model = model;
        _keepAlive = keepAlive;
    }

    public LoadedModel Model { get; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _host.Release(Model, _keepAlive);
    }
}

/// <summary>
/// The models of a server: loaded on first use, shared by every request, kept for their keep-alive after the last one,
/// and unloaded (least recently used first) when a new model needs room in the memory budget. Models in use are never
/// unloaded.
/// </summary>
public sealed class ModelHost : IDisposable
{
    private readonly ModelHostOptions _options;
    private readonly Dictionary<string, LoadedModel> _loaded = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<LoadedModel>> _loading = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private readonly ITimer _timer;
    private long _clock;
    private bool _disposed;

    public ModelHost(ModelHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Scheduler.Validate();
        if (options.MemoryBudget < 0) throw new ArgumentOutOfRangeException(nameof(options), $"memory budget {options.MemoryBudget} must be ≥ 0");
        _options = options;
        _timer = options.Time.CreateTimer(_ => Collect(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public ModelHostOptions Options => _options;

    /// <summary>True while any model is being loaded.</summary>
    public bool IsLoading
    {
        get
        {
            lock (_gate) return _loading.Count > 0;
        }
    }

    /// <summary>The loaded models, most recently used first.</summary>
    public IReadOnlyList<LoadedModel> Loaded
    {
        get
        {
            lock (_gate) return _loaded.Values.OrderByDescending(m => m.LastUsed).ToList();
        }
    }

    /// <summary>
    /// The model called <paramref name="name"/>, loading it if needed. Dispose the lease when the request is done; the
    /// model then stays loaded for <paramref name="keepAlive"/> (null: the default; zero: unload at once; negative: keep).
    /// </summary>
    /// <exception cref="Hearth.Store.ModelNotFoundException">No such model.</exception>
    /// <exception cref="ModelMemoryException">It does not fit in the memory budget.</exception>
    public async Task<ModelLease> AcquireAsync(string name, TimeSpan? keepAlive = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var keep = keepAlive ?? _options.KeepAlive;
        while (true)
        {
            Task<LoadedModel> loading;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_loaded.TryGetValue(name, out var model))
                {
                    model.Leases++;
                    model.LastUsed = ++_clock;
                    model.ExpiresAt = DateTimeOffset.MaxValue;
                    return new ModelLease(this, model, keep);
                }

                if (!_loading.TryGetValue(name, out loading!))
                {
                    loading = Task.Run(() => Load(name), CancellationToken.None);
                    _loading[name] = loading;
                }
            }

            await loading.WaitAsync(cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Unloads a model now if nothing uses it, else as soon as its last request ends. False when it is not loaded.</summary>
    public bool Unload(string name)
    {
        LoadedModel? victim = null;
        lock (_gate)
        {
            if (!_loaded.TryGetValue(name, out var model)) return false;
            model.ExpiresAt = _options.Time.GetUtcNow();
            if (model.Leases == 0)
            {
                _loaded.Remove(name);
                victim = model;
            }
        }

        if (victim != null) Close(victim);
        return true;
    }

    /// <summary>Unloads every idle model whose keep-alive has passed (the host also does this every second).</summary>
    public void Collect()
    {
        var now = _options.Time.GetUtcNow();
        List<LoadedModel> victims;
        lock (_gate)
        {
            victims = _loaded.Values.Where(m => m.Leases == 0 && m.ExpiresAt <= now).ToList();
            foreach (var v in victims) _loaded.Remove(v.Name);
        }

        foreach (var v in victims) Close(v);
    }

    internal void Release(LoadedModel model, TimeSpan keepAlive)
    {
        bool unload;
        lock (_gate)
        {
            model.Leases--;
            var now = _options.Time.GetUtcNow();
            var expires = keepAlive < TimeSpan.Zero ? DateTimeOffset.MaxValue : now + keepAlive;
            // The longest keep-alive asked for wins while requests overlap; an explicit unload (expiry in the past) stays.
            if (model.Leases == 0 || expires > model.ExpiresAt || model.ExpiresAt == DateTimeOffset.MaxValue) model.ExpiresAt = expires;
            unload = model.Leases == 0 && keepAlive == TimeSpan.Zero && _loaded.Remove(model.Name);
        }

        if (unload) Close(model);
    }

    private LoadedModel Load(string name)
    {
        try
        {
            var path = _options.Resolve(name);
            var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = _options.Threads, Context = _options.Scheduler.Context });
            try
            {
                int context = _options.Scheduler.Context > 0 ? _options.Scheduler.Context : model.Context;
                long need = model.File.FileLength + SequenceScheduler.EstimateStateBytes(model, _options.Scheduler with { Context = context });
                MakeRoom(name, need);
                var scheduler = new SequenceScheduler(model, _options.Scheduler with { Context = context });
                var loaded = new LoadedModel(name, path, model, scheduler, _options.Time.GetUtcNow()) { ExpiresAt = DateTimeOffset.MaxValue };
                lock (_gate)
                {
                    loaded.LastUsed = ++_clock;
                    _loaded[name] = loaded;
                }

                return loaded;
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        finally
        {
            lock (_gate) _loading.Remove(name);
        }
    }

    /// <summary>Unloads idle models, least recently used first, until <paramref name="need"/> more bytes fit the budget.</summary>
    private void MakeRoom(string name, long need)
    {
        if (_options.MemoryBudget == 0) return;
        if (need > _options.MemoryBudget)
            throw new ModelMemoryException($"model '{name}' needs {need / 1048576.0:F0} MiB but the memory budget is {_options.MemoryBudget / 1048576.0:F0} MiB");
        var victims = new List<LoadedModel>();
        lock (_gate)
        {
            long used = _loaded.Values.Sum(m => m.Bytes);
            foreach (var m in _loaded.Values.Where(m => m.Leases == 0).OrderBy(m => m.LastUsed))
            {
                if (used + need <= _options.MemoryBudget) break;
                victims.Add(m);
                used -= m.Bytes;
            }

            if (used + need > _options.MemoryBudget)
                throw new ModelMemoryException($"model '{name}' needs {need / 1048576.0:F0} MiB; {used / 1048576.0:F0} MiB of the {_options.MemoryBudget / 1048576.0:F0} MiB budget is held by models in use");
            foreach (var v in victims) _loaded.Remove(v.Name);
        }

        foreach (var v in victims) Close(v);
    }

    private static void Close(LoadedModel model)
    {
        model.Scheduler.Dispose();
        model.Model.Dispose();
    }

    public void Dispose()
    {
        List<LoadedModel> all;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            all = [.. _loaded.Values];
            _loaded.Clear();
        }

        _timer.Dispose();
        foreach (var m in all) Close(m);
    }
}
