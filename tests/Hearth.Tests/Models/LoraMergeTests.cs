using Hearth.Cli;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Hearth.Models.Lora;
using Hearth.Tensors;

namespace Hearth.Tests.Models;

/// <summary>Merging adapters into the weights gives the model that applying them at run time gives.</summary>
public sealed class LoraMergeTests : IDisposable
{
    private static readonly string s_adapter = TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf");
    private static readonly int[] s_tokens = [1, 15, 27, 100, 200, 300, 42, 7, 511, 3, 64, 128];
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-merge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Base(string type) => TestData.Path("golden", "models", $"parity-llama-untied.{type}.gguf");

    /// <summary>Logits of every position of <see cref="s_tokens"/>, with adapters applied at run time.</summary>
    private static float[] Logits(string path, params (string Adapter, float Scale)[] adapters)
    {
        using var file = GgufFile.Open(path);
        var model = ArchitectureRegistry.Resolve(file).Build(file, 64);
        var loaded = adapters.Select(a => new ActiveAdapter(LoraAdapter.Load(a.Adapter, model), a.Scale)).ToList();
        try
        {
            var state = new InferenceState(model, 64, s_tokens.Length);
            state.SetAdapters(loaded);
            var logits = new float[s_tokens.Length * model.VocabSize];
            model.Forward(state, s_tokens, logits, allLogits: true);
            return logits;
        }
        finally
        {
            foreach (var a in loaded) a.Adapter.Dispose();
        }
    }

    private static double MaxAbsDiff(float[] x, float[] y) => x.Zip(y, (a, b) => Math.Abs((double)a - b)).Max();

    private static double Nmse(float[] x, float[] reference) =>
        x.Zip(reference, (a, b) => ((double)a - b) * ((double)a - b)).Sum() / reference.Sum(b => (double)b * b);

    [Fact]
    public void MergedF32ModelGivesTheRuntimeAdapterLogits()
    {
        var second = Hearth.Tests.Serving.SchedulerAdapterTests.WriteSecondAdapter(_dir);
        var merged = Path.Combine(_dir, "merged.gguf");
        var changed = LoraMerger.Merge(Base("F32"), [new AdapterReference(s_adapter, 0.75f), new AdapterReference(second, 1.5f)], merged);
        Assert.Equal(6, changed.Count);
        var expected = Logits(Base("F32"), (s_adapter, 0.75f), (second, 1.5f));
        var actual = Logits(merged);
        Assert.True(MaxAbsDiff(actual, expected) < 1e-4, $"max |diff| {MaxAbsDiff(actual, expected):E3}");
        Assert.True(MaxAbsDiff(Logits(Base("F32")), expected) > 1e-2); // the adapters matter

        // Only the targeted weights changed; everything else is copied byte for byte.
        using var b = GgufFile.Open(Base("F32"));
        using var m = GgufFile.Open(merged);
        foreach (var t in b.Tensors)
        {
            var mt = m.FindTensor(t.Name)!;
            Assert.Equal(t.Type, mt.Type);
            Assert.Equal(!changed.Contains(t.Name), b.TensorData(t).SequenceEqual(m.TensorData(mt)));
        }
    }

    [Fact]
    public void QuantizedBasesAreRequantizedToTheirTypeOrWrittenAsFloat()
    {
        var q8 = Path.Combine(_dir, "q8.gguf");
        LoraMerger.Merge(Base("Q8_0"), [new AdapterReference(s_adapter)], q8);
        using (var f = GgufFile.Open(q8)) Assert.Equal(GgmlType.Q8_0, f.FindTensor("blk.0.attn_q.weight")!.Type);
        var expected = Logits(Base("Q8_0"), (s_adapter, 1f));
        // Requantizing moves the weights by a Q8_0 rounding: the golden MANIFEST's tolerance for Q8_0 models bounds it.
        Assert.True(Nmse(Logits(q8), expected) < 2e-3, $"NMSE {Nmse(Logits(q8), expected):E3}");

        var f16 = Path.Combine(_dir, "f16.gguf");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HearthCommand.Run(["export", Base("Q8_0"), f16, "--merge-lora", s_adapter + ":1", "--type", "f16"], new StringReader(""), o, e);
        Assert.True(code == 0, e.ToString());
        Assert.Contains("4 weights", o.ToString());
        using (var f = GgufFile.Open(f16))
        {
            Assert.Equal(GgmlType.F16, f.FindTensor("blk.0.attn_q.weight")!.Type);
            Assert.Equal(GgmlType.Q8_0, f.FindTensor("blk.0.attn_k.weight")!.Type);
        }

        // The run-time reference multiplies the Q8_0 weights with Q8_0-rounded activations, the merged F16 weights with
        // F16 ones: the difference is again a Q8_0 rounding, within the MANIFEST's Q8_0 tolerance.
        Assert.True(Nmse(Logits(f16), expected) < 2e-3, $"NMSE {Nmse(Logits(f16), expected):E3}");
    }

    [Fact]
    public void BadRequestsAreRefused()
    {
        Assert.Throws<ArgumentException>(() => LoraMerger.Merge(Base("F32"), [], Path.Combine(_dir, "x.gguf")));
        Assert.Throws<ArgumentException>(() => LoraMerger.Merge(Base("F32"), [new AdapterReference(s_adapter)], Base("F32")));
        Assert.Throws<ArgumentException>(() => LoraMerger.Merge(Base("F32"), [new AdapterReference(s_adapter)], Path.Combine(_dir, "x.gguf"), new LoraMergeOptions { Type = GgmlType.Q4_0 }));
        Assert.Throws<ModelFormatException>(() => LoraMerger.Merge(TestData.Path("models", "stories260K.gguf"), [new AdapterReference(s_adapter)], Path.Combine(_dir, "x.gguf")));
        Assert.False(File.Exists(Path.Combine(_dir, "x.gguf")));
    }
}
