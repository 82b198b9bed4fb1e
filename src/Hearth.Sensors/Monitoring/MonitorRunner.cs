using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Slm;
using Hearth.Sensors.Sources;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Monitoring;

/// <summary>Settings of a <see cref="MonitorRunner"/>.</summary>
public sealed record MonitorRunnerOptions
{
    /// <summary>Payloads waiting for the decision loop; when full, sources wait (back-pressure). Default 4096.</summary>
    public int QueueCapacity { get; init; } = 4096;

    /// <summary>How often the clock ticks for stale-sensor rules (only when the policy has one). Default 1 s.</summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a graceful stop may take in all: draining the queue, waiting for checks, flushing sinks. Default 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a source may be disconnected (or not yet connected) before the monitor reports itself unhealthy. Default 30 s.</summary>
    public TimeSpan SourceDownGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The window readings per second are counted over. Default 10 s.</summary>
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest wait between retries of a failing store write. Default 5 s.</summary>
    public TimeSpan StoreRetryMaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Reports how many stored records still wait to be synchronised elsewhere (a PostgreSQL sync's backlog), or null.
    /// When it throws, the statistics show no backlog.</summary>
    public Func<long?>? StoreBacklog { get; init; }

    /// <summary>Reports the PostgreSQL sync's state for the statistics and the health report, or null. When it throws,
    /// they show none.</summary>
    public Func<PostgresSyncStatus?>? SyncStatus { get; init; }

    /// <summary>Called after each record (reading, tick or check result) is stored, on the thread that stored it: a sync's
    /// <see cref="PostgresSync.Notify"/>. Must return at once.</summary>
    public Action? Stored { get; init; }

    /// <summary>The clock ticks read (for stale-sensor rules). Default the system clock.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

/// <summary>What a check hook is told about one evaluated reading.</summary>
/// <param name="ReadingKey">The reading's store key.</param>
/// <param name="Source">The reading's source.</param>
/// <param name="Payload">The payload text.</param>
/// <param name="Decision">The rules' decision (with its inputs).</param>
/// <param name="Classifier">The classifier the runner was given, or null.</param>
/// <param name="Report">Stores a check's result and counts it in the statistics; callable from any thread, also while the
/// runner drains at shutdown.</param>
public sealed record CheckContext(string ReadingKey, string Source, string Payload, Decision Decision, ISlmClassifier? Classifier,
    Action<ModelDecisionRecord> Report)
{
    /// <summary>The parsed reading; null only when a runner could not give it.</summary>
    public Reading? Reading { get; init; }

    /// <summary>The checks <see cref="IMonitorCheckHook.Plan"/> chose for this reading, now stored with it as pending.</summary>
    public IReadOnlyList<PendingCheck> Checks { get; init; } = [];

    /// <summary>Sends a check's result to the sinks its notice names (every sink when the policy has no <c>sinks</c>
    /// section); callable from any thread. Does nothing by default.</summary>
    public Action<ModelCheckNotice> Publish { get; init; } = _ => { };
}

/// <summary>What a check hook is given when the runner starts: the checks an earlier run stored but did not finish, and
/// how to report results without a new reading.</summary>
/// <param name="Pending">The store's pending checks, oldest first (empty without a store).</param>
/// <param name="Report">As <see cref="CheckContext.Report"/>.</param>
/// <param name="Publish">As <see cref="CheckContext.Publish"/>.</param>
/// <param name="Drop">Forgets a pending check without a result (its check is no longer in the policy).</param>
public sealed record CheckResumeContext(IReadOnlyList<PendingCheck> Pending, Action<ModelDecisionRecord> Report, Action<ModelCheckNotice> Publish,
    Action<string> Drop);

/// <summary>
/// Where small-language-model checks plug into the runner: told of every evaluated reading after it is stored, it
/// decides whether to run checks, runs them off the decision loop, and reports their results.
/// </summary>
public interface IMonitorCheckHook
{
    /// <summary>Called on the decision loop after each evaluated reading is stored. Must return quickly: start slow
    /// work and return.</summary>
    void OnDecision(CheckContext context);

    /// <summary>Waits for the checks still running (called once at shutdown, after the last reading).</summary>
    Task DrainAsync(CancellationToken deadline);

    /// <summary>Called on the decision loop for each evaluated reading before it is stored: the checks to run for it. The
    /// runner stores them with the reading in one transaction (<see cref="ReadingRecord.Checks"/>) and hands them back in
    /// <see cref="CheckContext.Checks"/>; reporting a result removes its pending check. Must be quick and pure. By default
    /// none (a hook is then free to run what it likes from <see cref="OnDecision"/>, with no protection against a kill).</summary>
    IReadOnlyList<PendingCheck> Plan(string readingKey, Reading reading, Decision decision) => [];

    /// <summary>Called once when the runner starts, before the first reading, with the checks an earlier run left pending.
    /// Does nothing by default.</summary>
    void Resume(CheckResumeContext context)
    {
    }

    /// <summary>Checks waiting or running now (for the statistics); 0 by default.</summary>
    int Queued => 0;
}

/// <summary>
/// The live monitor: payloads from every source go through one queue into one decision loop, which for each payload
/// skips it when the store has its key already (a redelivery), else parses and evaluates it with the policy's rules,
/// stores reading and decision (retrying while the store fails), acknowledges it to its source, and hands any alert to
/// the sinks its action names. Payloads of one source are handled in the order the source produced them.
/// </summary>
/// <remarks>
/// On start the alerted label is restored from the store, so a restart neither repeats nor misses an alert. A policy
/// with stale-sensor rules gets clock ticks, stored with <see cref="IMonitorStore.RecordTick"/> under the key
/// <c>tick/TIME</c> (ISO-8601, UTC). A payload a source cut short (<see cref="SourcePayload.Truncated"/>) is keyed by its
/// source, full length and first bytes, since the rest was never read. Without a store
/// (<c>null</c>) nothing is kept and redeliveries are not recognised. The runner owns its sources and sinks (it disposes
/// them); the store stays the caller's.
/// <para>Model checks: for each evaluated reading the check hook's <see cref="IMonitorCheckHook.Plan"/> names the checks
/// it owes; they are stored with the reading in its transaction (pending), handed to the hook after the store, and their
/// results, reported from any thread, are stored (clearing the pending check), counted in the statistics, and published
/// to sinks when the hook asks. At start the hook gets the checks an earlier run left pending
/// (<see cref="IMonitorCheckHook.Resume"/>). A check's result never changes the rules' labels or the alerted label.</para>
/// </remarks>
public sealed class MonitorRunner : IAsyncDisposable
{
    private readonly IMonitorStore? _store;
    private readonly MonitorRunnerOptions _options;
    private readonly ISlmClassifier? _classifier;
    private readonly IMonitorCheckHook? _checks;
    private readonly MonitorSession _session;
    private readonly Channel<Item> _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private readonly Lock _storeGate = new();
    private readonly LatencyHistogram _pipeline = new(), _slm = new();
    private readonly RateMeter _rate = new();
    private readonly Dictionary<string, long> _modelLabels = new(StringComparer.Ordinal);
    private readonly bool _ticks;
    private long _duplicates, _notStored, _tickCount, _modelChecks, _modelTimedOut, _modelSkipped, _storeFailures, _errors;
    private string? _lastError;
    private DateTimeOffset? _storeFailingSince, _lastReadingAt, _startedAt;
    private string? _storeError;
    private int _state; // 0 new, 1 running, 2 stopping, 3 stopped

    /// <summary>Creates a runner; nothing starts until <see cref="RunAsync"/>.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="store">Where everything is kept, or null to keep nothing.</param>
    /// <param name="sources">Where payloads come from (at least one).</param>
    /// <param name="sinks">Where alerts go. When the policy has no <c>sinks</c> section every alert goes to every sink;
    /// otherwise each alert goes to the sinks its action names.</param>
    /// <param name="options">Settings; defaults when null.</param>
    /// <param name="classifier">Handed to <paramref name="checks"/>; the runner itself never calls it.</param>
    /// <param name="checks">Runs small-language-model checks on decisions; null for none.</param>
    /// <exception cref="ArgumentException">No sources, two sources or sinks with one name, or a sink the policy's actions
    /// name is missing.</exception>
    public MonitorRunner(MonitorPolicy policy, IMonitorStore? store, IEnumerable<ReadingSource> sources, IEnumerable<AlertSink> sinks,
        MonitorRunnerOptions? options = null, ISlmClassifier? classifier = null, IMonitorCheckHook? checks = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        Policy = policy;
        Sources = [.. sources];
        Sinks = [.. sinks];
        if (Sources.Count == 0) throw new ArgumentException("The monitor needs at least one source.", nameof(sources));
        foreach (var dup in Sources.GroupBy(s => s.Name).Where(g => g.Count() > 1))
            throw new ArgumentException($"Two sources are named '{dup.Key}'.", nameof(sources));
        foreach (var dup in Sinks.GroupBy(s => s.Name).Where(g => g.Count() > 1))
            throw new ArgumentException($"Two sinks are named '{dup.Key}'.", nameof(sinks));
        var stored = policy.Sinks?.OfType<StoreSinkSpec>().Select(s => s.Name).ToHashSet() ?? [];
        if (policy.Sinks != null)
        {
            foreach (var name in policy.Actions.Values.SelectMany(a => a.Sinks).Distinct())
                if (!stored.Contains(name) && !Sinks.Any(s => s.Name == name))
                    throw new ArgumentException($"The policy sends alerts to sink '{name}', which the runner was not given.", nameof(sinks));
        }

        _store = store;
        _options = options ?? new MonitorRunnerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.QueueCapacity, 1);
        _classifier = classifier;
        _checks = checks;
        _session = new MonitorSession(policy);
        _ticks = policy.Rules.Any(r => r.Kind == RuleKind.Stale);
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(_options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The policy.</summary>
    public MonitorPolicy Policy { get; }

    /// <summary>The sources.</summary>
    public IReadOnlyList<ReadingSource> Sources { get; }

    /// <summary>The sinks.</summary>
    public IReadOnlyList<AlertSink> Sinks { get; }

    /// <summary>True from the start of <see cref="RunAsync"/> until it begins to stop.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <summary>Runs until every source has ended or <paramref name="stop"/> fires, then stops gracefully: sources stop,
    /// the queue is drained, checks are waited for and sinks flushed, all within <see cref="MonitorRunnerOptions.ShutdownTimeout"/>.
    /// Payloads still queued when that runs out are not stored and not acknowledged (their sources redeliver them).
    /// Returns the final statistics. Runs once.</summary>
    /// <exception cref="InvalidOperationException">It has run already.</exception>
    public async Task<MonitorLiveStats> RunAsync(CancellationToken stop)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("A monitor runner runs once.");
        lock (_gate) _startedAt = DateTimeOffset.UtcNow;
        if (_store != null && Store(s => s.LastAlertedLabel(), out var restored, stop) && restored != null)
        {
            lock (_gate) _session.Engine.RestoreAlertedLabel(restored);
        }

        if (_checks != null)
        {
            IReadOnlyList<PendingCheck> pending = [];
            if (_store != null && Store(s => s.PendingChecks(), out var stored, stop)) pending = stored;
            _checks.Resume(new CheckResumeContext(pending, ReportModelDecision, PublishCheck, key => Store(s =>
            {
                s.DropPendingCheck(key);
                return true;
            }, out _)));
        }

        foreach (var sink in Sinks) await sink.StartAsync(stop).ConfigureAwait(false);
        var initial = new SinkEvent(_session.Engine.AlertedLabel, null, null, null, null, SignalLabels(null), Stopwatch.GetTimestamp());
        foreach (var sink in Sinks) sink.Offer(initial);

        using var sourceStop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var loop = Task.Run(LoopAsync, CancellationToken.None);
        var sources = Sources.Select(s => Task.Run(() => s.RunAsync(EmitAsync, sourceStop.Token), CancellationToken.None)).ToArray();
        var ticker = _ticks ? Task.Run(() => TickAsync(sourceStop.Token), CancellationToken.None) : Task.CompletedTask;
        try
        {
            await Task.WhenAll(sources).WaitAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        Volatile.Write(ref _state, 2);
        using var deadline = new CancellationTokenSource(_options.ShutdownTimeout);
        await sourceStop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(sources).ConfigureAwait(false);
        await ticker.ConfigureAwait(false);
        _queue.Writer.TryComplete();
        try
        {
            await loop.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
        }

        if (_checks != null)
        {
            try
            {
                await _checks.DrainAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await Task.WhenAll(Sinks.Select(s => s.FlushAsync(deadline.Token))).ConfigureAwait(false);
        // Only now: an MQTT source must stay connected until the drained payloads are acknowledged.
        foreach (var source in Sources) await source.DisposeAsync().ConfigureAwait(false);
        Volatile.Write(ref _state, 3);
        return Stats();
    }

    /// <summary>The live statistics.</summary>
    public MonitorLiveStats Stats()
    {
        var sinks = Sinks.Select(s => s.Stats()).ToList();
        var sources = Sources.Select(s => s.Status).ToList();
        long? backlog = Ask(_options.StoreBacklog);
        var sync = Ask(_options.SyncStatus);
        int queuedChecks = _checks?.Queued ?? 0;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            return new MonitorLiveStats(
                _startedAt is { } t ? now - t : TimeSpan.Zero,
                _session.Stats(),
                _duplicates,
                _notStored,
                _rate.PerSecond(_options.RateWindow),
                _pipeline.Percentile(0.5),
                _pipeline.Percentile(0.99),
                _tickCount,
                _modelChecks,
                _modelLabels.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
                _slm.Percentile(0.5),
                _slm.Percentile(0.99),
                _queue.Reader.Count,
                _storeFailures,
                _storeError,
                backlog,
                _errors,
                _lastError,
                sinks,
                sources)
            {
                ModelChecksTimedOut = _modelTimedOut, ModelChecksSkipped = _modelSkipped, ModelChecksQueued = queuedChecks, Sync = sync,
            };
        }
    }

    // A status callback must not break /stats or /health: a failure shows as no value.
    private static T? Ask<T>(Func<T>? ask)
    {
        try
        {
            return ask is null ? default : ask();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return default;
        }
    }

    /// <summary>Whether the monitor is working: running, every source connected (or down for less than
    /// <see cref="MonitorRunnerOptions.SourceDownGrace"/>, or finished), and the store taking writes.</summary>
    public MonitorHealth Health()
    {
        var now = DateTimeOffset.UtcNow;
        var problems = new List<string>();
        int state = Volatile.Read(ref _state);
        if (state != 1) problems.Add(state == 0 ? "the monitor has not started" : "the monitor is stopping");
        var sources = Sources.Select(s => s.Status).ToList();
        foreach (var s in sources)
        {
            if (s.State == SourceState.Failed) problems.Add($"source '{s.Name}' failed: {s.LastError}");
            else if (s.State is SourceState.Starting or SourceState.Disconnected && now - s.Since > _options.SourceDownGrace)
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"source '{s.Name}' has not been connected for {(now - s.Since).TotalSeconds:F0} s{(s.LastError != null ? ": " + s.LastError : "")}"));
        }

        DateTimeOffset? failing, last, started;
        string? storeError;
        lock (_gate) (failing, storeError, last, started) = (_storeFailingSince, _storeError, _lastReadingAt, _startedAt);
        if (failing != null) problems.Add($"the store has been failing since {failing:O}: {storeError}");
        return new MonitorHealth(problems.Count == 0, started is { } t ? now - t : TimeSpan.Zero, sources, last is { } l ? now - l : null,
            _queue.Reader.Count, _store == null ? "none" : failing != null ? "failing" : "ok", problems)
        {
            Sync = Ask(_options.SyncStatus),
        };
    }

    /// <summary>Stops at once without draining (what a crash would leave: queued payloads are neither stored nor
    /// acknowledged); disposes sources and sinks. After a graceful <see cref="RunAsync"/> it only releases resources.</summary>
    public async ValueTask DisposeAsync()
    {
        await _abort.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        if (Volatile.Read(ref _state) != 3)
        {
            foreach (var source in Sources) await source.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var sink in Sinks) await sink.DisposeAsync().ConfigureAwait(false);
        while (_queue.Reader.TryRead(out var left)) await Complete(left.Payload, new PayloadResult(PayloadOutcome.NotStored)).ConfigureAwait(false);
    }

    private ValueTask EmitAsync(SourcePayload payload, CancellationToken cancel) => _queue.Writer.WriteAsync(new Item(payload, default), cancel);

    private async Task TickAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.TickInterval, _options.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                await _queue.Writer.WriteAsync(new Item(null, _options.Clock.GetUtcNow()), stop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
        }
    }

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (!_abort.IsCancellationRequested && reader.TryRead(out var item))
                {
                    try
                    {
                        if (item.Payload is { } p) await ProcessAsync(p).ConfigureAwait(false);
                        else Tick(item.Tick);
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // A fault in one payload's handling (a sink, a check hook) must not stop the monitor; the payload
                        // is acknowledged only if it was stored, so nothing is lost.
                        lock (_gate) (_errors, _lastError) = (_errors + 1, e.Message);
                        await Complete(item.Payload, new PayloadResult(PayloadOutcome.NotStored)).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }

        while (reader.TryRead(out var left)) await Complete(left.Payload, new PayloadResult(PayloadOutcome.NotStored)).ConfigureAwait(false);
    }

    private async Task ProcessAsync(SourcePayload p)
    {
        var key = p.Truncated
            ? ReadingKeys.For(p.Source + "\n" + p.Length.ToString(CultureInfo.InvariantCulture), p.Bytes.Span) // only the start is known
            : ReadingKeys.For(p.Source, p.Bytes.Span);
        bool stored = false;
        if (_store != null && (!Store(s => s.Contains(key), out stored) || stored))
        {
            if (stored) lock (_gate) _duplicates++;
            await Complete(p, new PayloadResult(stored ? PayloadOutcome.Duplicate : PayloadOutcome.NotStored)).ConfigureAwait(false);
            return;
        }

        Decision? decision;
        QuarantinedReading? quarantined;
        Reading? reading = null;
        lock (_gate)
        {
            (decision, quarantined) = p.Truncated
                ? _session.Accept(new JsonLine(p.Position, p.Bytes, p.Length, Oversized: true), p.Source)
                : _session.Accept(p.Bytes.Span, p.Source, p.Position, out reading);
            _lastReadingAt = p.ReceivedAt;
            _rate.Add();
        }

        // The checks this reading owes are stored with it, so a kill before they finish cannot lose them.
        var checks = _checks != null && decision != null && reading != null ? _checks.Plan(key, reading, decision) : [];
        var text = quarantined?.Reason == QuarantineReason.TooLarge ? quarantined.Excerpt : Encoding.UTF8.GetString(p.Bytes.Span);
        var record = new ReadingRecord(key, p.Source, p.ReceivedAt, text, decision, quarantined) { Checks = checks };
        if (_store != null)
        {
            if (!Store(s => s.RecordReading(record), out _))
            {
                await Complete(p, new PayloadResult(PayloadOutcome.NotStored)).ConfigureAwait(false);
                return;
            }

            _options.Stored?.Invoke();
        }

        await Complete(p, quarantined != null ? new PayloadResult(PayloadOutcome.Quarantined, quarantined.Reason) : new PayloadResult(PayloadOutcome.Accepted))
            .ConfigureAwait(false);
        if (decision != null)
        {
            if (decision.Alert != null) Dispatch(decision, p.Source, key, p.ReceivedTimestamp);
            _checks?.OnDecision(new CheckContext(key, p.Source, text, decision, _classifier, ReportModelDecision)
            {
                Reading = reading, Checks = checks, Publish = PublishCheck,
            });
        }

        lock (_gate) _pipeline.Add(Stopwatch.GetTimestamp() - p.ReceivedTimestamp);
    }

    private void Tick(DateTimeOffset now)
    {
        long received = Stopwatch.GetTimestamp();
        Decision d;
        lock (_gate)
        {
            d = _session.Tick(now);
            _tickCount++;
        }

        if (_store != null)
        {
            if (!Store(s => s.RecordTick("tick/" + now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), d), out _)) return;
            _options.Stored?.Invoke();
        }

        if (d.Alert != null) Dispatch(d, null, null, received);
    }

    private void Dispatch(Decision d, string? source, string? key, long received)
    {
        var e = new SinkEvent(d.Alert!.To, d.Alert, d, source, key, SignalLabels(d), received);
        foreach (var sink in Sinks)
            if (Policy.Sinks == null || d.Alert.Sinks.Contains(sink.Name)) sink.Offer(e);
    }

    private Dictionary<string, string> SignalLabels(Decision? d)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var signal in d == null ? [] : Policy.Signals)
        {
            var rule = Policy.Rules.FirstOrDefault(r => r.Signal == signal.Name && d!.ActiveRules.Contains(r.Name));
            labels[signal.Name] = rule?.Label ?? Policy.DefaultLabel;
        }

        return labels;
    }

    private void ReportModelDecision(ModelDecisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_store != null && Store(s => s.RecordModelDecision(record), out _)) _options.Stored?.Invoke();
        lock (_gate)
        {
            _modelChecks++;
            _modelLabels[record.Label] = _modelLabels.GetValueOrDefault(record.Label) + 1;
            if (record.TimedOut) _modelTimedOut++;
            if (record.Skipped) _modelSkipped++;
            else _slm.Add((long)(record.Latency.TotalSeconds * Stopwatch.Frequency));
        }
    }

    // A check's result never touches the rules' state: the event carries the current alerted label unchanged.
    private void PublishCheck(ModelCheckNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        string label;
        lock (_gate) label = _session.Engine.AlertedLabel;
        var e = new SinkEvent(label, null, null, notice.Source, notice.ReadingKey, new Dictionary<string, string>(), Stopwatch.GetTimestamp()) { Check = notice };
        foreach (var sink in Sinks)
            if (Policy.Sinks == null || notice.Sinks.Contains(sink.Name)) sink.Offer(e);
    }

    private static ValueTask Complete(SourcePayload? p, PayloadResult result) => p?.CompleteAsync(result) ?? ValueTask.CompletedTask;

    /// <summary>Calls the store, retrying with back-off while it throws (the monitor's health says so meanwhile). False
    /// when <paramref name="cancel"/> (by default the runner's abort) fired first. Store calls are serialised.</summary>
    private bool Store<T>(Func<IMonitorStore, T> call, out T result, CancellationToken cancel = default)
    {
        if (!cancel.CanBeCanceled) cancel = _abort.Token;
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                lock (_storeGate) result = call(_store!);
                lock (_gate) _storeFailingSince = null;
                return true;
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                lock (_gate)
                {
                    _storeFailures++;
                    _storeError = e.Message;
                    _storeFailingSince ??= DateTimeOffset.UtcNow;
                }
            }

            if (cancel.WaitHandle.WaitOne(delay))
            {
                lock (_gate) _notStored++;
                result = default!;
                return false;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.StoreRetryMaxDelay.Ticks));
        }
    }

    private readonly record struct Item(SourcePayload? Payload, DateTimeOffset Tick);
}
