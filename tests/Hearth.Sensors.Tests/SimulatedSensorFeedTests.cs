namespace Hearth.Sensors.Tests;

public sealed class SimulatedSensorFeedTests
{
    [Fact]
    public void TheSameSeedGivesTheSameReadings()
    {
        var a = SimulatedSensorFeed.GenerateJsonLines(5000, new SimulationOptions { Seed = 42 }).ToArray();
        var b = SimulatedSensorFeed.GenerateJsonLines(5000, new SimulationOptions { Seed = 42 }).ToArray();
        var c = SimulatedSensorFeed.GenerateJsonLines(5000, new SimulationOptions { Seed = 43 }).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void ReadingsAreRealisticAndIncludeAnomaliesTheSeedPolicyCatches()
    {
        var options = new SimulationOptions { Seed = 1 };
        var readings = SimulatedSensorFeed.Generate(20_000, options).ToArray();
        var temps = readings.Select(r => r.Fields["temperature"]!.GetValue<double>()).ToArray();
        var vibs = readings.Select(r => r.Fields["vibration"]!.GetValue<double>()).ToArray();
        Assert.All(vibs, v => Assert.True(v >= 0));
        Assert.InRange(temps.Order().ElementAt(temps.Length / 2), 55, 75);
        Assert.Equal(options.Start.AddSeconds(19_999), readings[^1].Timestamp);

        // Every line parses back through the seed policy's reader, and the seed rules label some of them anomalous.
        var session = new MonitorSession(PolicyLoader.Seed);
        long n = 0;
        foreach (var line in SimulatedSensorFeed.GenerateJsonLines(20_000, options)) session.Accept(System.Text.Encoding.UTF8.GetBytes(line), "sim", ++n);
        var stats = session.Stats();
        Assert.Equal(0, stats.QuarantinedTotal);
        Assert.InRange(stats.Decisions["ANOMALY DETECTED"], 50, 2_000);
        Assert.InRange(stats.Alerts, 10, 200);
        Assert.Contains(readings, r => r.Fields["temperature"]!.GetValue<double>() > 80);
        Assert.Contains(readings, r => r.Fields["vibration"]!.GetValue<double>() > 0.04);
    }
}
