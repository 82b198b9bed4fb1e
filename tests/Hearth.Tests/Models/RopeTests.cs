using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Blocks;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Models;

public sealed class RopeTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(RopeLayout.Normal)]
    [InlineData(RopeLayout.NeoX)]
    public void RotationMatchesAFloat64Reference(RopeLayout layout)
    {
        const int headDim = 16, nRot = 12, heads = 2, pos = 7;
        const double freqBase = 10000;
        var rng = new Random(3);
        var x = Enumerable.Range(0, heads * headDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var expected = x.Select(v => (double)v).ToArray();
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < nRot / 2; i++)
            {
                double theta = pos * Math.Pow(freqBase, -2.0 * i / nRot);
                int a = h * headDim + (layout == RopeLayout.Normal ? 2 * i : i);
                int b = h * headDim + (layout == RopeLayout.Normal ? 2 * i + 1 : i + nRot / 2);
                double x0 = x[a], x1 = x[b];
                expected[a] = x0 * Math.Cos(theta) - x1 * Math.Sin(theta);
                expected[b] = x0 * Math.Sin(theta) + x1 * Math.Cos(theta);
            }
        }

        new Rope(nRot, (float)freqBase, 1f, 1f, null, layout).Apply(x, headDim, pos);
        for (int i = 0; i < x.Length; i++) Assert.Equal(expected[i], x[i], 5);
    }

    [Theory]
    [InlineData(RopeLayout.Normal)]
    [InlineData(RopeLayout.NeoX)]
    public void RotatingQueriesAndKeysTogetherGivesTheSameBitsAsOneAtATime(RopeLayout layout)
    {
        // Different head counts for q and k (grouped-query attention), partial rotation, factors and scaling.
        const int headDim = 32;
        var rope = new Rope(24, 500000f, 0.5f, 1.25f, Enumerable.Range(0, 12).Select(i => 1f + i / 7f).ToArray(), layout);
        var rng = new Random(5);
        var q = Enumerable.Range(0, 6 * headDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var k = Enumerable.Range(0, 2 * headDim).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        foreach (int pos in new[] { 0, 1, 37, 4095 })
        {
            var q1 = q.ToArray();
            var k1 = k.ToArray();
            rope.Apply(q1, headDim, pos);
            rope.Apply(k1, headDim, pos);
            var q2 = q.ToArray();
            var k2 = k.ToArray();
            rope.Apply(q2, k2, headDim, pos);
            Assert.Equal(q1, q2);
            Assert.Equal(k1, k2);
        }
    }

    [Fact]
    public void Llama3FactorsKeepHighFrequenciesAndSlowLowOnes()
    {
        // Llama 3.1's published settings: base 500000, factor 8, low 1, high 4, original context 8192, head_dim 128.
        var f = Rope.Llama3Factors(128, 500000f, 8f, 1f, 4f, 8192);
        Assert.Equal(64, f.Length);
        Assert.Equal(1f, f[0]);
        Assert.Equal(8f, f[63]);
        for (int i = 0; i < 64; i++)
        {
            double wavelen = 2 * Math.PI * Math.Pow(500000, 2.0 * i / 128);
            if (wavelen < 8192 / 4.0) Assert.Equal(1f, f[i]);
            else if (wavelen > 8192) Assert.Equal(8f, f[i]);
            else Assert.InRange(f[i], 1f, 8f);
        }

        Assert.True(f.Zip(f.Skip(1)).All(p => p.Second >= p.First), "factors grow with wavelength");
    }

    private string WithMetadata(string source, Action<GgufWriter> metadata, params (string Name, float[] Data)[] extra) =>
        ModelVariants.Write(_files, source, metadata, null, extra);

    private static float[] Logits(string path, int context = 0)
    {
        using var m = LanguageModel.Load(path, new ModelLoadOptions { Context = context });
        return m.EvaluateAll([1, 15, 27, 100, 200, 300]);
    }

    [Fact]
    public void UniformRopeFreqsTensorEqualsLinearScaling()
    {
        // Dividing every frequency by 2 is the same as linear position scaling by 1/2: two independent code paths.
        var llama = TestData.Path("golden", "models", "parity-llama-tied.F32.gguf");
        var withFreqs = WithMetadata(llama, _ => { }, ("rope_freqs.weight", Enumerable.Repeat(2f, 16).ToArray()));
        var linear = WithMetadata(llama, w => w.Set("llama.rope.scaling.type", "linear").Set("llama.rope.scaling.factor", 2f));
        var plain = Logits(llama);
        var a = Logits(withFreqs);
        var b = Logits(linear);
        for (int i = 0; i < a.Length; i++) Assert.Equal(b[i], a[i], 4);
        Assert.True(LogitComparison.Nmse(a, plain) > 1e-8, "the factors must change the logits");
    }

    [Fact]
    public void Phi3PicksShortFactorsWithinTheOriginalContextAndLongBeyondIt()
    {
        var phi = TestData.Path("golden", "models", "parity-phi3.F32.gguf");
        var withFactors = WithMetadata(phi, w => w.Set("phi3.rope.scaling.original_context_length", 256u),
            ("rope_factors_short.weight", Enumerable.Repeat(1f, 12).ToArray()),
            ("rope_factors_long.weight", Enumerable.Repeat(3f, 12).ToArray()));
        var linear3 = WithMetadata(phi, w => w.Set("phi3.rope.scaling.type", "linear").Set("phi3.rope.scaling.factor", 3f));
        var shortCtx = Logits(withFactors, context: 256);
        var longCtx = Logits(withFactors, context: 512);
        var plain = Logits(phi);
        var stretched = Logits(linear3);
        for (int i = 0; i < plain.Length; i++)
        {
            Assert.Equal(plain[i], shortCtx[i], 4);
            Assert.Equal(stretched[i], longCtx[i], 4);
        }
    }
}
