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
    private readonly LatencyHistogram _latencies = new();
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
    public (Decision? Decision, QuarantinedReading? Quarantined) Accept(ReadOnlySpan<byte> utf8, string source, long position) =>
        Accept(utf8, source, position, out _);

    /// <summary>Parses and evaluates one JSON payload; returns its decision, or its quarantine, and gives the parsed
    /// reading (null when quarantined).</summary>
    public (Decision? Decision, QuarantinedReading? Quarantined) Accept(ReadOnlySpan<byte> utf8, string source, long position, out Reading? reading)
    {
        _readings++;
        var parsed = _parser.Parse(utf8, source, position);
        reading = parsed.Reading;
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
        return new MonitorStats(
            _readings,
            _quarantined.OrderBy(p => p.Key).ToDictionary(p => p.Key, p => p.Value),
            _labels.OrderBy(p => p.Key, StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value),
            _alerts,
            _latencies.Percentile(0.50),
            _latencies.Percentile(0.99),
            _latencies.Total);
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

}

/// <summary>
/// Evaluation latencies in fixed memory however long the stream runs: exact below 32 Stopwatch ticks, above that in
/// buckets 1/16 of a power of two wide (so a percentile is within 1/16 of the true value).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Exact = 32, SubBuckets = 16;
    private readonly long[] _counts = new long[Exact + (63 - 5) * SubBuckets];
    private long _count, _totalTicks;

    public void Add(long ticks)
    {
        ticks = Math.Max(0, ticks);
        _counts[Bucket(ticks)]++;
        _count++;
        _totalTicks += ticks;
    }

    public TimeSpan Total => Ticks(_totalTicks);

    /// <summary>The nearest-rank percentile, as the middle of its bucket.</summary>
    public TimeSpan Percentile(double p)
    {
        if (_count == 0) return TimeSpan.Zero;
        long rank = Math.Max(1, (long)Math.Ceiling(p * _count)), seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return Ticks(Middle(i));
        }

        return Ticks(Middle(_counts.Length - 1));
    }

    // Below 32: the value itself. Above: the position of the leading one bit and the four bits after it.
    internal static int Bucket(long ticks)
    {
        if (ticks < Exact) return (int)ticks;
        int msb = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)ticks);
        int shift = msb - 4;
        return Exact + (msb - 5) * SubBuckets + (int)((ticks >> shift) & (SubBuckets - 1));
    }

    internal static double Middle(int bucket)
    {
        if (bucket < Exact) return bucket;
        int msb = (bucket - Exact) / SubBuckets + 5, mantissa = (bucket - Exact) % SubBuckets;
        double low = (double)(SubBuckets + mantissa) * Math.Pow(2, msb - 4);
        return low + Math.Pow(2, msb - 4) / 2;
    }

    private static TimeSpan Ticks(double stopwatchTicks) => TimeSpan.FromSeconds(stopwatchTicks / Stopwatch.Frequency);
}

/// <summary>What a session has seen.</summary>
/// <param name="Readings">Payloads and readings accepted (quarantined ones included; ticks not).</param>
/// <param name="Quarantined">Quarantined readings by reason.</param>
/// <param name="Decisions">Decisions by label (ticks included).</param>
/// <param name="Alerts">Alerts raised.</param>
/// <param name="LatencyP50">Median rule evaluation time (nearest rank, within 1/16: kept in a fixed-size histogram).</param>
/// <param name="LatencyP99">99th-percentile rule evaluation time (nearest rank, within 1/16).</param>
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
