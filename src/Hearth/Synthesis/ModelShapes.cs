namespace Hearth.Synthesis;

/// <summary>
/// The shapes of real small models, as their Hugging Face configs state them and llama.cpp's converter writes them.
/// </summary>
public static class ModelShapes
{
    /// <summary>SmolLM2-135M: llama, 30 layers, n_embd 576, 9 heads / 3 KV heads of 64, FFN 1536, vocab 49152, tied, θ 1e5.</summary>
    public static ModelShape SmolLm2_135M { get; } = new()
    {
        Name = "smollm2-135m",
        Architecture = "llama",
        EmbeddingLength = 576,
        BlockCount = 30,
        HeadCount = 9,
        HeadCountKv = 3,
        HeadDim = 64,
        FeedForwardLength = 1536,
        VocabSize = 49152,
        ContextLength = 8192,
        RmsEpsilon = 1e-5f,
        RopeFreqBase = 100000f,
        WritesHeadDim = true,
    };

    /// <summary>Qwen2.5-0.5B: qwen2, 24 layers, n_embd 896, 14 heads / 2 KV heads of 64, FFN 4864, vocab 151936, q/k/v biases, tied, θ 1e6.</summary>
    public static ModelShape Qwen25_05B { get; } = new()
    {
        Name = "qwen2.5-0.5b",
        Architecture = "qwen2",
        EmbeddingLength = 896,
        BlockCount = 24,
        HeadCount = 14,
        HeadCountKv = 2,
        HeadDim = 64,
        FeedForwardLength = 4864,
        VocabSize = 151936,
        ContextLength = 32768,
        RmsEpsilon = 1e-6f,
        RopeFreqBase = 1000000f,
        QkvBias = true,
    };

    /// <summary>Qwen3-0.6B: qwen3, 28 layers, n_embd 1024, 16 heads / 8 KV heads of 128, FFN 3072, vocab 151936, q/k norms, tied, θ 1e6.</summary>
    public static ModelShape Qwen3_06B { get; } = new()
    {
        Name = "qwen3-0.6b",
        Architecture = "qwen3",
        EmbeddingLength = 1024,
        BlockCount = 28,
        HeadCount = 16,
        HeadCountKv = 8,
        HeadDim = 128,
        FeedForwardLength = 3072,
        VocabSize = 151936,
        ContextLength = 40960,
        RmsEpsilon = 1e-6f,
        RopeFreqBase = 1000000f,
        QkNorm = true,
        WritesHeadDim = true,
    };

    /// <summary>
    /// Llama-3.2-1B: llama, 16 layers, n_embd 2048, 32 heads / 8 KV heads of 64, FFN 8192, vocab 128256, tied, θ 5e5 with
    /// llama3 scaling (factor 32, low 1, high 4, original context 8192) as <c>rope_freqs.weight</c>.
    /// </summary>
    public static ModelShape Llama32_1B { get; } = new()
    {
        Name = "llama-3.2-1b",
        Architecture = "llama",
        EmbeddingLength = 2048,
        BlockCount = 16,
        HeadCount = 32,
        HeadCountKv = 8,
        HeadDim = 64,
        FeedForwardLength = 8192,
        VocabSize = 128256,
        ContextLength = 131072,
        RmsEpsilon = 1e-5f,
        RopeFreqBase = 500000f,
        WritesHeadDim = true,
        Llama3Rope = new Llama3RopeScaling(32f, 1f, 4f, 8192),
    };

    /// <summary>
    /// Gemma-3-1B: gemma3, 26 layers, n_embd 1152, 4 heads / 1 KV head of 256, FFN 6912, vocab 262144, sliding window 512
    /// on five of every six layers (θ 1e4 there, 1e6 on the global ones), q/k norms, post-norms, tied.
    /// </summary>
    public static ModelShape Gemma3_1B { get; } = new()
    {
        Name = "gemma-3-1b",
        Architecture = "gemma3",
        EmbeddingLength = 1152,
        BlockCount = 26,
        HeadCount = 4,
        HeadCountKv = 1,
        HeadDim = 256,
        FeedForwardLength = 6912,
        VocabSize = 262144,
        ContextLength = 32768,
        RmsEpsilon = 1e-6f,
        RopeFreqBase = 1000000f,
        QkNorm = true,
        PostNorms = true,
        WritesHeadDim = true,
        SlidingWindow = 512,
    };

    /// <summary>
    /// Phi-4-mini: phi3, 32 layers, n_embd 3072, 24 heads / 8 KV heads of 128, FFN 8192, vocab 200064, fused qkv and
    /// gate+up, 96 of 128 dimensions rotated, LongRoPE (48 short and 48 long factors, original context 4096, context
    /// 131072), tied output (its config says tie_word_embeddings; 3.8B parameters count the embedding once).
    /// </summary>
    public static ModelShape Phi4Mini { get; } = new()
    {
        Name = "phi-4-mini",
        Architecture = "phi3",
        EmbeddingLength = 3072,
        BlockCount = 32,
        HeadCount = 24,
        HeadCountKv = 8,
        HeadDim = 128,
        FeedForwardLength = 8192,
        VocabSize = 200064,
        ContextLength = 131072,
        RmsEpsilon = 1e-5f,
        RopeFreqBase = 10000f,
        PartialRotaryFactor = 0.75f,
        FusedQkv = true,
        FusedGateUp = true,
        SlidingWindow = 262144,
        LongRope = new LongRopeScaling(4096),
    };

    /// <summary>Every known shape, smallest first.</summary>
    public static IReadOnlyList<ModelShape> All { get; } = [SmolLm2_135M, Qwen25_05B, Qwen3_06B, Llama32_1B, Gemma3_1B, Phi4Mini];

    /// <summary>The shape with this name (case-insensitive), or null.</summary>
    public static ModelShape? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The shape with this name.</summary>
    /// <exception cref="ArgumentException">No shape has that name; the message lists them.</exception>
    public static ModelShape Get(string name) =>
        Find(name) ?? throw new ArgumentException($"unknown model shape '{name}' (known: {string.Join(", ", All.Select(s => s.Name))})", nameof(name));
}
