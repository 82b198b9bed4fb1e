using Hearth.Gguf;

namespace Hearth.Models;

/// <summary>How RoPE pairs the dimensions it rotates.</summary>
public enum RopeLayout
{
    /// <summary>Adjacent pairs (x[2i], x[2i+1]): the original Llama layout (ggml mode 0).</summary>
    Normal,

    /// <summary>Halves (x[i], x[i + n_rot/2]): GPT-NeoX layout (ggml mode 2), used by Qwen, Phi-3, Gemma.</summary>
    NeoX,
}

/// <summary>
/// The hyper-parameters every decoder-only transformer shares, read from <c>{arch}.*</c> metadata keys. Architectures
/// read their own extras on top.
/// </summary>
public sealed record HyperParameters
{
    public required string Architecture { get; init; }

    /// <summary>n_embd: width of the residual stream.</summary>
    public required int EmbeddingLength { get; init; }

    public required int BlockCount { get; init; }

    public required int HeadCount { get; init; }

    public required int HeadCountKv { get; init; }

    /// <summary>Per-head width of queries and keys.</summary>
    public required int KeyLength { get; init; }

    /// <summary>Per-head width of values.</summary>
    public required int ValueLength { get; init; }

    public required int FeedForwardLength { get; init; }

    /// <summary>The context length the model was trained for.</summary>
    public required int ContextLength { get; init; }

    public required float RmsEpsilon { get; init; }

    public required float RopeFreqBase { get; init; }

    /// <summary>Number of leading dimensions of each head that RoPE rotates.</summary>
    public required int RopeDimensionCount { get; init; }

    /// <summary>Linear RoPE position scale: 1 / rope.scaling.factor (1 when unscaled).</summary>
    public float RopeFreqScale { get; init; } = 1f;

    /// <summary><c>rope.scaling.type</c> when given (none, linear, yarn, longrope, llama3...).</summary>
    public string? RopeScalingType { get; init; }

    /// <summary><c>rope.scaling.factor</c> (0 when absent).</summary>
    public float RopeScalingFactor { get; init; }

    /// <summary>Multiplier of RoPE's cos/sin (LongRoPE's attention factor); 1 unless the file says otherwise.</summary>
    public float RopeAttnFactor { get; init; } = 1f;

    /// <summary><c>rope.scaling.original_context_length</c>, or the context length.</summary>
    public int RopeOriginalContext { get; init; }

    /// <summary>Sliding-window size for the layers that use one (0 = none).</summary>
    public int SlidingWindow { get; init; }

    /// <summary>Vocabulary size (rows of the embedding table).</summary>
    public int VocabSize { get; init; }

    public int QueryWidth => HeadCount * KeyLength;

    public int KvWidth => HeadCountKv * KeyLength;

    public int ValueWidth => HeadCountKv * ValueLength;

    /// <summary>Reads the shared keys with prefix <c>{arch}.</c>, validating every size before anything is allocated.</summary>
    /// <exception cref="ModelFormatException">A required key is missing or a value is out of range.</exception>
    public static HyperParameters Read(GgufFile file, string arch)
    {
        string P(string key) => $"{arch}.{key}";
        int RequirePositive(string key, long? value, long max = 1 << 24)
        {
            if (value == null) throw new ModelFormatException($"{file.Path}: metadata '{key}' is missing");
            if (value <= 0 || value > max) throw new ModelFormatException($"{file.Path}: metadata '{key}' = {value} is out of range (1..{max})");
            return (int)value.Value;
        }

        int nEmbd = RequirePositive(P("embedding_length"), file.GetInteger(P("embedding_length")));
        int nLayer = RequirePositive(P("block_count"), file.GetInteger(P("block_count")), 4096);
        int nHead = RequirePositive(P("attention.head_count"), file.GetInteger(P("attention.head_count")), 65536);
        int nHeadKv = RequirePositive(P("attention.head_count_kv"), file.GetInteger(P("attention.head_count_kv")) ?? nHead, 65536);
        if (nHead % nHeadKv != 0) throw new ModelFormatException($"{file.Path}: head_count {nHead} is not a multiple of head_count_kv {nHeadKv}");
        int keyLength = RequirePositive(P("attention.key_length"), file.GetInteger(P("attention.key_length")) ?? nEmbd / nHead, 1 << 16);
        int valueLength = RequirePositive(P("attention.value_length"), file.GetInteger(P("attention.value_length")) ?? nEmbd / nHead, 1 << 16);
        int nFf = RequirePositive(P("feed_forward_length"), file.GetInteger(P("feed_forward_length")));
        int ctx = RequirePositive(P("context_length"), file.GetInteger(P("context_length")), int.MaxValue);
        float eps = (float)(file.GetNumber(P("attention.layer_norm_rms_epsilon")) ?? throw new ModelFormatException($"{file.Path}: metadata '{P("attention.layer_norm_rms_epsilon")}' is missing"));
        if (!(eps > 0) || eps > 1) throw new ModelFormatException($"{file.Path}: rms epsilon {eps} is out of range");
        float ropeBase = (float)(file.GetNumber(P("rope.freq_base")) ?? 10000.0);
        int nRot = RequirePositive(P("rope.dimension_count"), file.GetInteger(P("rope.dimension_count")) ?? keyLength, keyLength);
        if (nRot % 2 != 0) throw new ModelFormatException($"{file.Path}: rope.dimension_count {nRot} is odd");
        float scalingFactor = (float)(file.GetNumber(P("rope.scaling.factor")) ?? file.GetNumber(P("rope.scale_linear")) ?? 0.0);
        string? scalingType = file.GetString(P("rope.scaling.type"));
        float freqScale = scalingFactor == 0 ? 1f : 1f / scalingFactor;
        switch (scalingType)
        {
            case null or "" or "linear":
                break;
            case "none":
            case "llama3":
            case "longrope":
                // These stretch no positions: llama3 and longrope scale through per-dimension frequency factors.
                freqScale = 1f;
                break;
            default:
                throw new ModelFormatException($"{file.Path}: RoPE scaling type '{scalingType}' is not supported (supported: none, linear, llama3, longrope)");
        }
        int origCtx = (int)(file.GetInteger(P("rope.scaling.original_context_length")) ?? ctx);
        float attnFactor = (float)(file.GetNumber(P("rope.scaling.attn_factor")) ?? 1.0);
        int swa = (int)(file.GetInteger(P("attention.sliding_window")) ?? 0);
        if (swa < 0) throw new ModelFormatException($"{file.Path}: sliding_window {swa} is negative");

        return new HyperParameters
        {
            Architecture = arch,
            EmbeddingLength = nEmbd,
            BlockCount = nLayer,
            HeadCount = nHead,
            HeadCountKv = nHeadKv,
            KeyLength = keyLength,
            ValueLength = valueLength,
            FeedForwardLength = nFf,
            ContextLength = ctx,
            RmsEpsilon = eps,
            RopeFreqBase = ropeBase,
            RopeDimensionCount = nRot,
            RopeFreqScale = freqScale,
            RopeScalingType = scalingType,
            RopeScalingFactor = scalingFactor,
            RopeAttnFactor = attnFactor,
            RopeOriginalContext = origCtx,
            SlidingWindow = swa,
        };
    }
}
