using System.Text.Json.Nodes;
using Hearth.Cli;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary><c>hearth monitor</c> (live) as a user runs it: a child process stopped with SIGTERM, standard input, errors.</summary>
public sealed class MonitorLiveCliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-monitor-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static JsonObject[] Json(IEnumerable<string> lines) => lines.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();

    [Fact]
    public async Task SigtermStopsASimulatingMonitorGracefullyWithExitCodeZeroAndFinalStatistics()
    {
        using var child = new CliChild("monitor", "--policy", "seed", "--simulate", "--json", "--stats-every", "0.2", "--http", "127.0.0.1:0");
        await EventuallyAsync(() => Json(child.Out).Any(s => (long)s["readings"]! >= 2) || child.Process.HasExited, "two simulated readings");
        Assert.False(child.Process.HasExited, child.Errors);
        var watching = Assert.Single(child.Err, l => l.StartsWith("monitor: watching"));
        Assert.Contains("simulate (simulate); http http://127.0.0.1:", watching);

        Signals.Send(child.Process.Id, Signals.SigTerm);
        Assert.Equal(0, await child.ExitAsync());
        var last = Json(child.Out)[^1];
        Assert.Equal(("stats", true), ((string?)last["type"], (bool?)last["final"]));
        Assert.True((long)last["readings"]! >= 2);
        Assert.Equal((long)last["readings"]!, (long)last["sources"]!["simulate"]!["payloads"]!);
        Assert.Equal(0, (long)last["queue_depth"]!);
        Assert.Contains(child.Err, l => l.Contains("stopping"));
    }

    [Fact]
    public async Task StandardInputIsReadToItsEndAndTheAlertsArePrinted()
    {
        var policy = Path.Combine(_dir.FullName, "stdin.yaml");
        File.WriteAllText(policy, PolicyLoader.SeedText + "\nsources:\n  in: { kind: stdin }\n");
        var lines = SimulatedLines(400, seed: 21);
        using var child = new CliChild("monitor", "--policy", policy, "--json");
        foreach (var line in lines.Append("{not json")) await child.Process.StandardInput.WriteLineAsync(line);
        child.Process.StandardInput.Close();
        Assert.True(await child.ExitAsync() == 0, child.Errors);

        var output = Json(child.Out);
        var alerts = output.Where(o => (string?)o["type"] == "alert").ToArray();
        Assert.Equal(Transitions(lines.Select(SeedLabel)), alerts.Select(a => ((string)a["from"]!, (string)a["to"]!)));
        var final = output[^1];
        Assert.Equal(401, (long)final["readings"]!);
        Assert.Equal(1, (long)final["quarantined"]!["malformed_json"]!);
        Assert.Equal("finished", (string?)final["sources"]!["in"]!["state"]);
    }

    [Fact]
    public void SetUpErrorsAreOneLineAndExitCodeOne()
    {
        var policy = Path.Combine(_dir.FullName, "http.yaml");
        File.WriteAllText(policy, PolicyLoader.SeedText + "\nsources:\n  api: { kind: http }\n");
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", policy], new StringReader(""), o, e));
        Assert.StartsWith("error: source 'api' (http) needs the monitor's HTTP address: give --http", e.ToString());

        e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", "seed"], new StringReader(""), o, e));
        Assert.StartsWith("error: nothing to watch", e.ToString());

        e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", "seed", "--simulate", "--http", "example.org:80"], new StringReader(""), o, e));
        Assert.StartsWith("error: --http 'example.org:80' is not HOST:PORT", e.ToString());

        e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", "seed", "--simulate", "--sync", "HEARTH_NO_SUCH_VARIABLE"], new StringReader(""), o, e));
        Assert.StartsWith("error: syncing to PostgreSQL needs a local store", e.ToString());

        e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", "seed", "--simulate", "--store", Path.Combine(_dir.FullName, "no", "such", "m.db")],
            new StringReader(""), o, e));
        Assert.StartsWith("error: The folder of the monitor store", e.ToString());

        var checks = Path.Combine(_dir.FullName, "checks.yaml");
        File.WriteAllText(checks, SlmMonitorTests.Policy().Replace(SlmMonitorTests.Model, Path.Combine(_dir.FullName, "missing.gguf")));
        e = new StringWriter();
        Assert.Equal(1, HearthCommand.Run(["monitor", "--policy", checks, "--simulate"], new StringReader(""), o, e));
        Assert.StartsWith("error: slm check 'mood': cannot load model", e.ToString());
    }
}
