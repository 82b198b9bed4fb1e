using static Hearth.Sensors.Tests.Readings;

namespace Hearth.Sensors.Tests;

public sealed class RuleEngineTests
{
    private static Reading X(double second, double value) => At(second, ("x", value));

    [Fact]
    public void BelowIsStrict()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, below: 10, label: LOW }\n"));
        Assert.Equal(["NORMAL", "NORMAL", "LOW"], Labels(engine, [X(0, 11), X(1, 10), X(2, 9.99)]));
    }

    [Fact]
    public void RateOfChangeIsPerSecondAgainstThePreviousReading()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, stat: rate, above: 2, label: RISING }\n"));
        // Rates: none (first reading), (14-10)/2 = 2 (not above), (20-14)/2 = 3, (21-20)/0.5 = 2, (19-21)/1 = -2.
        Assert.Equal(["NORMAL", "NORMAL", "RISING", "NORMAL", "NORMAL"],
            Labels(engine, [X(0, 10), X(2, 14), X(4, 20), X(4.5, 21), X(5.5, 19)]));
    }

    [Fact]
    public void WindowOfReadingsMeanMaxMinWaitForAFullWindow()
    {
        var policy = XPolicy(
            "  - { name: avg, signal: x, stat: mean, window_readings: 3, above: 5, label: MEAN }\n" +
            "  - { name: top, signal: x, stat: max, window_readings: 3, above: 8, label: MAX }\n" +
            "  - { name: bottom, signal: x, stat: min, window_readings: 3, below: 1, label: MIN }\n");
        var engine = new RuleEngine(policy);
        double[] xs = [9, 9, 0.5, 2, 2, 2, 2];
        var active = xs.Select((v, i) => string.Join(",", engine.Evaluate(X(i, v)).ActiveRules)).ToArray();
        // Windows: [9] [9,9] not full; [9,9,.5] mean 6.17 max 9 min .5; [9,.5,2] mean 3.83 max 9 min .5;
        // [.5,2,2] mean 1.5 max 2 min .5; [2,2,2] all normal.
        Assert.Equal(["", "", "avg,top,bottom", "top,bottom", "bottom", "", ""], active);
    }

    [Fact]
    public void WindowOfSecondsKeepsReadingsNewerThanNSeconds()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, stat: mean, window_seconds: 10, above: 5, label: HIGH }\n"));
        // Means: [20] 20; [20,1] 10.5; [20,1,1] 7.33; at t=10 the window is (0, 10], so the 20 has left: [1,1,1] 1.
        Assert.Equal(["HIGH", "HIGH", "HIGH", "NORMAL"], Labels(engine, [X(0, 20), X(5, 1), X(9.5, 1), X(10, 1)]));
    }

    [Fact]
    public void RollingStdDevMatchesADirectComputation()
    {
        const int n = 5;
        var engine = new RuleEngine(XPolicy($"  - {{ signal: x, stat: stddev, window_readings: {n}, above: 1.5, label: NOISY }}\n"));
        var rng = new Hearth.Sampling.SeededRandom(7);
        var values = Enumerable.Range(0, 200).Select(i => (i / 40 % 2 == 0 ? 0.5 : 3.0) * (rng.NextDouble() * 2 - 1)).ToArray();
        int noisy = 0;
        for (int i = 0; i < values.Length; i++)
        {
            var label = engine.Evaluate(X(i, values[i])).Label;
            if (i < n - 1)
            {
                Assert.Equal("NORMAL", label);
                continue;
            }

            var w = values[(i - n + 1)..(i + 1)];
            double mean = w.Average();
            double sd = Math.Sqrt(w.Sum(v => (v - mean) * (v - mean)) / n);
            Assert.Equal(sd > 1.5 ? "NOISY" : "NORMAL", label);
            if (sd > 1.5) noisy++;
        }

        Assert.InRange(noisy, 1, values.Length - 1);
    }

    [Fact]
    public void HysteresisClearThresholdStopsFlapping()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, above: 80, clear: 75, label: HOT }\n"));
        double[] xs = [79, 81, 79, 80.5, 76, 75, 78, 81];
        // Active from 81 until the value is back at or below 75; 79, 80.5, 76 do not clear it; 78 after clearing is normal.
        Assert.Equal(["NORMAL", "HOT", "HOT", "HOT", "HOT", "NORMAL", "NORMAL", "HOT"], Labels(engine, xs.Select((v, i) => X(i, v))));

        // Without hysteresis the same readings flap on every crossing.
        var plain = new RuleEngine(XPolicy("  - { signal: x, above: 80, label: HOT }\n"));
        Assert.Equal(["NORMAL", "HOT", "NORMAL", "HOT", "NORMAL", "NORMAL", "NORMAL", "HOT"], Labels(plain, xs.Select((v, i) => X(i, v))));
    }

    [Fact]
    public void HysteresisConsecutiveNormalReadings()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, above: 80, clear_after: 3, label: HOT }\n"));
        double[] xs = [81, 70, 70, 81, 70, 70, 70, 70];
        // 70,70 then 81 restarts the count; the third consecutive 70 clears.
        Assert.Equal(["HOT", "HOT", "HOT", "HOT", "HOT", "HOT", "NORMAL", "NORMAL"], Labels(engine, xs.Select((v, i) => X(i, v))));
    }

    [Fact]
    public void DebounceRaisesAnAlertOnlyWhenTheLabelPersists()
    {
        var policy = XPolicy("  - { signal: x, above: 80, label: HOT }\n", "actions:\n  HOT: { sinks: [log], severity: critical, debounce_seconds: 5 }\n");
        var engine = new RuleEngine(policy);
        double[] xs = [70, 81, 82, 70, 81, 81, 81, 81, 70];
        double[] ts = [0, 1, 3, 4, 10, 12, 14, 15, 16];
        var alerts = xs.Select((v, i) => engine.Evaluate(X(ts[i], v)).Alert).ToArray();
        // HOT at t=1..3 lasts 2 s: no alert. HOT from t=10: raised at t=15 (5 s later). NORMAL has no debounce.
        Assert.Equal([null, null, null, null, null, null, null], alerts[..7].Select(a => a?.To));
        Assert.Equal(("NORMAL", "HOT", AlertSeverity.Critical, Start.AddSeconds(10), Start.AddSeconds(15)),
            (alerts[7]!.From, alerts[7]!.To, alerts[7]!.Severity, alerts[7]!.Since, alerts[7]!.Timestamp));
        Assert.Equal(["log"], alerts[7]!.Sinks);
        Assert.Equal(("HOT", "NORMAL"), (alerts[8]!.From, alerts[8]!.To));
    }

    [Fact]
    public void MissingDataFiresForAReadingWithoutTheField()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, missing: true, label: NO DATA }\n"));
        var labels = Labels(engine, [X(0, 1), At(1, ("y", 2)), At(2), X(3, 1)]);
        Assert.Equal(["NORMAL", "NO DATA", "NO DATA", "NORMAL"], labels);
    }

    [Fact]
    public void MissingDataOnlyConcernsReadingsFromTheSignalsSource()
    {
        var policy = PolicyLoader.Parse("signals:\n  x: { unit: u, source: line1/x }\n  y: { unit: u, source: line1/y }\nrules:\n  - { signal: x, missing: true, label: NO DATA }\n");
        var engine = new RuleEngine(policy);
        Assert.Equal("NORMAL", engine.Evaluate(At(0, ("y", 1)) with { Source = "line1/y" }).Label);
        Assert.Equal("NO DATA", engine.Evaluate(At(1, ("y", 1)) with { Source = "line1/x" }).Label);
    }

    [Fact]
    public void StaleSensorUsesReadingTimestampsAndTicks()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, stale_seconds: 10, label: STALE }\n"));
        Assert.Equal("NORMAL", engine.Evaluate(X(0, 1)).Label);
        Assert.Equal("NORMAL", engine.Evaluate(At(10, ("y", 1))).Label);  // exactly 10 s: not yet stale
        Assert.Equal("STALE", engine.Evaluate(At(10.5, ("y", 1))).Label);
        Assert.Equal("STALE", engine.Tick(Start.AddSeconds(30)).Label);
        Assert.Equal("NORMAL", engine.Evaluate(X(31, 1)).Label);

        // Ticks alone detect a sensor that went quiet, with no reading of anything.
        Assert.Equal("NORMAL", engine.Tick(Start.AddSeconds(41)).Label);
        var stale = engine.Tick(Start.AddSeconds(41.001));
        Assert.Equal("STALE", stale.Label);
        Assert.Equal(("NORMAL", "STALE"), (stale.Alert!.From, stale.Alert!.To));
    }

    [Fact]
    public void ASignalThatNeverCameIsStaleCountingFromTheFirstReading()
    {
        var engine = new RuleEngine(XPolicy("  - { signal: x, stale_seconds: 5, label: STALE }\n"));
        Assert.Equal(["NORMAL", "NORMAL", "STALE"], Labels(engine, [At(0, ("y", 1)), At(5, ("y", 1)), At(6, ("y", 1))]));
    }

    [Fact]
    public void ReplayIsAPureFunctionOfReadingsAndPolicy()
    {
        var policy = XPolicy(
            "  - { signal: x, stat: stddev, window_seconds: 30, above: 2, clear: 1, label: NOISY }\n" +
            "  - { signal: x, stat: rate, above: 5, clear_after: 2, label: JUMP }\n",
            "actions:\n  NOISY: { debounce_seconds: 3 }\n");
        var readings = SimulatedSensorFeed.Generate(2000, new SimulationOptions { Seed = 1 })
            .Select(r => At((r.Timestamp - new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)).TotalSeconds, ("x", r.Fields["temperature"]!.GetValue<double>())))
            .ToArray();
        string Run() => string.Join("\n", readings.Select(new RuleEngine(policy).Evaluate).Select(d => MonitorFormat.ToJson(d) + (d.Alert != null ? MonitorFormat.ToJson(d.Alert) : "")));
        var first = Run();
        Assert.Equal(first, Run());
        Assert.Contains("NOISY", first);
    }
}
