using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Hearth.Sensors.Mqtt;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Tests.Mqtt;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>Sinks on their own: the webhook against a real local HTTP server that fails on purpose, stdout JSON read back,
/// and a model check's notice through the webhook, stdout and a real mosquitto.</summary>
public sealed class SinkTests
{
    /// <summary>A real Kestrel server answering POSTs with the given status codes in turn (200 after the list ends).</summary>
    private sealed class HookServer : IAsyncDisposable
    {
        private readonly WebApplication _app;
        public readonly ConcurrentQueue<(string Attempt, string Body)> Requests = new();

        public HookServer(params int[] statuses)
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
            builder.Logging.SetMinimumLevel(LogLevel.None);
            _app = builder.Build();
            int calls = 0;
            _app.Run(async c =>
            {
                var body = await new StreamReader(c.Request.Body).ReadToEndAsync();
                Requests.Enqueue((c.Request.Headers["x-hearth-attempt"].ToString(), body));
                int n = Interlocked.Increment(ref calls) - 1;
                c.Response.StatusCode = n < statuses.Length ? statuses[n] : 200;
            });
            _app.StartAsync().GetAwaiter().GetResult();
        }

        public Uri Url => new(_app.Urls.First() + "/hook");

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    private static SinkEvent AlertEvent(string to = Anomaly)
    {
        var ts = new DateTimeOffset(2026, 1, 1, 0, 0, 5, TimeSpan.Zero);
        var alert = new Alert(ts, Normal, to, "hot", ts, AlertSeverity.Critical, ["ops"]);
        var decision = new Decision(ts, to, "hot", ["hot"], new Dictionary<string, double> { ["temperature"] = 85.5 }, 10, alert);
        return new SinkEvent(to, alert, decision, "plant/line1", "abc123", new Dictionary<string, string> { ["temperature"] = to }, Stopwatch.GetTimestamp());
    }

    private static SinkDelivery Fast(int retries) => new(retries, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(10), 100);

    [Fact]
    public async Task TheWebhookRetriesFailuresWithBackOffUntilOneSucceeds()
    {
        await using var server = new HookServer(503, 500, 429);
        await using var sink = new WebhookAlertSink("ops", server.Url, Fast(3));
        await sink.StartAsync(CancellationToken.None);
        Assert.True(sink.Offer(AlertEvent()));
        await sink.FlushAsync(CancellationToken.None);

        var stats = sink.Stats();
        Assert.Equal((1, 3, 0), (stats.Delivered, stats.Retried, stats.Failed));
        Assert.Equal(["1", "2", "3", "4"], server.Requests.Select(r => r.Attempt));
        Assert.Single(server.Requests.Select(r => r.Body).Distinct()); // the same alert each time
        var body = JsonNode.Parse(server.Requests.First().Body)!;
        Assert.Equal(("alert", Normal, Anomaly, "hot", "critical"), ((string)body["type"]!, (string)body["from"]!, (string)body["to"]!, (string)body["rule"]!, (string)body["severity"]!));
        Assert.Equal(("plant/line1", "abc123", 85.5), ((string)body["source"]!, (string)body["key"]!, (double)body["inputs"]!["temperature"]!));
    }

    [Fact]
    public async Task TheWebhookGivesUpAfterItsRetriesAndRecordsTheFailure()
    {
        await using var server = new HookServer(500, 500, 500);
        await using var sink = new WebhookAlertSink("ops", server.Url, Fast(2));
        await sink.StartAsync(CancellationToken.None);
        sink.Offer(AlertEvent());
        sink.Offer(AlertEvent(Normal)); // the next alert is delivered after the first is given up
        await sink.FlushAsync(CancellationToken.None);

        var stats = sink.Stats();
        Assert.Equal((1, 1), (stats.Delivered, stats.Failed));
        var failure = Assert.Single(stats.RecentFailures);
        Assert.Equal(3, failure.Attempts);
        Assert.Contains("500", failure.Error);
        Assert.Contains("ALERT NORMAL -> ANOMALY DETECTED", failure.Alert);
        Assert.Equal(4, server.Requests.Count);
    }

    [Fact]
    public async Task AClientErrorIsNotRetried()
    {
        await using var server = new HookServer(400);
        await using var sink = new WebhookAlertSink("ops", server.Url, Fast(5));
        await sink.StartAsync(CancellationToken.None);
        sink.Offer(AlertEvent());
        await sink.FlushAsync(CancellationToken.None);
        Assert.Equal((0, 1, 0), (sink.Stats().Delivered, sink.Stats().Failed, sink.Stats().Retried));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AFullQueueDropsAndCountsInsteadOfWaiting()
    {
        await using var server = new HookServer();
        await using var sink = new WebhookAlertSink("ops", server.Url, new SinkDelivery(0, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5), 2));
        int accepted = Enumerable.Range(0, 50).Count(_ => sink.Offer(AlertEvent())); // not started yet: nothing leaves the queue
        Assert.Equal(2, accepted);
        Assert.Equal(48, sink.Stats().Dropped);
        Assert.Equal(2, sink.Stats().Queued);
        await sink.StartAsync(CancellationToken.None);
        await sink.FlushAsync(CancellationToken.None);
        Assert.Equal((2, 48), (sink.Stats().Delivered, sink.Stats().Dropped));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task StdoutJsonLinesReadBackAsTheAlerts()
    {
        var writer = new LinesWriter();
        await using var sink = new StdoutAlertSink("console", writer, json: true);
        await sink.StartAsync(CancellationToken.None);
        var e = AlertEvent();
        Assert.True(sink.Offer(e));
        Assert.False(sink.Offer(e with { Alert = null, Decision = null })); // a state-only event is not printed
        await sink.FlushAsync(CancellationToken.None);
        var line = JsonNode.Parse(Assert.Single(writer.Lines))!;
        Assert.Equal((string)JsonNode.Parse(MonitorFormat.ToJson(e.Alert!))!["since"]!, (string)line["since"]!);
        Assert.Equal("2026-01-01T00:00:05.000Z", (string)line["ts"]!);
        Assert.Equal(Anomaly, (string)line["signals"]!["temperature"]!);

        var text = new LinesWriter();
        await using var textSink = new StdoutAlertSink("console", text, json: false);
        await textSink.StartAsync(CancellationToken.None);
        textSink.Offer(e);
        await textSink.FlushAsync(CancellationToken.None);
        Assert.Equal("2026-01-01T00:00:05.000Z  ALERT NORMAL -> ANOMALY DETECTED  rule=hot  severity=critical  sinks=ops", Assert.Single(text.Lines));
    }

    private static SinkEvent CheckEvent() => new(Normal, null, null, "plant/line1", "abc123", new Dictionary<string, string>(), Stopwatch.GetTimestamp())
    {
        Check = new ModelCheckNotice("explain", "tiny.gguf", "AT RISK", "The bearing is running hot.", false, "abc123", "plant/line1", Anomaly,
            AlertSeverity.Warning, ["ops"], new DateTimeOffset(2026, 1, 1, 0, 0, 6, TimeSpan.Zero)),
    };

    [Fact]
    public async Task ACheckNoticeIsSentAsItsOwnMessageAndNeverTouchesTheRetainedState()
    {
        var e = CheckEvent();
        await using (var server = new HookServer())
        {
            await using var webhook = new WebhookAlertSink("ops", server.Url, Fast(0));
            await webhook.StartAsync(CancellationToken.None);
            Assert.True(webhook.Offer(e));
            await webhook.FlushAsync(CancellationToken.None);
            var body = JsonNode.Parse(Assert.Single(server.Requests).Body)!;
            Assert.Equal(("check", "explain", "AT RISK", Anomaly, "The bearing is running hot.", "warning", "abc123", false),
                ((string)body["type"]!, (string)body["check"]!, (string)body["label"]!, (string)body["rule_label"]!, (string)body["explanation"]!,
                (string)body["severity"]!, (string)body["key"]!, (bool)body["timed_out"]!));
        }

        var text = new LinesWriter();
        await using (var stdout = new StdoutAlertSink("console", text, json: false))
        {
            await stdout.StartAsync(CancellationToken.None);
            stdout.Offer(e);
            await stdout.FlushAsync(CancellationToken.None);
        }

        Assert.Equal("2026-01-01T00:00:06.000Z  CHECK explain: AT RISK  rules=ANOMALY DETECTED  severity=warning  sinks=ops  -- The bearing is running hot.",
            Assert.Single(text.Lines));

        // MQTT: the notice goes to the alerts topic; the retained state stays the rules' label.
        using var broker = await MosquittoBroker.StartAsync();
        var (watcher, messages, _) = await MqttMonitorTests.WatchAsync(broker, "hearth/#");
        await using var _w = watcher;
        await using var mqtt = new MqttAlertSink("bus", new MqttClientOptions { Host = "127.0.0.1", Port = broker.Port }, "hearth/alerts", "hearth/state",
            MqttQos.AtLeastOnce, Fast(20));
        await mqtt.StartAsync(CancellationToken.None);
        Assert.True(mqtt.Offer(e with { Check = null })); // the state at start-up
        Assert.True(mqtt.Offer(e));
        await mqtt.FlushAsync(CancellationToken.None);
        await EventuallyAsync(() => messages.Count >= 2, "both messages");
        Assert.Equal(["hearth/state", "hearth/alerts"], messages.Select(m => m.Topic));
        Assert.Equal(("state", Normal), ((string)JsonNode.Parse(messages.First().PayloadText)!["type"]!, (string)JsonNode.Parse(messages.First().PayloadText)!["label"]!));
        Assert.Equal("check", (string)JsonNode.Parse(messages.Last().PayloadText)!["type"]!);
        Assert.Equal((2, 0), (mqtt.Stats().Delivered, mqtt.Stats().Failed));
    }
}
