using System.CommandLine;
using Hearth.Sensors;
using Hearth.Sensors.Slm;

namespace Hearth.Cli;

/// <summary><c>hearth monitor bench</c>: rules-only throughput and latency over simulated readings, and optionally SLM-check
/// latency on a model (a benchmark, not a test: the figures depend on the machine).</summary>
internal static class MonitorBenchCommand
{
    public static Command Create(TextWriter stdout)
    {
        var policy = new Option<string>("--policy") { Description = "policy YAML file, or 'seed' for the built-in seed policy", Required = true };
        var readings = new Option<long>("--readings") { Description = "simulated readings to run the rules over", DefaultValueFactory = _ => 100_000 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the simulated readings", DefaultValueFactory = _ => 1 };
        var slm = new Option<string?>("--slm") { Description = "also time SLM checks on this model (a GGUF file or a store name); the policy's checks, or a built-in one when it has none" };
        var checks = new Option<int>("--checks") { Description = "SLM checks to time (after one warm-up check)", DefaultValueFactory = _ => 20 };
        var budget = new Option<int?>("--budget-ms") { Description = "latency budget of every SLM check (default: the policy's, or 60000 for the built-in check)" };
        var explain = new Option<bool>("--explain") { Description = "ask every SLM check for an explanation too" };
        var threads = new Option<int>("--threads", "-t") { Description = "model threads (0 = all cores)" };
        var json = new Option<bool>("--json") { Description = "print one JSON object instead of text" };
        var cmd = new Command("bench", "Benchmark a policy: rules-only throughput and p50/p99 latency, and SLM-check p50/p99 latency on a model.")
        {
            policy, readings, seed, slm, checks, budget, explain, threads, json,
        };
        cmd.SetAction(async (r, cancel) =>
        {
            var monitorPolicy = PolicyLoader.Load(r.GetValue(policy)!);
            if (r.GetValue(readings) < 1) throw new ArgumentException("--readings: give at least 1");
            if (r.GetValue(checks) < 1) throw new ArgumentException("--checks: give at least 1");
            var rules = MonitorBenchmark.RunRules(monitorPolicy, r.GetValue(readings), r.GetValue(seed));
            SlmBenchmark? slmResult = null;
            if (r.GetValue(slm) is { } model)
            {
                using var classifier = new EngineSlmClassifier(new EngineSlmOptions { Threads = r.GetValue(threads) });
                slmResult = await MonitorBenchmark.RunSlmAsync(monitorPolicy, classifier, ModelPaths.Resolve(model), r.GetValue(checks),
                    r.GetValue(budget), r.GetValue(explain), r.GetValue(seed), cancel);
                slmResult = slmResult with { Model = model };
            }

            stdout.Write(r.GetValue(json) ? MonitorBenchmark.ToJson(rules, slmResult) + "\n" : MonitorBenchmark.ToText(rules, slmResult));
            return 0;
        });
        return cmd;
    }
}
