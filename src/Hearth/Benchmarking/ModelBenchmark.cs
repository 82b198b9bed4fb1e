using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Quantization;
using Hearth.Sampling;

namespace Hearth.Benchmarking;

/// <summary>What <see cref="ModelBenchmark"/> measures.</summary>
public sealed record ModelBenchmarkOptions
{
    /// <summary>Prompt tokens processed as one batch in the pp test (0 skips it).</summary>
    public int PromptTokens { get; init; } = 128;

    /// <summary>Tokens generated one at a time in the tg test (0 skips it).</summary>
    public int GenerateTokens { get; init; } = 64;

    /// <summary>Thread counts; the model is loaded once per count.</summary>
    public IReadOnlyList<int> Threads { get; init; } = [Math.Min(Environment.ProcessorCount, ThreadCounts.Max)];

    /// <summary>Timed runs of each test (after the untimed warm-up, see <see cref="MaxWarmupRuns"/>).</summary>
    public int Repetitions { get; init; } = 3;

    /// <summary>
    /// Most untimed warm-up runs of each test. Warm-up repeats until a run compiles no new methods, that is until the JIT
    /// has replaced the quick first-call code with optimised code, so the timed runs measure the steady state a
    /// long-running process sees (as the native reference measures from its first run). At least one run.
    /// </summary>
    public int MaxWarmupRuns { get; init; } = 6;

    /// <summary>Seed of the random token ids fed to the model.</summary>
    public ulong Seed { get; init; } = 1234;

    /// <summary>
    /// Read bandwidth in GB/s per thread count, the denominator of decode efficiency; counts missing here are measured
    /// with <see cref="MemoryBandwidth"/> (4 streams per thread) before the model is loaded.
    /// </summary>
    public IReadOnlyDictionary<int, double>? ReadBandwidthGBps { get; init; }

    /// <summary>Buffer size for the bandwidth measurement.</summary>
    public long BandwidthBufferBytes { get; init; } = 1L << 30;

    /// <summary>Streams per thread for the bandwidth measurement.</summary>
    public int BandwidthStreams { get; init; } = 4;

    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (PromptTokens is < 0 or > 1 << 16) throw new ArgumentException($"prompt tokens {PromptTokens} is outside 0..65536");
        if (GenerateTokens is < 0 or > 1 << 16) throw new ArgumentException($"generated tokens {GenerateTokens} is outside 0..65536");
        if (PromptTokens == 0 && GenerateTokens == 0) throw new ArgumentException("nothing to measure: prompt and generated tokens are both 0");
        if (Repetitions is < 1 or > 1000) throw new ArgumentException($"repetitions {Repetitions} is outside 1..1000");
        if (MaxWarmupRuns is < 1 or > 100) throw new ArgumentException($"warm-up runs {MaxWarmupRuns} is outside 1..100");
        ThreadCounts.Validate(Threads);
        if (ReadBandwidthGBps != null)
        {
            foreach (var (t, gbps) in ReadBandwidthGBps)
            {
                if (!(gbps > 0) || !double.IsFinite(gbps)) throw new ArgumentException($"read bandwidth {gbps.ToString(CultureInfo.InvariantCulture)} GB/s for {t} thread(s) must be positive");
            }
        }

        if (BandwidthStreams is < 1 or > MemoryBandwidth.MaxStreams) throw new ArgumentException($"bandwidth streams {BandwidthStreams} is outside 1..{MemoryBandwidth.MaxStreams}");
        if (BandwidthBufferBytes < MemoryBandwidthOptions.MinBufferBytes) throw new ArgumentException($"bandwidth buffer of {BandwidthBufferBytes} bytes is below {MemoryBandwidthOptions.MinBufferBytes}");
    }
}

/// <summary>How close a decode rate comes to the memory's read bandwidth.</summary>
/// <param name="BytesPerToken">Bytes of weights one decode step reads (<see cref="ModelBenchmark.DecodeBytesPerToken(LanguageModel)"/>).</param>
/// <param name="TokensPerSecond">The mean decode rate.</param>
/// <param name="BandwidthGBps">The measured read bandwidth for the same thread count.</param>
public sealed record DecodeEfficiency(long BytesPerToken, double TokensPerSecond, double BandwidthGBps)
{
    /// <summary>Weight bytes streamed per second while decoding, in GB/s.</summary>
    public double AchievedGBps => BytesPerToken * TokensPerSecond / 1e9;

    /// <summary><see cref="AchievedGBps"/> ÷ <see cref="BandwidthGBps"/>: 1 means decoding is as fast as reading the weights once.</summary>
    public double Efficiency => AchievedGBps / BandwidthGBps;
}

/// <summary>One test at one thread count.</summary>
/// <param name="Test"><c>pp128</c> (prompt processing of 128 tokens in one batch) or <c>tg64</c> (64 tokens one at a time).</param>
/// <param name="Threads">Threads used.</param>
/// <param name="Tokens">Tokens per run.</param>
/// <param name="SamplesTokensPerSecond">Tokens per second of each timed run.</param>
/// <param name="Decode">For tg tests, the efficiency against read bandwidth.</param>
public sealed record ModelBenchmarkResult(string Test, int Threads, int Tokens, IReadOnlyList<double> SamplesTokensPerSecond, DecodeEfficiency? Decode)
{
    public SampleStatistics TokensPerSecond => SampleStatistics.Of(SamplesTokensPerSecond);
}

/// <summary>The model a benchmark ran.</summary>
/// <param name="Path">The file.</param>
/// <param name="Architecture"><c>general.architecture</c>.</param>
/// <param name="FileType">The <c>general.file_type</c> name (e.g. Q4_K_M), or "unknown".</param>
/// <param name="FileBytes">Size of the file.</param>
/// <param name="TensorBytes">Bytes of all tensor data.</param>
/// <param name="Parameters">Number of weights.</param>
/// <param name="DecodeBytesPerToken">Bytes of weights one decode step reads.</param>
/// <param name="TiedOutput">True when the output head is the token embedding.</param>
public sealed record BenchmarkedModel(string Path, string Architecture, string FileType, long FileBytes, long TensorBytes, long Parameters, long DecodeBytesPerToken, bool TiedOutput);

/// <summary>A whole model benchmark.</summary>
public sealed record ModelBenchmarkReport(BenchmarkedModel Model, int PromptTokens, int GenerateTokens, int Repetitions, IReadOnlyList<ModelBenchmarkResult> Results);

/// <summary>
/// Measures a model's speed the way llama-bench does: <c>pp</c>, a prompt of random tokens evaluated as one batch, and
/// <c>tg</c>, random tokens evaluated one at a time from an empty context, each repeated and reported as tokens per
/// second (mean ± standard deviation), after warm-up runs that let the JIT settle
/// (<see cref="ModelBenchmarkOptions.MaxWarmupRuns"/>). Decode results also say how close they come to the memory's read
/// bandwidth. Times only <see cref="Transformer.Forward"/>: no tokenizer, no sampling.
/// </summary>
public static class ModelBenchmark
{
    /// <summary>Loads <paramref name="path"/> once per thread count and runs the tests.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The file is not a model Hearth can run.</exception>
    public static ModelBenchmarkReport Run(string path, ModelBenchmarkOptions options, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        var bandwidth = new Dictionary<int, double>(options.ReadBandwidthGBps ?? new Dictionary<int, double>());
        var missing = options.GenerateTokens > 0 ? options.Threads.Where(t => !bandwidth.ContainsKey(t)).ToArray() : [];
        if (missing.Length > 0)
        {
            var report = MemoryBandwidth.Run(new MemoryBandwidthOptions
            {
                Threads = missing,
                StreamsPerThread = [options.BandwidthStreams],
                BufferBytes = options.BandwidthBufferBytes,
                Repetitions = Math.Max(3, options.Repetitions),
            }, progress, cancellation);
            foreach (var r in report.Results) bandwidth[r.Threads] = r.Statistics.Mean;
        }

        BenchmarkedModel? described = null;
        var results = new List<ModelBenchmarkResult>();
        foreach (int t in options.Threads)
        {
            cancellation.ThrowIfCancellationRequested();
            progress?.Report($"loading {path} with {t} thread(s)");
            using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = t, Context = options.PromptTokens + options.GenerateTokens });
            described ??= Describe(model);
            results.AddRange(Run(model, options, bandwidth.TryGetValue(t, out var gbps) ? gbps : null, progress, cancellation));
        }

        return new ModelBenchmarkReport(described!, options.PromptTokens, options.GenerateTokens, options.Repetitions, results);
    }

    /// <summary>
    /// Runs the tests on a loaded model with its own thread pool (<see cref="ModelBenchmarkOptions.Threads"/> is not
    /// used). <paramref name="bandwidthGBps"/>, when given, adds decode efficiency to the tg result.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or the tests do not fit the model's context.</exception>
    public static IReadOnlyList<ModelBenchmarkResult> Run(LanguageModel model, ModelBenchmarkOptions options, double? bandwidthGBps = null, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (bandwidthGBps is { } bw && !(bw > 0)) throw new ArgumentException($"bandwidth {bw} GB/s must be positive", nameof(bandwidthGBps));

        var transformer = model.Transformer;
        int threads = model.Pool.ThreadCount;
        var rng = new SeededRandom(options.Seed);
        int RandomToken() => (int)(rng.NextUInt64() % (ulong)transformer.VocabSize);
        var logits = new float[transformer.VocabSize];
        var results = new List<ModelBenchmarkResult>();
        var sw = new Stopwatch();

        int p = options.PromptTokens;
        if (p > 0)
        {
            var prompt = Enumerable.Range(0, p).Select(_ => RandomToken()).ToArray();
            var state = model.CreateState(p, batchSize: p);
            void Prompt()
            {
                state.Reset();
                transformer.Forward(state, prompt, logits, allLogits: false, model.Pool);
            }

            WarmUp(Prompt, options.MaxWarmupRuns, $"pp{p} on {threads} thread(s)", progress, cancellation);
            var samples = new double[options.Repetitions];
            for (int rep = 0; rep < options.Repetitions; rep++)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Report($"pp{p} on {threads} thread(s): run {rep + 1}/{options.Repetitions}");
                sw.Restart();
                Prompt();
                sw.Stop();
                samples[rep] = p / sw.Elapsed.TotalSeconds;
            }

            results.Add(new ModelBenchmarkResult($"pp{p}", threads, p, samples, null));
        }

        int n = options.GenerateTokens;
        if (n > 0)
        {
            var tokens = Enumerable.Range(0, n).Select(_ => RandomToken()).ToArray();
            var state = model.CreateState(n, batchSize: 1);
            void Generate()
            {
                state.Reset();
                for (int i = 0; i < n; i++) transformer.Forward(state, tokens.AsSpan(i, 1), logits, allLogits: false, model.Pool);
            }

            WarmUp(Generate, options.MaxWarmupRuns, $"tg{n} on {threads} thread(s)", progress, cancellation);
            var samples = new double[options.Repetitions];
            for (int rep = 0; rep < options.Repetitions; rep++)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Report($"tg{n} on {threads} thread(s): run {rep + 1}/{options.Repetitions}");
                sw.Restart();
                Generate();
                sw.Stop();
                samples[rep] = n / sw.Elapsed.TotalSeconds;
            }

            DecodeEfficiency? efficiency = bandwidthGBps is { } gbps
                ? new DecodeEfficiency(DecodeBytesPerToken(model), SampleStatistics.Of(samples).Mean, gbps)
                : null;
            results.Add(new ModelBenchmarkResult($"tg{n}", threads, n, samples, efficiency));
        }

        return results;
    }

    /// <summary>
    /// Runs <paramref name="test"/> untimed until a run compiles no new methods (the JIT's tiering has settled), at most
    /// <paramref name="maxRuns"/> times.
    /// </summary>
    private static void WarmUp(Action test, int maxRuns, string label, IProgress<string>? progress, CancellationToken cancellation)
    {
        for (int run = 1; run <= maxRuns; run++)
        {
            cancellation.ThrowIfCancellationRequested();
            progress?.Report($"{label}: warm-up {run}");
            long compiled = JitInfo.GetCompiledMethodCount();
            test();
            if (JitInfo.GetCompiledMethodCount() == compiled)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Bytes of weights one decode step reads: every tensor of the file, except that only one row of the token embedding
    /// is read, unless the output head is the embedding itself (tied), which reads all of it.
    /// </summary>
    public static long DecodeBytesPerToken(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var t = model.Transformer;
        bool tied = ReferenceEquals(t.LmHead, t.TokenEmbedding);
        return DecodeBytesPerToken(model.File.Tensors.Sum(x => x.ByteSize), t.TokenEmbedding.ByteSize, t.TokenEmbedding.Rows, tied);
    }

    /// <summary>
    /// <paramref name="totalTensorBytes"/> − <paramref name="embeddingBytes"/> + one embedding row, or the total when the
    /// output is tied to the embedding.
    /// </summary>
    public static long DecodeBytesPerToken(long totalTensorBytes, long embeddingBytes, long embeddingRows, bool tiedOutput)
    {
        if (tiedOutput || embeddingRows <= 0) return totalTensorBytes;
        return totalTensorBytes - embeddingBytes + embeddingBytes / embeddingRows;
    }

    /// <summary>Facts about a loaded model for the report.</summary>
    public static BenchmarkedModel Describe(LanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var f = model.File;
        long? ftype = f.GetInteger("general.file_type");
        return new BenchmarkedModel(
            f.Path,
            model.Architecture,
            ftype is >= 0 and <= uint.MaxValue ? LlamaFileTypes.Name((uint)ftype.Value) : "unknown",
            f.FileLength,
            f.Tensors.Sum(x => x.ByteSize),
            f.Tensors.Sum(x => x.ElementCount),
            DecodeBytesPerToken(model),
            ReferenceEquals(model.Transformer.LmHead, model.Transformer.TokenEmbedding));
    }
}
