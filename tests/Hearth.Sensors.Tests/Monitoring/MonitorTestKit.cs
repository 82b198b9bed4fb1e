using System.Text;
using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>Helpers shared by the live-monitor tests: expected labels computed from the seed thresholds directly (not by
/// the rule engine), simulated lines, and waiting for a condition.</summary>
internal static class MonitorTestKit
{
    public const string Anomaly = "ANOMALY DETECTED";
    public const string Normal = "NORMAL";
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>The seed scenario's label, by its own words: temperature above 80 or vibration above 0.04 is an anomaly.</summary>
    public static string SeedLabel(string line)
    {
        var o = JsonNode.Parse(line)!.AsObject();
        return (double)o["temperature"]! > 80 || (double)o["vibration"]! > 0.04 ? Anomaly : Normal;
    }

    /// <summary>The label changes along a sequence of labels, starting from <paramref name="from"/>: what alerts should say.</summary>
    public static List<(string From, string To)> Transitions(IEnumerable<string> labels, string from = Normal)
    {
        var changes = new List<(string, string)>();
        foreach (var label in labels)
        {
            if (label != from) changes.Add((from, label));
            from = label;
        }

        return changes;
    }

    /// <summary>Simulated readings with anomalies, as JSON lines, timestamps from <paramref name="start"/> (default the simulator's).</summary>
    public static string[] SimulatedLines(int count, ulong seed = 7, DateTimeOffset? start = null) =>
        [.. SimulatedSensorFeed.GenerateJsonLines(count, new SimulationOptions { Seed = seed, AnomalyRate = 0.02, Start = start ?? new SimulationOptions().Start })];

    public static MemoryStream Stream(IEnumerable<string> lines) => new(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));

    public static async Task EventuallyAsync(Func<bool> condition, string what, TimeSpan? within = null)
    {
        using var cts = new CancellationTokenSource(within ?? Deadline);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"timed out waiting for {what}");
            }
        }
    }

    /// <summary>Waits until every source of a running host is connected (for MQTT: subscribed).</summary>
    public static Task ConnectedAsync(MonitorHost host) =>
        EventuallyAsync(() => host.Runner.Sources.All(s => s.Status.State == Sources.SourceState.Connected), "the sources to connect");

    /// <summary>Runs a host in the background; returns the run.</summary>
    public static Task<MonitorLiveStats> Start(MonitorHost host, CancellationToken stop) => Task.Run(() => host.RunAsync(stop));

    /// <summary>A writer that many threads may write whole lines to, and the test may read.</summary>
    public sealed class LinesWriter : StringWriter
    {
        public string[] Lines
        {
            get
            {
                lock (this) return ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
        }
    }
}
