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
/// With an F32 cache the query heads that share a KV head are done together: each key row is read once for all of them,
/// the dot products are inline vector loops, and each output row stays in registers while the value rows are added in.
/// An F16 cache widens each key and value row first (through the cache's own helpers).
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
        if (_scores.Length < workers || (_scores.Length > 0 && _scores[0].Length < group * cache.Context)) Allocate(workers, group * cache.Context, Math.Max(hp.KeyLength, hp.ValueLength));
    }

    // Kept out of Prepare: lambdas there would allocate their closure on every call, not just when buffers grow.
    private void Allocate(int workers, int scores, int width)
    {
        _scores = Enumerable.Range(0, workers).Select(_ => new float[scores]).ToArray();
        _wide = Enumerable.Range(0, workers).Select(_ => new float[width]).ToArray();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int workerIndex, int workerCount)
    {
        if (_cache.Keys32(_layer) is { } keys)
        {
            ExecuteF32(workerIndex, workerCount, keys, _cache.Values32(_layer)!);
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
    private unsafe void ExecuteF32(int workerIndex, int workerCount, float[] keys, float[] values)
    {
        int group = _heads / _kvHeads;
        int total = _n * _kvHeads;
        int hd = _keyLength, hdv = _valueLength;
        int keyWidth = _cache.KeyWidth, valueWidth = _cache.ValueWidth;
        int qWidth = _heads * hd;
        int context = _cache.Context;
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
                float* k0 = kp + (long)lo * keyWidth + kh * hd;
                float* q0 = qp + (long)t * qWidth + kh * group * hd;
                for (int j = 0; j < count; j++)
                {
                    float* kr = k0 + (long)j * keyWidth;
                    for (int g = 0; g < group; g++)
                    {
                        sp[g * context + j] = Dot(q0 + g * hd, kr, hd) * _scale;
                    }
                }

                float* v0 = vp + (long)lo * valueWidth + kh * hdv;
                for (int g = 0; g < group; g++)
                {
                    var scores = new Span<float>(sp + g * context, count);
                    if (_softCap > 0) Activations.SoftCap(scores, _softCap);
                    Activations.Softmax(scores);
                    AccumulateRows(op + ((long)t * _heads + kh * group + g) * hdv, v0, valueWidth, sp + g * context, count, hdv);
                }
            }
        }
    }

    /// <summary>Σ a[i]·b[i] over <paramref name="n"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float Dot(float* a, float* b, int n)
    {
        int i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> s0 = default, s1 = default;
            for (; i + 16 <= n; i += 16)
            {
                s0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                s1 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i + 8), Vector256.Load(b + i + 8), s1);
            }

            if (i + 8 <= n)
            {
                s0 = Vector256.MultiplyAddEstimate(Vector256.Load(a + i), Vector256.Load(b + i), s0);
                i += 8;
            }

            sum = Vector256.Sum(s0 + s1);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            Vector128<float> s0 = default, s1 = default;
            for (; i + 8 <= n; i += 8)
            {
                s0 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i), Vector128.Load(b + i), s0);
                s1 = Vector128.MultiplyAddEstimate(Vector128.Load(a + i + 4), Vector128.Load(b + i + 4), s1);
            }

            sum = Vector128.Sum(s0 + s1);
        }

        for (; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>
    /// <c>o = Σ_j p[j] · v_j</c> over <paramref name="count"/> rows of <paramref name="n"/> floats, <paramref name="stride"/>
    /// apart: each 32-float slice of o stays in four registers while the rows are added in.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AccumulateRows(float* o, float* v, int stride, float* p, int count, int n)
    {
        int c = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; c + 32 <= n; c += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* vc = v + c;
                for (int j = 0; j < count; j++, vc += stride)
                {
                    var w = Vector256.Create(p[j]);
                    a0 = Vector256.MultiplyAddEstimate(w, Vector256.Load(vc), a0);
                    a1 = Vector256.MultiplyAddEstimate(w, Vector256.Load(vc + 8), a1);
                    a2 = Vector256.MultiplyAddEstimate(w, Vector256.Load(vc + 16), a2);
                    a3 = Vector256.MultiplyAddEstimate(w, Vector256.Load(vc + 24), a3);
                }

                a0.Store(o + c);
                a1.Store(o + c + 8);
                a2.Store(o + c + 16);
                a3.Store(o + c + 24);
            }

            for (; c + 8 <= n; c += 8)
            {
                Vector256<float> a0 = default;
                float* vc = v + c;
                for (int j = 0; j < count; j++, vc += stride)
                {
                    a0 = Vector256.MultiplyAddEstimate(Vector256.Create(p[j]), Vector256.Load(vc), a0);
                }

                a0.Store(o + c);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            for (; c + 16 <= n; c += 16)
            {
                Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
                float* vc = v + c;
                for (int j = 0; j < count; j++, vc += stride)
                {
                    var w = Vector128.Create(p[j]);
                    a0 = Vector128.MultiplyAddEstimate(w, Vector128.Load(vc), a0);
                    a1 = Vector128.MultiplyAddEstimate(w, Vector128.Load(vc + 4), a1);
                    a2 = Vector128.MultiplyAddEstimate(w, Vector128.Load(vc + 8), a2);
                    a3 = Vector128.MultiplyAddEstimate(w, Vector128.Load(vc + 12), a3);
                }

                a0.Store(o + c);
                a1.Store(o + c + 4);
                a2.Store(o + c + 8);
                a3.Store(o + c + 12);
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
