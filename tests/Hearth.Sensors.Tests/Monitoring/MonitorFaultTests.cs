using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Mqtt;
using Hearth.Sensors.Tests.Storage;
using Npgsql;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>
/// The acceptance test of the live monitor, with every part real and in its own process: mosquitto (persistent), PostgreSQL,
/// a publisher, and <c>hearth monitor</c> itself with an MQTT QoS 1 source, a SQLite store and the PostgreSQL sync. While the
/// seed scenario streams in, the broker restarts, PostgreSQL stops and starts again, and the monitor is killed with SIGKILL
/// and started again. At the end the rows in SQLite and in PostgreSQL are exactly what was sent, with no duplicate.
/// </summary>
public sealed class MonitorFaultTests : IDisposable
{
    private const string Variable = "HEARTH_FAULT_TEST_PG";
    private const double Patience = 300; // seconds: a guard against hanging on a slow, loaded machine, not a timing assertion
    private static readonly TimeSpan s_patience = TimeSpan.FromSeconds(Patience);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-fault-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>The seed scenario's thresholds for sensor line1, read from the broker with QoS 1 in a persistent session.</summary>
    private static string Policy(int port) => HttpEndpointTests.Line1Signals + $$"""
        sources:
          plant: { kind: mqtt, broker: "mqtt://127.0.0.1:{{port}}", topics: [plant/+/readings], qos: 1, client_id: hearth-fault-test }
        """;

    /// <summary>A payload's store key, worked out here from its documented definition: SHA-256 of the topic, a newline and
    /// the payload bytes, in lowercase hex.</summary>
    private static string Key(string payload) =>
        Convert.ToHexStringLower(SHA256.HashData([.. Encoding.UTF8.GetBytes(MqttMonitorTests.Topic + "\n"), .. Encoding.UTF8.GetBytes(payload)]));

    private static long Rows(string db, string table) => File.Exists(db) ? TempStore.CountIn(db, table) : 0;

    private static async Task<long> PostgresRows(string pg, string table)
    {
        try
        {
            return await PostgresServer.ScalarAsync<long>(pg, $"select count(*) from public.hearth_{table}");
        }
        catch (Exception e) when (e is PostgresException { SqlState: "42P01" } or NpgsqlException)
        {
            return -1; // the tables do not exist yet, or the server is down
        }
    }

    private static async Task<JsonObject> GetAsync(HttpClient http, Uri monitor, string path)
    {
        using var response = await http.GetAsync(new Uri(monitor, path));
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task BrokerRestartPostgresOutageAndKill9MidStream_StoreAndPostgresHoldExactlyWhatWasSent()
    {
        using var broker = await MosquittoBroker.StartAsync(persistent: true);
        using var server = await PostgresServer.StartAsync();
        string pg = await server.CreateDatabaseAsync();
        var policyFile = Path.Combine(_dir.FullName, "plant.yaml");
        File.WriteAllText(policyFile, Policy(broker.Port));
        var db = Path.Combine(_dir.FullName, "monitor.db");
        var env = new Dictionary<string, string> { [Variable] = pg };
        string[] args = ["monitor", "--policy", policyFile, "--store", db, "--sync", Variable, "--json", "--http", "127.0.0.1:0", "--shutdown-timeout", "60"];

        // What is sent: the seed scenario from sensor line1, and, after the kill, one payload of each bad kind.
        var good = SimulatedLines(1500, seed: 23).Select(l =>
        {
            var o = JsonNode.Parse(l)!.AsObject();
            o["sensor"] = "line1";
            return o.ToJsonString();
        }).ToArray();
        string[] bad =
        [
            "{\"ts\": oops",
            "{\"ts\":\"2026-01-01T00:00:00Z\",\"sensor\":\"line1\",\"temperature\":\"hot\"}",
            "{\"ts\":\"2026-01-01T00:00:00Z\",\"sensor\":\"line1\",\"temperature\":70,\"blob\":\"" + new string('z', 10_000) + "\"}",
            "{\"ts\":\"2026-01-01T00:00:00Z\",\"sensor\":\"line9\",\"temperature\":70}",
        ];
        var labels = good.Select(SeedLabel).ToArray(); // from the thresholds, not from the engine
        var transitions = Transitions(labels);
        // The kill comes inside an anomaly, when the alerted label is not the default: a restarted monitor that forgot it
        // would raise the same alert again. The publisher pauses there, and goes on just before the kill.
        int atAnomaly = Enumerable.Range(900, 400).First(i => labels[(i - 1)..(i + 16)].All(l => l == Anomaly));
        int resume = atAnomaly + 3;
        Assert.True(Transitions(labels[atAnomaly..], Anomaly).Count >= 2, "the feed should change label after the kill too");

        using var http = new HttpClient();
        var monitor = new CliChild(env, args);
        try
        {
            var address = await monitor.HttpAddressAsync();
            await StorePlan.Until(async () => (string?)(await GetAsync(http, address, "/health"))["status"] == "ok", "the monitor to subscribe", Patience);

            // The publisher: a careful gateway that retries each message (same bytes) until the broker acknowledges it. It
            // sends in parts, each when the test says, so that every fault below finds readings still to come.
            var duringOutage = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var beforeKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var afterKill = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            const int outage = 600;
            var publishing = Task.Run(async () =>
            {
                await using var publisher = MqttMonitorTests.Client(broker);
                await publisher.ConnectAsync();
                await MqttMonitorTests.PublishAsync(publisher, good[..outage]);
                await duringOutage.Task;
                await MqttMonitorTests.PublishAsync(publisher, good[outage..atAnomaly]);
                await beforeKill.Task;
                await MqttMonitorTests.PublishAsync(publisher, good[atAnomaly..resume]);
                inFlight.SetResult();
                await afterKill.Task;
                await MqttMonitorTests.PublishAsync(publisher, [.. bad, .. good[resume..]]);
            });

            // 1. The broker restarts mid-stream (gracefully, so it keeps the monitor's session and its queued messages).
            await EventuallyAsync(() => Rows(db, "readings") >= 250, "the stream to be under way", s_patience);
            broker.StopGracefully();
            await broker.RestartAsync();

            // 2. PostgreSQL goes down while readings keep arriving, and comes back.
            await EventuallyAsync(() => Rows(db, "readings") >= 450, "the stream to go on after the broker restart", s_patience);
            await server.StopAsync(immediate: true);
            duringOutage.SetResult();
            await StorePlan.Until(async () => (bool)(await GetAsync(http, address, "/stats"))["sync"]!["connected"]! == false
                && Rows(db, "readings") >= outage + 150, "readings to be stored during the outage, and the monitor to notice it", Patience);
            var during = await GetAsync(http, address, "/health");
            Assert.Equal("ok", (string?)during["status"]); // PostgreSQL being away does not stop the monitor
            Assert.True((long)during["sync"]!["pending"]!["readings"]! > 0, "readings wait in SQLite");
            await server.RestartAsync();

            // 3. Inside an anomaly, with readings arriving again, the monitor is killed with SIGKILL and started again.
            await EventuallyAsync(() => Rows(db, "readings") == atAnomaly, "the stream to reach the anomaly", s_patience);
            beforeKill.SetResult();
            await inFlight.Task.WaitAsync(s_patience); // three more readings are with the broker, the monitor, or stored
            await monitor.KillAsync();
            long atKill = Rows(db, "readings");
            string? alertedAtKill = TempStore.Query(db, "SELECT to_label FROM alerts ORDER BY seq DESC LIMIT 1", r => r.GetString(0)).SingleOrDefault();
            Assert.InRange(atKill, atAnomaly, resume); // mid-stream, and still inside the anomaly
            Assert.Equal(Anomaly, alertedAtKill);
            monitor.Dispose();
            monitor = new CliChild(env, args);
            address = await monitor.HttpAddressAsync();
            afterKill.SetResult();
            await publishing;

            // Everything arrives in SQLite and, through the sync, in PostgreSQL.
            long total = good.Length + bad.Length;
            await EventuallyAsync(() => Rows(db, "readings") == total, "every payload to be stored", s_patience);
            await StorePlan.Until(async () => await PostgresRows(pg, "readings") == total
                && (long)(await GetAsync(http, address, "/health"))["sync"]!["pending"]!["total"]! == 0, "the sync to catch up", Patience);
            Assert.Equal("ok", (string?)(await GetAsync(http, address, "/health"))["status"]);

            // A graceful stop: exit code 0 and the final statistics of the second run, which saw every bad payload.
            Signals.Send(monitor.Process.Id, Signals.SigTerm);
            Assert.True(await monitor.ExitAsync() == 0, monitor.Errors);
            var final = monitor.Json.Last(o => (bool?)o["final"] == true);
            Assert.Equal(["malformed_json", "too_large", "unknown_sensor", "wrong_type"], final["quarantined"]!.AsObject().Select(p => p.Key).Order());
            Assert.All(final["quarantined"]!.AsObject(), p => Assert.Equal(1, (long)p.Value!));
            Assert.Equal(0, (long)final["sync"]!["pending"]!["total"]!);

            // SQLite: each payload once, each label as the thresholds say, each quarantine with its reason.
            var stored = TempStore.ReadingsIn(db);
            Assert.Equal(good.Concat(bad).Select(Key).Order(StringComparer.Ordinal), stored.Select(r => r.Key).Order(StringComparer.Ordinal));
            var labelByKey = good.ToDictionary(Key, SeedLabel);
            Assert.All(stored.Where(r => r.Label != null), r => Assert.Equal(labelByKey[r.Key], r.Label));
            Assert.Equal(good.Length, stored.Count(r => r.Label != null));
            Assert.Equal(["malformed_json", "too_large", "unknown_sensor", "wrong_type"], stored.Where(r => r.Reason != null).Select(r => r.Reason!).Order());

            // Alerts are the label changes, in order, exactly once each: the restarted monitor took up the alerted label
            // it left, so it neither repeated the alert it had raised last nor missed the next change.
            Assert.Equal(transitions, stored.Where(r => r.AlertTo != null).Select(r => (r.AlertFrom!, r.AlertTo!)));
            var firstAfterKill = stored.FirstOrDefault(r => r.Seq > atKill && r.AlertTo != null);
            Assert.NotNull(firstAfterKill);
            Assert.Equal((Anomaly, Normal), (firstAfterKill.AlertFrom, firstAfterKill.AlertTo));

            // PostgreSQL holds the same rows as SQLite, key for key, and no key twice.
            var counts = new StoreCounts(total, good.Length, transitions.Count, bad.Length);
            Assert.Equal(counts, await PostgresSyncTests.PostgresCounts(pg));
            using (var store = SqliteMonitorStore.Open(db, new SqliteStoreOptions { SyncTarget = true }))
            {
                Assert.Equal(counts, store.Counts());
                Assert.Equal(0, store.PendingCounts().Total);
            }

            foreach (var table in new[] { "readings", "decisions", "alerts", "quarantine" })
            {
                var (inPostgres, inSqlite) = await PostgresSyncTests.Keys(pg, db, table);
                Assert.Equal(inSqlite, inPostgres);
            }
        }
        finally
        {
            monitor.Dispose();
        }
    }
}
