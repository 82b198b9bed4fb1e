using Hearth.Tensors;

namespace Hearth.Models.Blocks;

/// <summary>
/// Scaled dot-product attention of a batch of queries against a sequence's KV cache, with grouped-query heads, the
/// causal mask, an optional sliding window and optional soft-capping. The (token, head) pairs are shared out over the
/// compute pool; each worker has its own score and conversion scratch, so the work allocates nothing.
/// </summary>
internal sealed class AttentionWork : IComputeWork
{
    private float[][] _scores = [];
    private float[][] _wide = [];

    private KvCache _cache = null!;
    private float[] _q = [];
    private float[] _out = [];
    private int _layer, _n, _pos0, _window, _heads, _kvHeads, _keyLength, _valueLength;
    private float _scale, _softCap;

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
        if (_scores.Length < workers || (_scores.Length > 0 && _scores[0].Length < cache.Context)) Allocate(workers, cache.Context, Math.Max(hp.KeyLength, hp.ValueLength));
    }

    // Kept out of Prepare: lambdas there would allocate their closure on every call, not just when buffers grow.
    private void Allocate(int workers, int context, int width)
    {
        _scores = Enumerable.Range(0, workers).Select(_ => new float[context]).ToArray();
        _wide = Enumerable.Range(0, workers).Select(_ => new float[width]).ToArray();
    }

    public void Execute(int workerIndex, int workerCount)
    {
        var scoresAll = _scores[workerIndex];
        var wide = _wide[workerIndex].AsSpan();
        int total = _n * _heads;
        int group = _heads / _kvHeads;
        int qWidth = _heads * _keyLength;
        for (int item = workerIndex; item < total; item += workerCount)
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
}
