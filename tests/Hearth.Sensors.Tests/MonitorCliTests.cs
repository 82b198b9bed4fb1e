using System.Text.Json.Nodes;
using Hearth.Cli;

namespace Hearth.Sensors.Tests;

public sealed class MonitorCliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-monitor-");

    public void Dispose() => _dir.Delete(recursive: true);

    internal static (int Code, string Out, string Err) Hearth(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HearthCommand.Run(args, new StringReader(""), o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string Readings() => Write("readings.jsonl", string.Join("\n",
        "{\"ts\": \"2026-01-01T00:00:00Z\", \"temperature\": 70, \"vibration\": 0.01}",
        "{\"ts\": \"2026-01-01T00:00:01Z\", \"temperature\": 85, \"vibration\": 0.01}",
        "{broken",
        "{\"ts\": \"2026-01-01T00:00:02Z\", \"temperature\": 86, \"vibration\": 0.05}",
        "{\"ts\": \"2026-01-01T00:00:03Z\", \"humidity\": 40}",
        "{\"ts\": \"2026-01-01T00:00:04Z\", \"temperature\": 79, \"vibration\": 0.02}",
        "") + "\n");

    [Fact]
    public void ReplayPrintsDecisionsAlertsAndASummaryAsJsonLines()
    {
        var (code, output, err) = Hearth("monitor", "replay", Readings(), "--policy", "seed", "--json");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        var decisions = lines.Where(l => (string?)l["type"] == "decision").ToArray();
        Assert.Equal(["NORMAL", "ANOMALY DETECTED", "ANOMALY DETECTED", "NORMAL"], decisions.Select(d => (string?)d["label"]));
        Assert.Equal([null, "hot", "hot", null], decisions.Select(d => (string?)d["rule"]));
        var alerts = lines.Where(l => (string?)l["type"] == "alert").Select(a => $"{a["from"]}->{a["to"]}@{a["ts"]}").ToArray();
        Assert.Equal(["NORMAL->ANOMALY DETECTED@2026-01-01T00:00:01.000Z", "ANOMALY DETECTED->NORMAL@2026-01-01T00:00:04.000Z"], alerts);
        var quarantined = lines.Where(l => (string?)l["type"] == "quarantine").Select(q => $"{q["position"]}:{q["reason"]}").ToArray();
        Assert.Equal(["3:malformed_json", "5:unknown_signal"], quarantined);

        var summary = lines[^1];
        Assert.Equal("summary", (string?)summary["type"]);
        Assert.Equal(6, (long)summary["readings"]!);
        Assert.Equal(1, (long)summary["quarantined"]!["malformed_json"]!);
        Assert.Equal(1, (long)summary["quarantined"]!["unknown_signal"]!);
        Assert.Equal(2, (long)summary["decisions"]!["NORMAL"]!);
        Assert.Equal(2, (long)summary["decisions"]!["ANOMALY DETECTED"]!);
        Assert.Equal(2, (long)summary["alerts"]!);
        Assert.True((double)summary["latency_p99_us"]! >= (double)summary["latency_p50_us"]!);
    }

    [Fact]
    public void ReplayIsReproducibleAndTextModeSaysTheSame()
    {
        var file = Readings();
        var policy = Write("p.yaml", "signals:\n  temperature: { unit: C }\n  vibration: { unit: g }\nrules:\n  - { name: warm, signal: temperature, above: 80, clear: 78, label: HOT }\nactions:\n  HOT: { severity: critical, sinks: [log] }\n");
        var first = Hearth("monitor", "replay", file, "--policy", policy, "--json");
        var second = Hearth("monitor", "replay", file, "--policy", policy, "--json");
        static string WithoutSummary(string s) => string.Join("\n", s.Split('\n').Where(l => !l.Contains("\"summary\"")));
        Assert.Equal(WithoutSummary(first.Out), WithoutSummary(second.Out));

        var (code, text, err) = Hearth("monitor", "replay", file, "--policy", policy);
        Assert.True(code == 0, err);
        Assert.Contains("2026-01-01T00:00:01.000Z  ALERT NORMAL -> HOT  rule=warm  severity=critical  sinks=log", text);
        // 79 is above the clear threshold 78: still HOT (hysteresis), so no second alert.
        Assert.Contains("2026-01-01T00:00:04.000Z  HOT  (warm)  temperature=79 vibration=0.02", text);
        Assert.Contains("readings: 6 (4 evaluated, 2 quarantined: malformed_json 1, unknown_signal 1)", text);
        Assert.Contains("alerts: 1", text);
        Assert.Contains("quarantined #3: malformed_json", err);
    }

    [Fact]
    public void SimulateRunsWithoutAFile()
    {
        var (code, output, err) = Hearth("monitor", "replay", "--simulate", "3000", "--policy", "seed", "--alerts-only", "--json", "--seed", "1");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain(lines, l => l.Contains("\"decision\""));
        Assert.Contains(lines, l => l.Contains("\"alert\""));
        Assert.Equal(3000, (long)JsonNode.Parse(lines[^1])!["readings"]!);
        var again = Hearth("monitor", "replay", "--simulate", "3000", "--policy", "seed", "--alerts-only", "--json", "--seed", "1").Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines[..^1], again[..^1]);
    }

    [Fact]
    public void ABadPolicyIsAnErrorNamingTheLine()
    {
        var policy = Write("bad.yaml", "signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, abov: 80, label: HOT }\n");
        var (code, _, err) = Hearth("monitor", "replay", Readings(), "--policy", policy);
        Assert.Equal(1, code);
        Assert.StartsWith("error: bad.yaml:4:28: rules[0]: unknown key 'abov'", err);
        Assert.Equal(1, Hearth("monitor", "replay", Readings(), "--policy", "seed", "--speed", "warp").Code);
        Assert.Equal(1, Hearth("monitor", "replay", "--policy", "seed").Code);
    }
}
