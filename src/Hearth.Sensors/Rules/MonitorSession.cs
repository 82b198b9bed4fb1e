using System.Diagnostics;

namespace Hearth.Sensors;

/// <summary>
/// One monitored stream: parses payloads (quarantining bad ones), runs the <see cref="RuleEngine"/>, and keeps the
/// statistics. Bad readings are counted and kept (the most recent <see cref="QuarantineCapacity"/>) but never stop the stream.
/// </summary>
public sealed class MonitorSession
{
    /// <summary>How many quarantined readings are kept for inspection; older ones are dropped (they stay counted).</summary>
    public const int QuarantineCapacity = 1000;

    private readonly ReadingParser _parser;
    private readonly Queue<QuarantinedReading> _quarantine = new();
    private readonly Dictionary<QuarantineReason, long> _quarantined = [];
    private readonly Dictionary<string, long> _labels = new(StringComparer.Ordinal);
    private readonly List<long> _latencies = [];
    private long _readings, _alerts;

    /// <summary>Creates a session for a policy.</summary>
    public MonitorSession(MonitorPolicy policy)
    {
        Policy = policy;
        _parser = new ReadingParser(policy);
        Engine = new RuleEngine(policy);
    }

    /// <summary>The policy.</summary>
    public MonitorPolicy Policy { get; }

    /// <summary>The engine (its state is the session's).</summary>
    public RuleEngine Engine { get; }

    /// <summary>The most recent quarantined readings, oldest first.</summary>
    public IReadOnlyCollection<QuarantinedReading> Quarantine => _quarantine;

    /// <summary>Parses and evaluates one JSON payload; returns its decision, or its quarantine.</summary>
    public (Decision? Decision, QuarantinedReading? Quarantined) Accept(ReadOnlySpan<byte> utf8, string source, long position)
    {
        _readings++;
        var parsed = _parser.Parse(utf8, source, position);
        return parsed.Reading is { } r ? (Record(Engine.Evaluate(r)), null) : (null, Set(parsed.Quarantined!));
    }

    /// <summary>Accepts one line from <see cref="JsonLinesReader"/> (an oversized line is quarantined unparsed).</summary>
    public (Decision? Decision, QuarantinedReading? Quarantined) Accept(JsonLine line, string source)
    {
        if (!line.Oversized) return Accept(line.Bytes.Span, source, line.Number);
        _readings++;
        return (null, Set(_parser.Oversized(line.Number, line.Length, line.Bytes.Span)));
    }

    /// <summary>Evaluates a reading that is already parsed (a simulator, a typed source).</summary>
    public Decision Accept(Reading reading)
    {
        _readings++;
        return Record(Engine.Evaluate(reading));
    }

    /// <summary>Evaluates the stale rules at a clock tick (see <see cref="RuleEngine.Tick"/>); not counted as a reading.</summary>
    public Decision Tick(DateTimeOffset now) => Record(Engine.Tick(now));

    /// <summary>The statistics so far.</summary>
    public MonitorStats Stats()
    {
        var sorted = _latencies.ToArray();
        Array.Sort(sorted);
        return new MonitorStats(
            _readings,
            _quarantined.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value),
            _labels.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
            _alerts,
            Percentile(sorted, 0.50),
            Percentile(sorted, 0.99),
            TimeSpan.FromSeconds(sorted.Sum(t => (double)t) / Stopwatch.Frequency));
    }

    private Decision Record(Decision d)
    {
        _labels[d.Label] = _labels.GetValueOrDefault(d.Label) + 1;
        if (d.Alert != null) _alerts++;
        _latencies.Add(d.LatencyTicks);
        return d;
    }

    private QuarantinedReading Set(QuarantinedReading q)
    {
        _quarantined[q.Reason] = _quarantined.GetValueOrDefault(q.Reason) + 1;
        if (_quarantine.Count == QuarantineCapacity) _quarantine.Dequeue();
        _quarantine.Enqueue(q);
        return q;
    }

    // Nearest-rank percentile.
    private static TimeSpan Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0) return TimeSpan.Zero;
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return TimeSpan.FromSeconds((double)sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)] / Stopwatch.Frequency);
    }
}

/// <summary>What a session has seen.</summary>
/// <param name="Readings">Payloads and readings accepted (quarantined ones included; ticks not).</param>
/// <param name="Quarantined">Quarantined readings by reason.</param>
/// <param name="Decisions">Decisions by label (ticks included).</param>
/// <param name="Alerts">Alerts raised.</param>
/// <param name="LatencyP50">Median rule evaluation time (nearest rank).</param>
/// <param name="LatencyP99">99th-percentile rule evaluation time (nearest rank).</param>
/// <param name="RuleTime">Total rule evaluation time.</param>
public sealed record MonitorStats(
    long Readings,
    IReadOnlyDictionary<QuarantineReason, long> Quarantined,
    IReadOnlyDictionary<string, long> Decisions,
    long Alerts,
    TimeSpan LatencyP50,
    TimeSpan LatencyP99,
    TimeSpan RuleTime)
{
    /// <summary>Quarantined readings of every reason.</summary>
    public long QuarantinedTotal => Quarantined.Values.Sum();
}

/// <summary>Paces a replay at the recorded speed: how long to wait before each reading, from the timestamps alone.</summary>
public sealed class ReplayPacer(double speed = 1.0)
{
    private DateTimeOffset? _previous;

    /// <summary>The wait before a reading with this timestamp: the gap since the previous one divided by the speed
    /// (zero for the first reading and for timestamps that go backwards).</summary>
    public TimeSpan Next(DateTimeOffset timestamp)
    {
        var gap = _previous is { } p && timestamp > p ? (timestamp - p) / speed : TimeSpan.Zero;
        if (_previous == null || timestamp > _previous) _previous = timestamp;
        return gap;
    }
}
