using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>
/// A test double of <see cref="IMonitorStore"/> that keeps records in memory (the SQLite store is written elsewhere):
/// idempotent on keys as the contract says, thread-safe, and able to fail on demand or write slowly. It counts every
/// call, so tests can see redeliveries that reached it.
/// </summary>
internal sealed class InMemoryMonitorStoreDouble : IMonitorStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ReadingRecord> _readings = [];
    private readonly List<string> _order = [];
    private readonly Dictionary<string, Decision> _ticks = [];
    private readonly Dictionary<string, ModelDecisionRecord> _models = [];
    private string? _lastAlerted;

    /// <summary>While true every call throws, as a store whose disk is gone would.</summary>
    public volatile bool Failing;

    /// <summary>A pause in every write, to let a queue build up.</summary>
    public TimeSpan WriteDelay { get; set; }

    public int RecordCalls, RejectedDuplicates, ContainsHits;

    public bool Disposed { get; private set; }

    public IReadOnlyList<ReadingRecord> Readings
    {
        get
        {
            lock (_gate) return _order.Select(k => _readings[k]).ToList();
        }
    }

    public IReadOnlyList<Decision> Ticks
    {
        get
        {
            lock (_gate) return [.. _ticks.Values];
        }
    }

    public IReadOnlyList<ModelDecisionRecord> ModelDecisions
    {
        get
        {
            lock (_gate) return [.. _models.Values];
        }
    }

    public int Count
    {
        get
        {
            lock (_gate) return _readings.Count;
        }
    }

    /// <summary>Stores an alert as if an earlier run had (to test the restart path).</summary>
    public void Preload(string lastAlertedLabel)
    {
        lock (_gate) _lastAlerted = lastAlertedLabel;
    }

    public bool RecordReading(ReadingRecord record)
    {
        Check();
        if (WriteDelay > TimeSpan.Zero) Thread.Sleep(WriteDelay);
        lock (_gate)
        {
            RecordCalls++;
            if (!_readings.TryAdd(record.Key, record))
            {
                RejectedDuplicates++;
                return false;
            }

            _order.Add(record.Key);
            if (record.Decision?.Alert is { } a) _lastAlerted = a.To;
            return true;
        }
    }

    public bool RecordTick(string key, Decision decision)
    {
        Check();
        lock (_gate)
        {
            if (!_ticks.TryAdd(key, decision)) return false;
            if (decision.Alert is { } a) _lastAlerted = a.To;
            return true;
        }
    }

    public bool RecordModelDecision(ModelDecisionRecord record)
    {
        Check();
        lock (_gate) return _models.TryAdd(record.Key, record);
    }

    public bool Contains(string readingKey)
    {
        Check();
        lock (_gate)
        {
            bool found = _readings.ContainsKey(readingKey);
            if (found) ContainsHits++;
            return found;
        }
    }

    public string? LastAlertedLabel()
    {
        Check();
        lock (_gate) return _lastAlerted;
    }

    public void Dispose() => Disposed = true;

    private void Check()
    {
        if (Failing) throw new IOException("the store double is failing on purpose");
    }
}
