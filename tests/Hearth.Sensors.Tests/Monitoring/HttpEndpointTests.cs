using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Mqtt;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The monitor's HTTP endpoint on real Kestrel, called with a real HttpClient: ingest, health and stats.</summary>
public sealed class HttpEndpointTests
{
    /// <summary>The seed scenario's signals and rules, declared for sensor line1 (so an unknown sensor can be told apart).</summary>
    internal const string Line1Signals = """
        signals:
          temperature: { unit: C, source: line1 }
          vibration: { unit: g, source: line1 }
        rules:
          - { name: hot, signal: temperature, above: 80, label: ANOMALY DETECTED }
          - { name: shaking, signal: vibration, above: 0.04, label: ANOMALY DETECTED }
        max_reading_bytes: 1024

        """;

    private sealed class Running : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<MonitorLiveStats> _run;

        public Running(MonitorHost host)
        {
            Host = host;
            _run = Start(host, _stop.Token);
            Http = new HttpClient();
        }

        public MonitorHost Host { get; }
        public HttpClient Http { get; }

        public async Task<Uri> BaseAsync()
        {
            await EventuallyAsync(() => Host.Runner.IsRunning && Host.Http!.Address.Port != 0, "the endpoint to listen");
            return Host.Http!.Address;
        }

        public async Task<(HttpStatusCode Code, JsonObject Body)> PostAsync(string path, string body, Action<HttpRequestMessage>? configure = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(await BaseAsync(), path)) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            configure?.Invoke(request);
            using var response = await Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, text.Length == 0 ? [] : JsonNode.Parse(text)!.AsObject());
        }

        public async Task<(HttpStatusCode Code, JsonObject Body)> GetAsync(string path)
        {
            using var response = await Http.GetAsync(new Uri(await BaseAsync(), path));
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
        }

        public async Task<MonitorLiveStats> StopAsync()
        {
            await _stop.CancelAsync();
            return await _run;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_stop.IsCancellationRequested) await StopAsync();
            Http.Dispose();
            await Host.DisposeAsync();
        }
    }

    private static Running Run(string policy, IMonitorStore store, Func<string, string?>? env = null, string address = "127.0.0.1:0") =>
        new(MonitorHost.Create(PolicyLoader.Parse(policy), store, new MonitorHostOptions
        {
            HttpAddress = address, Environment = env ?? (_ => null),
        }));

    private static string Reading(int second, double temperature, double vibration = 0.01, string sensor = "line1") =>
        $"{{\"ts\":\"2026-01-01T00:00:{second:00}Z\",\"sensor\":\"{sensor}\",\"temperature\":{temperature},\"vibration\":{vibration}}}";

    [Fact]
    public async Task IngestTakesAnObjectAnArrayAndJsonLinesAndAnswersOnceStored()
    {
        using var store = new TempStore();
        await using var m = Run(Line1Signals + "sources:\n  api: { kind: http }\n", store.Store);

        var (code, body) = await m.PostAsync("/ingest/api", Reading(0, 70));
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal(1, (int)body["accepted"]!);
        Assert.Equal(1, store.Count); // stored before the answer

        var array = $"[{Reading(1, 85)}, {Reading(2, 71)},\n {Reading(3, 72)}]";
        (code, body) = await m.PostAsync("/ingest", array);
        Assert.Equal((HttpStatusCode.OK, 3, 0), (code, (int)body["accepted"]!, (int)body["duplicates"]!));
        (code, body) = await m.PostAsync("/ingest/api", Reading(4, 90) + "\n" + Reading(5, 60) + "\n");
        Assert.Equal((HttpStatusCode.OK, 2), (code, (int)body["accepted"]!));
        Assert.Equal(6, store.Count);
        Assert.Equal(Reading(1, 85), store.Readings[1].Payload); // an array element is stored as its own text
        Assert.All(store.Readings, r => Assert.Equal("http", r.Source));
        Assert.Equal([Normal, Anomaly, Normal, Normal, Anomaly, Normal], store.Readings.Select(r => r.Label));

        // A client retrying a request it got no answer to: nothing is stored twice.
        (code, body) = await m.PostAsync("/ingest/api", array);
        Assert.Equal((HttpStatusCode.OK, 0, 3), (code, (int)body["accepted"]!, (int)body["duplicates"]!));
        Assert.Equal(6, store.Count);

        (code, _) = await m.PostAsync("/ingest/other", Reading(6, 70));
        Assert.Equal(HttpStatusCode.NotFound, code);
        (code, body) = await m.PostAsync("/ingest/api", "  \n");
        Assert.Equal(HttpStatusCode.BadRequest, code);
        Assert.Contains("empty", (string)body["error"]!);
    }

    [Fact]
    public async Task BadInputIsCountedAndQuarantinedWithItsReasonWhileValidReadingsFlow()
    {
        using var store = new TempStore();
        await using var m = Run(Line1Signals + "sources:\n  api: { kind: http, max_body_bytes: 65536 }\n", store.Store);
        var huge = Reading(9, 70).Replace("}", ",\"note\":\"" + new string('x', 3000) + "\"}");
        string[] lines = [Reading(0, 70), "{\"ts\":", Reading(1, 85), "{\"ts\":\"2026-01-01T00:00:02Z\",\"sensor\":\"line1\",\"temperature\":\"hot\"}",
            huge, Reading(3, 70, sensor: "line9"), Reading(4, 71)];
        var (code, body) = await m.PostAsync("/ingest/api", string.Join("\n", lines));
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal((3, 4), ((int)body["accepted"]!, (int)body["quarantined"]!));
        var reasons = body["reasons"]!.AsObject();
        Assert.Equal(["malformed_json", "too_large", "unknown_sensor", "wrong_type"], reasons.Select(p => p.Key));
        Assert.All(reasons, p => Assert.Equal(1, (int)p.Value!));

        // A body over the source's limit is refused, and its start is quarantined as too large.
        (code, body) = await m.PostAsync("/ingest/api", "[" + string.Join(",", Enumerable.Repeat(Reading(5, 70), 1000)) + "]");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, code);
        Assert.Equal((0, 1, 1), ((int)body["accepted"]!, (int)body["quarantined"]!, (int)body["reasons"]!["too_large"]!));

        // And the stream goes on.
        (code, body) = await m.PostAsync("/ingest/api", Reading(6, 88));
        Assert.Equal((HttpStatusCode.OK, 1), (code, (int)body["accepted"]!));

        var (_, stats) = await m.GetAsync("/stats");
        Assert.Equal(9, (long)stats["readings"]!);
        Assert.Equal(2, (long)stats["quarantined"]!["too_large"]!);
        Assert.Equal(1, (long)stats["quarantined"]!["unknown_sensor"]!);
        Assert.Equal(2, (long)stats["decisions"]![Anomaly]!);
        Assert.Equal(9, store.Count);
        Assert.Equal(5, store.Readings.Count(r => r.Reason != null));
    }

    [Fact]
    public async Task AnIngestKeyIsRequiredWhenTheSourceHasOneAndOpenSourcesStayOnLoopback()
    {
        const string Key = "s3cret-ingest-key";
        using var temp = new TempStore();
        var store = temp.Store;
        var policy = Line1Signals + "sources:\n  api: { kind: http, api_key_env: TEST_INGEST_KEY }\n";
        await using (var m = Run(policy, store, v => v == "TEST_INGEST_KEY" ? Key : null))
        {
            var (code, body) = await m.PostAsync("/ingest/api", Reading(0, 70));
            Assert.Equal(HttpStatusCode.Unauthorized, code);
            Assert.Contains("API key", (string)body["error"]!);
            (code, _) = await m.PostAsync("/ingest/api", Reading(0, 70), r => r.Headers.Add("x-api-key", "wrong"));
            Assert.Equal(HttpStatusCode.Unauthorized, code);
            (code, _) = await m.PostAsync("/ingest/api", Reading(0, 70), r => r.Headers.Add("x-api-key", Key));
            Assert.Equal(HttpStatusCode.OK, code);
            (code, _) = await m.PostAsync("/ingest/api", Reading(1, 70), r => r.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key));
            Assert.Equal(HttpStatusCode.OK, code);
            Assert.Equal(2, temp.Count);
        }

        var missing = Assert.Throws<MonitorConfigurationException>(() => Run(policy, store));
        Assert.Contains("TEST_INGEST_KEY is not set", missing.Message);
        var open = Assert.Throws<MonitorConfigurationException>(() => Run(Line1Signals + "sources:\n  api: { kind: http }\n", store, address: "0.0.0.0:0"));
        Assert.Contains("not a loopback address", open.Message);
        var noHttp = Assert.Throws<MonitorConfigurationException>(() => MonitorHost.Create(PolicyLoader.Parse(policy), store,
            new MonitorHostOptions { Environment = _ => Key }));
        Assert.Contains("--http", noHttp.Message);
    }

    [Fact]
    public async Task HealthIs503WhileASourceIsDownAnd200OnceItConnects()
    {
        int port = MosquittoBroker.FreePort();
        using var store = new TempStore();
        var policy = PolicyLoader.Parse(Line1Signals + $"sources:\n  plant: {{ kind: mqtt, broker: \"mqtt://127.0.0.1:{port}\", topics: plant/# }}\n");
        await using var m = new Running(MonitorHost.Create(policy, store.Store, new MonitorHostOptions
        {
            HttpAddress = "127.0.0.1:0", Runner = new MonitorRunnerOptions { SourceDownGrace = TimeSpan.Zero },
        }));

        var (code, health) = await m.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, code);
        Assert.Equal("unhealthy", (string?)health["status"]);
        Assert.False((bool)health["sources"]!["plant"]!["connected"]!);
        Assert.Contains(health["problems"]!.AsArray(), p => ((string)p!).Contains("source 'plant' has not been connected"));

        using var broker = await MosquittoBroker.StartAsync(port: port);
        await EventuallyAsync(() => m.Host.Runner.Health().Healthy, "the source to connect");
        (code, health) = await m.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, code);
        Assert.Equal("ok", (string?)health["status"]);
        Assert.True((bool)health["sources"]!["plant"]!["connected"]!);
        Assert.Null((double?)health["last_reading_age_s"]);
        Assert.Equal("ok", (string?)health["store"]);
        Assert.Empty(health["problems"]!.AsArray());

        var (statsCode, stats) = await m.GetAsync("/stats");
        Assert.Equal(HttpStatusCode.OK, statsCode);
        Assert.Equal("stats", (string?)stats["type"]);
        Assert.Equal("mqtt", (string?)stats["sources"]!["plant"]!["kind"]);
        Assert.Equal(0, (long)stats["readings"]!);

        await m.StopAsync();
        Assert.False(m.Host.Runner.Health().Healthy); // stopped
    }
}
