using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Sources;
using Hearth.Sensors.Storage;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The decision loop with real sources (a stream as standard input, the simulator) and the real SQLite store (a
/// test double around it only where the store's own trouble is the subject).</summary>
public sealed class MonitorRunnerTests
{
    private static MonitorHost Host(MonitorPolicy policy, IMonitorStore? store, IEnumerable<string> lines, TextWriter? stdout = null,
        MonitorRunnerOptions? runner = null, IMonitorCheckHook? checks = null) =>
        MonitorHost.Create(policy with { Sources = [new StdinSourceSpec("in")] }, store, new MonitorHostOptions
        {
            OpenStdin = () => Stream(lines), Stdout = stdout ?? TextWriter.Null, Json = true, Runner = runner ?? new MonitorRunnerOptions(),
        }, checks: checks);

    [Fact]
    public async Task EveryReadingIsStoredOnceWithTheSeedLabelAndAlertsFollowTheChanges()
    {
        var lines = SimulatedLines(3000);
        using var store = new TempStore();
        var stdout = new LinesWriter();
        await using var host = Host(PolicyLoader.Seed, store.Store, lines, stdout);
        var stats = await host.RunAsync(CancellationToken.None);

        var expected = lines.Select(SeedLabel).ToArray();
        Assert.Contains(Anomaly, expected); // the feed has anomalies to find
        Assert.Equal(lines.Length, store.Count);
        Assert.Equal(expected, store.Readings.Select(r => r.Label));
        Assert.Equal(Transitions(expected), store.Readings.Where(r => r.AlertTo != null).Select(r => (r.AlertFrom!, r.AlertTo!)));
        Assert.Equal(lines, store.Readings.Select(r => r.Payload));
        Assert.All(store.Readings, r => Assert.Equal(ReadingKeys.For("stdin", System.Text.Encoding.UTF8.GetBytes(r.Payload)), r.Key));
        Assert.Equal(3000, stats.Rules.Readings);
        Assert.Equal(expected.Count(l => l == Anomaly), stats.Rules.Decisions[Anomaly]);

        // The implicit stdout sink (JSON): one line per alert, the label changes in order.
        var alerts = stdout.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        Assert.All(alerts, a => Assert.Equal("alert", (string?)a["type"]));
        Assert.Equal(Transitions(expected), alerts.Select(a => ((string)a["from"]!, (string)a["to"]!)));
        Assert.Equal(Transitions(expected).Count, stats.Rules.Alerts);
        Assert.All(alerts, a => Assert.Equal("stdin", (string?)a["source"]));
        var first = alerts[0];
        var firstAnomaly = lines[Array.IndexOf(expected, Anomaly)];
        Assert.Equal(ReadingKeys.For("stdin", System.Text.Encoding.UTF8.GetBytes(firstAnomaly)), (string?)first["key"]);
        Assert.Equal((double)JsonNode.Parse(firstAnomaly)!["temperature"]!, (double)first["inputs"]!["temperature"]!);
        Assert.Equal(stats.Rules.Alerts, stats.Sinks.Single().Delivered);
    }

    [Fact]
    public async Task BadReadingsAreQuarantinedWithTheirReasonAndTheStreamGoesOn()
    {
        var policy = PolicyLoader.Parse(PolicyLoader.SeedText + "max_reading_bytes: 1024\n");
        var good = SimulatedLines(40);
        var huge = "{\"ts\":\"2026-01-01T00:00:00Z\",\"temperature\":70,\"note\":\"" + new string('x', 5000) + "\"}";
        string[] bad = ["{broken", "{\"ts\":\"2026-01-01T00:00:00Z\",\"temperature\":\"hot\"}", huge, "{\"ts\":\"2026-01-01T00:00:00Z\",\"humidity\":40}", "[1,2]"];
        var lines = good[..10].Concat(bad).Concat(good[10..]).ToArray();
        using var store = new TempStore();
        await using var host = Host(policy, store.Store, lines);
        var stats = await host.RunAsync(CancellationToken.None);

        Assert.Equal(lines.Length, store.Count);
        var quarantined = store.Readings.Where(r => r.Reason != null).Select(r => (r.Position!.Value, r.Reason!)).ToArray();
        Assert.Equal([(11L, "malformed_json"), (12L, "wrong_type"), (13L, "too_large"), (14L, "unknown_signal"), (15L, "not_an_object")], quarantined);
        Assert.Equal(good.Select(SeedLabel), store.Readings.Where(r => r.Label != null).Select(r => r.Label!));
        Assert.Equal(1, stats.Rules.Quarantined[QuarantineReason.TooLarge]);
        Assert.Equal(5, stats.Rules.QuarantinedTotal);
        var stored = store.Readings.Single(r => r.Reason == "too_large");
        Assert.True(stored.Payload.Length <= 200, "an oversized payload is stored as its excerpt");
    }

    [Fact]
    public async Task ARedeliveredStreamIsSkippedBeforeTheRules()
    {
        var lines = SimulatedLines(500);
        using var store = new TempStore();
        await using (var first = Host(PolicyLoader.Seed, store.Store, lines[..300]))
            await first.RunAsync(CancellationToken.None);
        int alertsSoFar = store.Readings.Count(r => r.AlertTo != null);

        // The whole stream again (as a restarted source would deliver it): 300 duplicates, 200 new readings.
        var stdout = new LinesWriter();
        await using var second = Host(PolicyLoader.Seed, store.Store, lines, stdout);
        var stats = await second.RunAsync(CancellationToken.None);
        Assert.Equal(500, store.Count);
        Assert.Equal(300, stats.Duplicates);
        Assert.Equal(200, stats.Rules.Readings); // the duplicates never reached the rules
        var expected = lines.Select(SeedLabel).ToArray();
        Assert.Equal(expected, store.Readings.Select(r => r.Label));
        // Across both runs, alerts are exactly the label changes: none repeated, none missed at the seam.
        Assert.Equal(Transitions(expected), store.Readings.Where(r => r.AlertTo != null).Select(r => (r.AlertFrom!, r.AlertTo!)));
        Assert.Equal(Transitions(expected).Count - alertsSoFar, stdout.Lines.Length);
    }

    [Theory]
    [InlineData(Anomaly, 85.0, false)]
    [InlineData(Anomaly, 70.0, true)]
    [InlineData(Normal, 85.0, true)]
    public async Task TheAlertedLabelIsRestoredFromTheStore(string stored, double temperature, bool alerts)
    {
        using var store = new TempStore();
        store.StoreAlertTo(stored);
        var line = $"{{\"ts\":\"2026-01-01T00:00:00Z\",\"temperature\":{temperature},\"vibration\":0.01}}";
        await using var host = Host(PolicyLoader.Seed, store.Store, [line]);
        var stats = await host.RunAsync(CancellationToken.None);
        var reading = store.Readings.Single();
        Assert.Equal(alerts, reading.AlertTo != null);
        if (alerts) Assert.Equal(stored, reading.AlertFrom);
        Assert.Equal(alerts ? 1 : 0, stats.Rules.Alerts);
    }

    [Fact]
    public async Task AGracefulStopDrainsTheQueueAndLosesNothingAccepted()
    {
        var lines = SimulatedLines(1500);
        using var store = new TempStore();
        var slow = new FaultyStoreDouble(store.Store) { WriteDelay = TimeSpan.FromMilliseconds(1) };
        using var stop = new CancellationTokenSource();
        await using var host = Host(PolicyLoader.Seed, slow, lines, runner: new MonitorRunnerOptions { ShutdownTimeout = TimeSpan.FromMinutes(2) });
        var run = Start(host, stop.Token);
        await EventuallyAsync(() => host.Runner.Sources[0].Status.Payloads == lines.Length, "the source to hand over every line");
        int queued = host.Runner.Stats().QueueDepth;
        await stop.CancelAsync();
        var stats = await run;

        Assert.True(queued > 0, "the stop came while payloads were queued");
        Assert.Equal(lines.Length, store.Count);
        Assert.Equal(lines.Length, stats.Rules.Readings);
        Assert.Equal(0, stats.NotStored);
        Assert.Equal(0, stats.QueueDepth);
    }

    [Fact]
    public async Task AFailingStoreMakesTheMonitorUnhealthyAndItsWritesAreRetriedUntilTheyLand()
    {
        var lines = SimulatedLines(200);
        using var store = new TempStore();
        var failing = new FaultyStoreDouble(store.Store);
        using var stop = new CancellationTokenSource();
        await using var host = Host(PolicyLoader.Seed, failing, lines, runner: new MonitorRunnerOptions { StoreRetryMaxDelay = TimeSpan.FromMilliseconds(50) });
        failing.Failing = true;
        var run = Start(host, stop.Token);
        await EventuallyAsync(() => host.Runner.Health().Store == "failing", "the store failure to show");
        var health = host.Runner.Health();
        Assert.False(health.Healthy);
        Assert.Contains(health.Problems, p => p.Contains("store") && p.Contains("failing on purpose"));
        Assert.Equal(0, store.Count);

        failing.Failing = false;
        await EventuallyAsync(() => store.Count == lines.Length, "every reading to be stored");
        Assert.Equal("ok", host.Runner.Health().Store);
        var stats = await run;
        Assert.True(stats.StoreFailures > 0);
        Assert.Equal(lines.Select(SeedLabel), store.Readings.Select(r => r.Label));
    }

    [Fact]
    public async Task ClockTicksRaiseStaleAlertsAndAreStored()
    {
        // A followed file: unlike standard input it does not end, so the monitor keeps ticking.
        var dir = Directory.CreateTempSubdirectory("hearth-stale-");
        var file = Path.Combine(dir.FullName, "r.jsonl");
        File.WriteAllText(file, $"{{\"ts\":\"{DateTimeOffset.UtcNow:O}\",\"temperature\":60}}\n");
        var policy = PolicyLoader.Parse($$"""
            signals:
              temperature: { unit: C }
            rules:
              - { name: quiet, signal: temperature, stale_seconds: 0.3, label: STALE }
            actions:
              STALE: { severity: warning }
            sources:
              f: { kind: file, path: "{{file}}", poll_ms: 20 }
            """);
        using var store = new TempStore();
        var stdout = new LinesWriter();
        using var stop = new CancellationTokenSource();
        await using var host = MonitorHost.Create(policy, store.Store, new MonitorHostOptions
        {
            Stdout = stdout, Json = true, Runner = new MonitorRunnerOptions { TickInterval = TimeSpan.FromMilliseconds(50) },
        });
        var run = Start(host, stop.Token);
        await EventuallyAsync(() => stdout.Lines.Length > 0, "a stale alert");
        await stop.CancelAsync();
        var stats = await run;

        var alert = JsonNode.Parse(stdout.Lines[0])!;
        Assert.Equal(("NORMAL", "STALE", "quiet"), ((string)alert["from"]!, (string)alert["to"]!, (string)alert["rule"]!));
        Assert.Null((string?)alert["key"]); // a tick, not a reading
        Assert.Equal("NORMAL", store.Readings.Single().Label);
        Assert.Contains(store.Ticks, t => t.AlertTo == "STALE");
        Assert.Equal(stats.Ticks, store.Ticks.Count);
        Assert.Equal("STALE", store.Store.LastAlertedLabel());
        dir.Delete(recursive: true);
    }

    [Fact]
    public async Task ACheckHookSeesEveryDecisionAndItsReportsAreStoredAndTimed()
    {
        var lines = SimulatedLines(100);
        using var store = new TempStore();
        var hook = new CheckHookDouble();
        await using var host = Host(PolicyLoader.Seed, store.Store, lines, checks: hook);
        var stats = await host.RunAsync(CancellationToken.None);

        Assert.Equal(100, hook.Seen);
        Assert.Equal(100, store.ModelDecisions.Count);
        Assert.Equal(100, stats.ModelChecks);
        Assert.Equal(100, stats.ModelDecisions["OK"]);
        Assert.InRange(stats.SlmLatencyP50.TotalMilliseconds, 7 * 15 / 16.0, 7 * 17 / 16.0); // the histogram is within 1/16
        var keys = store.Readings.Select(r => r.Key).ToHashSet();
        Assert.All(store.ModelDecisions, m => Assert.Contains(m.ReadingKey, keys));
    }

    [Fact]
    public async Task TheSimulatedSourceAsFastAsPossibleFeedsTheSimulatorsReadings()
    {
        var options = new SimulationOptions { Seed = 9, AnomalyRate = 0.02 };
        var lines = SimulatedSensorFeed.GenerateJsonLines(2000, options).ToArray();
        using var store = new TempStore();
        await using var host = MonitorHost.Create(PolicyLoader.Seed, store.Store, new MonitorHostOptions
        {
            Simulate = true, SimulateCount = 2000, SimulateRealTime = false, Simulation = options,
        });
        var stats = await host.RunAsync(CancellationToken.None);
        Assert.Equal(lines, store.Readings.Select(r => r.Payload));
        Assert.Equal(lines.Select(SeedLabel), store.Readings.Select(r => r.Label));
        Assert.All(store.Readings, r => Assert.Equal(options.Source, r.Source));
        Assert.Equal(Sources.SourceState.Finished, stats.Sources.Single().State);
    }

    [Fact]
    public async Task AFaultInACheckHookIsCountedAndTheStreamGoesOn()
    {
        var lines = SimulatedLines(50);
        using var store = new TempStore();
        await using var host = Host(PolicyLoader.Seed, store.Store, lines, checks: new ThrowingHookDouble());
        var stats = await host.RunAsync(CancellationToken.None);
        Assert.Equal(50, store.Count); // the reading whose hook threw was stored before the hook ran
        Assert.Equal(1, stats.Errors);
        Assert.Contains("third", stats.LastError);
    }

    /// <summary>A test double of a check hook that fails on the third decision.</summary>
    private sealed class ThrowingHookDouble : IMonitorCheckHook
    {
        private int _calls;

        public void OnDecision(CheckContext context)
        {
            if (++_calls == 3) throw new InvalidOperationException("the third decision breaks this hook");
        }

        public Task DrainAsync(CancellationToken deadline) => Task.CompletedTask;
    }

    [Fact]
    public void APolicyWhoseActionsNameUndeclaredSinksIsRefused()
    {
        var policy = PolicyLoader.Parse(PolicyLoader.SeedText + "actions:\n  ANOMALY DETECTED: { sinks: [pager] }\n");
        var e = Assert.Throws<MonitorConfigurationException>(() => Host(policy, null, []));
        Assert.Contains("'pager'", e.Message);
        Assert.Contains("no 'sinks:' section", e.Message);
        var none = Assert.Throws<MonitorConfigurationException>(() => MonitorHost.Create(PolicyLoader.Seed, null, new MonitorHostOptions()));
        Assert.Contains("nothing to watch", none.Message);
    }

    /// <summary>A test double of an SLM check hook: reports one check per decision, as if a model took 7 ms.</summary>
    private sealed class CheckHookDouble : IMonitorCheckHook
    {
        private readonly List<Task> _running = [];
        public int Seen;

        public void OnDecision(CheckContext context)
        {
            Seen++;
            lock (_running)
            {
                _running.Add(Task.Run(() => context.Report(new ModelDecisionRecord(context.ReadingKey + "/double", context.ReadingKey, "double", "none",
                    context.Payload, "OK", "OK", TimeSpan.FromMilliseconds(7), false, DateTimeOffset.UtcNow))));
            }
        }

        public Task DrainAsync(CancellationToken deadline)
        {
            lock (_running) return Task.WhenAll(_running).WaitAsync(deadline);
        }
    }
}
