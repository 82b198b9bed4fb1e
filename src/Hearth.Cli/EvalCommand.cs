using System.CommandLine;
using Hearth.Evaluation;
using Hearth.Models;

namespace Hearth.Cli;

/// <summary><c>hearth eval MODEL --text FILE [--reference MODEL]</c>: perplexity, and KL divergence against a reference model.</summary>
internal static class EvalCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("model") { Description = "GGUF model to evaluate" };
        var text = new Option<string>("--text") { Description = "text file to score", Required = true };
        var reference = new Option<string?>("--reference") { Description = "reference model (e.g. the F16 original): adds mean and 99th-percentile KL divergence and top-1 agreement" };
        var ctx = new Option<int>("--ctx", "-c") { Description = "tokens per chunk; the second half of each chunk is scored", DefaultValueFactory = _ => 512 };
        var chunks = new Option<int>("--chunks") { Description = "evaluate at most this many chunks (0 = all)" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var cmd = new Command("eval", "Perplexity of a model on a text (llama-perplexity style), and its KL divergence from a reference model.")
        {
            model, text, reference, ctx, chunks, threads,
        };
        cmd.SetAction((r, cancel) =>
        {
            int context = r.GetValue(ctx);
            if (context < 4) throw new ArgumentException($"--ctx must be at least 4 (got {context})");
            if (r.GetValue(chunks) < 0) throw new ArgumentException("--chunks must be 0 (all) or more");
            if (r.GetValue(threads) < 0) throw new ArgumentException("--threads must be 0 (all cores) or more");
            var content = File.ReadAllText(r.GetValue(text)!);
            var load = new ModelLoadOptions { Context = context, Threads = r.GetValue(threads) };
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), load);
            using var refModel = r.GetValue(reference) is { } refPath ? LanguageModel.Load(ModelPaths.Resolve(refPath), load) : null;
            var report = QualityEvaluator.Evaluate(lm, content, new QualityOptions { Context = context, MaxChunks = r.GetValue(chunks) }, refModel,
                new HearthCommand.PercentProgress(stderr, "evaluating"), cancel);
            stdout.Write(report.Describe());
            return Task.FromResult(0);
        });
        return cmd;
    }
}
