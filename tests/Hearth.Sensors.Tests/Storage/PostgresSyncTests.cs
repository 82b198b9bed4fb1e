using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Mqtt;
using Npgsql;

namespace Hearth.Sensors.Tests.Storage;

/// <summary>One PostgreSQL server for the sync tests of a class; each test syncs into its own new database.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    internal PostgresServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    public Task DisposeAsync()
    {
        _server?.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class PostgresSyncTests(PostgresFixture fixture) : IClassFixture<PostgresFixture>, IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-sync-");

    public void Dispose() => _dir.Delete(recursive: true);

    private SqliteMonitorStore OpenStore() =>
        SqliteMonitorStore.Open(Path.Combine(_dir.FullName, "monitor.db"), new SqliteStoreOptions { SyncTarget = true, Durability = StoreDurability.Normal });

    private static PostgresSync Sync(SqliteMonitorStore store, string connectionString, int batchSize = 500) =>
        new(store, new PostgresSyncOptions { ConnectionString = connectionString, BatchSize = batchSize });

    /// <summary>Row counts in PostgreSQL, and whether every key is distinct.</summary>
    internal static async Task<StoreCounts> PostgresCounts(string connectionString)
    {
        async Task<long> Count(string table)
        {
            long rows = await PostgresServer.ScalarAsync<long>(connectionString, $"select count(*) from public.{table}");
            long keys = await PostgresServer.ScalarAsync<long>(connectionString, $"select count(distinct key) from public.{table}");
            Assert.Equal(rows, keys);
            return rows;
        }

        return new StoreCounts(await Count("hearth_readings"), await Count("hearth_decisions"), await Count("hearth_alerts"), await Count("hearth_quarantine"));
    }

    /// <summary>The keys of one table, in PostgreSQL and in SQLite, sorted.</summary>
    internal static async Task<(List<string> Postgres, List<string> Sqlite)> Keys(string connectionString, string sqlitePath, string table)
    {
        var pg = new List<string>();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var cmd = new NpgsqlCommand($"select key from public.hearth_{table} order by key collate \"C\"", connection);
            await using var r = await cmd.ExecuteReaderAsync();
            while (await r.ReadAsync()) pg.Add(r.GetString(0));
        }

        var local = new List<string>();
        using (var raw = SqliteMonitorStoreTests.Raw(sqlitePath))
        using (var cmd = raw.CreateCommand())
        {
            cmd.CommandText = $"SELECT key FROM {table} ORDER BY key";
            using var r = cmd.ExecuteReader();
            while (r.Read()) local.Add(r.GetString(0));
        }

        return (pg, local);
    }

    [Fact]
    public async Task EveryRowReachesPostgresOnceWithItsValues()
    {
        string pg = await fixture.Server.CreateDatabaseAsync();
        using var store = OpenStore();
        const int n = 1234;
        for (int i = 0; i < n; i++) StorePlan.Write(store, i);
        await using var sync = Sync(store, pg, batchSize: 200);

        var result = await sync.SyncOnceAsync();

        var expected = StorePlan.Expected(n);
        Assert.Equal(expected, result.Sent);
        Assert.Equal(expected, result.Inserted);
        Assert.Equal(expected, await PostgresCounts(pg));
        Assert.Equal(0, store.PendingCounts().Total);
        foreach (var table in new[] { "readings", "decisions", "alerts", "quarantine" })
        {
            var (inPostgres, inSqlite) = await Keys(pg, store.Path, table);
            Assert.Equal(inSqlite, inPostgres);
        }

        // A second round has nothing to send.
        Assert.Equal(0, (await sync.SyncOnceAsync()).Sent.Total);

        // Values, as PostgreSQL reads them back.
        string k20 = StorePlan.Key(20);
        Assert.Equal("2026-01-01 00:00:20.25+00", await PostgresServer.ScalarAsync<string>(pg, $"select received_at::text from hearth_readings where key = '{k20}'"));
        Assert.Equal(StorePlan.Payload(20), await PostgresServer.ScalarAsync<string>(pg, $"select payload from hearth_readings where key = '{k20}'"));
        Assert.Equal("hot|ANOMALY DETECTED|90|hot", await PostgresServer.ScalarAsync<string>(pg,
            $"select rule || '|' || label || '|' || (inputs->>'temperature') || '|' || (active_rules->>0) from hearth_decisions where key = '{k20}'"));
        Assert.Equal("NORMAL>ANOMALY DETECTED critical webhook 2026-01-01 00:00:19+00", await PostgresServer.ScalarAsync<string>(pg,
            $"select from_label || '>' || to_label || ' ' || severity || ' ' || (sinks->>1) || ' ' || since::text from hearth_alerts where key = '{k20}'"));
        Assert.Equal("model smell burning true 23500", await PostgresServer.ScalarAsync<string>(pg,
            $"select kind || ' ' || check_name || ' ' || label || ' ' || timed_out::text || ' ' || latency_us::text from hearth_decisions where key = '{StorePlan.ModelKey(11)}'"));
        Assert.Equal("4 malformed_json", await PostgresServer.ScalarAsync<string>(pg,
            $"select position::text || ' ' || reason from hearth_quarantine where key = '{StorePlan.Key(3)}'"));
        Assert.True(await PostgresServer.ScalarAsync<bool>(pg, $"select reading_ts is null from hearth_readings where key = '{StorePlan.Key(3)}'"));

        // The tables are Supabase-shaped: public schema, jsonb, timestamptz, created_at defaulting to now().
        Assert.Equal("jsonb timestamp with time zone now()", await PostgresServer.ScalarAsync<string>(pg, """
            select (select data_type from information_schema.columns where table_schema = 'public' and table_name = 'hearth_decisions' and column_name = 'inputs')
                || ' ' || (select data_type from information_schema.columns where table_schema = 'public' and table_name = 'hearth_alerts' and column_name = 'raised_at')
                || ' ' || (select column_default from information_schema.columns where table_schema = 'public' and table_name = 'hearth_readings' and column_name = 'created_at')
            """));
    }

    [Fact]
    public async Task ACrashAfterThePostgresCommitOnlyCausesAHarmlessResend()
    {
        string pg = await fixture.Server.CreateDatabaseAsync();
        using var store = OpenStore();
        const int n = 300;
        for (int i = 0; i < n; i++) StorePlan.Write(store, i);
        var expected = StorePlan.Expected(n);
        await using var sync = Sync(store, pg);
        sync.AfterPostgresCommit = (_, _) => throw new InvalidOperationException("simulated crash after the PostgreSQL commit");

        await Assert.ThrowsAsync<InvalidOperationException>(() => sync.SyncOnceAsync());
        Assert.Equal(expected, await PostgresCounts(pg));   // committed there
        Assert.Equal(expected, store.PendingCounts());      // but not marked here
        Assert.False(sync.Status().Connected);
        Assert.Contains("simulated crash", sync.Status().LastError);

        sync.AfterPostgresCommit = null;
        var resend = await sync.SyncOnceAsync();
        Assert.Equal(expected, resend.Sent);
        Assert.Equal(expected, resend.AlreadyPresent);
        Assert.Equal(0, resend.Inserted.Total);
        Assert.Equal(expected, await PostgresCounts(pg));
        Assert.Equal(0, store.PendingCounts().Total);
        var status = sync.Status();
        Assert.True(status.Connected);
        Assert.Null(status.LastError);
        Assert.Equal(expected.Total, status.RowsAlreadyPresent);
    }

    [Fact]
    public async Task TwoStoresWithTheSameRowsLeaveOneCopy()
    {
        // The same payloads reach PostgreSQL from two stores (a monitor's store restored from a backup, say).
        string pg = await fixture.Server.CreateDatabaseAsync();
        using var first = OpenStore();
        using var second = SqliteMonitorStore.Open(Path.Combine(_dir.FullName, "second.db"), new SqliteStoreOptions { SyncTarget = true });
        for (int i = 0; i < 100; i++) StorePlan.Write(first, i);
        for (int i = 50; i < 150; i++) StorePlan.Write(second, i);
        await using var a = Sync(first, pg, batchSize: 7);
        await using var b = Sync(second, pg, batchSize: 13);

        await Task.WhenAll(a.SyncOnceAsync(), b.SyncOnceAsync());

        Assert.Equal(StorePlan.Expected(150), await PostgresCounts(pg));
    }

    [Fact]
    public async Task TextPostgresCannotHoldIsReplacedAndNonFiniteInputsAreKept()
    {
        string pg = await fixture.Server.CreateDatabaseAsync();
        using var store = OpenStore();
        string nul = "{\"ts\": 1, \"temperature\": \0}";
        store.RecordReading(new ReadingRecord("nul", "plant/\0", StorePlan.Time(0), nul, null,
            new QuarantinedReading(1, QuarantineReason.MalformedJson, "bad \0 byte", nul)));
        var inputs = new Dictionary<string, double> { ["temperature"] = double.NaN, ["pressure"] = double.PositiveInfinity, ["flow"] = 2.5 };
        store.RecordReading(new ReadingRecord("nan", "plant", StorePlan.Time(1), "{}", new Decision(StorePlan.Time(1), "NORMAL", null, [], inputs, 1, null), null));
        store.RecordModelDecision(new ModelDecisionRecord("nan/check", "nan", "check", "m", "text with \0 and \ud800 inside", "ok", "ok\0", TimeSpan.Zero, false, StorePlan.Time(1)));
        await using var sync = Sync(store, pg);

        await sync.SyncOnceAsync();

        Assert.Equal("{\"ts\": 1, \"temperature\": \ufffd}", await PostgresServer.ScalarAsync<string>(pg, "select payload from hearth_readings where key = 'nul'"));
        Assert.Equal("plant/\ufffd|bad \ufffd byte", await PostgresServer.ScalarAsync<string>(pg,
            "select r.source || '|' || q.detail from hearth_readings r join hearth_quarantine q using (key) where key = 'nul'"));
        Assert.Equal("NaN Infinity 2.5", await PostgresServer.ScalarAsync<string>(pg,
            "select (inputs->>'temperature') || ' ' || (inputs->>'pressure') || ' ' || (inputs->>'flow') from hearth_decisions where key = 'nan'"));
        Assert.Equal("text with \ufffd and \ufffd inside|ok\ufffd", await PostgresServer.ScalarAsync<string>(pg,
            "select (inputs->>'text') || '|' || model_output from hearth_decisions where key = 'nan/check'"));
    }

    [Fact]
    public async Task AnUnreachableServerFailsWithATypedErrorAndNeverShowsThePassword()
    {
        using var store = OpenStore();
        StorePlan.Write(store, 0);
        string connection = $"Host=127.0.0.1;Port={MosquittoBroker.FreePort()};Username=monitor;Password=s3cret-pw;Database=plant;Timeout=3";
        await using var sync = Sync(store, connection);

        var e = await Assert.ThrowsAsync<PostgresSyncException>(() => sync.SyncOnceAsync());
        var status = sync.Status();
        Assert.False(status.Connected);
        Assert.Equal(1, status.ConsecutiveFailures);
        Assert.Null(status.LastSuccess);
        Assert.NotNull(status.LastAttempt);
        Assert.Equal(StorePlan.Expected(1), status.Pending);
        Assert.Equal($"monitor@127.0.0.1:{new NpgsqlConnectionStringBuilder(connection).Port}/plant", sync.Target);
        Assert.Contains(sync.Target, e.Message);
        foreach (var text in new[] { e.Message, status.LastError!, sync.Target, e.ToString() })
            Assert.DoesNotContain("s3cret-pw", text);
    }

    [Fact]
    public void BadOptionsAreRefused()
    {
        using var store = OpenStore();
        using var unsynced = SqliteMonitorStore.Open(Path.Combine(_dir.FullName, "local.db"));
        Assert.Contains("SyncTarget", Assert.Throws<ArgumentException>(() => Sync(unsynced, "Host=localhost")).Message);
        Assert.Throws<ArgumentException>(() => Sync(store, "Host=localhost", batchSize: 0));
        var e = Assert.Throws<ArgumentException>(() => Sync(store, "Host=localhost;Password=hunter2;Bogus Key=1"));
        Assert.DoesNotContain("hunter2", e.Message);
    }
}
