namespace Hearth.Sensors.Tests;

public sealed class PolicyLoaderTests
{
    private const string Signals = "signals:\n  temperature: { unit: C }\n  vibration: { unit: g }\n";

    private static PolicyException Bad(string yaml) => Assert.Throws<PolicyException>(() => PolicyLoader.Parse(yaml, "bad.yaml"));

    [Fact]
    public void AFullPolicyParses()
    {
        var policy = PolicyLoader.Parse("""
            signals:
              temperature: { unit: C, source: line1/temp, field: t }
              vibration:
                unit: g
            default_label: OK
            max_reading_bytes: 2048
            rules:
              - name: hot
                signal: temperature
                above: 80
                clear: 75
                clear_after: 3
                label: HOT
              - { name: noisy, signal: vibration, stat: stddev, window_seconds: 60, above: 0.01, label: NOISY }
              - { name: cold, signal: temperature, stat: min, window_readings: 10, below: 5, label: COLD }
              - { name: jump, signal: temperature, stat: rate, above: 2, label: HOT }
              - { name: gone, signal: vibration, stale_seconds: 30, label: STALE }
              - { name: hole, signal: temperature, missing: true, label: STALE }
            slm_checks:
              - name: triage
                prompt: "Is this reading pattern dangerous?"
                labels: [HOT, OK]
                model: qwen2.5:0.5b
                latency_budget_ms: 250
                on_timeout: OK
            actions:
              HOT: { sinks: [log, mqtt], severity: critical, debounce_seconds: 10 }
              STALE: { severity: warning }
            """, "full.yaml");
        Assert.Equal(new SignalSpec("temperature", "C", "line1/temp", "t"), policy.Signals[0]);
        Assert.Equal(new SignalSpec("vibration", "g", null, "vibration"), policy.Signals[1]);
        Assert.Equal(("OK", 2048), (policy.DefaultLabel, policy.MaxReadingBytes));
        var hot = policy.Rules[0];
        Assert.Equal((RuleKind.Threshold, RuleStatistic.Value, true, 80.0, 75.0, 3), (hot.Kind, hot.Statistic, hot.Above, hot.Threshold, hot.Clear, hot.ClearAfter));
        Assert.Equal((RuleStatistic.StdDev, 60.0), (policy.Rules[1].Statistic, policy.Rules[1].WindowSeconds));
        Assert.Equal((RuleStatistic.Min, false, 10), (policy.Rules[2].Statistic, policy.Rules[2].Above, policy.Rules[2].WindowReadings));
        Assert.Equal(5.0, policy.Rules[2].Clear);
        Assert.Equal(RuleStatistic.Rate, policy.Rules[3].Statistic);
        Assert.Equal((RuleKind.Stale, 30.0), (policy.Rules[4].Kind, policy.Rules[4].StaleSeconds));
        Assert.Equal(RuleKind.Missing, policy.Rules[5].Kind);
        Assert.Equal(new SlmCheckSpec("triage", "Is this reading pattern dangerous?", ["HOT", "OK"], "qwen2.5:0.5b", 250, "OK") with { Labels = policy.SlmChecks[0].Labels },
            policy.SlmChecks[0]);
        Assert.Equal(["HOT", "OK"], policy.SlmChecks[0].Labels);
        Assert.Equal((AlertSeverity.Critical, 10.0), (policy.ActionFor("HOT").Severity, policy.ActionFor("HOT").DebounceSeconds));
        Assert.Equal(["log", "mqtt"], policy.ActionFor("HOT").Sinks);
        Assert.Equal(AlertSeverity.Warning, policy.ActionFor("STALE").Severity);
        Assert.Equal(ActionSpec.Default, policy.ActionFor("OK"));
    }

    [Theory]
    // Each case: the policy text, the expected line and column, and a phrase the message must contain.
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, abve: 80, label: A }\n", 4, 28, "unknown key 'abve'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temprature, above: 80, label: A }\n", 4, 15, "unknown signal 'temprature'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: hot, label: A }\n", 4, 35, "above must be a number, not 'hot'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, label: A }\n", 4, 5, "give exactly one of")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, below: 3, label: A }\n", 4, 5, "(found 2)")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, clear: 85, label: A }\n", 4, 46, "'clear' (85) must be at or below 'above'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, stat: mean, above: 80, label: A }\n", 4, 34, "needs 'window_seconds: N' or 'window_readings: N'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, stat: median, window_readings: 3, above: 80, label: A }\n", 4, 34, "unknown stat 'median'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80 }\n", 4, 5, "missing required key 'label'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, stale_seconds: 0, label: S }\n", 4, 43, "must be greater than 0")]
    [InlineData("signals:\n  temperature: {}\nrules: []\n", 2, 16, "missing required key 'unit'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\ncolour: blue\n", 5, 1, "unknown key 'colour'")]
    [InlineData("rules:\n  - { signal: temperature, above: 80, label: A }\n", 1, 1, "missing required key 'signals'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A\n", 5, 1, "YAML syntax error")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\nactions:\n  HOTT: { severity: critical }\n", 6, 3, "no rule, slm check or default_label produces")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\nactions:\n  A: { severity: loud }\n", 6, 18, "unknown severity 'loud'")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\nslm_checks:\n  - { prompt: p, labels: [A, B], model: m, latency_budget_ms: 100, on_timeout: C }\n", 6, 80, "on_timeout 'C' is not one of its labels")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\nslm_checks:\n  - { prompt: p, labels: [A, B], model: m, latency_budget_ms: -5, on_timeout: A }\n", 6, 63, "latency_budget_ms must be a whole number")]
    [InlineData("signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\nslm_checks:\n  - { prompt: p, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A, temperature: 0.2 }\n", 6, 82, "unknown key 'temperature'")]
    [InlineData("signals:\n  temperature: { unit: C }\n  temperature: { unit: F }\nrules: []\n", 3, 3, "Duplicate key")]
    public void InvalidPoliciesNameTheLineAndColumn(string yaml, int line, int column, string phrase)
    {
        var e = Bad(yaml);
        Assert.Contains(phrase, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith($"bad.yaml:{line}:{column}: ", e.Message);
    }

    [Fact]
    public void AnEmptyPolicyIsAnError()
    {
        Assert.Equal(1, Bad("").Line);
        Assert.Contains("empty", Bad("# only a comment\n").Message);
    }

    [Fact]
    public void LoadReadsFilesAndKnowsTheSeed()
    {
        var dir = Directory.CreateTempSubdirectory("hearth-policy-");
        try
        {
            var path = Path.Combine(dir.FullName, "p.yaml");
            File.WriteAllText(path, Signals + "rules:\n  - { signal: vibration, above: 0.1, label: SHAKY }\n");
            Assert.Equal("SHAKY", PolicyLoader.Load(path).Rules[0].Label);
            File.WriteAllText(path, Signals + "rules:\n  - { signal: vibration, above: 0.1, label: SHAKY, extra: 1 }\n");
            var e = Assert.Throws<PolicyException>(() => PolicyLoader.Load(path));
            Assert.StartsWith("p.yaml:5:", e.Message);
            Assert.Throws<FileNotFoundException>(() => PolicyLoader.Load(Path.Combine(dir.FullName, "none.yaml")));
            Assert.Equal(2, PolicyLoader.Load("seed").Rules.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
