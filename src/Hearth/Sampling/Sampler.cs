using System.Numerics.Tensors;

namespace Hearth.Sampling;

/// <summary>
/// The sampler chain for one sequence: penalties over recent tokens, then top-k, top-p, min-p, temperature and a seeded
/// draw (or arg-max when greedy). Buffers are allocated once for the vocabulary; <see cref="Sample"/> allocates nothing.
/// Not thread-safe: one sampler per sequence.
/// </summary>
public sealed class Sampler
{
    private readonly SamplerOptions _options;
    private readonly SeededRandom _random;
    private readonly int[] _ids;
    private readonly float[] _logits;
    private readonly float[] _probs;
    // Recent tokens for the penalties: a ring of the last PenaltyLastN (the whole history when that is −1).
    private readonly List<int> _history = [];
    private int _historyStart;
    private readonly Dictionary<int, int> _counts = [];

    public Sampler(int vocabSize, SamplerOptions options)
    {
        if (vocabSize <= 0) throw new ArgumentOutOfRangeException(nameof(vocabSize));
        options.Validate();
        _options = options;
        _random = new SeededRandom(options.Seed ?? (ulong)DateTime.UtcNow.Ticks);
        _ids = new int[vocabSize];
        _logits = new float[vocabSize];
        _probs = new float[vocabSize];
        VocabSize = vocabSize;
    }

    public int VocabSize { get; }

    public SamplerOptions Options => _options;

    /// <summary>The seed in use (the given one, or the one picked from the clock).</summary>
    public ulong Seed => _random.Seed;

    /// <summary>Probability of the chosen token after the whole chain (1 for greedy), from the last <see cref="Sample"/>.</summary>
    public float LastProbability { get; private set; }

    /// <summary>Records a token as part of the sequence (prompt or generated), for the penalties.</summary>
    public void Accept(int token)
    {
        int window = _options.PenaltyLastN;
        if (window < 0 || _history.Count < window)
        {
            _history.Add(token);
        }
        else if (window > 0)
        {
            _history[_historyStart] = token;
            _historyStart = (_historyStart + 1) % window;
        }
    }

    /// <summary>Forgets the recorded history.</summary>
    public void Reset()
    {
        _history.Clear();
        _historyStart = 0;
    }

    /// <summary>
    /// Picks the next token from <paramref name="logits"/> (length ≥ vocabulary). Tokens with <paramref name="allowed"/>
    /// false are never chosen (a grammar mask); when no token is allowed, an exception is thrown instead of guessing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Every token is masked out.</exception>
    public int Sample(ReadOnlySpan<float> logits, ReadOnlySpan<bool> allowed = default)
    {
        if (logits.Length < VocabSize) throw new ArgumentException($"logits have {logits.Length} entries, vocabulary is {VocabSize}", nameof(logits));
        int n = 0;
        for (int i = 0; i < VocabSize; i++)
        {
            if (!allowed.IsEmpty && !allowed[i]) continue;
            float l = logits[i];
            if (float.IsNaN(l)) continue;
            _ids[n] = i;
            _logits[n] = l;
            n++;
        }

        if (n == 0) throw new InvalidOperationException("no token is allowed: every candidate is masked out");
        ApplyPenalties(n);

        if (_options.Temperature <= 0)
        {
            int best = 0;
            for (int i = 1; i < n; i++)
            {
                if (_logits[i] > _logits[best]) best = i;
            }

            LastProbability = 1f;
            return _ids[best];
        }

        if (_options.TopK > 0 && _options.TopK < n)
        {
            SelectTop(n, _options.TopK);
            n = _options.TopK;
        }

        SortDescending(n);

        Softmax(n, 1f);
        n = TopP(n);
        n = MinP(n);
        Softmax(n, _options.Temperature);

        double r = _random.NextDouble();
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (r < cumulative)
            {
                LastProbability = _probs[i];
                return _ids[i];
            }
        }

        LastProbability = _probs[n - 1];
        return _ids[n - 1];
    }

    private void ApplyPenalties(int n)
    {
        var o = _options;
        if (o.PenaltyLastN == 0 || _history.Count == 0 || (o.RepeatPenalty == 1f && o.PresencePenalty == 0f && o.FrequencyPenalty == 0f)) return;
        // The ring holds exactly the window (order does not matter for counting).
        _counts.Clear();
        foreach (var t in _history) _counts[t] = _counts.GetValueOrDefault(t) + 1;

        for (int i = 0; i < n; i++)
        {
            if (!_counts.TryGetValue(_ids[i], out int count)) continue;
            float l = _logits[i];
            l = l <= 0 ? l * o.RepeatPenalty : l / o.RepeatPenalty;
            l -= count * o.FrequencyPenalty + o.PresencePenalty;
            _logits[i] = l;
        }
    }

    /// <summary>Sorts the candidates by logit, descending, so that top-k is a prefix.</summary>
    /// <summary>Moves the k largest logits (with their ids) to the front, in no particular order: a size-k min-heap pass.</summary>
    private void SelectTop(int n, int k)
    {
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(i, k);
        for (int i = k; i < n; i++)
        {
            if (_logits[i] <= _logits[0]) continue;
            _logits[0] = _logits[i];
            _ids[0] = _ids[i];
            SiftDown(0, k);
        }
    }

    private void SiftDown(int i, int size)
    {
        while (true)
        {
            int smallest = i, l = 2 * i + 1, r = l + 1;
            if (l < size && _logits[l] < _logits[smallest]) smallest = l;
            if (r < size && _logits[r] < _logits[smallest]) smallest = r;
            if (smallest == i) return;
            (_logits[i], _logits[smallest]) = (_logits[smallest], _logits[i]);
            (_ids[i], _ids[smallest]) = (_ids[smallest], _ids[i]);
            i = smallest;
        }
    }

    private void SortDescending(int n)
    {
        // Sort ascending by negated logit: the default comparer needs no delegate, so sorting allocates nothing.
        var keys = _logits.AsSpan(0, n);
        TensorPrimitives.Negate(keys, keys);
        keys.Sort(_ids.AsSpan(0, n));
        TensorPrimitives.Negate(keys, keys);
    }

    /// <summary>_probs[i] = softmax(_logits / temperature) over the first n (sorted or not).</summary>
    private void Softmax(int n, float temperature)
    {
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++) max = MathF.Max(max, _logits[i]);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            float p = MathF.Exp((_logits[i] - max) / temperature);
            _probs[i] = p;
            sum += p;
        }

        for (int i = 0; i < n; i++) _probs[i] = (float)(_probs[i] / sum);
    }

    private int TopP(int n)
    {
        float p = _options.TopP;
        if (p >= 1f) return n;
        double cumulative = 0;
        for (int i = 0; i < n; i++)
        {
            cumulative += _probs[i];
            if (cumulative >= p) return i + 1;
        }

        return n;
    }

    private int MinP(int n)
    {
        float minP = _options.MinP;
        if (minP <= 0f || n == 0) return n;
        float threshold = _probs[0] * minP;
        int keep = 1;
        while (keep < n && _probs[keep] >= threshold) keep++;
        return keep;
    }
}
