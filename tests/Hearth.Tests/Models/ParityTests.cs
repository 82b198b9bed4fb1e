using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Xunit.Abstractions;

namespace Hearth.Tests.Models;

/// <summary>Logits of every golden model at every position against llama.cpp's, with the MANIFEST's tolerances.</summary>
public sealed class ParityTests(ITestOutputHelper output)
{
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in GoldenCase.All)
        {
            data.Add(c.Name, false);
            data.Add(c.Name, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LogitsMatchTheReference(string name, bool f16Cache)
    {
        var c = GoldenCase.All.Single(g => g.Name == name);
        using var file = GgufFile.Open(TestData.Path("golden", c.Model));
        var model = ArchitectureRegistry.Resolve(file).Build(file, 512);
        Assert.Equal(c.Arch, model.Hp.Architecture);
        var state = new InferenceState(model, c.Tokens.Length, batchSize: c.Tokens.Length, f16Cache ? KvCacheType.F16 : KvCacheType.F32);
        using var adapter = c.Lora != null ? LoraAdapter.Load(TestData.Path("golden", c.Lora), model) : null;
        if (adapter != null) state.SetAdapters([new ActiveAdapter(adapter, (float)c.LoraScale)]);
        var logits = new float[c.Tokens.Length * model.VocabSize];
        model.Forward(state, c.Tokens, logits, allLogits: true);
        double worst = LogitComparison.AssertMatches(logits, c.ReadLogits(f16Cache), c.Vocab, c.Tolerance, $"{name} kv{(f16Cache ? "f16" : "f32")}");
        output.WriteLine($"{name} kv{(f16Cache ? "f16" : "f32")}: worst NMSE {worst:E3} (tolerance {c.Tolerance:E0})");
    }
}
