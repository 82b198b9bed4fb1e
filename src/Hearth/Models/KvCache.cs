namespace Hearth.Models;

/// <summary>Element type of a KV cache.</summary>
public enum KvCacheType
{
    F32,
    F16,
}

/// <summary>
/// One sequence's key/value cache: for each layer, <see cref="Context"/> rows of keys (HeadCountKv × KeyLength) and of
/// values (HeadCountKv × ValueLength). Sized once from the requested context; weights are shared, the cache is not.
/// </summary>
public sealed class KvCache
{
    private readonly float[][]? _k32;
    private readonly float[][]? _v32;
    private readonly Half[][]? _k16;
    private readonly Half[][]? _v16;

    /// <exception cref="ArgumentOutOfRangeException">The context is not positive or the cache would not fit in memory.</exception>
    public KvCache(HyperParameters hp, int context, KvCacheType type = KvCacheType.F32)
    {
        if (context <= 0) throw new ArgumentOutOfRangeException(nameof(context), $"context {context} must be positive");
        KeyWidth = hp.KvWidth;
        ValueWidth = hp.ValueWidth;
        long perLayer = (long)context * Math.Max(KeyWidth, ValueWidth);
        if (perLayer > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(context), $"context {context} makes a KV cache layer of {perLayer} elements, more than one array can hold");
        Context = context;
        Type = type;
        Layers = hp.BlockCount;
        if (type == KvCacheType.F32)
        {
            _k32 = Enumerable.Range(0, Layers).Select(_ => new float[(long)context * KeyWidth]).ToArray();
            _v32 = Enumerable.Range(0, Layers).Select(_ => new float[(long)context * ValueWidth]).ToArray();
        }
        else
        {
            _k16 = Enumerable.Range(0, Layers).Select(_ => new Half[(long)context * KeyWidth]).ToArray();
            _v16 = Enumerable.Range(0, Layers).Select(_ => new Half[(long)context * ValueWidth]).ToArray();
        }
    }

    public int Context { get; }

    public KvCacheType Type { get; }

    public int Layers { get; }

    public int KeyWidth { get; }

    public int ValueWidth { get; }

    /// <summary>Bytes the cache holds.</summary>
    public long ByteSize => (long)Layers * Context * (KeyWidth + ValueWidth) * (Type == KvCacheType.F32 ? 4 : 2);

    /// <summary>Bytes a cache of this shape would take, for planning before allocating.</summary>
    public static long EstimateBytes(HyperParameters hp, int context, KvCacheType type) =>
        (long)hp.BlockCount * context * (hp.KvWidth + hp.ValueWidth) * (type == KvCacheType.F32 ? 4 : 2);

    public void Store(int layer, int pos, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (_k32 != null)
        {
            k.CopyTo(_k32[layer].AsSpan(pos * KeyWidth, KeyWidth));
            v.CopyTo(_v32![layer].AsSpan(pos * ValueWidth, ValueWidth));
        }
        else
        {
            var kd = _k16![layer].AsSpan(pos * KeyWidth, KeyWidth);
            var vd = _v16![layer].AsSpan(pos * ValueWidth, ValueWidth);
            for (int i = 0; i < kd.Length; i++) kd[i] = (Half)k[i];
            for (int i = 0; i < vd.Length; i++) vd[i] = (Half)v[i];
        }
    }

    /// <summary>q · K[pos] for one KV head (offset in elements within the row).</summary>
    public float DotKey(int layer, int pos, int offset, ReadOnlySpan<float> q)
    {
        float sum = 0;
        if (_k32 != null)
        {
            var row = _k32[layer].AsSpan(pos * KeyWidth + offset, q.Length);
            for (int i = 0; i < q.Length; i++) sum += q[i] * row[i];
        }
        else
        {
            // As in the reference, the query is rounded to F16 to meet an F16 cache.
            var row = _k16![layer].AsSpan(pos * KeyWidth + offset, q.Length);
            for (int i = 0; i < q.Length; i++) sum += (float)(Half)q[i] * (float)row[i];
        }

        return sum;
    }

    /// <summary>acc += w · V[pos] for one KV head.</summary>
    public void AccumulateValue(int layer, int pos, int offset, float w, Span<float> acc)
    {
        if (_v32 != null)
        {
            var row = _v32[layer].AsSpan(pos * ValueWidth + offset, acc.Length);
            for (int i = 0; i < acc.Length; i++) acc[i] += w * row[i];
        }
        else
        {
            var row = _v16![layer].AsSpan(pos * ValueWidth + offset, acc.Length);
            float wh = (float)(Half)w;
            for (int i = 0; i < acc.Length; i++) acc[i] += wh * (float)row[i];
        }
    }
}

/// <summary>The sequence would run past the context its cache was sized for.</summary>
public sealed class ContextOverflowException : HearthException
{
    public ContextOverflowException(int position, int tokens, int context)
        : base($"context overflow: {tokens} more token(s) at position {position} would exceed the context of {context} tokens (use a larger --ctx)")
    {
        Position = position;
        Tokens = tokens;
        Context = context;
    }

    public int Position { get; }

    public int Tokens { get; }

    public int Context { get; }
}
