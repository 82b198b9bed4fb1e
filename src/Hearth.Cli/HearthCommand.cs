using System.CommandLine;
using System.Globalization;
using Hearth.Benchmarking;
using Hearth.Generation;
using Hearth.Gguf;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Quantization;
using Hearth.Sampling;
using Hearth.Synthesis;

namespace Hearth.Cli;

/// <summary>The <c>hearth</c> command line: parses arguments and calls the library. No behaviour lives here.</summary>
public static class HearthCommand
{
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Hearth: run small language models on this machine.");
        root.Subcommands.Add(InspectCommand(stdout));
        root.Subcommands.Add(TemplateCommand.Create(stdin, stdout));
        root.Subcommands.Add(RunCommand(stdin, stdout, stderr));
        root.Subcommands.Add(ChatCommand.Create(stdin, stdout, stderr));
        root.Subcommands.Add(TokenizeCommand(stdin, stdout));
        root.Subcommands.Add(LogitsCommand(stdout));
        root.Subcommands.Add(SynthCommand(stdout, stderr));
        root.Subcommands.Add(BenchCommand(stdout, stderr));
        root.Subcommands.Add(StoreCommands.Pull(stdout, stderr));
        root.Subcommands.Add(StoreCommands.List(stdout));
        root.Subcommands.Add(StoreCommands.Show(stdout));
        root.Subcommands.Add(StoreCommands.Remove(stdout));
        root.Subcommands.Add(FitCommand.Create(stdout));
        root.Subcommands.Add(ConvertCommand.Create(stdout));
        root.Subcommands.Add(LoraCommands.Export(stdout));
        root.Subcommands.Add(QuantizeCommand.Create(stdout, stderr));
        root.Subcommands.Add(EvalCommand.Create(stdout, stderr));
        root.Subcommands.Add(MonitorCommand.Create(stdout, stderr));
        root.Subcommands.Add(AgentCommand.Create(stdin, stdout, stderr));
        root.Subcommands.Add(McpCommand.Create(stderr));
        ServeCommand.AddTo(root, stdout, stderr);
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            var parsed = root.Parse(args);
            if (MonitorCommand.HandlesTermination(parsed)) config.ProcessTerminationTimeout = null;
            return parsed.Invoke(config);
        }
        catch (Exception e) when (e is HearthException or IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException
            or Sensors.Storage.MonitorStoreException)
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
        var sampling = new SamplingArguments();
        var n = new Option<int>("-n", "--n-predict") { Description = "tokens to generate (-1 = until the end)", DefaultValueFactory = _ => 256 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "end with a timing line" };
        var schema = new Option<string?>("--json-schema") { Description = "constrain the output to JSON valid against this JSON Schema file" };
        var grammar = new Option<string?>("--grammar") { Description = "constrain the output to this GBNF grammar file" };
        var choices = new Option<string?>("--choices") { Description = "pick one of these '|'-separated strings by probability; prints the choice and its probability" };
        var cmd = new Command("run", "Generate a continuation of a prompt, streamed as it is produced.") { model, prompt, n, verbose, schema, grammar, choices };
        sampling.AddTo(cmd);
        cmd.SetAction((r, cancel) =>
        {
            var text = r.GetValue(prompt) ?? stdin.ReadToEnd();
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(sampling.Context), Threads = r.GetValue(sampling.Threads) });
            if (r.GetValue(choices) is { } choiceList)
            {
                var picked = ChoiceClassifier.Classify(lm, lm.Tokenizer.Encode(text, addSpecial: true, parseSpecial: true), choiceList.Split('|'));
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{picked.Choice}\t{picked.Probability:F4}"));
                return Task.FromResult(0);
            }

            if (r.GetValue(schema) != null && r.GetValue(grammar) != null) throw new ArgumentException("give --json-schema or --grammar, not both");
            // Both are compiled before anything is generated: a grammar that does not parse is an error, never free text.
            var constraintGrammar = r.GetValue(schema) is { } schemaPath ? JsonSchemaGrammar.FromSchema(File.ReadAllText(schemaPath))
                : r.GetValue(grammar) is { } grammarPath ? Hearth.Grammar.Grammar.Parse(File.ReadAllText(grammarPath)) : null;
            var options = new GenerationOptions
            {
                MaxTokens = r.GetValue(n),
                Sampling = sampling.Read(r),
                Constraint = constraintGrammar != null ? new GrammarConstraint(constraintGrammar, lm.TokenVocabulary) : null,
            };
            var generator = new TextGenerator(lm, r.GetValue(sampling.Context));
            generator.SetAdapters(lm.Adapters.Resolve(sampling.ReadAdapters(r)));
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
                    $"load {lm.LoadTime.TotalMilliseconds:F0} ms | prompt {s.PromptTokens} tokens, {s.PromptTokensPerSecond:F1} tok/s | first token {s.FirstTokenTime.TotalMilliseconds:F0} ms | generated {s.GeneratedTokens} tokens, {s.GeneratedTokensPerSecond:F1} tok/s | {s.FinishReason}"));
                var m = generator.Footprint();
                const double MiB = 1 << 20;
                stderr.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"memory: file {m.FileBytes / MiB:F1} MiB (mapped) + KV cache {m.KvCacheBytes / MiB:F1} MiB + scratch {m.ScratchBytes / MiB:F1} MiB = {m.ExpectedBytes / MiB:F1} MiB; resident {m.ResidentBytes / MiB:F1} MiB"));
            }

            if (generator.Stats.FinishReason == FinishReason.Truncated)
            {
                stderr.WriteLine("error: the output is truncated: generation ended before the grammar was complete (raise -n)");
                return Task.FromResult(3);
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
            using var gguf = GgufFile.Open(ModelPaths.Resolve(r.GetValue(model)!));
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
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Threads = r.GetValue(threads) });
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

    private static Command SynthCommand(TextWriter stdout, TextWriter stderr)
    {
        var shape = new Argument<string>("shape") { Description = "model shape: " + string.Join(", ", ModelShapes.All.Select(s => s.Name)) };
        var output = new Argument<string?>("output") { Description = "GGUF file to write (not needed with --dry-run)", Arity = ArgumentArity.ZeroOrOne };
        var type = new Option<string>("--type") { Description = "file type: F16, Q8_0, Q4_0, Q4_K_M, ... (" + string.Join(", ", QuantizationMix.SupportedFileTypes) + ")", DefaultValueFactory = _ => "Q4_K_M" };
        var seed = new Option<ulong>("--seed") { Description = "random seed; the same seed writes a byte-identical file" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores); the file does not depend on it" };
        var dryRun = new Option<bool>("--dry-run") { Description = "print the tensor table and exact file size without writing" };
        var layers = new Option<int?>("--layers") { Description = "keep only this many layers (quick experiments)" };
        var vocab = new Option<int?>("--vocab") { Description = "use a vocabulary of this many tokens (quick experiments)" };
        var cmd = new Command("synth", "Write a GGUF file with a real model's tensor table and metadata and random weights.")
        {
            shape, output, type, seed, threads, dryRun, layers, vocab,
        };
        cmd.SetAction((r, cancel) =>
        {
            var modelShape = ModelShapes.Get(r.GetValue(shape)!);
            if (r.GetValue(layers) != null || r.GetValue(vocab) != null) modelShape = modelShape.Scaled(layers: r.GetValue(layers), vocab: r.GetValue(vocab));
            var fileType = LlamaFileTypes.Parse(r.GetValue(type)!);
            if (r.GetValue(dryRun))
            {
                stdout.Write(SynthesisPlan.Create(modelShape, fileType).Describe());
                return Task.FromResult(0);
            }

            var path = r.GetValue(output) ?? throw new ArgumentException("give the output file (or --dry-run)");
            var options = new SynthesisOptions { FileType = fileType, Seed = r.GetValue(seed), Threads = r.GetValue(threads) };
            var plan = ModelSynthesizer.Write(modelShape, path, options, new PercentProgress(stderr, $"writing {path}"), cancel);
            stdout.WriteLine(plan.Summary(path, new FileInfo(path).Length));
            return Task.FromResult(0);
        });
        return cmd;
    }

    private static Command BenchCommand(TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string?>("model") { Description = "GGUF model file (not needed with --memory)", Arity = ArgumentArity.ZeroOrOne };
        var memory = new Option<bool>("--memory") { Description = "measure memory read bandwidth instead of a model" };
        var prompt = new Option<int>("-p", "--n-prompt") { Description = "prompt tokens processed as one batch (0 = skip)", DefaultValueFactory = _ => 128 };
        var gen = new Option<int>("-n", "--n-gen") { Description = "tokens generated one at a time (0 = skip)", DefaultValueFactory = _ => 64 };
        var threads = new Option<string?>("-t", "--threads") { Description = "thread counts, e.g. 1,2 or 1-4 (default: all cores; --memory: 1 to all cores)" };
        var reps = new Option<int>("-r", "--repetitions") { Description = "timed runs of each test", DefaultValueFactory = _ => 3 };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var buffer = new Option<int>("--buffer-mib") { Description = "buffer read by the bandwidth measurement, in MiB", DefaultValueFactory = _ => 1024 };
        var streams = new Option<string?>("--streams") { Description = "measure aggregate generation of concurrent streams instead, e.g. 1,4,8 (-p: prompt per stream, default 32)" };
        var cmd = new Command("bench", "Measure prompt and generation speed of a model (like llama-bench), memory read bandwidth, or concurrent streams.")
        {
            model, memory, prompt, gen, threads, reps, json, buffer, streams,
        };
        cmd.SetAction((r, cancel) =>
        {
            var threadText = r.GetValue(threads);
            var progress = new LineProgress(stderr);
            if (r.GetValue(memory))
            {
                var options = new MemoryBandwidthOptions { Repetitions = r.GetValue(reps), BufferBytes = (long)r.GetValue(buffer) << 20 };
                if (threadText != null) options = options with { Threads = ThreadCounts.Parse(threadText) };
                var report = MemoryBandwidth.Run(options, progress, cancel);
                stdout.Write(r.GetValue(json) ? BenchmarkFormat.ToJson(report) + "\n" : BenchmarkFormat.ToText(report));
                return Task.FromResult(0);
            }

            var path = ModelPaths.Resolve(r.GetValue(model) ?? throw new ArgumentException("give a model file, or --memory"));
            if (r.GetValue(streams) is { } streamText)
            {
                int[] threadCounts = threadText != null ? ThreadCounts.Parse(threadText) : [0];
                if (threadCounts.Length != 1) throw new ArgumentException("--streams runs with one thread count");
                var concurrency = ConcurrencyBenchmark.Run(path, new ConcurrencyBenchmarkOptions
                {
                    Streams = ThreadCounts.Parse(streamText),
                    PromptTokens = r.GetResult(prompt) is { Implicit: false } ? r.GetValue(prompt) : 32,
                    GenerateTokens = r.GetValue(gen),
                    Repetitions = r.GetValue(reps),
                    Threads = threadCounts[0],
                }, progress, cancel);
                stdout.Write(r.GetValue(json) ? BenchmarkFormat.ToJson(concurrency) + "\n" : BenchmarkFormat.ToText(concurrency));
                return Task.FromResult(0);
            }

            var benchOptions = new ModelBenchmarkOptions
            {
                PromptTokens = r.GetValue(prompt),
                GenerateTokens = r.GetValue(gen),
                Repetitions = r.GetValue(reps),
                BandwidthBufferBytes = (long)r.GetValue(buffer) << 20,
            };
            if (threadText != null) benchOptions = benchOptions with { Threads = ThreadCounts.Parse(threadText) };
            var result = ModelBenchmark.Run(path, benchOptions, progress, cancel);
            stdout.Write(r.GetValue(json) ? BenchmarkFormat.ToJson(result) + "\n" : BenchmarkFormat.ToText(result));
            return Task.FromResult(0);
        });
        return cmd;
    }

    /// <summary>Renders a 0..1 progress as a percentage on one line of stderr, redrawn when the whole percent changes.</summary>
    internal sealed class PercentProgress(TextWriter writer, string label) : IProgress<double>
    {
        private int _last = -1;

        public void Report(double value)
        {
            int percent = (int)Math.Clamp(value * 100, 0, 100);
            if (percent == _last) return;
            _last = percent;
            writer.Write(string.Create(CultureInfo.InvariantCulture, $"\r{label}: {percent,3}%"));
            if (percent == 100) writer.WriteLine();
            writer.Flush();
        }
    }

    /// <summary>Writes each status message as a line of stderr.</summary>
    private sealed class LineProgress(TextWriter writer) : IProgress<string>
    {
        public void Report(string value)
        {
            writer.WriteLine(value);
            writer.Flush();
        }
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
