using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Hearth.Tensors;

namespace Hearth.Models.Blocks;

/// <summary>
/// Scaled dot-product attention of a batch of queries against a sequence's KV cache, with grouped-query heads, the
/// causal mask, an optional sliding window and optional soft-capping. The (token, KV head) pairs are shared out over the
/// compute pool from a shared counter (so a worker the system deschedules holds up nothing it has not started); each
/// worker has its own score and conversion scratch, so the work allocates nothing.
/// </summary>
/// <remarks>
/// With an F32 cache (keys stored transposed, see <see cref="KvCache"/>) the query heads that share a KV head are done
/// together: the scores of a block of positions build up lane by lane (one position per lane) from broadcast query
/// elements, so no dot product ends in a horizontal sum, and every position gets exactly the same arithmetic whether it
/// is scored for a prompt or for one decoded token. Each output row then stays in registers while the value rows are
/// added in. An F16 cache widens each key and value row first (through the cache's own helpers).
/// </remarks>
internal sealed class AttentionWork : IChunkedComputeWork
{
    private float[][] _scores = [];
    private float[][] _wide = [];

    private KvCache _cache = null!;
    private float[] _q = [];
    private float[] _out = [];
    private int _layer, _n, _pos0, _window, _heads, _kvHeads, _keyLength, _valueLength;
    private float _scale, _softCap;
    private int _next;

    /// <summary>Positions scored per pass: four vectors.</summary>
    private static int Block => 4 * Vector<float>.Count;

    /// <summary>Sets up one layer's attention. <paramref name="q"/> is [n][heads·keyLength] (rounded for an F16 cache
    /// by the caller), <paramref name="output"/> [n][heads·valueLength].</summary>
    public void Prepare(KvCache cache, int layer, float[] q, float[] output, int n, int pos0, int window, HyperParameters hp, float scale, float softCap, int workers)
    {
        _cache = cache;
        _layer = layer;
        _q = q;
        _out = output;
        _n = n;
        _pos0 = pos0;
        _window = window;
        _heads = hp.HeadCount;
        _kvHeads = hp.HeadCountKv;
        _keyLength = hp.KeyLength;
        _valueLength = hp.ValueLength;
        _scale = scale;
        _softCap = softCap;
        _next = 0;
        int group = hp.HeadCount / hp.HeadCountKv;
        if (_scores.Length < workers || (_scores.Length > 0 && _scores[0].Length < group * ScoreStride(cache.Context))) Allocate(workers, group * ScoreStride(cache.Context), Math.Max(hp.KeyLength, hp.ValueLength));
    }

    /// <summary>Floats per query head in a worker's score buffer: the context plus a block of overhang.</summary>
    private static int ScoreStride(int context) => context + Block;

    // Kept out of Prepare: lambdas there would allocate their closure on every call, not just when buffers grow.
    private void Allocate(int workers, int scores, int width)
    {
        _scores = Enumerable.Range(0, workers).Select(_ => new float[scores]).ToArray();
        _wide = Enumerable.Range(0, workers).Select(_ => new float[width]).ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int workerIndex, int workerCount)
    {
        if (_cache.KeysTransposed32(_layer) is { } keys)
        {
            ExecuteF32(workerIndex, keys, _cache.Values32(_layer)!);
            return;
        }

        var scoresAll = _scores[workerIndex];
        var wide = _wide[workerIndex].AsSpan();
        int total = _n * _heads;
        int group = _heads / _kvHeads;
        int qWidth = _heads * _keyLength;
        int item;
        while ((item = Interlocked.Increment(ref _next) - 1) < total)
        {
            int t = item / _heads;
            int h = item % _heads;
            int pos = _pos0 + t;
            int lo = _window > 0 ? Math.Max(0, pos - _window + 1) : 0;
            int count = pos - lo + 1;
            int kvHead = h / group;
            var q = _q.AsSpan(t * qWidth + h * _keyLength, _keyLength);
            var scores = scoresAll.AsSpan(0, count);
            for (int j = 0; j < count; j++) scores[j] = _cache.DotKey(_layer, lo + j, kvHead * _keyLength, q, wide) * _scale;
            if (_softCap > 0) Activations.SoftCap(scores, _softCap);
            Activations.Softmax(scores);
            var o = _out.AsSpan((t * _heads + h) * _valueLength, _valueLength);
            o.Clear();
            for (int j = 0; j < count; j++) _cache.AccumulateValue(_layer, lo + j, kvHead * _valueLength, scores[j], o, wide);
        }
    }

    /// <summary>The F32-cache path: one item is a token and a KV head, with all the query heads of its group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void ExecuteF32(int workerIndex, float[] keys, float[] values)
    {
        int group = _heads / _kvHeads;
        int total = _n * _kvHeads;
        int hd = _keyLength, hdv = _valueLength;
        int valueWidth = _cache.ValueWidth;
        int qWidth = _heads * hd;
        int context = _cache.Context;
        int scoreStride = ScoreStride(context);
        var scoresAll = _scores[workerIndex];
        fixed (float* kp = keys)
        fixed (float* vp = values)
        fixed (float* qp = _q)
        fixed (float* op = _out)
        fixed (float* sp = scoresAll)
        {
            int item;
            while ((item = Interlocked.Increment(ref _next) - 1) < total)
            {
                int t = item / _kvHeads;
                int kh = item % _kvHeads;
                int pos = _pos0 + t;
                int lo = _window > 0 ? Math.Max(0, pos - _window + 1) : 0;
                int count = pos - lo + 1;
                float* q0 = qp + (long)t * qWidth + kh * group * hd;
                float* kt = kp + (long)kh * hd * context + lo;
                for (int g = 0; g < group; g += 4)
                {
                    Scores(q0 + g * hd, Math.Min(4, group - g), hd, kt, context, count, _scale, sp + g * scoreStride, scoreStride);
                }

                float* v0 = vp + (long)lo * valueWidth + kh * hdv;
                for (int g = 0; g < group; g++)
                {
                    var scores = new Span<float>(sp + g * scoreStride, count);
                    if (_softCap > 0) Activations.SoftCap(scores, _softCap);
                    Activations.Softmax(scores);
                    AccumulateRows(op + ((long)t * _heads + kh * group + g) * hdv, v0, valueWidth, sp + g * scoreStride, count, hdv);
                }
            }
        }
    }

    /// <summary>
    /// scale · q_h · k_j for <paramref name="heads"/> (1-4) query heads <paramref name="hd"/> apart at <paramref name="q"/>
    /// and positions j &lt; <paramref name="count"/> (rounded up to a block) of the transposed keys <paramref name="kt"/>
    /// (element d of position j at kt[d·ktStride + j]), into s[h·sStride + j]. Each position's score is one lane's chain
    /// of multiply-adds over d in order, the same whichever block and lane it falls in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scores(float* q, int heads, int hd, float* kt, int ktStride, int count, float scale, float* s, int sStride)
    {
        int w = Vector<float>.Count;
        for (int j = 0; j < count; j += 4 * w)
        {
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector<float> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector<float> c0 = default, c1 = default, c2 = default, c3 = default;
            Vector<float> e0 = default, e1 = default, e2 = default, e3 = default;
            float* k = kt + j;
            for (int d = 0; d < hd; d++, k += ktStride)
            {
                var k0 = Unsafe.ReadUnaligned<Vector<float>>(k);
                var k1 = Unsafe.ReadUnaligned<Vector<float>>(k + w);
                var k2 = Unsafe.ReadUnaligned<Vector<float>>(k + 2 * w);
                var k3 = Unsafe.ReadUnaligned<Vector<float>>(k + 3 * w);
                MultiplyAdd4(q[d], k0, k1, k2, k3, ref a0, ref a1, ref a2, ref a3);
                if (heads > 1) MultiplyAdd4(q[hd + d], k0, k1, k2, k3, ref b0, ref b1, ref b2, ref b3);
                if (heads > 2) MultiplyAdd4(q[2 * hd + d], k0, k1, k2, k3, ref c0, ref c1, ref c2, ref c3);
                if (heads > 3) MultiplyAdd4(q[3 * hd + d], k0, k1, k2, k3, ref e0, ref e1, ref e2, ref e3);
            }

            StoreScaled(s + j, w, scale, a0, a1, a2, a3);
            if (heads > 1) StoreScaled(s + sStride + j, w, scale, b0, b1, b2, b3);
            if (heads > 2) StoreScaled(s + 2 * sStride + j, w, scale, c0, c1, c2, c3);
            if (heads > 3) StoreScaled(s + 3 * sStride + j, w, scale, e0, e1, e2, e3);
        }
    }

    /// <summary>a_i += q · k_i for four vectors of positions (one query element against four key vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd4(float q, Vector<float> k0, Vector<float> k1, Vector<float> k2, Vector<float> k3,
        ref Vector<float> a0, ref Vector<float> a1, ref Vector<float> a2, ref Vector<float> a3)
    {
        var x = new Vector<float>(q);
        a0 = Vector.MultiplyAddEstimate(x, k0, a0);
        a1 = Vector.MultiplyAddEstimate(x, k1, a1);
        a2 = Vector.MultiplyAddEstimate(x, k2, a2);
        a3 = Vector.MultiplyAddEstimate(x, k3, a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void StoreScaled(float* s, int w, float scale, Vector<float> v0, Vector<float> v1, Vector<float> v2, Vector<float> v3)
    {
        Unsafe.WriteUnaligned(s, v0 * scale);
        Unsafe.WriteUnaligned(s + w, v1 * scale);
        Unsafe.WriteUnaligned(s + 2 * w, v2 * scale);
        Unsafe.WriteUnaligned(s + 3 * w, v3 * scale);
    }

    /// <summary>
    /// <c>o = Σ_j p[j] · v_j</c> over <paramref name="count"/> rows of <paramref name="n"/> floats, <paramref name="stride"/>
    /// apart: each slice of four vectors of o stays in registers while the rows are added in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows(float* o, float* v, int stride, float* p, int count, int n)
    {
        int c = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int w = Vector<float>.Count;
            for (; c + 4 * w <= n; c += 4 * w)
            {
                Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* vc = v + c;
                for (int j = 0; j < count; j++, vc += stride)
                {
                    MultiplyAdd4(p[j], Unsafe.ReadUnaligned<Vector<float>>(vc), Unsafe.ReadUnaligned<Vector<float>>(vc + w),
                        Unsafe.ReadUnaligned<Vector<float>>(vc + 2 * w), Unsafe.ReadUnaligned<Vector<float>>(vc + 3 * w),
                        ref a0, ref a1, ref a2, ref a3);
                }

                Unsafe.WriteUnaligned(o + c, a0);
                Unsafe.WriteUnaligned(o + c + w, a1);
                Unsafe.WriteUnaligned(o + c + 2 * w, a2);
                Unsafe.WriteUnaligned(o + c + 3 * w, a3);
            }

            for (; c + w <= n; c += w)
            {
                Vector<float> a0 = default;
                float* vc = v + c;
                for (int j = 0; j < count; j++, vc += stride)
                {
                    a0 = Vector.MultiplyAddEstimate(new Vector<float>(p[j]), Unsafe.ReadUnaligned<Vector<float>>(vc), a0);
                }

                Unsafe.WriteUnaligned(o + c, a0);
            }
        }

        for (; c < n; c++)
        {
            float acc = 0;
            for (int j = 0; j < count; j++)
            {
                acc += p[j] * v[(long)j * stride + c];
            }

            o[c] = acc;
        }
    }
}
