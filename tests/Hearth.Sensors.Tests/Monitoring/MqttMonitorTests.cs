using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Mqtt;
using Hearth.Sensors.Storage;
using Hearth.Sensors.Tests.Mqtt;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The monitor end to end through a real mosquitto: readings published by our client, labels in the store,
/// alerts and retained state on their topics, and the faults (broker restart, monitor restart, bad input).</summary>
public sealed class MqttMonitorTests
{
    internal const string Topic = "plant/line1/readings";

    private static string Policy(int port, string extra = "") => PolicyLoader.SeedText + $$"""

        sources:
          plant: { kind: mqtt, broker: "mqtt://127.0.0.1:{{port}}", topics: [plant/+/readings] }
        sinks:
          bus: { kind: mqtt, broker: "mqtt://127.0.0.1:{{port}}", alerts_topic: hearth/alerts, state_topic: hearth/state, backoff_ms: 50, retries: 20 }
        actions:
          ANOMALY DETECTED: { sinks: [bus], severity: critical }
          NORMAL: { sinks: [bus] }
        {{extra}}
        """;

    private static MonitorHost Host(string policy, IMonitorStore store, MonitorRunnerOptions? runner = null) =>
        MonitorHost.Create(PolicyLoader.Parse(policy), store, new MonitorHostOptions { Runner = runner ?? new MonitorRunnerOptions() });

    internal static MqttClient Client(MosquittoBroker broker) => new(new MqttClientOptions
    {
        Host = "127.0.0.1", Port = broker.Port, ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
    });

    /// <summary>Publishes each line with QoS 1, trying again (the same bytes) until the broker acknowledges it, as a
    /// careful sensor gateway would across a broker restart.</summary>
    internal static async Task PublishAsync(MqttClient client, IEnumerable<string> lines, Action<int>? published = null, CancellationToken cancel = default)
    {
        int i = 0;
        foreach (var line in lines)
        {
            while (true)
            {
                try
                {
                    await client.PublishAsync(Topic, line, MqttQos.AtLeastOnce, cancellationToken: cancel);
                    break;
                }
                catch (MqttConnectionException)
                {
                    await Task.Delay(50, cancel);
                }
            }

            published?.Invoke(++i);
        }
    }

    /// <summary>Collects what arrives on a topic filter.</summary>
    internal static async Task<(MqttClient Client, ConcurrentQueue<MqttMessage> Messages, Task Reader)> WatchAsync(MosquittoBroker broker, string filter)
    {
        var client = Client(broker);
        await client.ConnectAsync();
        await client.SubscribeAsync(filter, MqttQos.AtLeastOnce);
        var messages = new ConcurrentQueue<MqttMessage>();
        var reader = Task.Run(async () =>
        {
            await foreach (var m in client.ReadMessagesAsync()) messages.Enqueue(m);
        });
        return (client, messages, reader);
    }

    private static string Key(string line) => ReadingKeys.For(Topic, Encoding.UTF8.GetBytes(line));

    [Fact]
    public async Task TheSeedScenarioEndToEndThroughMosquitto()
    {
        using var broker = await MosquittoBroker.StartAsync();
        var (watcher, alerts, _) = await WatchAsync(broker, "hearth/alerts");
        await using var _w = watcher;
        using var store = new TempStore();
        using var stop = new CancellationTokenSource();
        await using var host = Host(Policy(broker.Port), store.Store);
        var run = Start(host, stop.Token);
        await ConnectedAsync(host);

        var lines = SimulatedLines(1000, seed: 11);
        var expected = lines.Select(SeedLabel).ToArray();
        var transitions = Transitions(expected);
        Assert.True(transitions.Count >= 4, "the feed should hold several anomalies");
        await using (var publisher = Client(broker))
        {
            await publisher.ConnectAsync();
            await PublishAsync(publisher, lines);
        }

        await EventuallyAsync(() => store.Count == lines.Length, "every reading to be stored");
        Assert.Equal(lines.Select(Key), store.Readings.Select(r => r.Key));
        Assert.Equal(expected, store.Readings.Select(r => r.Label));

        // Alerts on the alerts topic: exactly the label changes, in order, as JSON.
        await EventuallyAsync(() => alerts.Count >= transitions.Count, "the alerts to arrive");
        var received = alerts.Select(m => JsonNode.Parse(m.PayloadText)!).ToArray();
        Assert.Equal(transitions, received.Select(a => ((string)a["from"]!, (string)a["to"]!)));
        Assert.All(received.Where(a => (string)a["to"]! == Anomaly), a => Assert.Equal("critical", (string)a["severity"]!));
        Assert.All(received, a => Assert.Equal(Topic, (string)a["source"]!));

        // The retained state holds the current label for a subscriber that comes late.
        await EventuallyAsync(() => host.Runner.Stats().Sinks.Single().Queued == 0 && host.Runner.Stats().Sinks.Single().Delivered >= transitions.Count + 1,
            "the sink to finish");
        var (late, state, _) = await WatchAsync(broker, "hearth/state");
        await using var _l = late;
        await EventuallyAsync(() => !state.IsEmpty, "the retained state");
        Assert.True(state.First().Retain);
        var current = JsonNode.Parse(state.First().PayloadText)!;
        Assert.Equal(("state", expected[^1]), ((string)current["type"]!, (string)current["label"]!));

        await stop.CancelAsync();
        var stats = await run;
        Assert.Equal(1000, stats.Rules.Readings);
        Assert.Equal(transitions.Count, stats.Rules.Alerts);
        Assert.Equal(0, stats.Duplicates);
        Assert.Equal(0, stats.Sinks.Single().Failed);
        Assert.True(stats.Rules.LatencyP99 >= stats.Rules.LatencyP50);
    }

    [Fact]
    public async Task ABrokerRestartMidStreamLosesAndDuplicatesNothing()
    {
        using var broker = await MosquittoBroker.StartAsync(persistent: true);
        using var store = new TempStore();
        using var stop = new CancellationTokenSource();
        await using var host = Host(Policy(broker.Port), store.Store);
        var run = Start(host, stop.Token);
        await ConnectedAsync(host);

        var lines = SimulatedLines(600, seed: 3);
        await using var publisher = Client(broker);
        await publisher.ConnectAsync();

        // The second half waits for the broker to go down, so the restart always falls inside the stream.
        using var stopped = new ManualResetEventSlim();
        IEnumerable<string> Gated()
        {
            for (int i = 0; i < lines.Length; i++)
            {
                if (i == lines.Length / 2 && !stopped.Wait(TimeSpan.FromSeconds(60))) throw new TimeoutException("the broker was never stopped");
                yield return lines[i];
            }
        }

        var publishing = Task.Run(() => PublishAsync(publisher, Gated()));
        await EventuallyAsync(() => store.Count >= 150, "the stream to be under way");
        broker.StopGracefully();
        long atRestart = store.Count;
        stopped.Set();
        await broker.RestartAsync();
        await publishing;
        await EventuallyAsync(() => store.Count == lines.Length, $"every reading to be stored (have {store.Count})");

        await stop.CancelAsync();
        var stats = await run;
        Assert.True(atRestart < lines.Length, "the restart came mid-stream");
        Assert.Equal(lines.Length, store.Count);
        Assert.Equal(lines.Select(Key).Order(), store.Readings.Select(r => r.Key).Order());
        Assert.Equal(lines.Length, stats.Rules.Readings); // redeliveries were recognised before the rules saw them
        var labelByKey = lines.ToDictionary(Key, SeedLabel);
        Assert.All(store.Readings, r => Assert.Equal(labelByKey[r.Key], r.Label));
        Assert.True(host.Runner.Sources[0] is Sources.MqttReadingSource { Client.ReconnectCount: >= 1 });
    }

    [Fact]
    public async Task AMonitorStoppedWithPayloadsInFlightAndRestartedMissesNoneAndRepeatsNoAlert()
    {
        using var broker = await MosquittoBroker.StartAsync();
        using var store = new TempStore();
        var slow = new FaultyStoreDouble(store.Store) { WriteDelay = TimeSpan.FromMilliseconds(2) };
        var lines = SimulatedLines(800, seed: 5);
        var expected = lines.Select(SeedLabel).ToArray();
        await using var publisher = Client(broker);
        await publisher.ConnectAsync();

        // First run: stopped abruptly (no time to drain) while readings keep coming.
        using (var stop = new CancellationTokenSource())
        {
            await using var first = Host(Policy(broker.Port), slow, new MonitorRunnerOptions { ShutdownTimeout = TimeSpan.Zero });
            var run = Start(first, stop.Token);
            await ConnectedAsync(first);
            var publishing = PublishAsync(publisher, lines[..500]);
            await EventuallyAsync(() => store.Count >= 200, "part of the stream to be stored");
            await stop.CancelAsync();
            var stats = await run;
            await publishing;
            Assert.True(store.Count < 500, $"the monitor stopped with readings still to come (it stored {store.Count})");
            Assert.Equal(store.Count, stats.Rules.Readings);
        }

        // While it is away the broker queues for its persistent session; then it comes back with the same store.
        await PublishAsync(publisher, lines[500..]);
        using var stop2 = new CancellationTokenSource();
        await using var second = Host(Policy(broker.Port), store.Store);
        var run2 = Start(second, stop2.Token);
        await EventuallyAsync(() => store.Count == lines.Length, $"every reading to be stored (have {store.Count})");
        await stop2.CancelAsync();
        await run2;

        Assert.Equal(lines.Select(Key), store.Readings.Select(r => r.Key)); // each once, in the order sent
        Assert.Equal(expected, store.Readings.Select(r => r.Label));
        // The stored alerts are exactly the label changes across both runs: none repeated or missed at the restart.
        Assert.Equal(Transitions(expected), store.Readings.Where(r => r.AlertTo != null).Select(r => (r.AlertFrom!, r.AlertTo!)));
    }

    [Fact]
    public async Task TlsAndAPasswordFromTheEnvironmentAsThePolicySays()
    {
        System.Security.Cryptography.X509Certificates.X509Certificate2? ca = null;
        using var broker = await MosquittoBroker.StartAsync(dir =>
        {
            ca = MqttTlsTests.MakeCertificates(dir);
            string passwords = Path.Combine(dir, "passwords");
            using (var p = System.Diagnostics.Process.Start("mosquitto_passwd", ["-b", "-c", passwords, "sensor", "s3cret"])) p.WaitForExit();
            return $"cafile {dir}/ca.crt\ncertfile {dir}/server.crt\nkeyfile {dir}/server.key\npassword_file {passwords}\n";
        }, anonymous: false);
        using var _ca = ca;
        var policy = PolicyLoader.SeedText + $$"""

            sources:
              plant: { kind: mqtt, broker: "mqtts://127.0.0.1:{{broker.Port}}", ca_file: ca.crt, username: sensor, password_env: TEST_MQTT_PASSWORD, topics: plant/# }
            """;
        using var store = new TempStore();
        MonitorHost Secured(string password) => MonitorHost.Create(PolicyLoader.Parse(policy, "tls.yaml", broker.Directory), store.Store,
            new MonitorHostOptions
            {
                Environment = v => v == "TEST_MQTT_PASSWORD" ? password : null, Runner = new MonitorRunnerOptions { SourceDownGrace = TimeSpan.Zero },
            });

        await using (var host = Secured("s3cret"))
        {
            using var stop = new CancellationTokenSource();
            var run = Start(host, stop.Token);
            await ConnectedAsync(host);
            await using (var publisher = new MqttClient(new MqttClientOptions
            {
                Host = "127.0.0.1", Port = broker.Port, UseTls = true, TrustedCaCertificate = ca, Username = "sensor", Password = "s3cret",
            }))
            {
                await publisher.ConnectAsync();
                await PublishAsync(publisher, SimulatedLines(20));
            }

            await EventuallyAsync(() => host.Runner.Stats().Rules.Readings == 20, "the readings over TLS");
            await stop.CancelAsync();
            await run;
        }

        await using (var wrong = Secured("guess"))
        {
            using var stop = new CancellationTokenSource();
            var run = Start(wrong, stop.Token);
            await EventuallyAsync(() => wrong.Runner.Sources[0].Status.LastError != null, "the refusal");
            Assert.Contains("not authorized", wrong.Runner.Sources[0].Status.LastError, StringComparison.OrdinalIgnoreCase);
            Assert.False(wrong.Runner.Health().Healthy);
            await stop.CancelAsync();
            await run;
        }
    }

    [Fact]
    public async Task BadPayloadsOverMqttAreQuarantinedAndTheStreamContinues()
    {
        using var broker = await MosquittoBroker.StartAsync();
        using var store = new TempStore();
        var policy = $$"""
            signals:
              temperature: { unit: C, source: line1 }
              vibration: { unit: g, source: line1 }
            rules:
              - { name: hot, signal: temperature, above: 80, label: ANOMALY DETECTED }
            max_reading_bytes: 1024
            sources:
              plant: { kind: mqtt, broker: "mqtt://127.0.0.1:{{broker.Port}}", topics: plant/# }
            """;
        using var stop = new CancellationTokenSource();
        await using var host = Host(policy, store.Store);
        var run = Start(host, stop.Token);
        await ConnectedAsync(host);

        static string R(int s, double t, string sensor = "line1") => $"{{\"ts\":\"2026-01-01T00:00:{s:00}Z\",\"sensor\":\"{sensor}\",\"temperature\":{t}}}";
        string[] payloads =
        [
            R(0, 70), "{\"ts\": oops", R(1, 85), "{\"ts\":\"2026-01-01T00:00:02Z\",\"sensor\":\"line1\",\"temperature\":[1]}",
            R(3, 70).Replace("}", ",\"blob\":\"" + new string('z', 200_000) + "\"}"), R(4, 90, sensor: "line7"), R(5, 60),
        ];
        await using (var publisher = Client(broker))
        {
            await publisher.ConnectAsync();
            await PublishAsync(publisher, payloads);
        }

        await EventuallyAsync(() => store.Count == payloads.Length, "every payload to be stored");
        Assert.Equal([null, "malformed_json", null, "wrong_type", "too_large", "unknown_sensor", null], store.Readings.Select(r => r.Reason));
        Assert.Equal([Normal, Anomaly, Normal], store.Readings.Where(r => r.Label != null).Select(r => r.Label!));
        Assert.True(host.Runner.Health().Healthy);
        await stop.CancelAsync();
        var stats = await run;
        Assert.Equal(4, stats.Rules.QuarantinedTotal);
    }
}
