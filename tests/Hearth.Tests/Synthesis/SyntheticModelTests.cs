using Hearth.Generation;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Quantization;
using Hearth.Sampling;
using Hearth.Synthesis;
using Hearth.Tensors;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Synthesis;

/// <summary>Tiny synthetic variants of every architecture, written, loaded and run.</summary>
public sealed class SyntheticModelTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Each real shape with 2 layers, 512 tokens, n_embd 128, heads of 32 and an FFN of 128.</summary>
    internal static ModelShape Tiny(string name) => ModelShapes.Get(name).Scaled(layers: 2, vocab: 512, embedding: 128, headDim: 32, feedForward: 128);

    public static TheoryData<string> ShapeNames() => new(ModelShapes.All.Select(s => s.Name));

    private string Write(ModelShape shape, LlamaFileType type, ulong seed = 1, int threads = 0, IProgress<double>? progress = null)
    {
        var path = _files.NewPath($"{shape.Name}-{type}-{seed}-{Guid.NewGuid():N}.gguf");
        ModelSynthesizer.Write(shape, path, new SynthesisOptions { FileType = type, Seed = seed, Threads = threads }, progress);
        return path;
    }

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void TinyVariantLoadsAndGivesFiniteLogits(string name)
    {
        var shape = Tiny(name);
        var path = Write(shape, LlamaFileType.Q4_K_M);
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1, Context = 64 });
        Assert.Equal(shape.Architecture, model.Architecture);
        Assert.Equal(512, model.Tokenizer.VocabSize);
        Assert.Equal(512, model.Transformer.VocabSize);
        Assert.Equal(2, model.Transformer.Layers.Count);
        int[] tokens = [1, 300, 42, 511, 7];
        var logits = model.EvaluateAll(tokens);
        Assert.Equal(tokens.Length * 512, logits.Length);
        Assert.All(logits, x => Assert.True(float.IsFinite(x)));
        Assert.True(logits.Max() > logits.Min(), "logits should not be constant");
    }

    [Theory]
    [MemberData(nameof(ShapeNames))]
    public void TinyVariantGeneratesText(string name)
    {
        var path = Write(Tiny(name), LlamaFileType.F16);
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1, Context = 64 });
        var generator = new TextGenerator(model);
        var text = string.Concat(generator.Generate("Hello, world", new GenerationOptions { MaxTokens = 6, Sampling = new SamplerOptions { Temperature = 0 } }));
        Assert.NotNull(text);
        Assert.True(generator.Stats.PromptTokens > 1);
        Assert.InRange(generator.GeneratedTokens.Count, 0, 6);
        if (generator.GeneratedTokens.Count < 6) Assert.NotEqual(FinishReason.Length, generator.Stats.FinishReason);
    }

    [Theory]
    [InlineData(LlamaFileType.F16, 1u)]
    [InlineData(LlamaFileType.Q4_0, 2u)]
    [InlineData(LlamaFileType.Q8_0, 7u)]
    [InlineData(LlamaFileType.Q4_K_M, 15u)]
    public void FileTypeKeyTensorTypesAndSizeMatchThePlan(LlamaFileType type, uint number)
    {
        var shape = Tiny("qwen2.5-0.5b");
        var plan = SynthesisPlan.Create(shape, type);
        var path = Write(shape, type);
        Assert.Equal(plan.FileSize(), new FileInfo(path).Length);
        using var file = GgufFile.Open(path);
        Assert.Equal(number, (uint)file.GetInteger("general.file_type")!.Value);
        Assert.Equal(2L, file.GetInteger("general.quantization_version"));
        Assert.Equal("qwen2", file.GetString("general.architecture"));
        Assert.Equal(plan.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Shape))), file.Tensors.Select(t => (t.Name, t.Type, string.Join(",", t.Shape))));
    }

    [Fact]
    public void ArchitectureMetadataIsWrittenAsConvertersDo()
    {
        using (var phi = GgufFile.Open(Write(ModelShapes.Phi4Mini.Scaled(layers: 1, vocab: 512, embedding: 384, headDim: 16, feedForward: 64), LlamaFileType.F16)))
        {
            Assert.Equal(131072, phi.GetInteger("phi3.context_length"));
            Assert.Equal(4096, phi.GetInteger("phi3.rope.scaling.original_context_length"));
            Assert.Equal(12, phi.GetInteger("phi3.rope.dimension_count")); // ⌊0.75 × 384⌋ / 24
            Assert.Equal(262144, phi.GetInteger("phi3.attention.sliding_window"));
            Assert.Equal(Math.Sqrt(1 + Math.Log(32) / Math.Log(4096)), phi.GetNumber("phi3.rope.scaling.attn_factor")!.Value, 1e-6);
            Assert.False(phi.Contains("phi3.attention.key_length")); // 384 = 24 heads × 16: implied, as in real files
        }

        using (var gemma = GgufFile.Open(Write(Tiny("gemma-3-1b"), LlamaFileType.F16)))
        {
            Assert.Equal(512, gemma.GetInteger("gemma3.attention.sliding_window"));
            Assert.Equal(32, gemma.GetInteger("gemma3.attention.key_length"));
            Assert.Equal(1e6, gemma.GetNumber("gemma3.rope.freq_base")!.Value, 1);
            Assert.Equal(1e-6, gemma.GetNumber("gemma3.attention.layer_norm_rms_epsilon")!.Value, 1e-9);
        }

        using (var llama = GgufFile.Open(Write(Tiny("llama-3.2-1b"), LlamaFileType.F16)))
        {
            Assert.Equal(512, llama.GetInteger("llama.vocab_size"));
            Assert.Equal(32, llama.GetInteger("llama.rope.dimension_count"));
            Assert.Equal(500000, llama.GetNumber("llama.rope.freq_base")!.Value, 1);
            var freqs = llama.FindTensor("rope_freqs.weight")!;
            var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(llama.TensorData(freqs)).ToArray();
            Assert.Equal(Hearth.Models.Blocks.Rope.Llama3Factors(32, 500000f, 32f, 1f, 4f, 8192), data);
        }
    }

    [Fact]
    public void SameSeedWritesTheSameBytesWhateverTheThreadCount()
    {
        var shape = Tiny("gemma-3-1b");
        var a = File.ReadAllBytes(Write(shape, LlamaFileType.Q4_K_M, seed: 42, threads: 1));
        var b = File.ReadAllBytes(Write(shape, LlamaFileType.Q4_K_M, seed: 42, threads: 2));
        var c = File.ReadAllBytes(Write(shape, LlamaFileType.Q4_K_M, seed: 43, threads: 2));
        Assert.Equal(a, b);
        Assert.Equal(a.Length, c.Length);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void WeightsAreCenteredWithTheIntendedSpread()
    {
        var shape = ModelShapes.Qwen25_05B;
        var plan = SynthesisPlan.Create(shape, LlamaFileType.F16);
        var t = plan["blk.0.ffn_gate.weight"];
        var row = new float[t.RowLength];
        double sum = 0, squares = 0;
        long n = 0;
        for (int r = 0; r < 64; r++)
        {
            ModelSynthesizer.GenerateRow(shape, t, r, seed: 5, row);
            foreach (var x in row)
            {
                sum += x;
                squares += x * (double)x;
                n++;
                Assert.InRange(x, -0.07f, 0.07f); // Irwin–Hall tails end at ±√12·σ/2·2 = ±3.47σ
            }
        }

        double mean = sum / n, sd = Math.Sqrt(squares / n - mean * mean);
        Assert.InRange(mean, -0.0005, 0.0005);
        Assert.InRange(sd, 0.0195, 0.0205);

        var norm = new float[896];
        ModelSynthesizer.GenerateRow(shape, plan["blk.0.attn_norm.weight"], 0, 5, norm);
        Assert.All(norm, x => Assert.Equal(1f, x));

        // The same seed gives the same row at every file type.
        var q8Plan = SynthesisPlan.Create(shape, LlamaFileType.Q8_0);
        var again = new float[t.RowLength];
        ModelSynthesizer.GenerateRow(shape, q8Plan["blk.0.ffn_gate.weight"], 63, 5, again);
        Assert.Equal(row, again);
    }

    [Fact]
    public void UntiedOutputShapeWritesASeparateHead()
    {
        var shape = Tiny("qwen3-0.6b") with { TiedOutput = false, Name = "qwen3-untied" };
        var path = Write(shape, LlamaFileType.Q4_K_M);
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1, Context = 32 });
        Assert.NotSame(model.Transformer.TokenEmbedding, model.Transformer.LmHead);
        Assert.Equal("output.weight", model.Transformer.LmHead.Name);
        Assert.Equal(GgmlType.Q8_0, model.Transformer.LmHead.Type); // 128-wide rows: no room for Q6_K blocks
        Assert.Equal(GgmlType.Q5_0, model.Transformer.TokenEmbedding.Type); // untied: default Q4_K, falls back
        Assert.All(model.EvaluateAll([1, 2, 3]), x => Assert.True(float.IsFinite(x)));
    }

    [Fact]
    public void ProgressRisesToOneAndCancellationLeavesNoFile()
    {
        var reports = new List<double>();
        Write(Tiny("smollm2-135m"), LlamaFileType.Q8_0, progress: new SyncProgress(reports.Add));
        Assert.Equal(0, reports[0]);
        Assert.Equal(1, reports[^1]);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second >= p.First));

        var path = _files.NewPath("cancelled.gguf");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ModelSynthesizer.Write(Tiny("smollm2-135m"), path, null, null, cts.Token));
        Assert.False(File.Exists(path));
    }

    private sealed class SyncProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }
}
