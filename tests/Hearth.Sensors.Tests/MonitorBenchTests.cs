using System.Text.Json.Nodes;
using Hearth.Tests;

namespace Hearth.Sensors.Tests;

/// <summary><c>hearth monitor bench</c> runs and reports what it measured (its figures are not checked: they are the machine's).</summary>
public sealed class MonitorBenchTests
{
    private static (int Code, string Out, string Err) Hearth(params string[] args) => MonitorCliTests.Hearth(args);

    [Fact]
    public void BenchReportsRulesAndSlmChecksAsJson()
    {
        var model = TestData.Path("models", "stories260K.gguf");
        var (code, output, err) = Hearth("monitor", "bench", "--policy", "seed", "--readings", "3000", "--slm", model, "--checks", "4", "--json");
        Assert.True(code == 0, err);
        var o = JsonNode.Parse(output)!;
        Assert.Equal("bench", (string?)o["type"]);
        var rules = o["rules"]!;
        Assert.Equal(3000, (long)rules["readings"]!);
        // The same seeded feed through the replay command raises the same number of alerts.
        var replay = Hearth("monitor", "replay", "--simulate", "3000", "--policy", "seed", "--alerts-only", "--json");
        Assert.Equal((long)JsonNode.Parse(replay.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])!["alerts"]!, (long)rules["alerts"]!);
        Assert.True((double)rules["latency_p99_us"]! >= (double)rules["latency_p50_us"]!);
        Assert.True((double)rules["readings_per_second"]! > 0);

        var slm = o["slm"]!;
        Assert.Equal((model, 4, 0), ((string?)slm["model"], (int)slm["checks"]!, (int)slm["timed_out"]!));
        Assert.True((double)slm["latency_p99_ms"]! >= (double)slm["latency_p50_ms"]!);
        var labels = slm["labels"]!.AsObject();
        Assert.Equal(4, labels.Sum(p => (int)p.Value!));
        Assert.All(labels, p => Assert.Contains(p.Key, new[] { "ANOMALY DETECTED", "NORMAL" }));
        // Every check's prompt starts with the built-in check's text before its first placeholder, as the one before it
        // did: the prompt cache gave some of each prompt, never more than all of it.
        Assert.InRange((long)slm["reused_prompt_tokens"]!, 4, (long)slm["prompt_tokens"]! - 4);
    }

    [Fact]
    public void BenchWithoutAModelTimesTheRulesOnlyAndRefusesBadArguments()
    {
        var (code, output, err) = Hearth("monitor", "bench", "--policy", "seed", "--readings", "1000");
        Assert.True(code == 0, err);
        Assert.StartsWith("rules: 1000 readings, ", output);
        Assert.Contains("rule latency: p50 ", output);
        Assert.DoesNotContain("slm", output);
        Assert.Equal(1, Hearth("monitor", "bench", "--policy", "seed", "--readings", "0").Code);
        var missing = Hearth("monitor", "bench", "--policy", "seed", "--readings", "10", "--slm", "/nonexistent/model.gguf");
        Assert.Equal(1, missing.Code);
        Assert.Contains("/nonexistent/model.gguf", missing.Err);
    }
}
