using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

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
/// <remarks>
/// An F32 cache keeps its keys transposed, element by element: element e of every position's key row in one run of
/// <see cref="Context"/> floats (<see cref="KeysTransposed32"/>), so attention adds up the scores of many positions
/// lane by lane. Values, and an F16 cache, are kept row by row.
/// </remarks>
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
            // A block of overhang: attention reads whole blocks of positions, past the last one of the last element.
            _k32 = Enumerable.Range(0, Layers).Select(_ => new float[(long)context * KeyWidth + TransposedOverhang]).ToArray();
            _v32 = Enumerable.Range(0, Layers).Select(_ => new float[(long)context * ValueWidth]).ToArray();
        }
        else
        {
            _k16 = Enumerable.Range(0, Layers).Select(_ => new Half[(long)context * KeyWidth]).ToArray();
            _v16 = Enumerable.Range(0, Layers).Select(_ => new Half[(long)context * ValueWidth]).ToArray();
        }
    }

    public int Context { get; }

    /// <summary>Floats readable past the end of <see cref="KeysTransposed32"/> (whose values mean nothing).</summary>
    internal const int TransposedOverhang = 64;

    public KvCacheType Type { get; }

    public int Layers { get; }

    public int KeyWidth { get; }

    public int ValueWidth { get; }

    /// <summary>Bytes the cache holds.</summary>
    public long ByteSize => (long)Layers * Context * (KeyWidth + ValueWidth) * (Type == KvCacheType.F32 ? 4 : 2);

    /// <summary>Bytes a cache of this shape would take, for planning before allocating.</summary>
    public static long EstimateBytes(HyperParameters hp, int context, KvCacheType type) =>
        (long)hp.BlockCount * context * (hp.KvWidth + hp.ValueWidth) * (type == KvCacheType.F32 ? 4 : 2);

    /// <summary>
    /// Writes zeros to every row from <paramref name="position"/> on, so that the whole cache is resident in memory as
    /// it would be after a full-context run (a fresh array's pages are only mapped when first written). Filled rows below
    /// <paramref name="position"/> are kept.
    /// </summary>
    internal void TouchFrom(int position)
    {
        position = Math.Clamp(position, 0, Context);
        for (int l = 0; l < Layers; l++)
        {
            if (_k32 != null)
            {
                for (int e = 0; e < KeyWidth; e++)
                {
                    _k32[l].AsSpan(e * Context + position, Context - position).Clear();
                }

                _v32![l].AsSpan(position * ValueWidth).Clear();
            }
            else
            {
                _k16![l].AsSpan(position * KeyWidth).Clear();
                _v16![l].AsSpan(position * ValueWidth).Clear();
            }
        }
    }

    /// <summary>
    /// Copies the keys and values of positions <paramref name="start"/> .. <paramref name="start"/> + <paramref name="count"/> − 1
    /// of every layer into the same positions of <paramref name="destination"/>; its other positions are left as they are.
    /// Rows keep their position because a key carries the rotary embedding of the position it was computed at. Copying a
    /// range onto itself does nothing.
    /// </summary>
    /// <exception cref="ArgumentException">The destination has another shape (layers, key or value width) or element type.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The range is negative or runs past either cache's context.</exception>
    public void CopyTo(KvCache destination, int start, int count)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Layers != Layers || destination.KeyWidth != KeyWidth || destination.ValueWidth != ValueWidth || destination.Type != Type)
        {
            throw new ArgumentException(
                $"cannot copy a {Type} cache of {Layers} layers × (keys {KeyWidth}, values {ValueWidth}) into a {destination.Type} cache of {destination.Layers} layers × (keys {destination.KeyWidth}, values {destination.ValueWidth})",
                nameof(destination));
        }

        if (start < 0 || count < 0 || (long)start + count > Math.Min(Context, destination.Context))
        {
            throw new ArgumentOutOfRangeException(nameof(count),
                $"positions {start}..{(long)start + count - 1} do not fit: the caches hold {Context} and {destination.Context} positions");
        }

        if (count == 0 || ReferenceEquals(destination, this)) return;
        for (int l = 0; l < Layers; l++)
        {
            if (_k32 != null)
            {
                // Keys are transposed: each element's run of positions moves on its own (the contexts may differ).
                for (int e = 0; e < KeyWidth; e++)
                {
                    _k32[l].AsSpan(e * Context + start, count).CopyTo(destination._k32![l].AsSpan(e * destination.Context + start));
                }

                _v32![l].AsSpan(start * ValueWidth, count * ValueWidth).CopyTo(destination._v32![l].AsSpan(start * ValueWidth));
            }
            else
            {
                _k16![l].AsSpan(start * KeyWidth, count * KeyWidth).CopyTo(destination._k16![l].AsSpan(start * KeyWidth));
                _v16![l].AsSpan(start * ValueWidth, count * ValueWidth).CopyTo(destination._v16![l].AsSpan(start * ValueWidth));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Store(int layer, int pos, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
    {
        if (_k32 != null)
        {
            var keys = _k32[layer];
            for (int e = 0; e < KeyWidth; e++)
            {
                keys[e * Context + pos] = k[e];
            }

            v.CopyTo(_v32![layer].AsSpan(pos * ValueWidth, ValueWidth));
        }
        else
        {
            TensorPrimitives.ConvertToHalf(k, _k16![layer].AsSpan(pos * KeyWidth, KeyWidth));
            TensorPrimitives.ConvertToHalf(v, _v16![layer].AsSpan(pos * ValueWidth, ValueWidth));
        }
    }

    /// <summary>
    /// q · K[pos] for one KV head (offset in elements within the row). With an F16 cache the query must already be
    /// rounded to F16 values (as the reference rounds it to meet the cache); <paramref name="scratch"/> holds the
    /// widened (or, for F32, gathered) key row (at least q.Length floats).
    /// </summary>
    public float DotKey(int layer, int pos, int offset, ReadOnlySpan<float> q, Span<float> scratch)
    {
        if (_k32 != null)
        {
            var keys = _k32[layer];
            var row = scratch[..q.Length];
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = keys[(offset + i) * Context + pos];
            }

            return TensorPrimitives.Dot(q, row);
        }

        var wide = scratch[..q.Length];
        TensorPrimitives.ConvertToSingle(_k16![layer].AsSpan(pos * KeyWidth + offset, q.Length), wide);
        return TensorPrimitives.Dot(q, wide);
    }

    /// <summary>acc += w · V[pos] for one KV head; with an F16 cache, w is rounded to F16 as the reference does.</summary>
    public void AccumulateValue(int layer, int pos, int offset, float w, Span<float> acc, Span<float> scratch)
    {
        if (_v32 != null)
        {
            TensorPrimitives.MultiplyAdd(_v32[layer].AsSpan(pos * ValueWidth + offset, acc.Length), w, acc, acc);
            return;
        }

        var wide = scratch[..acc.Length];
        TensorPrimitives.ConvertToSingle(_v16![layer].AsSpan(pos * ValueWidth + offset, acc.Length), wide);
        TensorPrimitives.MultiplyAdd(wide, (float)(Half)w, acc, acc);
    }

    /// <summary>
    /// Layer <paramref name="layer"/>'s keys, transposed: element e of position p at [e · Context + p] (followed by
    /// <see cref="TransposedOverhang"/> spare floats), or null for an F16 cache.
    /// </summary>
    internal float[]? KeysTransposed32(int layer) => _k32?[layer];

    /// <summary>Layer <paramref name="layer"/>'s values, [Context][ValueWidth], or null for an F16 cache.</summary>
    internal float[]? Values32(int layer) => _v32?[layer];

    /// <summary>Rounds a query to F16 values in place when the cache is F16 (a no-op for F32).</summary>
    public void PrepareQuery(Span<float> q)
    {
        if (Type != KvCacheType.F16) return;
        for (int i = 0; i < q.Length; i++) q[i] = (float)(Half)q[i];
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
