using System.Diagnostics;
using System.Text.Json.Nodes;
using Hearth.Sensors.Storage;
using Microsoft.Data.Sqlite;

namespace Hearth.Sensors.Tests.Storage;

public sealed class SqliteMonitorStoreTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-store-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string DbPath => Path.Combine(_dir.FullName, "monitor.db");

    private SqliteMonitorStore Open(SqliteStoreOptions? options = null) => SqliteMonitorStore.Open(DbPath, options);

    /// <summary>A separate, plain SQLite connection: what the tests check is read past the store's own code.</summary>
    internal static SqliteConnection Raw(string path)
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    internal static object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    internal static long Count(SqliteConnection c, string table) => (long)Scalar(c, $"SELECT count(*) FROM {table}")!;

    [Fact]
    public void TheSameKeyTwiceIsStoredOnce()
    {
        using var store = Open();
        Assert.True(store.RecordReading(StorePlan.Reading(0)));   // decision with alert
        Assert.False(store.RecordReading(StorePlan.Reading(0)));
        Assert.True(store.RecordReading(StorePlan.Reading(3)));   // quarantined
        Assert.False(store.RecordReading(StorePlan.Reading(3)));
        Assert.True(store.RecordModelDecision(StorePlan.ModelDecision(0)));
        Assert.False(store.RecordModelDecision(StorePlan.ModelDecision(0)));
        var tick = new Decision(StorePlan.Time(9), "STALE", "stale", ["stale"], new Dictionary<string, double>(), 10, null);
        Assert.True(store.RecordTick("tick/2026-01-01T00:00:09Z", tick));
        Assert.False(store.RecordTick("tick/2026-01-01T00:00:09Z", tick));
        Assert.True(store.Contains(StorePlan.Key(0)));
        Assert.False(store.Contains(StorePlan.Key(1)));

        using var raw = Raw(DbPath);
        Assert.Equal(2, Count(raw, "readings"));
        Assert.Equal(3, Count(raw, "decisions")); // the reading's, the model check's, the tick's
        Assert.Equal(1, Count(raw, "alerts"));
        Assert.Equal(1, Count(raw, "quarantine"));
        Assert.Equal(new StoreCounts(2, 3, 1, 1), store.Counts());
    }

    [Fact]
    public void AReadingItsDecisionAndItsAlertAreCommittedTogether()
    {
        using var store = Open();
        using (var raw = Raw(DbPath))
        using (var cmd = raw.CreateCommand())
        {
            // Make the last of the three inserts fail inside the store's transaction.
            cmd.CommandText = "CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts BEGIN SELECT RAISE(ABORT, 'injected failure'); END";
            cmd.ExecuteNonQuery();
        }

        var e = Assert.Throws<MonitorStoreException>(() => store.RecordReading(StorePlan.Reading(0)));
        Assert.Contains("injected failure", e.Message);
        using (var raw = Raw(DbPath))
        {
            Assert.Equal(0, Count(raw, "readings"));
            Assert.Equal(0, Count(raw, "decisions"));
            using var cmd = raw.CreateCommand();
            cmd.CommandText = "DROP TRIGGER refuse_alerts";
            cmd.ExecuteNonQuery();
        }

        Assert.False(store.Contains(StorePlan.Key(0)));
        Assert.True(store.RecordReading(StorePlan.Reading(0)));
        using (var raw = Raw(DbPath))
        {
            Assert.Equal(1, Count(raw, "readings"));
            Assert.Equal(1, Count(raw, "decisions"));
            Assert.Equal(1, Count(raw, "alerts"));
        }
    }

    [Fact]
    public void RowsHoldWhatTheyWereGiven()
    {
        using var store = Open();
        var reading = StorePlan.Reading(20); // a decision by rule "hot" with a critical alert
        var decision = reading.Decision!;
        store.RecordReading(reading);
        store.RecordReading(StorePlan.Reading(3));
        store.RecordModelDecision(StorePlan.ModelDecision(11));

        using var raw = Raw(DbPath);
        using var cmd = raw.CreateCommand();
        cmd.CommandText = "SELECT source, received_at, reading_ts, payload FROM readings WHERE key = $k";
        cmd.Parameters.AddWithValue("$k", reading.Key);
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal(StorePlan.Source, r.GetString(0));
            Assert.Equal("2026-01-01T00:00:20.2500000Z", r.GetString(1));
            Assert.Equal("2026-01-01T00:00:20.0000000Z", r.GetString(2));
            Assert.Equal(StorePlan.Payload(20), r.GetString(3));
        }

        cmd.CommandText = "SELECT kind, rule, label, active_rules, inputs, latency_us, model_output, timed_out, reading_key FROM decisions WHERE key = $k";
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal("rule", r.GetString(0));
            Assert.Equal("hot", r.GetString(1));
            Assert.Equal("ANOMALY DETECTED", r.GetString(2));
            Assert.Equal("[\"hot\"]", r.GetString(3));
            Assert.Equal(90.0, (double)JsonNode.Parse(r.GetString(4))!["temperature"]!);
            Assert.Equal(decision.LatencyTicks * 1e6 / Stopwatch.Frequency, r.GetDouble(5), 9);
            Assert.True(r.IsDBNull(6));
            Assert.True(r.IsDBNull(7));
            Assert.Equal(reading.Key, r.GetString(8));
        }

        cmd.CommandText = "SELECT from_label, to_label, rule, severity, since, raised_at, sinks FROM alerts WHERE key = $k";
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal(["NORMAL", "ANOMALY DETECTED", "hot", "critical"], new[] { r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3) });
            Assert.Equal("2026-01-01T00:00:19.0000000Z", r.GetString(4));
            Assert.Equal("2026-01-01T00:00:20.0000000Z", r.GetString(5));
            Assert.Equal("[\"console\",\"webhook\"]", r.GetString(6));
        }

        cmd.Parameters["$k"].Value = StorePlan.Key(3);
        cmd.CommandText = "SELECT position, reason, detail, excerpt FROM quarantine WHERE key = $k";
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal(4, r.GetInt64(0));
            Assert.Equal("malformed_json", r.GetString(1));
            Assert.Equal(StorePlan.Payload(3), r.GetString(3));
        }

        cmd.Parameters["$k"].Value = StorePlan.ModelKey(11);
        cmd.CommandText = "SELECT kind, check_name, model, label, inputs, latency_us, model_output, timed_out, reading_key, decided_at FROM decisions WHERE key = $k";
        using (var r = cmd.ExecuteReader())
        {
            Assert.True(r.Read());
            Assert.Equal(["model", "smell", "stories260K", "burning"], new[] { r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3) });
            Assert.Equal("Reading 11: temperature 81. Label?", (string?)JsonNode.Parse(r.GetString(4))!["text"]);
            Assert.Equal(23_500.0, r.GetDouble(5));
            Assert.Equal("", r.GetString(6));
            Assert.Equal(1, r.GetInt64(7));
            Assert.Equal(StorePlan.Key(11), r.GetString(8));
            Assert.Equal("2026-01-01T00:00:11.5000000Z", r.GetString(9));
        }
    }

    [Fact]
    public void TheDatabaseIsInWalModeAndVersioned()
    {
        using var store = Open();
        store.RecordReading(StorePlan.Reading(0));
        Assert.True(File.Exists(DbPath + "-wal"), "a write-ahead log file sits next to the database while it is open");
        using var raw = Raw(DbPath);
        Assert.Equal("wal", Scalar(raw, "PRAGMA journal_mode"));
        Assert.Equal((long)SqliteMonitorStore.SchemaVersion, Scalar(raw, "PRAGMA user_version"));
        Assert.Equal((long)SqliteMonitorStore.ApplicationId, Scalar(raw, "PRAGMA application_id"));
    }

    [Theory]
    [InlineData(StoreDurability.Full, 2)]   // SQLite's numbering: OFF 0, NORMAL 1, FULL 2
    [InlineData(StoreDurability.Normal, 1)]
    public void DurabilityAndBusyTimeoutAreSetOnTheWritingConnection(StoreDurability durability, long synchronous)
    {
        using var store = Open(new SqliteStoreOptions { Durability = durability, BusyTimeout = TimeSpan.FromSeconds(3) });
        Assert.Equal(synchronous, store.WriterPragma("synchronous"));
        Assert.Equal(3000, store.WriterPragma("busy_timeout"));
    }

    [Fact]
    public void RecordsAndTheLastAlertSurviveReopening()
    {
        using (var store = Open())
        {
            Assert.Null(store.LastAlertedLabel());
            for (int i = 0; i <= 20; i++) StorePlan.Write(store, i);
            Assert.Equal("ANOMALY DETECTED", store.LastAlertedLabel()); // record 20's alert
            store.RecordReading(StorePlan.Reading(25));
            Assert.Equal("NORMAL", store.LastAlertedLabel());
        }

        using (var store = Open())
        {
            Assert.Equal("NORMAL", store.LastAlertedLabel());
            Assert.Equal(StorePlan.Expected(21) + new StoreCounts(1, 1, 1, 0), store.Counts());
            Assert.False(store.RecordReading(StorePlan.Reading(7)));
        }
    }

    [Fact]
    public async Task ReadersRunWhileTheWriterWrites()
    {
        using var store = Open(new SqliteStoreOptions { Durability = StoreDurability.Normal });
        const int n = 1500;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < n; i++) StorePlan.Write(store, i);
        });
        var readers = Enumerable.Range(0, 3).Select(r => Task.Run(() =>
        {
            long last = 0, reads = 0;
            while (!writer.IsCompleted || reads == 0)
            {
                var counts = store.Counts();
                Assert.True(counts.Readings >= last, "a reader never sees the count go back");
                Assert.True(counts.Decisions + counts.Quarantine >= counts.Readings, "every visible reading has its decision or quarantine");
                last = counts.Readings;
                if (last > 0) Assert.True(store.Contains(StorePlan.Key(last - 1)));
                _ = store.LastAlertedLabel();
                _ = store.PendingCounts();
                reads++;
            }

            return reads;
        })).ToArray();
        await writer;
        long[] reads = await Task.WhenAll(readers);
        Assert.All(reads, r => Assert.True(r > 0));
        Assert.Equal(StorePlan.Expected(n), store.Counts());
    }

    [Fact]
    public void AFileThatIsNotSqliteGivesAClearError()
    {
        File.WriteAllText(DbPath, string.Concat(Enumerable.Repeat("this is a text file, not a database\n", 200)));
        var e = Assert.Throws<MonitorStoreException>(() => Open());
        Assert.Contains(DbPath, e.Message);
        Assert.Contains("not a SQLite database", e.Message);
    }

    [Fact]
    public void ACorruptDatabaseGivesAClearError()
    {
        using (var store = Open())
            for (int i = 0; i < 50; i++) StorePlan.Write(store, i);
        // Keep the 100-byte header (so it still looks like SQLite) and overwrite the schema page behind it.
        using (var file = File.OpenWrite(DbPath))
        {
            file.Position = 100;
            file.Write(Enumerable.Repeat((byte)0xA5, 3000).ToArray());
        }

        var e = Assert.Throws<MonitorStoreException>(() => Open());
        Assert.Contains(DbPath, e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void ANewerSchemaAnotherApplicationsDatabaseAndBadPathsAreRefused()
    {
        using (var store = Open()) { }
        using (var raw = Raw(DbPath)) Scalar(raw, "PRAGMA user_version = 7");
        var newer = Assert.Throws<MonitorStoreException>(() => Open());
        Assert.Contains("schema version 7", newer.Message);

        string other = Path.Combine(_dir.FullName, "other.db");
        using (var raw = Raw(other)) Scalar(raw, "CREATE TABLE orders (id INTEGER PRIMARY KEY)");
        Assert.Contains("other tables", Assert.Throws<MonitorStoreException>(() => SqliteMonitorStore.Open(other)).Message);

        Assert.Contains("is a folder", Assert.Throws<MonitorStoreException>(() => SqliteMonitorStore.Open(_dir.FullName)).Message);
        Assert.Contains("does not exist", Assert.Throws<MonitorStoreException>(() => SqliteMonitorStore.Open(Path.Combine(_dir.FullName, "no", "such.db"))).Message);
    }

    [Fact]
    public void AReadingRecordHoldsExactlyOneOutcome()
    {
        using var store = Open();
        var r = StorePlan.Reading(0);
        Assert.Throws<ArgumentException>(() => store.RecordReading(r with { Decision = null }));
        Assert.Throws<ArgumentException>(() => store.RecordReading(r with { Quarantined = StorePlan.Reading(3).Quarantined }));
        Assert.Equal(0, store.Counts().Total);
    }

    [Fact]
    public void TheSyncCursorOnlyMovesForward()
    {
        using var store = Open(new SqliteStoreOptions { SyncTarget = true });
        for (int i = 0; i < 30; i++) StorePlan.Write(store, i);
        var all = StorePlan.Expected(30);
        Assert.Equal(all, store.PendingCounts());

        var first = store.ReadUnsynced(10, store.Head());
        Assert.Equal(Enumerable.Range(0, 10).Select(i => StorePlan.Key(i)), first.Readings.Select(r => r.Key));
        Assert.Equal(first.Readings.Select(r => r.Seq).Order(), first.Readings.Select(r => r.Seq));
        store.MarkSynced(first.End);
        Assert.Equal(all.Readings - 10, store.PendingCounts().Readings);
        store.MarkSynced(default); // never backwards
        Assert.Equal(first.End, store.SyncedThrough());

        var second = store.ReadUnsynced(1000, store.Head());
        Assert.Equal(Enumerable.Range(10, 20).Select(i => StorePlan.Key(i)), second.Readings.Select(r => r.Key));
        store.MarkSynced(second.End);
        Assert.Equal(0, store.PendingCounts().Total);
        Assert.True(store.ReadUnsynced(10, store.Head()).IsEmpty);
    }
}
