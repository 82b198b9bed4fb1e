using Hearth.Cli;
using Hearth.Conversion;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Hearth.Tensors;

namespace Hearth.Tests.Conversion;

/// <summary>
/// Round trips: a golden GGUF model is exported to a Hugging Face directory (the test-side inverse in
/// <see cref="HfExport"/>), converted back, and must give the original's logits and metadata.
/// </summary>
public sealed class ModelConversionTests : IDisposable
{
    private static readonly int[] s_tokens = [1, 15, 27, 300, 42, 7, 511, 100, 3, 250];
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-convert-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string> Families => new("llama-untied", "llama-tied", "qwen2", "qwen3", "phi3", "gemma2", "gemma3");

    private static string Golden(string name, string type = "F32") => TestData.Path("golden", "models", $"parity-{name}.{type}.gguf");

    private static float[] Logits(string path)
    {
        using var file = GgufFile.Open(path);
        var model = ArchitectureRegistry.Resolve(file).Build(file, 64);
        var state = new InferenceState(model, s_tokens.Length, batchSize: s_tokens.Length, KvCacheType.F32);
        var logits = new float[s_tokens.Length * model.VocabSize];
        model.Forward(state, s_tokens, logits, allLogits: true);
        return logits;
    }

    private string Export(string name, int shards = 1, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        string hf = Path.Combine(_dir, "hf-" + name);
        HfExport.Write(Golden(name), hf, shards, dtype);
        return hf;
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void F32RoundTripGivesIdenticalLogitsAndMetadata(string name)
    {
        string hf = Export(name);
        string output = Path.Combine(_dir, "out.gguf");
        var result = ModelConverter.Convert(hf, output, ConversionType.F32);

        using (var original = GgufFile.Open(Golden(name)))
        using (var converted = GgufFile.Open(output))
        {
            Assert.Equal(original.RequireString("general.architecture"), result.Architecture);
            foreach (var kv in original.MetadataList)
            {
                if (kv.Key is "general.name" or "general.description" or "general.quantization_version") continue;
                var got = converted.Get(kv.Key);
                Assert.True(got != null, $"{name}: converted file lacks '{kv.Key}'");
                Assert.True(kv.Value.ToString() == got!.ToString() && SameArray(kv.Value, got), $"{name}: '{kv.Key}' is {got} (expected {kv.Value})");
            }

            Assert.Equal(original.Tensors.Select(t => t.Name).Order(), converted.Tensors.Select(t => t.Name).Order());
            foreach (var t in original.Tensors)
            {
                var c = converted.FindTensor(t.Name)!;
                Assert.Equal(t.Shape, c.Shape);
                Assert.True(original.TensorData(t).SequenceEqual(converted.TensorData(c)), $"{name}: tensor {t.Name} differs");
            }
        }

        Assert.Equal(Logits(Golden(name)), Logits(output));
    }

    private static bool SameArray(GgufValue a, GgufValue b)
    {
        if (a.AsArray is not { } x) return true;
        if (b.AsArray is not { } y || x.Count != y.Count) return false;
        for (int i = 0; i < x.Count; i++)
        {
            if (!Equals(x.Items.GetValue(i), y.Items.GetValue(i))) return false;
        }

        return true;
    }

    [Theory]
    [InlineData("llama-untied")]
    [InlineData("phi3")]
    [InlineData("gemma2")]
    public void F16ConversionIsCloseToTheF32Original(string name)
    {
        string hf = Export(name);
        string output = Path.Combine(_dir, "out.f16.gguf");
        var result = ModelConverter.Convert(hf, output, ConversionType.F16);
        Assert.All(result.Tensors, t => Assert.Equal(t.Shape.Length == 1 ? GgmlType.F32 : GgmlType.F16, t.Type));
        AssertClose(Logits(Golden(name)), Logits(output), 1e-4);
    }

    [Fact]
    public void Bf16SourceConvertsToBf16Exactly()
    {
        // BF16 values survive BF16 -> F32 -> BF16 unchanged, so the converted weights equal the exported ones.
        string hf = Export("qwen3", dtype: SafetensorsDType.BF16);
        string output = Path.Combine(_dir, "out.bf16.gguf");
        ModelConverter.Convert(hf, output, ConversionType.BF16);
        using var st = SafetensorsFile.Open(Path.Combine(hf, "model.safetensors"));
        using var converted = GgufFile.Open(output);
        var embd = converted.FindTensor("token_embd.weight")!;
        Assert.Equal(GgmlType.BF16, embd.Type);
        Assert.True(st.Data(st.Find("model.embed_tokens.weight")!).SequenceEqual(converted.TensorData(embd)));
        AssertClose(Logits(Golden("qwen3")), Logits(output), 1e-3);
    }

    [Fact]
    public void Q8_0WeightsEqualHearthsQuantizerOnTheOriginal()
    {
        string hf = Export("qwen2");
        string output = Path.Combine(_dir, "out.q8.gguf");
        ModelConverter.Convert(hf, output, ConversionType.Q8_0);
        using var original = GgufFile.Open(Golden("qwen2"));
        using var converted = GgufFile.Open(output);
        foreach (var t in original.Tensors)
        {
            var c = converted.FindTensor(t.Name)!;
            if (t.Shape.Length == 1)
            {
                Assert.Equal(GgmlType.F32, c.Type);
                continue;
            }

            Assert.Equal(GgmlType.Q8_0, c.Type);
            var values = new float[t.ElementCount];
            Quants.Dequantize(t.Type, original.TensorData(t), values);
            var expected = new byte[c.ByteSize];
            Quants.Quantize(GgmlType.Q8_0, values, expected);
            Assert.True(expected.AsSpan().SequenceEqual(converted.TensorData(c)), $"tensor {t.Name} differs");
        }

        AssertClose(Logits(Golden("qwen2")), Logits(output), 1e-2);
    }

    [Fact]
    public void ShardedCheckpointConvertsLikeASingleFile()
    {
        string hf = Export("llama-untied", shards: 3);
        Assert.False(File.Exists(Path.Combine(hf, "model.safetensors")));
        string output = Path.Combine(_dir, "sharded.gguf");
        ModelConverter.Convert(hf, output, ConversionType.F32);
        Assert.Equal(Logits(Golden("llama-untied")), Logits(output));
    }

    [Fact]
    public void ShardIndexNamingAMissingTensorIsAnError()
    {
        string hf = Export("llama-untied", shards: 2);
        string index = Path.Combine(hf, "model.safetensors.index.json");
        File.WriteAllText(index, File.ReadAllText(index).Replace("\"weight_map\":{", "\"weight_map\":{\"model.extra.weight\":\"model-00001-of-00002.safetensors\","));
        var e = Assert.ThrowsAny<HearthException>(() => ModelConverter.Convert(hf, Path.Combine(_dir, "x.gguf")));
        Assert.Contains("model.extra.weight", e.Message);
    }

    [Fact]
    public void UnknownArchitectureIsAnErrorNamingIt()
    {
        string hf = Export("llama-untied");
        string config = Path.Combine(hf, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("LlamaForCausalLM", "FalconMambaForCausalLM"));
        var e = Assert.ThrowsAny<HearthException>(() => ModelConverter.Convert(hf, Path.Combine(_dir, "x.gguf")));
        Assert.Contains("FalconMambaForCausalLM", e.Message);
        Assert.Contains("LlamaForCausalLM", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }

    [Fact]
    public void UnexpectedTensorIsAnErrorNamingIt()
    {
        string hf = Path.Combine(_dir, "hf-extra");
        HfExport.Write(Golden("qwen3"), hf);
        using (var golden = GgufFile.Open(Golden("qwen3")))
        {
            var w = new SafetensorsWriter();
            foreach (var (n, s, v) in HfExport.Tensors(golden)) w.Add(n, s, v);
            w.Add("model.layers.0.mlp.experts.0.weight", [4], new float[4]);
            w.Write(Path.Combine(hf, "model.safetensors"));
        }

        var e = Assert.ThrowsAny<HearthException>(() => ModelConverter.Convert(hf, Path.Combine(_dir, "x.gguf")));
        Assert.Contains("model.layers.0.mlp.experts.0.weight", e.Message);
    }

    [Fact]
    public void CliConvertWritesALoadableModel()
    {
        string hf = Export("gemma3");
        string output = Path.Combine(_dir, "cli.gguf");
        var o = new StringWriter();
        var err = new StringWriter();
        int code = HearthCommand.Run(["convert", hf, output, "--type", "F32"], new StringReader(""), o, err);
        Assert.True(code == 0, err.ToString());
        Assert.Contains("gemma3", o.ToString());
        Assert.Equal(Logits(Golden("gemma3")), Logits(output));

        code = HearthCommand.Run(["convert", hf, output, "--type", "Q4_K"], new StringReader(""), o, err);
        Assert.Equal(1, code);
        Assert.Contains("Q4_K", err.ToString());
    }

    [Fact]
    public void LlamaPermuteInterleavesRotaryHalvesPerHead()
    {
        // 2 heads of 4 rows, 1 column: HF rows [a0 a1 b0 b1 | c0 c1 d0 d1] (halves a|b, c|d) -> [a0 b0 a1 b1 | c0 d0 c1 d1].
        float[] w = [0, 1, 10, 11, 20, 21, 30, 31];
        ModelConverter.PermuteForLlamaRope(w, rows: 8, heads: 2);
        Assert.Equal([0, 10, 1, 11, 20, 30, 21, 31], w);
    }

    private static void AssertClose(float[] expected, float[] actual, double maxNmse)
    {
        Assert.Equal(expected.Length, actual.Length);
        double num = 0, den = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            num += (expected[i] - actual[i]) * (double)(expected[i] - actual[i]);
            den += expected[i] * (double)expected[i];
        }

        Assert.True(num / den < maxNmse, $"NMSE {num / den:E3} exceeds {maxNmse:E0}");
    }
}
