namespace Hearth.Sensors.Tests;

public sealed class SeedScenarioTests
{
    private const string Anomaly = "ANOMALY DETECTED";
    private const string Normal = "NORMAL";

    [Fact]
    public void TheSeedPolicyIsTheSampleFileAndSaysWhatItShould()
    {
        var policy = PolicyLoader.Seed;
        Assert.Equal(["temperature", "vibration"], policy.Signals.Select(s => s.Name));
        Assert.Equal(Normal, policy.DefaultLabel);
        Assert.Collection(policy.Rules,
            r => Assert.Equal(("temperature", true, 80.0, Anomaly), (r.Signal, r.Above, r.Threshold, r.Label)),
            r => Assert.Equal(("vibration", true, 0.04, Anomaly), (r.Signal, r.Above, r.Threshold, r.Label)));
        Assert.True(PolicyLoader.SeedText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 10);
    }

    [Fact]
    public void ReadingsAroundTheThresholdsGetExactlyTheHandComputedLabels()
    {
        // "above" is strict: exactly 80 / 0.04 is normal. With no 'clear' and clear_after 1, the label follows each reading.
        var cases = new (double Temp, double Vib, string Label)[]
        {
            (79.9, 0.010, Normal),
            (80.0, 0.040, Normal),
            (80.01, 0.010, Anomaly),
            (75.0, 0.0401, Anomaly),
            (75.0, 0.039, Normal),
            (95.0, 0.090, Anomaly),
            (-10.0, 0.0, Normal),
        };
        var engine = new RuleEngine(PolicyLoader.Seed);
        for (int i = 0; i < cases.Length; i++)
        {
            var d = engine.Evaluate(Readings.At(i, ("temperature", cases[i].Temp), ("vibration", cases[i].Vib)));
            Assert.Equal(cases[i].Label, d.Label);
        }
    }

    [Fact]
    public void TheDecisionNamesTheRuleAndItsInputs()
    {
        var engine = new RuleEngine(PolicyLoader.Seed);
        var d = engine.Evaluate(Readings.At(0, ("temperature", 70), ("vibration", 0.05)));
        Assert.Equal(("shaking", Anomaly), (d.Rule, d.Label));
        Assert.Equal(["shaking"], d.ActiveRules);
        Assert.Equal(70, d.Inputs["temperature"]);
        Assert.Equal(0.05, d.Inputs["vibration"]);
        Assert.Equal(Readings.Start, d.Timestamp);
        Assert.True(d.LatencyTicks >= 0);

        // Both active: the first rule in policy order decides.
        d = engine.Evaluate(Readings.At(1, ("temperature", 85), ("vibration", 0.05)));
        Assert.Equal("hot", d.Rule);
        Assert.Equal(["hot", "shaking"], d.ActiveRules);
    }

    [Fact]
    public void AlertsAreRaisedOnlyOnLabelChanges()
    {
        var engine = new RuleEngine(PolicyLoader.Seed);
        double[] temps = [70, 81, 82, 70, 71, 90];
        var alerts = temps.Select((t, i) => engine.Evaluate(Readings.Temp(i, t)).Alert).ToArray();
        Assert.Null(alerts[0]);
        Assert.Equal((Normal, Anomaly, "hot"), (alerts[1]!.From, alerts[1]!.To, alerts[1]!.Rule));
        Assert.Null(alerts[2]);
        Assert.Equal((Anomaly, Normal), (alerts[3]!.From, alerts[3]!.To));
        Assert.Null(alerts[4]);
        Assert.Equal(Anomaly, alerts[5]!.To);
    }
}
