using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Storage;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The monitor's storage as a policy and the command line set it up (<see cref="MonitorStorage"/>), and the host
/// running the PostgreSQL sync beside the monitor against a real PostgreSQL that goes down and comes back.</summary>
public sealed class MonitorStorageTests : IDisposable
{
    private const string Variable = "TEST_HEARTH_PG";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-storage-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Db(string name = "monitor.db") => Path.Combine(_dir.FullName, name);

    private static MonitorStorageOptions Options(string? path = null, string? sync = null, string? value = null) =>
        new() { StorePath = path, SyncVariable = sync, Environment = v => v == Variable ? value : null };

    [Fact]
    public async Task ThePolicyAndTheCommandLineDecideWhatIsKeptAndWhere()
    {
        Assert.Null(MonitorStorage.Open(PolicyLoader.Seed, Options()));

        var policy = PolicyLoader.Parse(PolicyLoader.SeedText + $"""

            store:
              path: {Db("policy.db")}
              durability: normal
              retention:
                readings: {"{"} max_rows: 10 {"}"}
              postgres: {"{"} connection_env: {Variable}, batch_size: 7 {"}"}
            """);
        await using (var fromPolicy = MonitorStorage.Open(policy, Options(value: "Host=127.0.0.1;Port=1;Username=u;Database=d"))!)
        {
            Assert.Equal(Db("policy.db"), fromPolicy.Store.Path);
            Assert.Equal(StoreDurability.Normal, fromPolicy.Store.Options.Durability);
            Assert.Equal(new RetentionLimit(null, 10), fromPolicy.Store.Options.Retention.Readings);
            Assert.True(fromPolicy.Store.Options.SyncTarget); // so retention keeps what is not yet in PostgreSQL
            Assert.Equal("u@127.0.0.1:1/d", fromPolicy.Sync!.Target);
        }

        // --store wins over the policy's path; without a sync the store is no sync target.
        await using (var fromCommandLine = MonitorStorage.Open(policy with { Store = policy.Store! with { Postgres = null } }, Options(path: Db("cli.db")))!)
        {
            Assert.Equal(Db("cli.db"), fromCommandLine.Store.Path);
            Assert.Null(fromCommandLine.Sync);
            Assert.False(fromCommandLine.Store.Options.SyncTarget);
        }

        Assert.False(File.Exists(Db())); // nothing above opened the default name
    }

    [Theory]
    [InlineData(null, Variable, "x", "needs a local store to forward from")]
    [InlineData("m.db", "Host=db;Password=hunter2", null, "the name of an environment variable")]
    [InlineData("m.db", "postgres://u:hunter2@db/x", null, "the name of an environment variable")]
    [InlineData("m.db", Variable, null, "TEST_HEARTH_PG is not set")]
    [InlineData("m.db", Variable, "Host=db;Password=hunter2;Colour=blue", "not valid")]
    public void BadSyncSettingsAreRefusedWithoutShowingTheConnectionString(string? path, string sync, string? value, string phrase)
    {
        var e = Assert.Throws<MonitorConfigurationException>(() => MonitorStorage.Open(PolicyLoader.Seed, Options(path == null ? null : Db(path), sync, value)));
        Assert.Contains(phrase, e.Message);
        Assert.DoesNotContain("hunter2", e.Message);
        Assert.False(File.Exists(Db("m.db")) && value == null, "a refused set-up leaves no store behind");
    }

    [Fact]
    public async Task TheHostSyncsBesideTheMonitorThroughAnOutageAndShowsItInHealthAndStats()
    {
        using var server = await PostgresServer.StartAsync();
        string pg = await server.CreateDatabaseAsync();
        var readings = Path.Combine(_dir.FullName, "readings.jsonl");
        File.WriteAllText(readings, "");
        var policy = PolicyLoader.Parse(PolicyLoader.SeedText + $$"""

            sources:
              line: { kind: file, path: "{{readings}}", poll_ms: 20 }
            store:
              path: {{Db()}}
              postgres: { connection_env: {{Variable}}, batch_size: 50, poll_ms: 50, max_backoff_ms: 500 }
            """);
        await using var storage = MonitorStorage.Open(policy, Options(value: pg))!;
        await using var host = MonitorHost.Create(policy, storage.Store, new MonitorHostOptions { HttpAddress = "127.0.0.1:0", Sync = storage.Sync });
        using var stop = new CancellationTokenSource();
        var run = Start(host, stop.Token);
        using var http = new HttpClient();
        async Task<JsonObject> Get(string path)
        {
            await EventuallyAsync(() => host.Runner.IsRunning, "the monitor to start");
            using var response = await http.GetAsync(new Uri(host.Http!.Address, path));
            return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        }

        async Task<long> InPostgres()
        {
            try
            {
                return await PostgresServer.ScalarAsync<long>(pg, "select count(*) from hearth_readings");
            }
            catch (Npgsql.PostgresException e) when (e.SqlState == "42P01")
            {
                return 0; // the sync has not created its tables yet
            }
        }

        var lines = SimulatedLines(900, seed: 17);
        File.AppendAllLines(readings, lines[..300]);
        await StorePlan.Until(async () => await InPostgres() == 300, "the first readings reach PostgreSQL");
        var health = await Get("/health");
        Assert.Equal("ok", (string?)health["status"]);
        Assert.True((bool)health["sync"]!["connected"]!);
        Assert.Equal(storage.Sync!.Target, (string?)health["sync"]!["target"]);

        // PostgreSQL goes away: the monitor goes on, keeps the rows, and says so; it stays healthy.
        await server.StopAsync(immediate: true);
        File.AppendAllLines(readings, lines[300..600]);
        await StorePlan.Until(async () => (await Get("/stats"))["sync"]!["connected"]!.GetValue<bool>() == false && host.Runner.Stats().Rules.Readings == 600,
            "the outage to show while readings go on");
        var stats = await Get("/stats");
        Assert.NotNull((string?)stats["sync"]!["last_error"]);
        Assert.True((long)stats["store"]!["backlog"]! > 0);
        Assert.Equal((long)stats["store"]!["backlog"]!, (long)stats["sync"]!["pending"]!["total"]!);
        Assert.Equal("ok", (string?)(await Get("/health"))["status"]);

        await server.RestartAsync();
        File.AppendAllLines(readings, lines[600..]);
        await StorePlan.Until(async () => await InPostgres() == lines.Length, "the backlog and the new readings reach PostgreSQL");
        await stop.CancelAsync();
        var final = await run;
        Assert.Equal(0, host.FinalSync!.Pending.Total);
        Assert.True(final.Sync!.Connected);

        var expected = lines.Select(SeedLabel).ToArray();
        var counts = new StoreCounts(lines.Length, lines.Length, Transitions(expected).Count, 0);
        Assert.Equal(counts, storage.Store.Counts());
        Assert.Equal(counts, await PostgresSyncTests.PostgresCounts(pg));
        foreach (var table in new[] { "readings", "decisions", "alerts" })
        {
            var (inPostgres, inSqlite) = await PostgresSyncTests.Keys(pg, Db(), table);
            Assert.Equal(inSqlite, inPostgres);
        }
    }

    [Fact]
    public async Task AStopWhilePostgresIsDownLeavesTheRowsPendingAndTheNextRunSendsThem()
    {
        using var server = await PostgresServer.StartAsync();
        string pg = await server.CreateDatabaseAsync();
        await server.StopAsync(immediate: true);
        var lines = SimulatedLines(120, seed: 2);
        var policy = PolicyLoader.Parse(PolicyLoader.SeedText + "\nsources:\n  in: { kind: stdin }\n");
        MonitorHostOptions HostOptions(MonitorStorage s, IEnumerable<string> input) => new()
        {
            OpenStdin = () => Stream(input), Sync = s.Sync, Runner = new MonitorRunnerOptions { ShutdownTimeout = TimeSpan.FromSeconds(30) },
        };

        await using (var storage = MonitorStorage.Open(policy, Options(Db(), Variable, pg))!)
        {
            await using var host = MonitorHost.Create(policy, storage.Store, HostOptions(storage, lines));
            var stats = await host.RunAsync(CancellationToken.None);
            Assert.Equal(lines.Length, stats.Rules.Readings);
            Assert.Equal(storage.Store.Counts().Total, host.FinalSync!.Pending.Total);
            Assert.NotNull(host.FinalSync.LastError);
        }

        await server.RestartAsync();
        await using (var storage = MonitorStorage.Open(policy, Options(Db(), Variable, pg))!)
        {
            await using var host = MonitorHost.Create(policy, storage.Store, HostOptions(storage, lines)); // the same stream again: all duplicates
            var stats = await host.RunAsync(CancellationToken.None);
            Assert.Equal(lines.Length, stats.Duplicates);
            Assert.Equal(0, host.FinalSync!.Pending.Total);
            Assert.Equal(storage.Store.Counts(), await PostgresSyncTests.PostgresCounts(pg));
        }
    }
}
