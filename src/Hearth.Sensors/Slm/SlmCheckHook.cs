using System.Collections.Concurrent;
using System.Threading.Channels;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Slm;

/// <summary>Settings of a <see cref="SlmCheckHook"/>.</summary>
public sealed record SlmCheckHookOptions
{
    /// <summary>Checks waiting for the model (at least 1; default 1000). When the queue is full a new check is not queued and
    /// never blocks the rules: its fail-safe label is recorded at once, as skipped (<see cref="ModelDecisionRecord.Skipped"/>).</summary>
    public int QueueCapacity { get; init; } = 1000;

    /// <summary>The wall clock that stamps results (<see cref="ModelDecisionRecord.DecidedAt"/>). Default the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// Runs a policy's small-language-model checks in the live monitor (<see cref="MonitorRunner"/>), off the decision loop.
/// </summary>
/// <remarks>
/// <para>For each evaluated reading, <see cref="Plan"/> asks <see cref="SlmTriggers.For"/> which checks run (with their
/// rendered prompts); the runner stores them with the reading as pending, in the same transaction. <see cref="OnDecision"/>
/// then puts them on a bounded queue, and one worker runs them in order through the <see cref="ISlmClassifier"/>, each
/// within its own latency budget (the time a check waits in the queue is not part of its budget). A full queue never
/// blocks the rules: the check's fail-safe label is recorded at once, marked skipped, with timed-out set.</para>
/// <para>Each result is reported as a model decision (which removes its pending check) and, when the policy has an
/// action for the label the check decided, sent to that action's sinks as a <see cref="ModelCheckNotice"/> with the
/// explanation, if any. A check's label sits beside the rules' label: it never replaces or clears it, and never changes
/// the alerted label.</para>
/// <para>Crashes and stops: checks pending in the store when the runner starts (a monitor killed, or stopped before its
/// checks finished) are run first (<see cref="Resume"/>); pending checks whose check is no longer in the policy are
/// dropped. At shutdown <see cref="DrainAsync"/> waits for the queue until its deadline, then cancels what is left, which
/// stays pending for the next start.</para>
/// </remarks>
public sealed class SlmCheckHook : IMonitorCheckHook, IAsyncDisposable
{
    private readonly MonitorPolicy _policy;
    private readonly ISlmClassifier _classifier;
    private readonly SlmCheckHookOptions _options;
    private readonly Dictionary<string, SlmCheckSpec> _checks;
    private readonly Channel<Job> _queue;
    private readonly ConcurrentQueue<Job> _resumed = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private Task? _worker;
    private int _queued, _disposed;

    /// <summary>Creates the hook; its worker starts with the runner.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The queue capacity is below 1.</exception>
    public SlmCheckHook(MonitorPolicy policy, ISlmClassifier classifier, SlmCheckHookOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(classifier);
        _policy = policy;
        _classifier = classifier;
        _options = options ?? new SlmCheckHookOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.QueueCapacity, 1, nameof(options));
        _checks = policy.SlmChecks.ToDictionary(c => c.Name, StringComparer.Ordinal);
        _queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(_options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <inheritdoc />
    public int Queued => Volatile.Read(ref _queued);

    /// <inheritdoc />
    /// <remarks>The policy's checks whose triggers hold for the reading and its decision, in policy order.</remarks>
    public IReadOnlyList<PendingCheck> Plan(string readingKey, Reading reading, Decision decision)
    {
        if (_checks.Count == 0) return [];
        var requests = SlmTriggers.For(_policy, reading, decision);
        if (requests.Count == 0) return [];
        return requests.Select(r => new PendingCheck(PendingCheck.KeyFor(readingKey, r.Check.Name), readingKey, r.Check.Name, r.Input, reading.Source,
            decision.Label)).ToArray();
    }

    /// <inheritdoc />
    /// <remarks>Pending checks of the policy are run before any new one; the others are dropped from the store.</remarks>
    public void Resume(CheckResumeContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        foreach (var pending in context.Pending)
        {
            if (!_checks.TryGetValue(pending.Check, out var spec))
            {
                context.Drop(pending.Key);
                continue;
            }

            Interlocked.Increment(ref _queued);
            _resumed.Enqueue(new Job(pending, spec, context.Report, context.Publish));
        }

        EnsureWorker();
    }

    /// <inheritdoc />
    /// <remarks>Queues the reading's planned checks (<see cref="CheckContext.Checks"/>); a check that finds the queue full
    /// is recorded at once with its fail-safe label, as skipped.</remarks>
    public void OnDecision(CheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Checks.Count == 0) return;
        EnsureWorker();
        foreach (var pending in context.Checks)
        {
            if (!_checks.TryGetValue(pending.Check, out var spec)) continue; // planned by another policy: nothing to run it with
            var job = new Job(pending, spec, context.Report, context.Publish);
            Interlocked.Increment(ref _queued);
            if (_queue.Writer.TryWrite(job)) continue;
            Interlocked.Decrement(ref _queued);
            Complete(job, new SlmCheckResult(spec.OnTimeout, null, "", TimeSpan.Zero, TimedOut: true), skipped: true);
        }
    }

    /// <inheritdoc />
    /// <remarks>Stops taking checks and waits for the queued ones; when <paramref name="deadline"/> fires first, the check
    /// in progress is cancelled and the rest are left: they stay pending in the store for the next start.</remarks>
    public async Task DrainAsync(CancellationToken deadline)
    {
        _queue.Writer.TryComplete();
        Task? worker;
        lock (_gate) worker = _worker;
        if (worker == null) return;
        try
        {
            await worker.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await worker.ConfigureAwait(false);
        }
    }

    /// <summary>Cancels the check in progress and stops the worker; queued checks are left (pending in the store). Does not
    /// dispose the classifier.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        await _abort.CancelAsync().ConfigureAwait(false);
        Task? worker;
        lock (_gate) worker = _worker;
        if (worker != null) await worker.ConfigureAwait(false);
        _abort.Dispose();
    }

    private void EnsureWorker()
    {
        lock (_gate) _worker ??= Task.Run(WorkAsync, CancellationToken.None);
    }

    private async Task WorkAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                while (_resumed.TryDequeue(out var resumed)) await RunAsync(resumed).ConfigureAwait(false);
                if (!await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false)) break;
                if (reader.TryRead(out var job)) await RunAsync(job).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
    }

    private async Task RunAsync(Job job)
    {
        _abort.Token.ThrowIfCancellationRequested();
        SlmCheckResult result;
        try
        {
            result = await _classifier.ClassifyAsync(job.Spec, job.Pending.Input, _abort.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            Interlocked.Decrement(ref _queued);
            throw; // stopped: the check stays pending in the store
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The classifier contract says it fails safe by itself; one that throws anyway gets the same treatment.
            result = new SlmCheckResult(job.Spec.OnTimeout, null, "", TimeSpan.Zero, TimedOut: true);
        }

        Complete(job, result, skipped: false);
        Interlocked.Decrement(ref _queued);
    }

    private void Complete(Job job, SlmCheckResult result, bool skipped)
    {
        var now = _options.Time.GetUtcNow();
        job.Report(result.ToRecord(job.Pending.ReadingKey, job.Spec, job.Pending.Input, now) with { Skipped = skipped });
        if (_policy.Actions.TryGetValue(result.Label, out var action))
        {
            job.Publish(new ModelCheckNotice(job.Spec.Name, job.Spec.Model, result.Label, result.Explanation, result.TimedOut, job.Pending.ReadingKey,
                job.Pending.Source, job.Pending.RuleLabel, action.Severity, action.Sinks, now));
        }
    }

    private sealed record Job(PendingCheck Pending, SlmCheckSpec Spec, Action<ModelDecisionRecord> Report, Action<ModelCheckNotice> Publish);
}
