using System.Numerics;

namespace Hearth.Grammar;

/// <summary>
/// Constrains one sequence's tokens to a <see cref="Grammar"/>: which tokens may come next (<see cref="ComputeMask"/>),
/// and the state after each generated token (<see cref="AcceptToken"/>). Works on the tokens' bytes, so a token may end
/// in the middle of a UTF-8 character (the matcher keeps the partial character and allows it only if some allowed
/// character can still complete it) and may span several grammar elements. Fails closed: a token that would break the
/// grammar is never allowed, and when no token can continue, <see cref="ComputeMask"/> throws instead of letting the
/// model answer unconstrained.
/// </summary>
/// <remarks>
/// A matcher and its <see cref="Clone"/>s share memoized states and cached masks (a JSON string body returns to the same
/// state after every character, so its mask is computed once); that shared part is locked, so clones may live on
/// different threads, but one matcher must not be used by two threads at once.
/// <para>Typical loop: <c>if (m.MustStop) stop; m.ComputeMask(allowed); token = sampler.Sample(logits, allowed);
/// if (vocab.IsEndOfGeneration(token)) stop; m.AcceptToken(token);</c></para>
/// </remarks>
public sealed class GrammarMatcher
{
    private readonly MatcherEngine _engine;
    private readonly StackSet _initial;
    private StackSet _state;
    private Utf8Partial _partial;
    private bool _ended;

    /// <summary>A matcher at the start of <paramref name="grammar"/> over <paramref name="vocabulary"/>.</summary>
    public GrammarMatcher(Grammar grammar, TokenVocabulary vocabulary)
        : this(grammar, vocabulary, MatcherEngine.DefaultMaxStackNodes, MatcherEngine.DefaultMaxStates)
    {
    }

    /// <summary>A matcher whose caches are dropped past the given sizes (tests exercise the rebuilding with small ones).</summary>
    internal GrammarMatcher(Grammar grammar, TokenVocabulary vocabulary, int maxStackNodes, int maxStates)
    {
        ArgumentNullException.ThrowIfNull(grammar);
        ArgumentNullException.ThrowIfNull(vocabulary);
        Grammar = grammar;
        Vocabulary = vocabulary;
        _engine = new MatcherEngine(grammar.Compiled, vocabulary, maxStackNodes, maxStates);
        _initial = _engine.Initial();
        _state = _initial;
    }

    private GrammarMatcher(GrammarMatcher other)
    {
        Grammar = other.Grammar;
        Vocabulary = other.Vocabulary;
        _engine = other._engine;
        _initial = other._initial;
        _state = other._state;
        _partial = other._partial;
        _ended = other._ended;
    }

    public Grammar Grammar { get; }

    /// <summary>How many times the shared caches were dropped for growing past their limits.</summary>
    internal int CacheTrims => _engine.Trims;

    public TokenVocabulary Vocabulary { get; }

    /// <summary>The text accepted so far is a complete sentence of the grammar: generation may end here (an
    /// end-of-generation token is allowed). False while a character is unfinished.</summary>
    public bool IsComplete => !_partial.IsPending && _state.Accepting;

    /// <summary>More text can still be accepted (some character can follow). False once an end-of-generation token was
    /// accepted.</summary>
    public bool CanContinue => !_ended && (_state.Stacks.Length > 0);

    /// <summary>Nothing more can be accepted: the grammar is exhausted (or generation was ended). The caller should stop
    /// as if an end-of-generation token had been sampled; <see cref="IsComplete"/> is then true.</summary>
    public bool MustStop => !CanContinue;

    /// <summary>True after an end-of-generation token was accepted.</summary>
    public bool HasEnded => _ended;

    /// <summary>Bytes of an unfinished UTF-8 character held from the last token (0 when none).</summary>
    public int PendingByteCount => _partial.IsPending ? _partial.Length - _partial.Remaining : 0;

    /// <summary>
    /// Whether <paramref name="tokenId"/> may come next, without changing the state: the same answer as
    /// <see cref="ComputeMask"/> gives for it.
    /// </summary>
    public bool IsAllowed(int tokenId)
    {
        lock (_engine)
        {
            return Try(tokenId, out _, out _);
        }
    }

    /// <summary>Accepts <paramref name="tokenId"/> if the grammar allows it; returns false, changing nothing, otherwise.
    /// An end-of-generation token is accepted only where the grammar is complete, and ends the matcher.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a token of the vocabulary.</exception>
    public bool TryAcceptToken(int tokenId)
    {
        if ((uint)tokenId >= (uint)Vocabulary.Count) throw new ArgumentOutOfRangeException(nameof(tokenId), tokenId, $"token id must be in [0, {Vocabulary.Count})");
        lock (_engine)
        {
            _engine.Trim();
            if (!Try(tokenId, out var state, out var partial)) return false;
            if (Vocabulary.IsEndOfGeneration(tokenId)) _ended = true;
            _state = state;
            _partial = partial;
            return true;
        }
    }

    /// <summary>Accepts <paramref name="tokenId"/>.</summary>
    /// <exception cref="GrammarConstraintException">The grammar does not allow the token here.</exception>
    /// <exception cref="ArgumentOutOfRangeException">Not a token of the vocabulary.</exception>
    public void AcceptToken(int tokenId)
    {
        if (!TryAcceptToken(tokenId))
        {
            throw new GrammarConstraintException($"token {tokenId} is not allowed by the grammar here" +
                (_ended ? " (generation already ended)" : Vocabulary.IsEndOfGeneration(tokenId) ? " (end of generation, but the grammar is not complete)" : ""));
        }
    }

    /// <summary>Accepts raw text bytes (e.g. a forced prefix) if the grammar allows them; false, changing nothing, otherwise.</summary>
    public bool TryAcceptBytes(ReadOnlySpan<byte> bytes)
    {
        lock (_engine)
        {
            if (_ended) return false;
            _engine.Trim();
            var state = _state;
            var partial = _partial;
            if (!_engine.TryFeed(bytes, ref state, ref partial)) return false;
            _state = state;
            _partial = partial;
            return true;
        }
    }

    /// <summary>Accepts text (UTF-8 encoded) if the grammar allows it; false, changing nothing, otherwise.</summary>
    public bool TryAcceptText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryAcceptBytes(System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>
    /// Sets <paramref name="allowed"/>[id] to whether token id may come next, for every token of the vocabulary
    /// (entries past the vocabulary are set to false). End-of-generation tokens are allowed exactly when
    /// <see cref="IsComplete"/>. Returns how many tokens are allowed, at least one.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="allowed"/> is shorter than the vocabulary.</exception>
    /// <exception cref="GrammarConstraintException">No token is allowed: the grammar needs text no token can produce, or
    /// it is exhausted and the vocabulary has no end-of-generation token (check <see cref="MustStop"/> first).</exception>
    public int ComputeMask(Span<bool> allowed)
    {
        int n = Vocabulary.Count;
        if (allowed.Length < n) throw new ArgumentException($"the mask has {allowed.Length} entries, the vocabulary {n}", nameof(allowed));
        allowed.Clear();
        int count = 0;
        lock (_engine)
        {
            _engine.Trim();
            if (!_ended)
            {
                if (_partial.IsPending)
                {
                    foreach (int id in Vocabulary.ContinuationTokens)
                    {
                        var state = _state;
                        var partial = _partial;
                        if (_engine.TryFeed(Vocabulary.TokenBytes(id), ref state, ref partial))
                        {
                            allowed[id] = true;
                            count++;
                        }
                    }
                }
                else
                {
                    var (mask, maskCount) = _engine.TextMask(_state);
                    Expand(mask, allowed[..n]);
                    count += maskCount;
                    if (_state.Accepting)
                    {
                        foreach (int id in Vocabulary.EndOfGenerationTokens)
                        {
                            allowed[id] = true;
                            count++;
                        }
                    }
                }
            }
        }

        if (count == 0)
        {
            throw new GrammarConstraintException(_ended
                ? "generation has already ended: no token may follow"
                : IsComplete
                    ? "the grammar is complete and allows nothing more, but the vocabulary has no end-of-generation token; stop generating (check MustStop)"
                    : "no token of the vocabulary can continue the text under the grammar");
        }

        return count;
    }

    private static void Expand(ulong[] mask, Span<bool> allowed)
    {
        int n = allowed.Length;
        for (int w = 0; w < mask.Length; w++)
        {
            ulong bits = mask[w];
            if (bits == 0) continue;
            int baseId = w << 6;
            if (bits == ~0UL && baseId + 64 <= n)
            {
                allowed.Slice(baseId, 64).Fill(true);
                continue;
            }

            while (bits != 0)
            {
                allowed[baseId + BitOperations.TrailingZeroCount(bits)] = true;
                bits &= bits - 1;
            }
        }
    }

    private bool Try(int tokenId, out StackSet state, out Utf8Partial partial)
    {
        state = _state;
        partial = _partial;
        if (_ended || (uint)tokenId >= (uint)Vocabulary.Count) return false;
        switch (Vocabulary.Kinds[tokenId])
        {
            case TokenVocabulary.KindEndOfGeneration:
                return IsComplete;
            case TokenVocabulary.KindText:
                if (_partial.IsPending) return false;
                break;
            case TokenVocabulary.KindContinuation:
                if (!_partial.IsPending) return false;
                break;
            default:
                return false;
        }

        return _engine.TryFeed(Vocabulary.TokenBytes(tokenId), ref state, ref partial);
    }

    /// <summary>Back to the start of the grammar, as a new matcher (cached states are kept).</summary>
    public void Reset()
    {
        lock (_engine)
        {
            _state = _initial;
            _partial = default;
            _ended = false;
        }
    }

    /// <summary>An independent matcher in the same state, sharing this one's caches.</summary>
    public GrammarMatcher Clone()
    {
        lock (_engine)
        {
            return new GrammarMatcher(this);
        }
    }
}
