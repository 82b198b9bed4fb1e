using System.Text.Json;
using Hearth.Benchmarking;

namespace Hearth.Tests.Benchmarking;

/// <summary>The parts of the benchmarks that can fail deterministically: statistics, arguments, arithmetic, output shape.</summary>
public sealed class BenchmarkLogicTests
{
    [Fact]
    public void StatisticsUseTheSampleStandardDeviation()
    {
        var s = SampleStatistics.Of([2, 4, 4, 4, 5, 5, 7, 9]);
        Assert.Equal(8, s.Count);
        Assert.Equal(5.0, s.Mean, 12);
        // Σ(x − 5)² = 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32; divided by n − 1 = 7.
        Assert.Equal(Math.Sqrt(32.0 / 7.0), s.StandardDeviation, 12);
        Assert.Equal(2, s.Min);
        Assert.Equal(9, s.Max);
        Assert.Equal("5.00 ± 2.14", s.Format());

        var one = SampleStatistics.Of([12.5]);
        Assert.Equal(12.5, one.Mean);
        Assert.Equal(0, one.StandardDeviation);

        var pair = SampleStatistics.Of([10, 20]);
        Assert.Equal(15, pair.Mean);
        Assert.Equal(Math.Sqrt(50), pair.StandardDeviation, 12);
    }

    [Fact]
    public void StatisticsRejectEmptyAndNonFiniteSamples()
    {
        Assert.Throws<ArgumentException>(() => SampleStatistics.Of([]));
        Assert.Throws<ArgumentException>(() => SampleStatistics.Of([1, double.NaN]));
        Assert.Throws<ArgumentException>(() => SampleStatistics.Of([double.PositiveInfinity]));
    }

    [Theory]
    [InlineData("1", new[] { 1 })]
    [InlineData("1,2", new[] { 1, 2 })]
    [InlineData(" 4 , 2 ", new[] { 4, 2 })]
    [InlineData("1-4", new[] { 1, 2, 3, 4 })]
    [InlineData("1,3-5", new[] { 1, 3, 4, 5 })]
    public void ThreadListsParse(string text, int[] expected) => Assert.Equal(expected, ThreadCounts.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData(",")]
    [InlineData("1,,2")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("two")]
    [InlineData("2,2")]
    [InlineData("1-3,2")]
    [InlineData("4-2")]
    [InlineData("1025")]
    [InlineData("1.5")]
    public void BadThreadListsAreRejected(string text) => Assert.Throws<ArgumentException>(() => ThreadCounts.Parse(text));

    [Fact]
    public void ModelBenchmarkOptionsAreValidated()
    {
        new ModelBenchmarkOptions().Validate();
        new ModelBenchmarkOptions { PromptTokens = 0 }.Validate();
        new ModelBenchmarkOptions { GenerateTokens = 0 }.Validate();
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { PromptTokens = 0, GenerateTokens = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { PromptTokens = -1 }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { GenerateTokens = -5 }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { Repetitions = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { Threads = [] }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { Threads = [1, 0] }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { Threads = [2, 2] }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { ReadBandwidthGBps = new Dictionary<int, double> { [1] = 0 } }.Validate());
        Assert.Throws<ArgumentException>(() => new ModelBenchmarkOptions { ReadBandwidthGBps = new Dictionary<int, double> { [1] = double.NaN } }.Validate());
    }

    [Fact]
    public void MemoryBandwidthOptionsAreValidated()
    {
        new MemoryBandwidthOptions { Threads = [1, 2], BufferBytes = 1 << 20 }.Validate();
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { StreamsPerThread = [] }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { StreamsPerThread = [0] }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { StreamsPerThread = [65] }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { BufferBytes = 4096 }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { Repetitions = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { Threads = [0] }.Validate());
        // 1 MiB split over 1024 threads × 64 streams leaves less than one 128-byte block per stream.
        Assert.Throws<ArgumentException>(() => new MemoryBandwidthOptions { Threads = [1024], StreamsPerThread = [64], BufferBytes = 1 << 20 }.Validate());
    }

    [Fact]
    public void DecodeBytesPerTokenCountsOneEmbeddingRowUnlessTied()
    {
        // 1000 bytes of tensors, of which a 400-byte embedding with 100 rows (4 bytes each).
        Assert.Equal(1000 - 400 + 4, ModelBenchmark.DecodeBytesPerToken(1000, 400, 100, tiedOutput: false));
        Assert.Equal(1000, ModelBenchmark.DecodeBytesPerToken(1000, 400, 100, tiedOutput: true));
    }

    [Fact]
    public void DecodeEfficiencyIsBytesTimesRateOverBandwidth()
    {
        var d = new DecodeEfficiency(BytesPerToken: 500_000_000, TokensPerSecond: 30, BandwidthGBps: 20);
        Assert.Equal(15.0, d.AchievedGBps, 12);
        Assert.Equal(0.75, d.Efficiency, 12);
    }

    private static ModelBenchmarkReport SampleModelReport() => new(
        new BenchmarkedModel("/tmp/m.gguf", "qwen2", "Q4_K_M", 1000, 900, 450, 880, TiedOutput: true),
        PromptTokens: 128, GenerateTokens: 64, Repetitions: 2,
        [
            new ModelBenchmarkResult("pp128", 2, 128, [100, 110], null),
            new ModelBenchmarkResult("tg64", 2, 64, [20, 22], new DecodeEfficiency(880, 21, 30)),
        ]);

    [Fact]
    public void ModelReportJsonHasTheDocumentedShape()
    {
        using var doc = JsonDocument.Parse(BenchmarkFormat.ToJson(SampleModelReport()));
        var root = doc.RootElement;
        var model = root.GetProperty("model");
        Assert.Equal("qwen2", model.GetProperty("architecture").GetString());
        Assert.Equal("Q4_K_M", model.GetProperty("file_type").GetString());
        Assert.Equal(880, model.GetProperty("decode_bytes_per_token").GetInt64());
        Assert.True(model.GetProperty("tied_output").GetBoolean());
        Assert.Equal(128, root.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(64, root.GetProperty("generate_tokens").GetInt32());
        var results = root.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        var pp = results[0];
        Assert.Equal("pp128", pp.GetProperty("test").GetString());
        Assert.Equal(2, pp.GetProperty("threads").GetInt32());
        Assert.Equal(2, pp.GetProperty("samples_tps").GetArrayLength());
        Assert.Equal(105, pp.GetProperty("mean_tps").GetDouble(), 9);
        Assert.Equal(Math.Sqrt(50), pp.GetProperty("stddev_tps").GetDouble(), 9);
        Assert.False(pp.TryGetProperty("efficiency", out _));
        var tg = results[1];
        Assert.Equal(880, tg.GetProperty("bytes_per_token").GetInt64());
        Assert.Equal(880 * 21 / 1e9, tg.GetProperty("read_gbps").GetDouble(), 15);
        Assert.Equal(30, tg.GetProperty("bandwidth_gbps").GetDouble());
        Assert.Equal(880 * 21 / 1e9 / 30, tg.GetProperty("efficiency").GetDouble(), 15);
    }

    [Fact]
    public void MemoryReportJsonHasTheDocumentedShape()
    {
        var report = new MemoryBandwidthReport(1 << 30, "Vector512",
        [
            new BandwidthMeasurement(1, 1, 1 << 30, [12, 14]),
            new BandwidthMeasurement(1, 4, 1 << 30, [19, 19]),
        ]);
        using var doc = JsonDocument.Parse(BenchmarkFormat.ToJson(report));
        var root = doc.RootElement;
        Assert.Equal(1L << 30, root.GetProperty("buffer_bytes").GetInt64());
        Assert.Equal("Vector512", root.GetProperty("kernel").GetString());
        var first = root.GetProperty("results")[0];
        Assert.Equal(1, first.GetProperty("threads").GetInt32());
        Assert.Equal(1, first.GetProperty("streams_per_thread").GetInt32());
        Assert.Equal(13, first.GetProperty("mean_gbps").GetDouble(), 12);
        Assert.Equal(Math.Sqrt(2), first.GetProperty("stddev_gbps").GetDouble(), 12);
        Assert.Equal(14, first.GetProperty("max_gbps").GetDouble());
        Assert.Equal(19, report.MeanGBps(1, 4));
        Assert.Null(report.MeanGBps(2, 4));
    }

    [Fact]
    public void TextTablesListEveryResult()
    {
        var text = BenchmarkFormat.ToText(SampleModelReport());
        Assert.Contains("| threads |", text);
        Assert.Contains("pp128", text);
        Assert.Contains("105.00 ± 7.07", text);
        Assert.Contains("tg64", text);
        Assert.Contains("%", text);
        var lines = text.Split('\n');
        Assert.Equal(4, lines.Count(l => l.StartsWith('|'))); // header, rule, two results
    }
}
