using System.Diagnostics;
using System.Runtime.InteropServices;
using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Generation;

/// <summary>
/// The generate loop for one sequence: tokenize → prefill the prompt as a batch → repeat { sample → detokenize
/// (whole UTF-8 characters only) → stop checks → forward the token }. Owns the sequence's state; not thread-safe.
/// </summary>
/// <remarks>
/// Prompt caching: with <see cref="ReusePrefix"/>, a generation keeps the keys and values of the longest common prefix of
/// its prompt and <see cref="CachedTokens"/> (what the previous generation left in the state) and processes only the rest;
/// <see cref="SavePrefix"/> and <see cref="LoadPrefix"/> keep such prefixes aside and bring them back. The output is
/// bit-identical to processing the whole prompt: a position's keys and values depend only on the tokens up to it, and the
/// kernels compute each row alike whatever the batch around it.
/// </remarks>
public sealed class TextGenerator
{
    private readonly LanguageModel _model;
    private readonly InferenceState _state;
    private readonly float[] _logits;

    // The token at each filled position of _state whose keys and values are valid (never more than _state.Position).
    private readonly List<int> _cached = [];

    public TextGenerator(LanguageModel model, int context = 0, KvCacheType cacheType = KvCacheType.F32)
    {
        _model = model;
        _state = model.CreateState(context, cacheType);
        _logits = new float[model.Transformer.VocabSize];
        CachedTokens = _cached.AsReadOnly();
    }

    /// <summary>
    /// When true, each generation reuses the longest common prefix of its prompt tokens and <see cref="CachedTokens"/>
    /// (at most all but the prompt's last token, whose logits the first sample needs) instead of starting from an empty
    /// state. False (the default): every generation processes its whole prompt.
    /// </summary>
    public bool ReusePrefix { get; set; }

    /// <summary>The token ids whose keys and values the state holds, position by position: the last prompt and the
    /// generated tokens that went forward after it (not the last sampled one when generation ended there).</summary>
    public IReadOnlyList<int> CachedTokens { get; }

    /// <summary>How many leading tokens of <paramref name="tokens"/> the state holds already (the common prefix with
    /// <see cref="CachedTokens"/>).</summary>
    public int CachedPrefixLength(ReadOnlySpan<int> tokens) => CollectionsMarshal.AsSpan(_cached).CommonPrefixLength(tokens);

    /// <summary>A copy of the keys and values of the first <paramref name="length"/> positions of <see cref="CachedTokens"/>,
    /// sized to them, to bring back later with <see cref="LoadPrefix"/> (into this generator or another of the same model).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is under 1 or more than the cached tokens.</exception>
    public PromptPrefix SavePrefix(int length)
    {
        if (length < 1 || length > _cached.Count)
            throw new ArgumentOutOfRangeException(nameof(length), $"cannot save {length} positions: {_cached.Count} token(s) are cached (at least 1 is needed)");
        var cache = new KvCache(_model.Transformer.Hp, length, _state.Cache.Type);
        _state.Cache.CopyTo(cache, 0, length);
        return new PromptPrefix(_cached.GetRange(0, length).ToArray(), cache, _model.Transformer, _state.Adapters.ToArray());
    }

    /// <summary>
    /// Makes the state hold the first <paramref name="length"/> positions of <paramref name="prefix"/> (and nothing after
    /// them): <see cref="CachedTokens"/> becomes those tokens. Positions the state already holds for the same tokens are
    /// not copied again. With <see cref="ReusePrefix"/>, the next generation whose prompt starts with them processes only
    /// the rest.
    /// </summary>
    /// <exception cref="ArgumentException">The prefix was saved from another model, under other LoRA adapters, or with
    /// another KV cache type.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative, more than the prefix holds, or
    /// more than this generator's context.</exception>
    public void LoadPrefix(PromptPrefix prefix, int length)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!ReferenceEquals(prefix.Model, _model.Transformer)) throw new ArgumentException("the prefix was saved from another model", nameof(prefix));
        if (!_state.SameAdapters(prefix.Adapters)) throw new ArgumentException("the prefix was saved under another set of LoRA adapters", nameof(prefix));
        if (length < 0 || length > prefix.Length || length > _state.Cache.Context)
            throw new ArgumentOutOfRangeException(nameof(length), $"cannot load {length} positions of a prefix of {prefix.Length} into a context of {_state.Cache.Context}");
        var tokens = prefix.Tokens[..length];
        int keep = CachedPrefixLength(tokens);
        prefix.Cache.CopyTo(_state.Cache, keep, length - keep);
        _cached.RemoveRange(keep, _cached.Count - keep);
        _cached.AddRange(tokens[keep..]);
        _state.Position = length;
    }

    /// <summary>
    /// Applies LoRA adapters (loaded for this generator's model) to the generations that follow; empty returns to the
    /// base model. The base weights are never touched.
    /// </summary>
    /// <exception cref="ArgumentException">An adapter was loaded for another model.</exception>
    public void SetAdapters(IReadOnlyList<ActiveAdapter> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        foreach (var a in adapters)
        {
            if (!ReferenceEquals(a.Adapter?.Model, _model.Transformer)) throw new ArgumentException($"adapter '{a.Adapter?.Path}' was not loaded for this generator's model; load it through the model's Adapters", nameof(adapters));
        }

        // Keys and values computed under other adapters are not this sequence's any more.
        if (!_state.SameAdapters(adapters)) Forget(0);
        _state.SetAdapters(adapters);
    }

    /// <summary>Counts and timings of the last (or current) generation.</summary>
    public GenerationStats Stats { get; private set; } = new();

    /// <summary>What the model and this sequence occupy (mapped file, KV cache, scratch) next to the resident set.</summary>
    public MemoryFootprint Footprint() => _model.Footprint(_state);

    /// <summary>Token ids generated by the last (or current) generation, in order.</summary>
    public List<int> GeneratedTokens { get; } = [];

    /// <summary>Streams the continuation of <paramref name="prompt"/>, piece by piece.</summary>
    /// <exception cref="ContextOverflowException">The prompt alone does not fit in the context.</exception>
    public IEnumerable<string> Generate(string prompt, GenerationOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        var tokens = _model.Tokenizer.Encode(prompt, options.AddSpecialTokens, options.ParseSpecialTokens);
        return Generate(tokens, options, cancellation);
    }

    /// <summary>Streams the continuation of an already tokenized prompt.</summary>
    public IEnumerable<string> Generate(IReadOnlyList<int> promptTokens, GenerationOptions options, CancellationToken cancellation = default)
    {
        options.Validate();
        if (promptTokens.Count == 0) throw new ArgumentException("the prompt has no tokens (give text, or let the model add BOS)", nameof(promptTokens));
        if (promptTokens.Count > _state.Cache.Context) throw new ContextOverflowException(0, promptTokens.Count, _state.Cache.Context);
        return Texts(Run(promptTokens.ToArray(), options, logprobs: false, topLogprobs: 0, cancellation));
    }

    /// <summary>
    /// Streams every sampled token of the continuation, with the text it released and, when asked, its log-probabilities;
    /// held-back text released at the end comes as a last entry with token −1.
    /// </summary>
    public IEnumerable<SampledToken> GenerateTokens(IReadOnlyList<int> promptTokens, GenerationOptions options, bool logprobs = false, int topLogprobs = 0, CancellationToken cancellation = default)
    {
        options.Validate();
        if (promptTokens.Count == 0) throw new ArgumentException("the prompt has no tokens (give text, or let the model add BOS)", nameof(promptTokens));
        if (promptTokens.Count > _state.Cache.Context) throw new ContextOverflowException(0, promptTokens.Count, _state.Cache.Context);
        return Run(promptTokens.ToArray(), options, logprobs, topLogprobs, cancellation);
    }

    private static IEnumerable<string> Texts(IEnumerable<SampledToken> tokens)
    {
        foreach (var t in tokens)
        {
            if (t.Text.Length > 0) yield return t.Text;
        }
    }

    private IEnumerable<SampledToken> Run(int[] prompt, GenerationOptions options, bool logprobs, int topLogprobs, CancellationToken cancellation)
    {
        var steps = new SequenceSampler(_model, options, logprobs, topLogprobs);
        GeneratedTokens.Clear();
        int reused = ReusePrefix ? Math.Min(CachedPrefixLength(prompt), prompt.Length - 1) : 0;
        Forget(reused);
        steps.AcceptPrompt(prompt);

        long start = Stopwatch.GetTimestamp();
        var sw = Stopwatch.StartNew();
        Forward(prompt.AsSpan(reused));
        var promptTime = sw.Elapsed;
        sw.Restart();
        Stats = new GenerationStats { PromptTokens = prompt.Length, ReusedPromptTokens = reused, PromptTime = promptTime };

        while (steps.TryNext(_logits, _state.Position, _state.Cache.Context, cancellation.IsCancellationRequested, out var next))
        {
            if (GeneratedTokens.Count == 0) Stats = Stats with { FirstTokenTime = Stopwatch.GetElapsedTime(start) };
            GeneratedTokens.Add(next.Token);
            // Progress is published with each piece of text, not per token: no allocation for tokens that add none.
            if (next.Text.Length > 0) Stats = Stats with { GeneratedTokens = steps.Generated, GenerationTime = sw.Elapsed };
            yield return next;

            if (steps.Reason != FinishReason.None) break;
            Forward([next.Token]);
        }

        var tail = steps.Finish();
        Stats = Stats with { GeneratedTokens = steps.Generated, GenerationTime = sw.Elapsed, FinishReason = steps.Reason };
        if (tail.Length > 0) yield return new SampledToken(-1, tail, 0, null);
    }

    /// <summary>Keeps only the first <paramref name="length"/> cached positions.</summary>
    private void Forget(int length)
    {
        _cached.RemoveRange(length, _cached.Count - length);
        _state.Truncate(length);
    }

    /// <summary>Runs tokens at the next positions; they count as cached only once their pass has completed.</summary>
    private void Forward(ReadOnlySpan<int> tokens)
    {
        _model.Transformer.Forward(_state, tokens, _logits, allLogits: false, _model.Pool);
        foreach (var t in tokens) _cached.Add(t);
    }
}
