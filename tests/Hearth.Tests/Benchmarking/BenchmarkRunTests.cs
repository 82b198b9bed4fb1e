using System.Runtime.InteropServices;
using Hearth.Benchmarking;
using Hearth.Cli;
using Hearth.Models;
using Hearth.Quantization;
using Hearth.Synthesis;
using Hearth.Tests.Gguf;
using Hearth.Tests.Synthesis;

namespace Hearth.Tests.Benchmarking;

/// <summary>The benchmarks run on tiny inputs: what they report, never how fast.</summary>
public sealed class BenchmarkRunTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private string TinyModel(bool tied)
    {
        var shape = SyntheticModelTests.Tiny("qwen2.5-0.5b") with { TiedOutput = tied };
        var path = _files.NewPath($"tiny-{tied}.gguf");
        ModelSynthesizer.Write(shape, path, new SynthesisOptions { FileType = LlamaFileType.Q4_K_M, Seed = 3 });
        return path;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DecodeBytesPerTokenMatchesAnIndependentSum(bool tied)
    {
        var path = TinyModel(tied);
        var plan = SynthesisPlan.Create(SyntheticModelTests.Tiny("qwen2.5-0.5b") with { TiedOutput = tied }, LlamaFileType.Q4_K_M);
        var embd = plan["token_embd.weight"];
        long expected = tied ? plan.TensorBytes : plan.TensorBytes - embd.ByteSize + embd.ByteSize / embd.RowCount;

        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1 });
        Assert.Equal(expected, ModelBenchmark.DecodeBytesPerToken(model));
        var described = ModelBenchmark.Describe(model);
        Assert.Equal(tied, described.TiedOutput);
        Assert.Equal("Q4_K_M", described.FileType);
        Assert.Equal(plan.ParameterCount, described.Parameters);
        Assert.Equal(new FileInfo(path).Length, described.FileBytes);
    }

    [Fact]
    public void ModelBenchmarkReportsEveryTestAndThreadCount()
    {
        var path = TinyModel(tied: true);
        var options = new ModelBenchmarkOptions
        {
            PromptTokens = 8,
            GenerateTokens = 3,
            Threads = [1, 2],
            Repetitions = 2,
            ReadBandwidthGBps = new Dictionary<int, double> { [1] = 10, [2] = 20 },
        };
        var messages = new List<string>();
        var report = ModelBenchmark.Run(path, options, new SyncProgress(messages.Add));

        Assert.Equal(["pp8", "tg3", "pp8", "tg3"], report.Results.Select(r => r.Test));
        Assert.Equal([1, 1, 2, 2], report.Results.Select(r => r.Threads));
        Assert.All(report.Results, r => Assert.Equal(2, r.SamplesTokensPerSecond.Count));
        Assert.All(report.Results, r => Assert.All(r.SamplesTokensPerSecond, x => Assert.True(x > 0 && double.IsFinite(x))));
        Assert.Null(report.Results[0].Decode);
        var tg1 = report.Results[1].Decode!;
        Assert.Equal(10, tg1.BandwidthGBps);
        Assert.Equal(report.Model.DecodeBytesPerToken, tg1.BytesPerToken);
        Assert.Equal(report.Results[1].TokensPerSecond.Mean, tg1.TokensPerSecond, 9);
        Assert.Equal(20, report.Results[3].Decode!.BandwidthGBps);
        Assert.Contains(messages, m => m.Contains("pp8", StringComparison.Ordinal));
    }

    [Fact]
    public void PromptOnlyBenchmarkNeedsNoBandwidth()
    {
        using var model = LanguageModel.Load(TinyModel(tied: false), new ModelLoadOptions { Threads = 1 });
        var results = ModelBenchmark.Run(model, new ModelBenchmarkOptions { PromptTokens = 4, GenerateTokens = 0, Repetitions = 1 });
        Assert.Single(results);
        Assert.Equal("pp4", results[0].Test);
        Assert.Equal(4, results[0].Tokens);
    }

    [Fact]
    public void BandwidthMeasurementSplitsTheBufferIntoWholeBlocks()
    {
        using var mb = new MemoryBandwidth(1 << 20);
        var m = mb.Measure(threads: 3, streamsPerThread: 4, repetitions: 2);
        // Share per thread: ⌊1 MiB / 3 / 4096⌋ × 4096 = 348160; per stream ⌊348160 / 4 / 128⌋ × 128 = 87040.
        Assert.Equal(87040L * 4 * 3, m.BytesPerPass);
        Assert.Equal(2, m.SamplesGBps.Count);
        Assert.All(m.SamplesGBps, x => Assert.True(x > 0 && double.IsFinite(x)));

        var report = MemoryBandwidth.Run(new MemoryBandwidthOptions { Threads = [1, 2], StreamsPerThread = [1, 4], BufferBytes = 1 << 20, Repetitions = 1 });
        Assert.Equal([(1, 1), (1, 4), (2, 1), (2, 4)], report.Results.Select(r => (r.Threads, r.StreamsPerThread)));
        Assert.Equal(MemoryBandwidth.Kernel, report.Kernel);
    }

    [Fact]
    public unsafe void ReadKernelSumsEveryWordOfEveryStream()
    {
        const int words = 4096;
        var data = (int*)NativeMemory.AlignedAlloc(words * sizeof(int), 4096);
        try
        {
            long expected = 0;
            for (int i = 0; i < words; i++)
            {
                data[i] = i * 7 - 1000;
                expected += data[i];
            }

            var streams = stackalloc byte*[4];
            for (int s = 0; s < 4; s++) streams[s] = (byte*)data + s * (words / 4) * sizeof(int);
            Assert.Equal(expected, MemoryBandwidth.Read(streams, 4, words / 4 * sizeof(int)));
            Assert.Equal(expected, MemoryBandwidth.Read(streams, 1, words * sizeof(int)));
        }
        finally
        {
            NativeMemory.AlignedFree(data);
        }
    }

    [Fact]
    public void CliBenchAndSynthValidateTheirArguments()
    {
        var (code, _, err) = Run("bench");
        Assert.Equal(1, code);
        Assert.Contains("--memory", err);

        (code, _, err) = Run("bench", "--memory", "-t", "0");
        Assert.Equal(1, code);
        Assert.Contains("outside", err);

        (code, _, err) = Run("synth", "gpt-5", "--dry-run");
        Assert.Equal(1, code);
        Assert.Contains("qwen2.5-0.5b", err);

        (code, _, err) = Run("synth", "qwen2.5-0.5b", "--type", "Q9_9", "--dry-run");
        Assert.Equal(1, code);
        Assert.Contains("Q4_K_M", err);

        (code, var output, _) = Run("synth", "qwen2.5-0.5b", "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("file size: 395715360 bytes", output);
        Assert.Contains("blk.0.attn_k.bias", output);
    }

    [Fact]
    public void CliSynthWritesAFileAndBenchMemoryPrintsJson()
    {
        var path = _files.NewPath("cli.gguf");
        var (code, output, _) = Run("synth", "smollm2-135m", path, "--type", "Q8_0", "--seed", "9", "--layers", "1", "--vocab", "300");
        Assert.Equal(0, code);
        Assert.Contains("Q8_0", output);
        var shape = ModelShapes.SmolLm2_135M.Scaled(layers: 1, vocab: 300);
        Assert.Equal(SynthesisPlan.Create(shape, LlamaFileType.Q8_0).FileSize(), new FileInfo(path).Length);
        using (var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1 }))
        {
            Assert.Single(model.Transformer.Layers);
        }

        (code, output, _) = Run("bench", "--memory", "-t", "1", "-r", "1", "--json", "--buffer-mib", "4");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal(2, doc.RootElement.GetProperty("results").GetArrayLength()); // 1 and 4 streams
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    private sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
