namespace Hearth.Synthesis;

/// <summary>Llama 3.1+ RoPE frequency scaling, stored by converters as the <c>rope_freqs.weight</c> tensor.</summary>
public sealed record Llama3RopeScaling(float Factor, float LowFrequencyFactor, float HighFrequencyFactor, int OriginalContext);

/// <summary>
/// Phi-3's LongRoPE: per-dimension divisors for short (<c>rope_factors_short</c>) and long (<c>rope_factors_long</c>)
/// contexts, and cos/sin scaled by √(1 + ln(context / original) / ln(original)).
/// </summary>
public sealed record LongRopeScaling(int OriginalContext);

/// <summary>
/// The architecture of a model, without its weights: everything needed to write a GGUF file with the tensor names,
/// shapes and metadata a converter (llama.cpp's <c>convert_hf_to_gguf.py</c>) would write for it. <see cref="ModelShapes"/>
/// holds the shapes of real models; <see cref="Scaled"/> shrinks one for tests.
/// </summary>
public sealed record ModelShape
{
    /// <summary>Short name, e.g. <c>qwen2.5-0.5b</c>.</summary>
    public required string Name { get; init; }

    /// <summary><c>general.architecture</c>: one of <see cref="SupportedArchitectures"/>.</summary>
    public required string Architecture { get; init; }

    /// <summary>n_embd.</summary>
    public required int EmbeddingLength { get; init; }

    public required int BlockCount { get; init; }

    public required int HeadCount { get; init; }

    public required int HeadCountKv { get; init; }

    /// <summary>Per-head width of queries, keys and values.</summary>
    public required int HeadDim { get; init; }

    public required int FeedForwardLength { get; init; }

    public required int VocabSize { get; init; }

    /// <summary>The training context (<c>{arch}.context_length</c>).</summary>
    public required int ContextLength { get; init; }

    public required float RmsEpsilon { get; init; }

    public required float RopeFreqBase { get; init; }

    /// <summary>Fraction of each head that RoPE rotates (Phi-3's partial_rotary_factor); 1 for the others.</summary>
    public float PartialRotaryFactor { get; init; } = 1f;

    /// <summary>True when the output head is the token embedding (no <c>output.weight</c>).</summary>
    public bool TiedOutput { get; init; } = true;

    /// <summary>Biases on the q, k and v projections (Qwen2).</summary>
    public bool QkvBias { get; init; }

    /// <summary>Per-head RMS norms of q and k (Qwen3, Gemma 3).</summary>
    public bool QkNorm { get; init; }

    /// <summary>Norms after attention and after the FFN (Gemma 2/3).</summary>
    public bool PostNorms { get; init; }

    /// <summary>One fused <c>attn_qkv</c> projection (Phi-3).</summary>
    public bool FusedQkv { get; init; }

    /// <summary>Gate and up projections fused in <c>ffn_up</c> (Phi-3).</summary>
    public bool FusedGateUp { get; init; }

    /// <summary>True when the source config names head_dim, so converters write key_length/value_length.</summary>
    public bool WritesHeadDim { get; init; }

    /// <summary><c>{arch}.attention.sliding_window</c>, written when positive.</summary>
    public int SlidingWindow { get; init; }

    /// <summary>Llama 3 RoPE scaling (adds <c>rope_freqs.weight</c>), or null.</summary>
    public Llama3RopeScaling? Llama3Rope { get; init; }

    /// <summary>LongRoPE (adds <c>rope_factors_short/long.weight</c>), or null.</summary>
    public LongRopeScaling? LongRope { get; init; }

    /// <summary>The architectures Hearth can synthesise.</summary>
    public static IReadOnlyList<string> SupportedArchitectures { get; } = ["llama", "qwen2", "qwen3", "gemma3", "phi3"];

    /// <summary>
    /// n_rot: leading dimensions of each head that RoPE rotates, ⌊factor·n_head·head_dim⌋ / n_head (the converter's
    /// ⌊factor·n_embd⌋ / n_head, since n_embd = n_head·head_dim in the models that rotate partially).
    /// </summary>
    public int RopeDimensionCount => PartialRotaryFactor == 1f ? HeadDim : (int)(PartialRotaryFactor * QueryWidth) / HeadCount;

    /// <summary>
    /// True when the file must state key_length/value_length: the config names head_dim, or n_embd / n_head would give
    /// a different head width (a scaled shape).
    /// </summary>
    public bool NeedsHeadDimKeys => WritesHeadDim || EmbeddingLength != HeadCount * HeadDim;

    /// <summary>Width of the query projection output.</summary>
    public int QueryWidth => HeadCount * HeadDim;

    /// <summary>Width of the key (and value) projection output.</summary>
    public int KvWidth => HeadCountKv * HeadDim;

    /// <summary>
    /// A copy with fewer layers, a smaller vocabulary or narrower matrices (for tests and quick experiments); every
    /// other property is kept.
    /// </summary>
    /// <exception cref="ArgumentException">The result is not a valid shape (see <see cref="Validate"/>).</exception>
    public ModelShape Scaled(int? layers = null, int? vocab = null, int? embedding = null, int? headDim = null, int? feedForward = null)
    {
        var s = this with
        {
            Name = Name + "-scaled",
            BlockCount = layers ?? BlockCount,
            VocabSize = vocab ?? VocabSize,
            EmbeddingLength = embedding ?? EmbeddingLength,
            HeadDim = headDim ?? HeadDim,
            FeedForwardLength = feedForward ?? FeedForwardLength,
        };
        s.Validate();
        return s;
    }

    /// <summary>Checks that the shape can be written and loaded.</summary>
    /// <exception cref="ArgumentException">A size is out of range or inconsistent; the message names it.</exception>
    public void Validate()
    {
        static void Check(bool ok, string message)
        {
            if (!ok) throw new ArgumentException(message);
        }

        Check(!string.IsNullOrWhiteSpace(Name), "a model shape needs a name");
        Check(SupportedArchitectures.Contains(Architecture), $"architecture '{Architecture}' cannot be synthesised (supported: {string.Join(", ", SupportedArchitectures)})");
        Check(EmbeddingLength is > 0 and <= 1 << 16, $"{Name}: embedding length {EmbeddingLength} is out of range (1..65536)");
        Check(BlockCount is > 0 and <= 1024, $"{Name}: block count {BlockCount} is out of range (1..1024)");
        Check(HeadCount is > 0 and <= 1024, $"{Name}: head count {HeadCount} is out of range (1..1024)");
        Check(HeadCountKv > 0 && HeadCount % HeadCountKv == 0, $"{Name}: head count {HeadCount} is not a multiple of the KV head count {HeadCountKv}");
        Check(HeadDim is > 0 and <= 1024 && HeadDim % 2 == 0, $"{Name}: head dimension {HeadDim} must be even and at most 1024");
        Check(FeedForwardLength is > 0 and <= 1 << 18, $"{Name}: feed-forward length {FeedForwardLength} is out of range");
        Check(VocabSize >= SyntheticVocabulary.MinimumSize && VocabSize <= 1 << 20, $"{Name}: vocabulary size {VocabSize} is out of range ({SyntheticVocabulary.MinimumSize}..{1 << 20}: specials and 256 byte tokens come first)");
        Check(ContextLength > 0, $"{Name}: context length {ContextLength} must be positive");
        Check(RmsEpsilon > 0 && RmsEpsilon < 1, $"{Name}: RMS epsilon {RmsEpsilon} is out of range");
        Check(RopeFreqBase > 1, $"{Name}: RoPE base {RopeFreqBase} must be above 1");
        Check(PartialRotaryFactor is > 0 and <= 1, $"{Name}: partial rotary factor {PartialRotaryFactor} is out of range (0..1]");
        int nRot = RopeDimensionCount;
        Check(nRot >= 2 && nRot % 2 == 0 && nRot <= HeadDim, $"{Name}: {nRot} rotary dimensions (of head dimension {HeadDim}) must be even, at least 2 and at most the head dimension");
        Check(SlidingWindow >= 0, $"{Name}: sliding window {SlidingWindow} is negative");
        Check(Llama3Rope is null || Architecture == "llama", $"{Name}: Llama 3 RoPE scaling needs the llama architecture");
        Check(LongRope is null || Architecture == "phi3", $"{Name}: LongRoPE needs the phi3 architecture");
        Check(LongRope is null || (LongRope.OriginalContext > 1 && LongRope.OriginalContext <= ContextLength), $"{Name}: LongRoPE original context must be in 2..{ContextLength}");
        Check(Llama3Rope is null || (Llama3Rope.Factor > 0 && Llama3Rope.OriginalContext > 0 && Llama3Rope.HighFrequencyFactor > Llama3Rope.LowFrequencyFactor), $"{Name}: Llama 3 RoPE scaling values are invalid");
        Check(!(FusedQkv && QkvBias), $"{Name}: fused qkv with q/k/v biases is not a combination any converter writes");
    }
}
