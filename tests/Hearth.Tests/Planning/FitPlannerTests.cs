using Hearth.Gguf;
using Hearth.Models;
using Hearth.Planning;
using Hearth.Quantization;
using Hearth.Synthesis;

namespace Hearth.Tests.Planning;

[Collection(PlanningCollection.Name)]
public sealed class FitPlannerTests(PlanningTwins twins)
{
    // The tiny twin, by hand: llama, n_embd 576, 2 layers, 9 heads and 3 KV heads of 64, FFN 1536, vocabulary 512,
    // tied output, no biases. Q8_0 stores 32 weights in 34 bytes; norms are F32.
    private const long E = 576, Layers = 2, Heads = 9, KvHeads = 3, HeadDim = 64, Ff = 1536, Vocab = 512;
    private const long KvWidth = KvHeads * HeadDim;
    private const long QWidth = Heads * HeadDim;

    private static long Q8(long rowLength, long rows) => rows * (rowLength / 32) * 34;

    private static FitOptions Options(int ctx, int parallel = 1, KvCacheType kv = KvCacheType.F32) =>
        new() { Context = ctx, Parallel = parallel, CacheType = kv, BatchSize = 64, Threads = 2, RuntimeBytes = 12_345_678 };

    [Fact]
    public void ComponentsOfTheTinyTwinMatchAHandComputation()
    {
        var path = twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0);
        using var file = GgufFile.Open(path);
        var e = FitPlanner.Estimate(file, Options(1000));

        long norms = 4 * (E + Layers * 2 * E); // output_norm, and attn_norm + ffn_norm per layer
        long perLayer = Q8(E, QWidth) + 2 * Q8(E, KvWidth) + Q8(QWidth, E) + 2 * Q8(E, Ff) + Q8(Ff, E);
        long weights = Q8(E, Vocab) + Layers * perLayer + norms;
        Assert.Equal(weights, e.WeightBytes);
        Assert.Equal(new FileInfo(path).Length, e.FileBytes);

        Assert.Equal(Vocab * FitPlanner.HeapBytesPerToken + norms, e.ModelHeapBytes);
        Assert.Equal(2 * Layers * 1000 * KvWidth * 4, e.KvCachePerSequence);
        // X, Xb; Q, K, V; the fused Qkv; the attention output; gate, up; the fused gate+up: 64 tokens of floats.
        long perToken = 2 * E + (QWidth + 2 * KvWidth) + (QWidth + 2 * KvWidth) + Heads * HeadDim + 2 * Ff + 2 * Ff;
        Assert.Equal(4 * 64 * perToken, e.ActivationsPerSequence);
        Assert.Equal(4 * 2 * (1000 + HeadDim), e.AttentionPerSequence); // a score row of the context and a head per thread
        Assert.Equal(4 * Vocab, e.LogitsPerSequence);
        // Widest conversion: ffn_down's 1536-wide input as Q8_0 blocks (48 × 34 bytes) for a batch of 64.
        Assert.Equal(64 * (Ff / 32) * 34, e.MatMulScratchBytes);
        Assert.Equal(12_345_678, e.RuntimeBytes);
        Assert.Equal(weights + e.FileOverheadBytes + e.ModelHeapBytes + e.KvCachePerSequence + e.ActivationsPerSequence
            + e.AttentionPerSequence + e.LogitsPerSequence + e.MatMulScratchBytes + 12_345_678, e.TotalBytes);
    }

    [Fact]
    public void KvCacheAndComputeScaleWithParallelSequencesAndCacheType()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        var one = FitPlanner.Estimate(file, Options(512));
        var three = FitPlanner.Estimate(file, Options(512, parallel: 3, kv: KvCacheType.F16));
        Assert.Equal(2 * Layers * 512 * KvWidth * 2, three.KvCachePerSequence);
        Assert.Equal(3 * 2 * Layers * 512 * KvWidth * 2, three.KvCacheBytes);
        Assert.Equal(3 * (one.ActivationsPerSequence + one.AttentionPerSequence + one.LogitsPerSequence) + one.MatMulScratchBytes, three.ComputeBytes);
        Assert.Equal(one.FileBytes, three.FileBytes);
    }

    [Fact]
    public void TheDefaultContextIsTheModelsCappedAt4096()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        var e = FitPlanner.Estimate(file, Options(0));
        Assert.Equal(8192, e.TrainingContext); // smollm2's
        Assert.Equal(4096, e.Context);
    }

    [Theory]
    [InlineData(LlamaFileType.Q8_0, LlamaFileType.Q4_K_M)]
    [InlineData(LlamaFileType.Q4_K_M, LlamaFileType.Q8_0)]
    public void PredictedSizeOfAnotherQuantizationIsTheSynthesizedFilesSize(LlamaFileType from, LlamaFileType to)
    {
        var shape = ModelShapes.SmolLm2_135M;
        using var source = GgufFile.Open(twins.Get(shape, from));
        using var real = GgufFile.Open(twins.Get(shape, to));
        var (weights, fileBytes) = FitPlanner.EstimateFileSize(source, to);
        Assert.Equal(real.Tensors.Sum(t => t.ByteSize), weights);
        Assert.Equal(real.FileLength, fileBytes);
        Assert.Equal(real.FileLength, FitPlanner.Estimate(source, to, Options(1024)).FileBytes);
    }

    public static TheoryData<string, LlamaFileType> ScaledShapes()
    {
        var data = new TheoryData<string, LlamaFileType>();
        foreach (var shape in new[] { "qwen2.5-0.5b", "gemma-3-1b", "llama-3.2-1b", "phi-4-mini" })
        {
            foreach (var type in new[] { LlamaFileType.F16, LlamaFileType.Q6_K, LlamaFileType.Q5_K_M, LlamaFileType.Q4_0, LlamaFileType.Q3_K_M, LlamaFileType.Q2_K })
                data.Add(shape, type);
        }

        return data;
    }

    /// <summary>
    /// Two layers, 512 tokens and narrower matrices, so that every file type is quick to write; the widths keep what the
    /// mixes look at: whether rows are whole 256-blocks (qwen's 896 and gemma's 1152 are not: fallbacks), fused q/k/v
    /// and gate/up (phi), llama3 RoPE factors, and the layer rules.
    /// </summary>
    private static ModelShape Scaled(string name) => name switch
    {
        "llama-3.2-1b" => ModelShapes.Get(name).Scaled(layers: 2, vocab: 512, embedding: 512, feedForward: 512),
        "phi-4-mini" => ModelShapes.Get(name).Scaled(layers: 2, vocab: 512, embedding: 768, feedForward: 512),
        "gemma-3-1b" => ModelShapes.Get(name).Scaled(layers: 2, vocab: 512, feedForward: 768),
        _ => ModelShapes.Get(name).Scaled(layers: 2, vocab: 512, feedForward: 512),
    };

    [Theory]
    [MemberData(nameof(ScaledShapes))]
    public void PredictedSizesMatchSynthesizedFilesOfOtherShapes(string shapeName, LlamaFileType to)
    {
        var shape = Scaled(shapeName);
        using var source = GgufFile.Open(twins.Get(shape, LlamaFileType.Q8_0));
        using var real = GgufFile.Open(twins.Get(shape, to));
        var (weights, fileBytes) = FitPlanner.EstimateFileSize(source, to);
        Assert.Equal(real.Tensors.Sum(t => t.ByteSize), weights);
        Assert.Equal(real.FileLength, fileBytes);
    }

    [Fact]
    public void AFileTypeWithoutAMixIsRefused()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        var e = Assert.Throws<NotSupportedException>(() => FitPlanner.EstimateFileSize(file, LlamaFileType.IQ2_XS));
        Assert.Contains("IQ2_XS", e.Message);
    }

    [Fact]
    public void TheLargestContextIsTheLastWhoseKvCacheAndScoresFit()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        var options = Options(0);
        // Per context token: K and V of every layer (F32) and a score per thread; everything else is fixed.
        long perToken = 2 * Layers * KvWidth * 4 + 2 * 4;
        long fixedBytes = FitPlanner.Estimate(file, options with { Context = 1 }).TotalBytes - perToken;
        Assert.Equal(3000 / 256 * 256, FitPlanner.MaxContext(file, fixedBytes + 3000 * perToken, options));
        Assert.Equal(3000 / 256 * 256, FitPlanner.MaxContext(file, fixedBytes + 3001 * perToken - 1, options));
        Assert.Equal(200, FitPlanner.MaxContext(file, fixedBytes + 200 * perToken + 5, options)); // below 256: not rounded
        Assert.Equal(8192, FitPlanner.MaxContext(file, fixedBytes + 100_000 * perToken, options)); // capped at training
        Assert.Equal(0, FitPlanner.MaxContext(file, fixedBytes, options));
    }

    [Fact]
    public void TheRecommendationIsTheBestQualityThatFitsWithTheMinimumContext()
    {
        var shape = ModelShapes.SmolLm2_135M;
        using var q8 = GgufFile.Open(twins.Get(shape, LlamaFileType.Q8_0));
        using var q4 = GgufFile.Open(twins.Get(shape, LlamaFileType.Q4_K_M));
        var options = Options(2048);
        // The real Q4_K_M file at 2048 tokens, estimated from itself: the exact budget for Q4_K_M.
        long q4Total = FitPlanner.Estimate(q4, options).TotalBytes;
        var r = FitPlanner.Recommend(q8, q4Total, options);
        Assert.Equal(2048, r.MinimumContext);
        Assert.Equal(LlamaFileType.Q4_K_M, r.Best?.FileType);
        Assert.False(r.CurrentFits); // the Q8_0 file itself is larger
        Assert.Equal(FitPlanner.CandidateFileTypes, r.Quantizations.Select(q => q.FileType));
        Assert.All(r.Quantizations.TakeWhile(q => q.FileType != LlamaFileType.Q4_K_M), q => Assert.False(q.Fits));
        Assert.Equal(q4Total, r.Best!.Estimate.TotalBytes);

        // One byte less and Q4_K_M no longer fits; Q4_0 (smaller) does.
        Assert.Equal(LlamaFileType.Q4_0, FitPlanner.Recommend(q8, q4Total - 1, options).Best?.FileType);
        // The Q8_0 file's own estimate as the budget: it fits as it is, and Q8_0 is the best that does.
        long q8Total = FitPlanner.Estimate(q8, options).TotalBytes;
        var exact = FitPlanner.Recommend(q8, q8Total, options);
        Assert.True(exact.CurrentFits);
        Assert.Equal(LlamaFileType.Q8_0, exact.Best?.FileType);
        Assert.Equal(2048, exact.MaxContext);
        // A terabyte fits F16 at the full training context; a megabyte fits nothing.
        var huge = FitPlanner.Recommend(q8, 1L << 40, options);
        Assert.Equal(LlamaFileType.F16, huge.Best?.FileType);
        Assert.Equal(8192, huge.Best!.MaxContext);
        var tiny = FitPlanner.Recommend(q8, 1L << 20, options);
        Assert.Null(tiny.Best);
        Assert.Equal(0, tiny.MaxContext);
    }

    [Fact]
    public void WithoutARequestedContextTheMinimumIs2048()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        Assert.Equal(FitPlanner.DefaultMinimumContext, FitPlanner.Recommend(file, 1L << 30, Options(0)).MinimumContext);
        Assert.Equal(300, FitPlanner.Recommend(file, 1L << 30, Options(0), minimumContext: 300).MinimumContext);
        Assert.Equal(8192, FitPlanner.Recommend(file, 1L << 30, Options(0), minimumContext: 100_000).MinimumContext);
    }

    [Fact]
    public void BadOptionsAreRefusedWithTheirName()
    {
        using var file = GgufFile.Open(twins.Get(PlanningTwins.Tiny, LlamaFileType.Q8_0));
        Assert.Contains("parallel", Assert.Throws<ArgumentOutOfRangeException>(() => FitPlanner.Estimate(file, new FitOptions { Parallel = 0 })).Message);
        Assert.Contains("context", Assert.Throws<ArgumentOutOfRangeException>(() => FitPlanner.Estimate(file, new FitOptions { Context = -1 })).Message);
        Assert.Contains("batch", Assert.Throws<ArgumentOutOfRangeException>(() => FitPlanner.Estimate(file, new FitOptions { BatchSize = 0 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => FitPlanner.Recommend(file, 0));
    }
}
