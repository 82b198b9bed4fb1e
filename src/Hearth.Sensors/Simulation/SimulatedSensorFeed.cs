using System.Text.Json.Nodes;
using Hearth.Sampling;

namespace Hearth.Sensors;

/// <summary>Settings of a <see cref="SimulatedSensorFeed"/>.</summary>
public sealed record SimulationOptions
{
    /// <summary>The random seed; the same seed gives the same readings.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The first reading's timestamp.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Time between readings.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Chance per reading that an anomaly episode starts (when none is running).</summary>
    public double AnomalyRate { get; init; } = 0.002;

    /// <summary>The source the readings carry.</summary>
    public string Source { get; init; } = "sim/line1";
}

/// <summary>
/// A seeded, deterministic feed of machine readings with <c>temperature</c> (°C) and <c>vibration</c> (g) fields, so the
/// monitor can be tried without hardware. Temperature drifts around 65 °C with a slow cycle and correlated noise;
/// vibration is about 0.012 g with noise. Anomaly episodes (5 to 30 readings) either heat the machine up to 84–95 °C or
/// shake it at 0.05–0.10 g, ramping in and out.
/// </summary>
public static class SimulatedSensorFeed
{
    /// <summary>Generates <paramref name="count"/> readings.</summary>
    public static IEnumerable<Reading> Generate(long count, SimulationOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var o = options ?? new SimulationOptions();
        var rng = new SeededRandom(o.Seed);
        double drift = 0;
        int episodeLeft = 0, episodeLength = 0;
        bool heat = false;
        double peak = 0;
        for (long i = 0; i < count; i++)
        {
            if (episodeLeft == 0 && rng.NextDouble() < o.AnomalyRate)
            {
                episodeLength = episodeLeft = 5 + (int)(rng.NextDouble() * 26);
                heat = rng.NextDouble() < 0.5;
                peak = heat ? 84 + rng.NextDouble() * 11 : 0.05 + rng.NextDouble() * 0.05;
            }

            // AR(1) noise: slow, correlated wander rather than white jitter.
            drift = 0.95 * drift + Gaussian(rng) * 0.4;
            double temperature = 65 + 4 * Math.Sin(2 * Math.PI * i / 3600.0) + drift;
            double vibration = Math.Abs(0.012 + Gaussian(rng) * 0.003);
            if (episodeLeft > 0)
            {
                // A triangular ramp up to the peak and back, so readings cross the thresholds on the way in and out.
                int k = episodeLength - episodeLeft;
                double shape = Math.Min(1, 2.0 * Math.Min(k + 1, episodeLength - k) / episodeLength + 0.3);
                if (heat) temperature += (peak - temperature) * shape;
                else vibration += (peak - vibration) * shape;
                episodeLeft--;
            }

            var fields = new JsonObject
            {
                ["ts"] = (o.Start + o.Interval * i).ToString("O"),
                ["temperature"] = Math.Round(temperature, 2),
                ["vibration"] = Math.Round(vibration, 4),
            };
            yield return new Reading(o.Source, o.Start + o.Interval * i, fields);
        }
    }

    /// <summary>The readings as JSON lines (what a recorded file of them would hold).</summary>
    public static IEnumerable<string> GenerateJsonLines(long count, SimulationOptions? options = null) =>
        Generate(count, options).Select(r => r.Fields.ToJsonString());

    // Box–Muller; one of the pair is enough here.
    private static double Gaussian(SeededRandom rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
