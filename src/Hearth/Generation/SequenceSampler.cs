using Hearth.Models;
using Hearth.Sampling;
using Hearth.Tokenizers;

namespace Hearth.Generation;

/// <summary>One sampled token: its id, the text it released, and (when asked for) its log-probabilities.</summary>
/// <param name="Token">The token id.</param>
/// <param name="Text">Text this token completed (whole UTF-8 characters, stop strings held back); often empty.</param>
/// <param name="Logprob">ln p(token) under the model's distribution (softmax of the raw logits); 0 when not asked for.</param>
/// <param name="Top">The most likely alternatives with their log-probabilities, best first; null when not asked for.</param>
public readonly record struct SampledToken(int Token, string Text, float Logprob, TokenLogprob[]? Top);

/// <summary>A token and its log-probability.</summary>
public readonly record struct TokenLogprob(int Token, float Logprob);

/// <summary>
/// Picks each next token of one sequence from its logits and turns it into text: sampler chain, constraint mask,
/// end-of-generation, stop strings, token limit and context limit. The forward passes belong to the caller (a single
/// sequence loop, or a scheduler that batches many sequences), so every way of running a sequence decides alike.
/// </summary>
internal sealed class SequenceSampler
{
    /// <summary>Most alternatives a caller may ask for per token (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    private readonly Tokenizer _tokenizer;
    private readonly GenerationOptions _options;
    private readonly Sampler _sampler;
    private readonly StreamingDecoder _decoder;
    private readonly StopStringMatcher _stops;
    private readonly bool[] _allowed;
    private readonly int _topLogprobs;
    private readonly bool _logprobs;

    public SequenceSampler(LanguageModel model, GenerationOptions options, bool logprobs = false, int topLogprobs = 0)
    {
        if (topLogprobs is < 0 or > MaxTopLogprobs) throw new ArgumentOutOfRangeException(nameof(topLogprobs), $"top logprobs {topLogprobs} must be within 0..{MaxTopLogprobs}");
        _tokenizer = model.Tokenizer;
        _options = options;
        _sampler = new Sampler(model.Transformer.VocabSize, options.Sampling);
        _decoder = _tokenizer.CreateDecoder();
        _stops = new StopStringMatcher(options.Stop);
        _allowed = options.Constraint != null ? new bool[model.Transformer.VocabSize] : [];
        _logprobs = logprobs || topLogprobs > 0;
        _topLogprobs = topLogprobs;
    }

    /// <summary>Why the sequence ended; <see cref="FinishReason.None"/> while it runs.</summary>
    public FinishReason Reason { get; private set; }

    /// <summary>Tokens produced so far.</summary>
    public int Generated { get; private set; }

    /// <summary>Feeds the prompt to the penalties' history.</summary>
    public void AcceptPrompt(ReadOnlySpan<int> prompt)
    {
        foreach (var t in prompt) _sampler.Accept(t);
    }

    /// <summary>
    /// Decides the next token from <paramref name="logits"/>. Returns false when the sequence ends without one (limit,
    /// end token, constraint done, cancelled). After a token, <see cref="Reason"/> may already be set (a stop string,
    /// the limit, a full context): then the caller must not run the token forward. <paramref name="position"/> and
    /// <paramref name="context"/> are the sequence's filled positions and its context size (is there room for the token?).
    /// </summary>
    public bool TryNext(ReadOnlySpan<float> logits, int position, int context, bool cancelled, out SampledToken sampled)
    {
        sampled = default;
        if (Reason != FinishReason.None) return false;
        if (cancelled) return End(FinishReason.Cancelled);
        if (_options.MaxTokens >= 0 && Generated >= _options.MaxTokens) return End(FinishReason.Length);
        var constraint = _options.Constraint;
        if (constraint is { MustStop: true }) return End(FinishReason.Stop);

        int token;
        if (constraint != null)
        {
            constraint.ComputeMask(_allowed);
            token = _sampler.Sample(logits, _allowed);
        }
        else
        {
            token = _sampler.Sample(logits);
        }

        if (_tokenizer.IsEndOfGeneration(token) && !_options.IgnoreEndOfGeneration) return End(FinishReason.EndOfGeneration);

        Generated++;
        _sampler.Accept(token);
        constraint?.Accept(token);
        var text = _stops.Push(_decoder.Append(token));
        float logprob = 0;
        TokenLogprob[]? top = null;
        if (_logprobs) (logprob, top) = Logprobs(logits, token, _topLogprobs);
        sampled = new SampledToken(token, text, logprob, top);

        if (_stops.Stopped) Reason = FinishReason.Stop;
        else if (_options.MaxTokens >= 0 && Generated >= _options.MaxTokens) Reason = FinishReason.Length;
        else if (position >= context) Reason = FinishReason.ContextFull;
        return true;
    }

    /// <summary>Ends the sequence (if it is not yet) and returns the text still held back.</summary>
    public string Finish(FinishReason reasonIfRunning = FinishReason.Cancelled)
    {
        if (Reason == FinishReason.None) Reason = reasonIfRunning;
        var tail = _stops.Push(_decoder.Flush());
        if (!_stops.Stopped) tail += _stops.Flush();
        if (_options.Constraint is { IsComplete: false } && Reason is FinishReason.Length or FinishReason.ContextFull or FinishReason.EndOfGeneration or FinishReason.Stop)
        {
            // Never report an incomplete constrained output as a valid one.
            Reason = FinishReason.Truncated;
        }
        else if (_stops.Stopped)
        {
            Reason = FinishReason.Stop;
        }

        return tail;
    }

    private bool End(FinishReason reason)
    {
        Reason = reason;
        return false;
    }

    /// <summary>ln softmax(logits)[token], and the <paramref name="count"/> most likely tokens, best first (ties by id).</summary>
    internal static (float Logprob, TokenLogprob[]? Top) Logprobs(ReadOnlySpan<float> logits, int token, int count)
    {
        float max = float.NegativeInfinity;
        foreach (var l in logits) max = Math.Max(max, l);
        double sum = 0;
        foreach (var l in logits) sum += Math.Exp(l - max);
        float logZ = max + (float)Math.Log(sum);
        float lp = logits[token] - logZ;
        if (count == 0) return (lp, null);

        var top = new TokenLogprob[Math.Min(count, logits.Length)];
        int filled = 0;
        for (int id = 0; id < logits.Length; id++)
        {
            float v = logits[id];
            if (filled == top.Length && v <= top[filled - 1].Logprob) continue;
            int i = filled < top.Length ? filled++ : filled - 1;
            while (i > 0 && top[i - 1].Logprob < v)
            {
                top[i] = top[i - 1];
                i--;
            }

            top[i] = new TokenLogprob(id, v);
        }

        for (int i = 0; i < top.Length; i++) top[i] = top[i] with { Logprob = top[i].Logprob - logZ };
        return (lp, top);
    }
}
