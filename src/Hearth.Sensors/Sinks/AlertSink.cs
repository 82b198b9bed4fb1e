using System.Diagnostics;
using System.Threading.Channels;

namespace Hearth.Sensors.Sinks;

/// <summary>What the monitor hands to sinks: an alert (a change of the alerted label), a small-language-model check's
/// result (<see cref="Check"/>), or with neither the current state alone (sent once at start, so retained state reflects
/// a restart).</summary>
/// <param name="Label">The alerted label after this event.</param>
/// <param name="Alert">The alert, or null for a state-only event.</param>
/// <param name="Decision">The decision that raised the alert; null for a state-only event.</param>
/// <param name="Source">The reading's source; null for clock ticks and state-only events.</param>
/// <param name="ReadingKey">The reading's store key; null for clock ticks and state-only events.</param>
/// <param name="SignalLabels">For each signal, the label of its first active rule (policy order), else the default label;
/// empty for a state-only event.</param>
/// <param name="ReceivedTimestamp">When the reading arrived, in <see cref="Stopwatch"/> ticks (for delivery latency).</param>
public sealed record SinkEvent(string Label, Alert? Alert, Decision? Decision, string? Source, string? ReadingKey,
    IReadOnlyDictionary<string, string> SignalLabels, long ReceivedTimestamp)
{
    /// <summary>A model check's result to report (then <see cref="Alert"/> is null and <see cref="Label"/> is still the
    /// rules' alerted label, which a check never changes); null for alerts and state events.</summary>
    public ModelCheckNotice? Check { get; init; }
}

/// <summary>A small-language-model check's result sent to sinks: the label it decided has an action in the policy, and
/// the sinks are that action's. It sits beside the rules' label and never replaces it.</summary>
/// <param name="Check">The check's name.</param>
/// <param name="Model">The model that ran it.</param>
/// <param name="Label">The check's label (the fail-safe label when <paramref name="TimedOut"/>).</param>
/// <param name="Explanation">The model's explanation when the check asked for one and there was time; else null.</param>
/// <param name="TimedOut">True when the fail-safe label was used (budget ran out, the model failed, or the check queue was full).</param>
/// <param name="ReadingKey">The payload that triggered the check.</param>
/// <param name="Source">The reading's source.</param>
/// <param name="RuleLabel">The rules' label for that reading.</param>
/// <param name="Severity">The severity of the label's action.</param>
/// <param name="Sinks">The sinks the label's action names.</param>
/// <param name="DecidedAt">When the check finished.</param>
public sealed record ModelCheckNotice(string Check, string Model, string Label, string? Explanation, bool TimedOut, string ReadingKey, string Source,
    string RuleLabel, AlertSeverity Severity, IReadOnlyList<string> Sinks, DateTimeOffset DecidedAt);

/// <summary>One alert a sink gave up on.</summary>
/// <param name="At">When it gave up.</param>
/// <param name="Alert">The alert, as one text line.</param>
/// <param name="Attempts">How many times it tried.</param>
/// <param name="Error">The last attempt's error.</param>
public sealed record SinkFailure(DateTimeOffset At, string Alert, int Attempts, string Error);

/// <summary>A sink's counters.</summary>
/// <param name="Name">The sink's name.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Delivered">Events delivered.</param>
/// <param name="Retried">Attempts that failed and were tried again.</param>
/// <param name="Failed">Events given up after their retries (or left undelivered at shutdown).</param>
/// <param name="Dropped">Events refused because the queue was full.</param>
/// <param name="Queued">Events waiting now.</param>
/// <param name="LatencyP50">Median time from an alert's reading's arrival to the alert's delivery.</param>
/// <param name="LatencyP99">99th percentile of the same.</param>
/// <param name="RecentFailures">The most recent failures (at most 20), oldest first.</param>
public sealed record SinkStats(string Name, string Kind, long Delivered, long Retried, long Failed, long Dropped, int Queued, TimeSpan LatencyP50,
    TimeSpan LatencyP99, IReadOnlyList<SinkFailure> RecentFailures);

/// <summary>
/// A sink with a bounded queue in front of it, so the decision loop never waits for delivery: <see cref="Offer"/> returns
/// at once (dropping and counting the event when the queue is full), and one worker delivers events in order, retrying
/// failures with exponential back-off before giving up and recording the failure.
/// </summary>
public abstract class AlertSink : IAsyncDisposable
{
    private const int FailuresKept = 20;
    private readonly Channel<SinkEvent> _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private readonly LatencyHistogram _latency = new();
    private readonly Queue<SinkFailure> _failures = new();
    private Task _worker = Task.CompletedTask;
    private long _delivered, _retried, _failed, _dropped;

    /// <summary>Creates the sink.</summary>
    protected AlertSink(string name, string kind, SinkDelivery delivery)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentOutOfRangeException.ThrowIfNegative(delivery.Retries);
        ArgumentOutOfRangeException.ThrowIfLessThan(delivery.QueueCapacity, 1);
        Name = name;
        Kind = kind;
        Delivery = delivery;
        _queue = Channel.CreateBounded<SinkEvent>(new BoundedChannelOptions(delivery.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait, SingleReader = true, // Offer uses TryWrite, which never waits: false when full
        });
    }

    /// <summary>The sink's name in the policy.</summary>
    public string Name { get; }

    /// <summary>Its kind (<c>mqtt</c>, <c>webhook</c>, <c>stdout</c>).</summary>
    public string Kind { get; }

    /// <summary>Its queue and retry settings.</summary>
    public SinkDelivery Delivery { get; }

    /// <summary>Queues an event for delivery without waiting. False when the sink does not take this kind of event, the
    /// queue is full (counted as dropped) or the sink is flushed.</summary>
    public bool Offer(SinkEvent e)
    {
        if (!Wants(e)) return false;
        if (_queue.Writer.TryWrite(e)) return true;
        Interlocked.Increment(ref _dropped);
        return false;
    }

    /// <summary>Starts delivering.</summary>
    public virtual Task StartAsync(CancellationToken cancel)
    {
        _worker = Task.Run(WorkAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Stops taking events and delivers what is queued; when <paramref name="deadline"/> fires first, the
    /// delivery in progress is abandoned and what is left counts as failed.</summary>
    public async Task FlushAsync(CancellationToken deadline)
    {
        _queue.Writer.TryComplete();
        try
        {
            await _worker.WaitAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await _worker.ConfigureAwait(false);
            while (_queue.Reader.TryRead(out var left)) Fail(left, 0, "the monitor stopped before it was delivered");
        }
    }

    /// <summary>The counters now.</summary>
    public SinkStats Stats()
    {
        lock (_gate)
        {
            return new SinkStats(Name, Kind, Interlocked.Read(ref _delivered), Interlocked.Read(ref _retried), Interlocked.Read(ref _failed),
                Interlocked.Read(ref _dropped), _queue.Reader.Count, _latency.Percentile(0.5), _latency.Percentile(0.99), [.. _failures]);
        }
    }

    /// <summary>Whether this sink takes an event (by default alerts and check results, not state-only events).</summary>
    protected virtual bool Wants(SinkEvent e) => e.Alert != null || e.Check != null;

    /// <summary>Delivers one event; throws to have it retried (or <see cref="SinkRejectedException"/> to give up at once).
    /// <paramref name="attempt"/> counts from 0; <paramref name="cancel"/> fires at the attempt's timeout or at shutdown.</summary>
    protected abstract Task DeliverAsync(SinkEvent e, int attempt, CancellationToken cancel);

    private async Task WorkAsync()
    {
        try
        {
            await foreach (var e in _queue.Reader.ReadAllAsync(_abort.Token).ConfigureAwait(false)) await DeliverWithRetriesAsync(e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverWithRetriesAsync(SinkEvent e)
    {
        string error = "";
        int attempt = 0;
        for (; attempt <= Delivery.Retries; attempt++)
        {
            if (attempt > 0)
            {
                Interlocked.Increment(ref _retried);
                // Back-off doubles per retry, capped at a minute so a long retry list does not wait for hours.
                var wait = TimeSpan.FromTicks(Math.Min(Delivery.Backoff.Ticks << Math.Min(attempt - 1, 30), TimeSpan.TicksPerMinute));
                try
                {
                    await Task.Delay(wait, _abort.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
            timeout.CancelAfter(Delivery.Timeout);
            try
            {
                await DeliverAsync(e, attempt, timeout.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _delivered);
                if (e.Alert != null) lock (_gate) _latency.Add(Stopwatch.GetTimestamp() - e.ReceivedTimestamp); // state at start-up has no reading
                return;
            }
            catch (SinkRejectedException x)
            {
                Fail(e, attempt + 1, x.Message);
                return;
            }
            catch (Exception x) when (!_abort.IsCancellationRequested)
            {
                error = x is OperationCanceledException ? $"no answer within {Delivery.Timeout.TotalMilliseconds:0} ms" : x.Message;
            }
            catch (Exception) when (_abort.IsCancellationRequested)
            {
                error = "the monitor stopped before it was delivered";
                attempt++;
                break;
            }
        }

        Fail(e, Math.Min(attempt, Delivery.Retries + 1), error);
    }

    private void Fail(SinkEvent e, int attempts, string error)
    {
        Interlocked.Increment(ref _failed);
        lock (_gate)
        {
            if (_failures.Count == FailuresKept) _failures.Dequeue();
            var what = e.Alert is { } a ? MonitorFormat.ToText(a) : e.Check is { } c ? MonitorFormat.ToText(c) : $"state {e.Label}";
            _failures.Enqueue(new SinkFailure(DateTimeOffset.UtcNow, what, attempts, error));
        }
    }

    /// <summary>Stops at once: abandons queued events (they count as failed).</summary>
    public virtual async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        _queue.Writer.TryComplete();
        await _abort.CancelAsync().ConfigureAwait(false);
        await _worker.ConfigureAwait(false);
        while (_queue.Reader.TryRead(out var left)) Fail(left, 0, "the monitor stopped before it was delivered");
        _abort.Dispose();
    }
}

/// <summary>The receiver refused an alert in a way retrying cannot fix (an HTTP 4xx other than 408 and 429).</summary>
public sealed class SinkRejectedException(string message) : HearthException(message);
