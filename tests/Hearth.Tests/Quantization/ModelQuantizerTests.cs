using Hearth.Gguf;
using Hearth.Models;
using Hearth.Quantization;
using Hearth.Tensors;
using Hearth.Tests.Models;
using Xunit.Abstractions;

namespace Hearth.Tests.Quantization;

/// <summary>
/// <see cref="ModelQuantizer"/> against llama-quantize: every golden F32 parity model converted to the type of each of
/// its reference-quantized siblings, tensor by tensor, and the converted models' logits against the golden logits.
/// </summary>
public sealed class ModelQuantizerTests(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] s_siblingTypes = ["F16", "BF16", "Q8_0", "Q6_K", "Q5_0", "Q5_1", "Q4_0", "Q4_1", "Q4_K_M", "Q3_K_M", "Q2_K"];

    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-quantize-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>(F32 source, reference sibling) for every sibling of a quantized type in ../shared/golden/models.</summary>
    public static TheoryData<string, string> Siblings()
    {
        var data = new TheoryData<string, string>();
        foreach (var source in Directory.GetFiles(TestData.Path("golden", "models"), "parity-*.F32.gguf").Order(StringComparer.Ordinal))
        {
            string stem = Path.GetFileName(source)[..^".F32.gguf".Length];
            foreach (var type in s_siblingTypes)
            {
                if (File.Exists(TestData.Path("golden", "models", $"{stem}.{type}.gguf"))) data.Add(stem, type);
            }
        }

        return data;
    }

    private string Quantize(string stem, string type, bool allowRequantize = false)
    {
        var path = Path.Combine(_dir, $"{stem}.{type}.gguf");
        ModelQuantizer.Quantize(TestData.Path("golden", "models", $"{stem}.F32.gguf"), path,
            new ModelQuantizerOptions { FileType = LlamaFileTypes.Parse(type), AllowRequantize = allowRequantize, Threads = 3 });
        return path;
    }

    [Theory]
    [MemberData(nameof(Siblings))]
    public void TensorsMatchLlamaQuantize(string stem, string type)
    {
        var path = Quantize(stem, type);
        using var source = GgufFile.Open(TestData.Path("golden", "models", $"{stem}.F32.gguf"));
        using var reference = GgufFile.Open(TestData.Path("golden", "models", $"{stem}.{type}.gguf"));
        using var ours = GgufFile.Open(path);

        Assert.Equal(reference.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal), ours.Tensors.Select(t => t.Name).Order(StringComparer.Ordinal));
        int identical = 0;
        foreach (var r in reference.Tensors)
        {
            var o = ours.FindTensor(r.Name)!;
            var s = source.FindTensor(r.Name)!;
            Assert.True(r.Type == o.Type, $"{r.Name}: {o.Type}, llama-quantize wrote {r.Type}");
            Assert.Equal(r.Shape, o.Shape);
            if (ours.TensorData(o).SequenceEqual(reference.TensorData(r)))
            {
                identical++;
                continue;
            }

            double rmseOurs = Rmse(source, s, ours, o), rmseRef = Rmse(source, s, reference, r);
            output.WriteLine($"{r.Name} ({r.Type}): not byte-identical; RMSE {rmseOurs:E4} vs llama-quantize {rmseRef:E4}");
            Assert.True(rmseOurs <= 1.01 * rmseRef + 1e-12, $"{r.Name} ({r.Type}): RMSE {rmseOurs:E4} > 1.01 × llama-quantize's {rmseRef:E4}");
        }

        output.WriteLine($"{stem} {type}: {identical}/{reference.Tensors.Count} tensors byte-identical to llama-quantize's");
        Assert.Equal(reference.Tensors.Count, identical);
    }

    [Theory]
    [MemberData(nameof(Siblings))]
    public void MetadataIsCopiedAndTheFileTypeSet(string stem, string type)
    {
        var path = Quantize(stem, type);
        using var source = GgufFile.Open(TestData.Path("golden", "models", $"{stem}.F32.gguf"));
        using var reference = GgufFile.Open(TestData.Path("golden", "models", $"{stem}.{type}.gguf"));
        using var ours = GgufFile.Open(path);
        foreach (var kv in source.MetadataList)
        {
            if (kv.Key is "general.file_type" or "general.quantization_version") continue;
            var o = ours.Get(kv.Key);
            Assert.True(o != null, $"{kv.Key} was not copied");
            Assert.Equal(kv.Value.Type, o.Type);
            AssertSameValue(kv.Key, kv.Value.Value, o.Value);
        }

        Assert.Equal((long)LlamaFileTypes.Parse(type), ours.GetInteger("general.file_type"));
        Assert.Equal(reference.GetInteger("general.file_type"), ours.GetInteger("general.file_type"));
        Assert.Equal(2L, ours.GetInteger("general.quantization_version"));
        Assert.Equal(source.Alignment, ours.Alignment);
        foreach (var t in ours.Tensors) Assert.Equal(0UL, t.Offset % ours.Alignment);
    }

    public static TheoryData<string> GoldenQuantizedCases()
    {
        var data = new TheoryData<string>();
        foreach (var c in GoldenCase.All)
        {
            if (c.Lora != null || !s_siblingTypes.Contains(c.Type)) continue;
            var stem = Path.GetFileName(c.Model)[..^(c.Type.Length + ".gguf".Length + 1)];
            if (File.Exists(TestData.Path("golden", "models", $"{stem}.F32.gguf"))) data.Add(c.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(GoldenQuantizedCases))]
    public void QuantizedModelLogitsMeetTheGoldenTolerance(string name)
    {
        var c = GoldenCase.All.Single(g => g.Name == name && g.Lora == null);
        var stem = Path.GetFileName(c.Model)[..^(c.Type.Length + ".gguf".Length + 1)];
        var path = Quantize(stem, c.Type);
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 2, Context = 64 });
        var logits = model.EvaluateAll(c.Tokens);
        double worst = LogitComparison.AssertMatches(logits, c.ReadLogits(f16Cache: false), c.Vocab, c.Tolerance, name);
        output.WriteLine($"{name} from Hearth's quantizer: worst NMSE {worst:E3} (tolerance {c.Tolerance:E0})");
    }

    [Fact]
    public void RequantizingIsRefusedUnlessAllowed()
    {
        var q8 = TestData.Path("golden", "models", "parity-llama-untied.Q8_0.gguf");
        var outPath = Path.Combine(_dir, "re.gguf");
        var e = Assert.Throws<QuantizationException>(() => ModelQuantizer.Quantize(q8, outPath, new ModelQuantizerOptions { FileType = LlamaFileType.Q4_0 }));
        Assert.Contains("already quantized (Q8_0)", e.Message);
        Assert.Contains("--allow-requantize", e.Message);
        Assert.False(File.Exists(outPath));

        // Allowed: every converted tensor equals quantizing the dequantized Q8_0 data directly.
        var result = ModelQuantizer.Quantize(q8, outPath, new ModelQuantizerOptions { FileType = LlamaFileType.Q4_0, AllowRequantize = true, Threads = 2 });
        using var src = GgufFile.Open(q8);
        using var ours = GgufFile.Open(outPath);
        foreach (var t in result.Tensors.Where(t => t.Converted))
        {
            var s = src.FindTensor(t.Name)!;
            var floats = new float[s.ElementCount];
            Quants.Dequantize(s.Type, src.TensorData(s), floats);
            var expected = new byte[t.ByteSize];
            Quants.Quantize(t.Type, floats, expected);
            Assert.True(expected.AsSpan().SequenceEqual(ours.TensorData(ours.FindTensor(t.Name)!)), t.Name);
        }

        Assert.Contains(result.Tensors, t => t.SourceType == GgmlType.Q8_0 && t.Type == GgmlType.Q4_0);
    }

    [Fact]
    public void F16SourcesNeedNoPermissionAndSameTypeTensorsAreCopied()
    {
        var f16 = TestData.Path("golden", "models", "parity-qwen2.F16.gguf");
        var outPath = Path.Combine(_dir, "f16.gguf");
        var result = ModelQuantizer.Quantize(f16, outPath, new ModelQuantizerOptions { FileType = LlamaFileType.F16 });
        Assert.DoesNotContain(result.Tensors, t => t.Converted);
        using var src = GgufFile.Open(f16);
        using var ours = GgufFile.Open(outPath);
        foreach (var t in src.Tensors) Assert.True(src.TensorData(t).SequenceEqual(ours.TensorData(ours.FindTensor(t.Name)!)), t.Name);
    }

    [Fact]
    public void ProgressEndsAtOneAndThreadCountDoesNotChangeTheFile()
    {
        var src = TestData.Path("golden", "models", "parity-gemma2.F32.gguf");
        var reports = new List<double>();
        var a = Path.Combine(_dir, "a.gguf");
        var b = Path.Combine(_dir, "b.gguf");
        ModelQuantizer.Quantize(src, a, new ModelQuantizerOptions { FileType = LlamaFileType.Q4_K_M, Threads = 1 }, new SyncProgress(reports));
        ModelQuantizer.Quantize(src, b, new ModelQuantizerOptions { FileType = LlamaFileType.Q4_K_M, Threads = 4 });
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal(1.0, reports[^1]);
        Assert.True(reports.Zip(reports.Skip(1)).All(p => p.Second >= p.First), "progress went backwards");
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var src = TestData.Path("golden", "models", "parity-qwen2.F32.gguf");
        Assert.Throws<ArgumentException>(() => ModelQuantizer.Quantize(src, src, new ModelQuantizerOptions()));
        Assert.Throws<NotSupportedException>(() => ModelQuantizer.Quantize(src, Path.Combine(_dir, "x.gguf"), new ModelQuantizerOptions { FileType = LlamaFileType.IQ2_XXS }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelQuantizer.Quantize(src, Path.Combine(_dir, "x.gguf"), new ModelQuantizerOptions { Threads = -1 }));
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }

    /// <summary>RMSE of a tensor (dequantized) against the F32 source, in double precision.</summary>
    private static double Rmse(GgufFile source, GgufTensorInfo s, GgufFile file, GgufTensorInfo t)
    {
        var reference = new float[s.ElementCount];
        Quants.Dequantize(s.Type, source.TensorData(s), reference);
        var values = new float[t.ElementCount];
        Quants.Dequantize(t.Type, file.TensorData(t), values);
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            double d = (double)values[i] - reference[i];
            sum += d * d;
        }

        return Math.Sqrt(sum / values.Length);
    }

    private static void AssertSameValue(string key, object expected, object actual)
    {
        if (expected is GgufArray ea)
        {
            var aa = Assert.IsType<GgufArray>(actual);
            Assert.Equal(ea.ElementType, aa.ElementType);
            Assert.True(ea.Items.Cast<object?>().SequenceEqual(aa.Items.Cast<object?>()), $"{key}: array differs");
            return;
        }

        Assert.True(Equals(expected, actual), $"{key}: {actual} != {expected}");
    }

    private sealed class SyncProgress(List<double> reports) : IProgress<double>
    {
        public void Report(double value) => reports.Add(value);
    }
}
