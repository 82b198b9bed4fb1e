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
    private readonly List<int> _history = [];
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
        _history.Add(token);
    }

    /// <summary>Forgets the recorded history.</summary>
    public void Reset() => _history.Clear();

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

        SortDescending(n);
        if (_options.TopK > 0) n = Math.Min(_options.TopK, n);

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
        _counts.Clear();
        int window = o.PenaltyLastN < 0 ? _history.Count : Math.Min(o.PenaltyLastN, _history.Count);
        for (int i = _history.Count - window; i < _history.Count; i++)
        {
            _counts[_history[i]] = _counts.GetValueOrDefault(_history[i]) + 1;
        }

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
    private void SortDescending(int n) => Array.Sort(_logits, _ids, 0, n, DescendingComparer.Instance);

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

    private sealed class DescendingComparer : IComparer<float>
    {
        public static readonly DescendingComparer Instance = new();

        public int Compare(float x, float y) => y.CompareTo(x);
    }
}
