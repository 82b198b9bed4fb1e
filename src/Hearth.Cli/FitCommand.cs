using System.CommandLine;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Planning;

namespace Hearth.Cli;

/// <summary><c>hearth fit MODEL</c>: the memory a model needs, what fits a budget, and (with --measure) the real resident set.</summary>
internal static class FitCommand
{
    public static Command Create(TextWriter stdout)
    {
        var model = new Argument<string>("model") { Description = "GGUF model file" };
        var memory = new Option<string?>("--memory", "-m") { Description = "memory budget, e.g. 10GB or 8G (powers of 1000), 512MiB or 8GiB (powers of 1024); recommends a context and a quantization" };
        var ctx = new Option<int>("--ctx", "-c") { Description = "context per sequence in tokens (0 = the model's, at most 4096)" };
        var parallel = new Option<int>("--parallel", "-p") { Description = "sequences served at once, each with its own KV cache", DefaultValueFactory = _ => 1 };
        var kvType = new Option<string>("--kv-type") { Description = "KV cache element type: f32 or f16", DefaultValueFactory = _ => "f32" };
        var batch = new Option<int>("--batch") { Description = "prompt batch size the activation buffers are sized for", DefaultValueFactory = _ => 64 };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var json = new Option<bool>("--json") { Description = "print JSON instead of text" };
        var measure = new Option<bool>("--measure") { Description = "also load and run the model as planned (every KV cache made resident) and print the measured resident set" };
        var fill = new Option<bool>("--fill") { Description = "with --measure: compute every context position instead of writing the rest of each KV cache with zeros (slow)" };
        var cmd = new Command("fit", "Estimate the memory a model needs (weights, KV cache, compute buffers, runtime) and what fits a budget.")
        {
            model, memory, ctx, parallel, kvType, batch, threads, json, measure, fill,
        };
        cmd.SetAction((r, cancel) =>
        {
            var path = ModelPaths.Resolve(r.GetValue(model)!);
            var options = new FitOptions
            {
                Context = r.GetValue(ctx),
                Parallel = r.GetValue(parallel),
                CacheType = r.GetValue(kvType)!.Trim().ToLowerInvariant() switch
                {
                    "f32" => KvCacheType.F32,
                    "f16" => KvCacheType.F16,
                    var other => throw new ArgumentException($"--kv-type: '{other}' is not a KV cache type (f32 or f16)"),
                },
                BatchSize = r.GetValue(batch),
                Threads = r.GetValue(threads),
            };
            if (r.GetValue(fill) && !r.GetValue(measure)) throw new ArgumentException("--fill only applies to --measure");

            long? budget = r.GetValue(memory) is { } text ? MemorySize.Parse(text) : null;
            // The measurement goes first, so that the process it measures holds nothing of ours yet.
            var measured = r.GetValue(measure)
                ? FitMeasurement.Run(path, options, new FitMeasureOptions { FillContext = r.GetValue(fill) }, cancel)
                : null;
            FitEstimate estimate;
            FitRecommendation? recommendation = null;
            using (var file = GgufFile.Open(path))
            {
                estimate = measured?.Estimate ?? FitPlanner.Estimate(file, options);
                if (budget is { } b) recommendation = FitPlanner.Recommend(file, b, options);
            }

            stdout.Write(r.GetValue(json)
                ? FitFormat.ToJson(path, estimate, recommendation, measured) + "\n"
                : FitFormat.ToText(path, estimate, recommendation, measured));
            return Task.FromResult(0);
        });
        return cmd;
    }
}
