using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Storage;
using Microsoft.Data.Sqlite;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>One payload as the store holds it, read back with plain SQL: its row, and its rule decision, alert or quarantine.</summary>
internal sealed record StoredReading(long Seq, string Key, string Source, string Payload, string? Label, string? AlertFrom, string? AlertTo, string? Reason,
    long? Position);

/// <summary>One model decision as the store holds it.</summary>
internal sealed record StoredModelDecision(string Key, string ReadingKey, string Check, string Model, string Label, string ModelOutput, bool TimedOut,
    double LatencyMicroseconds, string Input);

/// <summary>
/// A real <see cref="SqliteMonitorStore"/> in a temporary folder, and what the tests read back from it past the store's
/// own code (a separate SQLite connection and plain SQL), so a test sees what a user would find in the file.
/// </summary>
internal sealed class TempStore : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-store-");

    public TempStore(SqliteStoreOptions? options = null)
    {
        Path = System.IO.Path.Combine(_dir.FullName, "monitor.db");
        Store = SqliteMonitorStore.Open(Path, options ?? new SqliteStoreOptions { Durability = StoreDurability.Normal });
    }

    public SqliteMonitorStore Store { get; }

    public string Path { get; }

    /// <summary>Stored payloads, in the order they were stored.</summary>
    public IReadOnlyList<StoredReading> Readings => ReadingsIn(Path);

    public long Count => CountIn(Path, "readings");

    /// <summary>Model decisions, in the order they were stored.</summary>
    public IReadOnlyList<StoredModelDecision> ModelDecisions => ModelDecisionsIn(Path);

    /// <summary>Rule decisions made at clock ticks: label and the alert's new label (or null).</summary>
    public IReadOnlyList<(string Label, string? AlertTo)> Ticks => Query(Path, """
        SELECT d.label, a.to_label FROM decisions d LEFT JOIN alerts a ON a.key = d.key WHERE d.kind = 'rule' AND d.reading_key IS NULL ORDER BY d.seq
        """, r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1)));

    /// <summary>Stores an alert to <paramref name="label"/> as an earlier run would have (a tick that raised it).</summary>
    public void StoreAlertTo(string label, string from = "EARLIER")
    {
        var t = new DateTimeOffset(2025, 12, 31, 0, 0, 0, TimeSpan.Zero);
        Assert.True(Store.RecordTick("tick/earlier", new Decision(t, label, null, [], new Dictionary<string, double>(), 0,
            new Alert(t, from, label, null, t, AlertSeverity.Info, []))));
    }

    public void Dispose()
    {
        Store.Dispose();
        _dir.Delete(recursive: true);
    }

    public static IReadOnlyList<StoredReading> ReadingsIn(string path) => Query(path, """
        SELECT r.seq, r.key, r.source, r.payload, d.label, a.from_label, a.to_label, q.reason, q.position
        FROM readings r LEFT JOIN decisions d ON d.key = r.key LEFT JOIN alerts a ON a.key = r.key LEFT JOIN quarantine q ON q.key = r.key
        ORDER BY r.seq
        """, r => new StoredReading(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Text(r, 4), Text(r, 5), Text(r, 6), Text(r, 7),
        r.IsDBNull(8) ? null : r.GetInt64(8)));

    public static IReadOnlyList<StoredModelDecision> ModelDecisionsIn(string path) => Query(path, """
        SELECT key, reading_key, check_name, model, label, model_output, timed_out, latency_us, json_extract(inputs, '$.text')
        FROM decisions WHERE kind = 'model' ORDER BY seq
        """, r => new StoredModelDecision(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt64(6) != 0,
        r.GetDouble(7), r.GetString(8)));

    public static long CountIn(string path, string table)
    {
        using var raw = SqliteMonitorStoreTests.Raw(path);
        return SqliteMonitorStoreTests.Count(raw, table);
    }

    public static List<T> Query<T>(string path, string sql, Func<SqliteDataReader, T> map)
    {
        using var raw = SqliteMonitorStoreTests.Raw(path);
        using var cmd = raw.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<T>();
        while (r.Read()) rows.Add(map(r));
        return rows;
    }

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
}

/// <summary>
/// A test double around the real store, for the tests whose subject is a store in trouble: while <see cref="Failing"/> is
/// set every call throws, as a store whose disk is gone would; <see cref="WriteDelay"/> slows each write to let a queue build.
/// </summary>
internal sealed class FaultyStoreDouble(IMonitorStore inner) : IMonitorStore
{
    public volatile bool Failing;

    public TimeSpan WriteDelay { get; set; }

    public bool RecordReading(ReadingRecord record)
    {
        Check();
        if (WriteDelay > TimeSpan.Zero) Thread.Sleep(WriteDelay);
        return inner.RecordReading(record);
    }

    public bool RecordTick(string key, Decision decision)
    {
        Check();
        return inner.RecordTick(key, decision);
    }

    public bool RecordModelDecision(ModelDecisionRecord record)
    {
        Check();
        return inner.RecordModelDecision(record);
    }

    public bool Contains(string readingKey)
    {
        Check();
        return inner.Contains(readingKey);
    }

    public string? LastAlertedLabel()
    {
        Check();
        return inner.LastAlertedLabel();
    }

    public IReadOnlyList<PendingCheck> PendingChecks()
    {
        Check();
        return inner.PendingChecks();
    }

    public void DropPendingCheck(string key)
    {
        Check();
        inner.DropPendingCheck(key);
    }

    public void Dispose()
    {
    }

    private void Check()
    {
        if (Failing) throw new IOException("the store double is failing on purpose");
    }
}
