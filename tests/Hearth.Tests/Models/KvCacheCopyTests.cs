using Hearth.Models;

namespace Hearth.Tests.Models;

/// <summary><see cref="KvCache.CopyTo"/>: a range of positions of every layer, to the same positions, nothing else.</summary>
public sealed class KvCacheCopyTests
{
    private static readonly HyperParameters s_hp = Shape();

    private static HyperParameters Shape()
    {
        using var model = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"));
        return model.Transformer.Hp;
    }

    // A value that tells apart layers, positions, keys from values, odd from even elements and the two caches (by salt),
    // and that F16 holds exactly (multiples of 0.5 below 1024).
    private static float Value(int layer, int pos, int i, bool key, float salt) => salt + layer * 48 + pos * 2 + (key ? 0 : 1) + (i % 2) * 0.5f;

    private static KvCache Filled(int context, KvCacheType type, float salt)
    {
        var cache = new KvCache(s_hp, context, type);
        for (int l = 0; l < cache.Layers; l++)
        {
            for (int p = 0; p < context; p++)
            {
                var k = Enumerable.Range(0, cache.KeyWidth).Select(i => Value(l, p, i, true, salt)).ToArray();
                var v = Enumerable.Range(0, cache.ValueWidth).Select(i => Value(l, p, i, false, salt)).ToArray();
                cache.Store(l, p, k, v);
            }
        }

        return cache;
    }

    // Reads a row back through the cache's own arithmetic: a one-hot query picks one key element, weight 1 one value row.
    private static (float[] K, float[] V) Row(KvCache cache, int layer, int pos)
    {
        var scratch = new float[Math.Max(cache.KeyWidth, cache.ValueWidth)];
        var k = new float[cache.KeyWidth];
        for (int i = 0; i < k.Length; i++)
        {
            var q = new float[cache.KeyWidth];
            q[i] = 1;
            k[i] = cache.DotKey(layer, pos, 0, q, scratch);
        }

        var v = new float[cache.ValueWidth];
        cache.AccumulateValue(layer, pos, 0, 1f, v, scratch);
        return (k, v);
    }

    [Theory]
    [InlineData(KvCacheType.F32)]
    [InlineData(KvCacheType.F16)]
    public void ARangeIsCopiedToTheSamePositionsAndNothingElseChanges(KvCacheType type)
    {
        var source = Filled(12, type, salt: 0);
        var destination = Filled(20, type, salt: 400);
        source.CopyTo(destination, 3, 6);
        for (int l = 0; l < s_hp.BlockCount; l++)
        {
            for (int p = 0; p < 20; p++)
            {
                float salt = p is >= 3 and < 9 ? 0 : 400;
                var (k, v) = Row(destination, l, p);
                Assert.Equal(Enumerable.Range(0, k.Length).Select(i => Value(l, p, i, true, salt)), k);
                Assert.Equal(Enumerable.Range(0, v.Length).Select(i => Value(l, p, i, false, salt)), v);
            }
        }
    }

    [Fact]
    public void MismatchedCachesAndRangesAreRefused()
    {
        var source = Filled(8, KvCacheType.F32, salt: 0);
        Assert.Throws<ArgumentException>(() => source.CopyTo(new KvCache(s_hp, 8, KvCacheType.F16), 0, 1));
        var wider = s_hp with { HeadCountKv = s_hp.HeadCountKv * 2 };
        Assert.Throws<ArgumentException>(() => source.CopyTo(new KvCache(wider, 8), 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.CopyTo(new KvCache(s_hp, 4), 0, 5)); // past the destination
        Assert.Throws<ArgumentOutOfRangeException>(() => source.CopyTo(new KvCache(s_hp, 16), 4, 5)); // past the source
        Assert.Throws<ArgumentOutOfRangeException>(() => source.CopyTo(new KvCache(s_hp, 16), -1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => source.CopyTo(new KvCache(s_hp, 16), 0, -1));
        source.CopyTo(new KvCache(s_hp, 16), 8, 0); // an empty range at the end is fine
    }
}
