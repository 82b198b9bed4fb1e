using System.Text.Json.Nodes;

namespace Hearth.Sensors.Tests;

/// <summary>Builds readings at whole seconds after a fixed start.</summary>
internal static class Readings
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static Reading At(double second, params (string Field, double Value)[] fields)
    {
        var o = new JsonObject();
        foreach (var (f, v) in fields) o[f] = v;
        return new Reading("test", Start.AddSeconds(second), o);
    }

    public static Reading Temp(double second, double value) => At(second, ("temperature", value));

    /// <summary>A policy with one signal 'x' and the given rules (YAML list items, indented under 'rules:').</summary>
    public static MonitorPolicy XPolicy(string rules, string extra = "") =>
        PolicyLoader.Parse("signals:\n  x: { unit: u }\n  y: { unit: u }\nrules:\n" + rules + extra, "test.yaml");

    public static string[] Labels(RuleEngine engine, IEnumerable<Reading> readings) => readings.Select(r => engine.Evaluate(r).Label).ToArray();
}
