using System.Diagnostics;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Serving;

namespace Hearth.Benchmarking;

/// <summary>What the concurrent-streams benchmark runs.</summary>
public sealed record ConcurrencyBenchmarkOptions
{
    /// <summary>Numbers of concurrent streams to measure, each with a scheduler of that many sequences.</summary>
    public IReadOnlyList<int> Streams { get; init; } = [1, 4, 8];

    /// <summary>Prompt tokens of each stream.</summary>
    public int PromptTokens { get; init; } = 32;

    /// <summary>Tokens each stream generates.</summary>
    public int GenerateTokens { get; init; } = 64;

    public int Repetitions { get; init; } = 3;

    /// <summary>Compute threads; 0 uses every core.</summary>
    public int Threads { get; init; }

    public ulong Seed { get; init; } = 1234;

    /// <exception cref="ArgumentException">A value is out of range.</exception>
    public void Validate()
    {
        if (Streams.Count == 0 || Streams.Any(s => s is < 1 or > 256)) throw new ArgumentException("stream counts must be within 1..256");
        if (PromptTokens < 1) throw new ArgumentException($"prompt tokens {PromptTokens} must be ≥ 1");
        if (GenerateTokens < 1) throw new ArgumentException($"generated tokens {GenerateTokens} must be ≥ 1");
        if (Repetitions < 1) throw new ArgumentException($"repetitions {Repetitions} must be ≥ 1");
        if (Threads < 0) throw new ArgumentException($"threads {Threads} must be ≥ 0");
    }
}

/// <summary>
/// One stream count's result: aggregate generated tokens per second over all streams, end to end (prompt time
/// included), and over the decode steps alone (generated tokens per second spent in batched decode steps).
/// </summary>
public sealed record ConcurrencyResult(int Streams, IReadOnlyList<double> SamplesTokensPerSecond, IReadOnlyList<double> SamplesDecodeTokensPerSecond)
{
    public SampleStatistics TokensPerSecond => SampleStatistics.Of(SamplesTokensPerSecond);

    public SampleStatistics DecodeTokensPerSecond => SampleStatistics.Of(SamplesDecodeTokensPerSecond);
}

public sealed record ConcurrencyBenchmarkReport(BenchmarkedModel Model, int Threads, int PromptTokens, int GenerateTokens, IReadOnlyList<ConcurrencyResult> Results);

/// <summary>
/// Aggregate throughput of N concurrent streams through one <see cref="SequenceScheduler"/>: N requests with random
/// prompts start together and each generates a fixed number of tokens; the rate is all generated tokens over the wall
/// time until the last stream ends. Batched decoding reads the weights once per step for every stream, so the
/// aggregate should grow far faster than the per-stream rate falls.
/// </summary>
public static class ConcurrencyBenchmark
{
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static ConcurrencyBenchmarkReport Run(string path, ConcurrencyBenchmarkOptions options, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int context = options.PromptTokens + options.GenerateTokens + 1;
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = options.Threads, Context = context });
        var rng = new SeededRandom(options.Seed);
        var results = new List<ConcurrencyResult>();
        foreach (int streams in options.Streams)
        {
            using var scheduler = new SequenceScheduler(model, new SchedulerOptions { Parallel = streams, MaxQueue = 0, Context = context });
            var samples = new double[options.Repetitions];
            var decode = new double[options.Repetitions];
            for (int rep = -1; rep < options.Repetitions; rep++)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Report(rep < 0 ? $"{streams} stream(s): warm-up" : $"{streams} stream(s): run {rep + 1}/{options.Repetitions}");
                var requests = Enumerable.Range(0, streams).Select(_ => new SequenceRequest
                {
                    Prompt = Enumerable.Range(0, options.PromptTokens).Select(_ => (int)(rng.NextUInt64() % (ulong)model.Transformer.VocabSize)).ToArray(),
                    Options = new GenerationOptions
                    {
                        MaxTokens = rep < 0 ? 2 : options.GenerateTokens,
                        IgnoreEndOfGeneration = true,
                        Sampling = new SamplerOptions { Seed = rng.NextUInt64() },
                    },
                }).ToArray();
                var before = scheduler.Counters;
                var sw = Stopwatch.StartNew();
                var handles = requests.Select(r => scheduler.Submit(r, cancellation)).ToArray();
                var stats = Task.WhenAll(handles.Select(h => h.Completion)).GetAwaiter().GetResult();
                sw.Stop();
                var after = scheduler.Counters;
                if (rep < 0) continue;
                samples[rep] = stats.Sum(s => s.GeneratedTokens) / sw.Elapsed.TotalSeconds;
                // Decode steps produce every token but each stream's first (sampled from its prompt pass).
                decode[rep] = (after.GeneratedTokens - before.GeneratedTokens - streams) / (after.GenerationSeconds - before.GenerationSeconds);
            }

            results.Add(new ConcurrencyResult(streams, samples, decode));
        }

        return new ConcurrencyBenchmarkReport(ModelBenchmark.Describe(model), model.Pool.ThreadCount, options.PromptTokens, options.GenerateTokens, results);
    }
}
