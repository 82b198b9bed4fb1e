using System.Diagnostics;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Sources;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Monitoring;

/// <summary>What a running monitor has done so far.</summary>
/// <param name="Uptime">Time since it started.</param>
/// <param name="Rules">The rules' statistics: readings (quarantined ones included, duplicates not), quarantines by reason,
/// decisions by label (ticks included), alerts, rule latency percentiles.</param>
/// <param name="Duplicates">Payloads skipped because the store had them already.</param>
/// <param name="NotStored">Store writes given up at shutdown (their payloads were not acknowledged).</param>
/// <param name="ReadingsPerSecond">Payloads handled per second over the recent window.</param>
/// <param name="PipelineLatencyP50">Median time from a payload's arrival until it was stored, acknowledged and its alert queued for the sinks.</param>
/// <param name="PipelineLatencyP99">99th percentile of the same.</param>
/// <param name="Ticks">Clock ticks evaluated.</param>
/// <param name="ModelChecks">Small-language-model check results reported (fail-safe and skipped ones included).</param>
/// <param name="ModelDecisions">Their results by label.</param>
/// <param name="SlmLatencyP50">Median latency of the checks that ran (skipped ones are left out; zero before the first).</param>
/// <param name="SlmLatencyP99">99th percentile of the same.</param>
/// <param name="QueueDepth">Payloads waiting for the decision loop.</param>
/// <param name="StoreFailures">Store calls that threw (each was retried).</param>
/// <param name="StoreError">The last store error, or null.</param>
/// <param name="StoreBacklog">Records waiting to be synchronised elsewhere, when the store reports it.</param>
/// <param name="Errors">Payloads whose handling failed unexpectedly (a check hook or a sink threw); each was left
/// unacknowledged unless it had been stored.</param>
/// <param name="LastError">The last such failure, or null.</param>
/// <param name="Sinks">Each sink's counters.</param>
/// <param name="Sources">Each source's state.</param>
public sealed record MonitorLiveStats(
    TimeSpan Uptime,
    MonitorStats Rules,
    long Duplicates,
    long NotStored,
    double ReadingsPerSecond,
    TimeSpan PipelineLatencyP50,
    TimeSpan PipelineLatencyP99,
    long Ticks,
    long ModelChecks,
    IReadOnlyDictionary<string, long> ModelDecisions,
    TimeSpan SlmLatencyP50,
    TimeSpan SlmLatencyP99,
    int QueueDepth,
    long StoreFailures,
    string? StoreError,
    long? StoreBacklog,
    long Errors,
    string? LastError,
    IReadOnlyList<SinkStats> Sinks,
    IReadOnlyList<SourceStatus> Sources)
{
    /// <summary>Check results that used the fail-safe label (budget ran out, the model failed, or the check was skipped).</summary>
    public long ModelChecksTimedOut { get; init; }

    /// <summary>Checks that never ran because the check queue was full (see <see cref="Storage.ModelDecisionRecord.Skipped"/>).</summary>
    public long ModelChecksSkipped { get; init; }

    /// <summary>Checks waiting for the model or running now.</summary>
    public int ModelChecksQueued { get; init; }

    /// <summary>The PostgreSQL sync's state, when the monitor syncs; else null.</summary>
    public PostgresSyncStatus? Sync { get; init; }
}

/// <summary>Whether a monitor is working.</summary>
/// <param name="Healthy">True when there are no <paramref name="Problems"/>.</param>
/// <param name="Uptime">Time since it started.</param>
/// <param name="Sources">Each source's state.</param>
/// <param name="LastReadingAge">Time since the last payload arrived; null before the first.</param>
/// <param name="QueueDepth">Payloads waiting for the decision loop.</param>
/// <param name="Store"><c>ok</c>, <c>failing</c>, or <c>none</c> (running without a store).</param>
/// <param name="Problems">What makes it unhealthy, in words.</param>
public sealed record MonitorHealth(bool Healthy, TimeSpan Uptime, IReadOnlyList<SourceStatus> Sources, TimeSpan? LastReadingAge, int QueueDepth,
    string Store, IReadOnlyList<string> Problems)
{
    /// <summary>The PostgreSQL sync's state, when the monitor syncs; else null. A sync that cannot reach PostgreSQL does
    /// not make the monitor unhealthy: rows wait in the local store and are sent once it is back.</summary>
    public PostgresSyncStatus? Sync { get; init; }
}

/// <summary>Events per second over a recent window, in fixed memory: one counter per second for the last minute.</summary>
internal sealed class RateMeter
{
    private const int Seconds = 60;
    private readonly long[] _counts = new long[Seconds];
    private readonly long[] _stamps = new long[Seconds];
    private readonly long _start = Stopwatch.GetTimestamp();

    public void Add()
    {
        long second = Now();
        int slot = (int)(second % Seconds);
        if (_stamps[slot] != second)
        {
            _stamps[slot] = second;
            _counts[slot] = 0;
        }

        _counts[slot]++;
    }

    /// <summary>The rate over the last <paramref name="window"/> (at most a minute) of whole seconds, not counting the
    /// current, partial one; over the seconds since the start while they are fewer.</summary>
    public double PerSecond(TimeSpan window)
    {
        long now = Now();
        long span = Math.Clamp((long)window.TotalSeconds, 1, Seconds - 1);
        long from = Math.Max(0, now - span);
        if (now == from) return 0;
        long sum = 0;
        for (long s = from; s < now; s++)
        {
            int slot = (int)(s % Seconds);
            if (_stamps[slot] == s) sum += _counts[slot];
        }

        return (double)sum / (now - from);
    }

    private long Now() => (Stopwatch.GetTimestamp() - _start) / Stopwatch.Frequency;
}
