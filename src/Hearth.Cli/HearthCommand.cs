using System.CommandLine;
using System.Globalization;
using Hearth.Generation;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Cli;

/// <summary>The <c>hearth</c> command line: parses arguments and calls the library. No behaviour lives here.</summary>
public static class HearthCommand
{
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Hearth: run small language models on this machine.");
        root.Subcommands.Add(InspectCommand(stdout));
        root.Subcommands.Add(RunCommand(stdin, stdout, stderr));
        root.Subcommands.Add(TokenizeCommand(stdin, stdout));
        root.Subcommands.Add(LogitsCommand(stdout));
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return root.Parse(args).Invoke(config);
        }
        catch (Exception e) when (e is HearthException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            stderr.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    private static Argument<string> ModelArgument() => new("model") { Description = "GGUF model file" };

    private static Command InspectCommand(TextWriter stdout)
    {
        var file = new Argument<string>("file") { Description = "GGUF file to describe" };
        var json = new Option<bool>("--json") { Description = "print JSON instead of text" };
        var cmd = new Command("inspect", "Print a GGUF file's metadata and tensor table.") { file, json };
        cmd.SetAction(r =>
        {
            using var gguf = GgufFile.Open(r.GetValue(file)!);
            stdout.Write(r.GetValue(json) ? GgufDescription.ToJson(gguf) + "\n" : GgufDescription.ToText(gguf));
            return 0;
        });
        return cmd;
    }

    private static Command RunCommand(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var model = ModelArgument();
        var prompt = new Argument<string?>("prompt") { Description = "prompt text (read from stdin when absent)", Arity = ArgumentArity.ZeroOrOne };
        var defaults = new SamplerOptions();
        var temp = new Option<float>("--temp") { Description = "temperature; 0 is greedy", DefaultValueFactory = _ => defaults.Temperature };
        var topK = new Option<int>("--top-k") { Description = "keep the k most likely tokens (0 = all)", DefaultValueFactory = _ => defaults.TopK };
        var topP = new Option<float>("--top-p") { Description = "nucleus sampling threshold (1 = off)", DefaultValueFactory = _ => defaults.TopP };
        var minP = new Option<float>("--min-p") { Description = "drop tokens below min-p × the best (0 = off)", DefaultValueFactory = _ => defaults.MinP };
        var repeat = new Option<float>("--repeat-penalty") { Description = "penalty for recent tokens (1 = off)", DefaultValueFactory = _ => defaults.RepeatPenalty };
        var seed = new Option<ulong?>("--seed") { Description = "random seed; the same seed gives the same text" };
        var n = new Option<int>("-n", "--n-predict") { Description = "tokens to generate (-1 = until the end)", DefaultValueFactory = _ => 256 };
        var ctx = new Option<int>("--ctx", "-c") { Description = "context size in tokens (0 = the model's, at most 4096)" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "end with a timing line" };
        var cmd = new Command("run", "Generate a continuation of a prompt, streamed as it is produced.")
        {
            model, prompt, temp, topK, topP, minP, repeat, seed, n, ctx, threads, verbose,
        };
        cmd.SetAction((r, cancel) =>
        {
            var text = r.GetValue(prompt) ?? stdin.ReadToEnd();
            using var lm = LanguageModel.Load(r.GetValue(model)!, new ModelLoadOptions { Context = r.GetValue(ctx), Threads = r.GetValue(threads) });
            var options = new GenerationOptions
            {
                MaxTokens = r.GetValue(n),
                Sampling = new SamplerOptions
                {
                    Temperature = r.GetValue(temp),
                    TopK = r.GetValue(topK),
                    TopP = r.GetValue(topP),
                    MinP = r.GetValue(minP),
                    RepeatPenalty = r.GetValue(repeat),
                    Seed = r.GetValue(seed),
                },
            };
            var generator = new TextGenerator(lm, r.GetValue(ctx));
            foreach (var piece in generator.Generate(text, options, cancel))
            {
                stdout.Write(piece);
                stdout.Flush();
            }

            stdout.WriteLine();
            if (r.GetValue(verbose))
            {
                var s = generator.Stats;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"load {lm.LoadTime.TotalMilliseconds:F0} ms | prompt {s.PromptTokens} tokens, {s.PromptTokensPerSecond:F1} tok/s | generated {s.GeneratedTokens} tokens, {s.GeneratedTokensPerSecond:F1} tok/s | {s.FinishReason}"));
            }

            return Task.FromResult(0);
        });
        return cmd;
    }

    private static Command TokenizeCommand(TextReader stdin, TextWriter stdout)
    {
        var model = ModelArgument();
        var text = new Argument<string?>("text") { Description = "text to tokenize (read from stdin when absent)", Arity = ArgumentArity.ZeroOrOne };
        var noBos = new Option<bool>("--no-bos") { Description = "do not add BOS/EOS even when the model asks for them" };
        var ids = new Option<bool>("--ids") { Description = "print only the ids, as a list" };
        var cmd = new Command("tokenize", "Show how a model's tokenizer splits text.") { model, text, noBos, ids };
        cmd.SetAction(r =>
        {
            using var gguf = GgufFile.Open(r.GetValue(model)!);
            var tokenizer = Hearth.Tokenizers.Tokenizer.FromGguf(gguf);
            var tokens = tokenizer.Encode(r.GetValue(text) ?? stdin.ReadToEnd(), addSpecial: !r.GetValue(noBos), parseSpecial: true);
            if (r.GetValue(ids))
            {
                stdout.WriteLine("[" + string.Join(", ", tokens) + "]");
            }
            else
            {
                foreach (var t in tokens) stdout.WriteLine($"{t,6} -> '{tokenizer.TokenText(t)}'");
            }

            return 0;
        });
        return cmd;
    }

    private static Command LogitsCommand(TextWriter stdout)
    {
        var model = ModelArgument();
        var tokens = new Option<string>("--tokens") { Description = "comma-separated token ids, evaluated as one batch", Required = true };
        var output = new Option<string?>("--out", "-o") { Description = "write [n_tokens][n_vocab] little-endian float32 here; without it, print the top 5 per position" };
        var f16 = new Option<bool>("--kv-f16") { Description = "use an F16 KV cache" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var cmd = new Command("logits", "Evaluate tokens in one batch and write the logits of every position.") { model, tokens, output, f16, threads };
        cmd.SetAction(r =>
        {
            var ids = ParseIds(r.GetValue(tokens)!);
            using var lm = LanguageModel.Load(r.GetValue(model)!, new ModelLoadOptions { Threads = r.GetValue(threads) });
            var logits = lm.EvaluateAll(ids, r.GetValue(f16) ? KvCacheType.F16 : KvCacheType.F32);
            int vocab = lm.Transformer.VocabSize;
            if (r.GetValue(output) is { } path)
            {
                var bytes = new byte[logits.Length * 4];
                Buffer.BlockCopy(logits, 0, bytes, 0, bytes.Length);
                File.WriteAllBytes(path, bytes);
                stdout.WriteLine($"wrote {ids.Length} x {vocab} float32 logits to {path}");
                return 0;
            }

            for (int p = 0; p < ids.Length; p++)
            {
                var row = logits.AsSpan(p * vocab, vocab).ToArray();
                var top = Enumerable.Range(0, vocab).OrderByDescending(i => row[i]).Take(5);
                stdout.WriteLine($"{p,4} [{ids[p]}]: " + string.Join("  ", top.Select(i => string.Create(CultureInfo.InvariantCulture, $"{i}:{row[i]:F4}"))));
            }

            return 0;
        });
        return cmd;
    }

    private static int[] ParseIds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new ArgumentException("--tokens: give at least one token id");
        return parts.Select(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) && id >= 0
            ? id
            : throw new ArgumentException($"--tokens: '{p}' is not a token id")).ToArray();
    }
}
