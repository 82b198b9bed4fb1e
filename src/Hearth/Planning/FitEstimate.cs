using Hearth.Models;
using Hearth.Quantization;

namespace Hearth.Planning;

/// <summary>How a model will be run, for <see cref="FitPlanner"/>.</summary>
public sealed record FitOptions
{
    /// <summary>
    /// Context per sequence in tokens; 0 uses what <see cref="LanguageModel.Load"/> picks: the training context, at most
    /// <see cref="LanguageModel.DefaultContextCap"/>.
    /// </summary>
    public int Context { get; init; }

    /// <summary>Sequences served at once, each with its own KV cache and activation buffers.</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Element type of the KV caches.</summary>
    public KvCacheType CacheType { get; init; } = KvCacheType.F32;

    /// <summary>Tokens per prompt batch: sizes every activation buffer (the engine's default is 64).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Worker threads (each has its own attention-score row per sequence); 0 means every core.</summary>
    public int Threads { get; init; }

    /// <summary>The .NET runtime and the engine's code and heap besides the model; see <see cref="FitPlanner.DefaultRuntimeBytes"/>.</summary>
    public long RuntimeBytes { get; init; } = FitPlanner.DefaultRuntimeBytes;
}

/// <summary>
/// The memory a model needs when it runs, by component, as the resident set of the process will hold it once every
/// weight has been read and every KV cache is full. All sizes are bytes.
/// </summary>
public sealed record FitEstimate
{
    /// <summary><c>general.architecture</c>.</summary>
    public required string Architecture { get; init; }

    /// <summary>The file type the weights are (or would be) stored in; null when the file does not say.</summary>
    public LlamaFileType? FileType { get; init; }

    /// <summary>The context per sequence the estimate is for.</summary>
    public required int Context { get; init; }

    /// <summary>The training context (the largest a recommendation goes to).</summary>
    public required int TrainingContext { get; init; }

    public required int Parallel { get; init; }

    public required KvCacheType CacheType { get; init; }

    public required int BatchSize { get; init; }

    /// <summary>Worker threads the attention scratch was sized for.</summary>
    public required int Threads { get; init; }

    /// <summary>Tensor data of the file: memory-mapped, and all resident once a token has been generated.</summary>
    public required long WeightBytes { get; init; }

    /// <summary>The rest of the mapped file: header, metadata (the vocabulary), tensor table, alignment padding.</summary>
    public required long FileOverheadBytes { get; init; }

    /// <summary>
    /// Managed copies the loaded model keeps: the parsed metadata and the tokenizer (per token and per merge) and the
    /// 1-D tensors (norms, biases) converted to float.
    /// </summary>
    public required long ModelHeapBytes { get; init; }

    /// <summary>One sequence's KV cache: 2 (K and V) × layers × context × KV width × bytes per element.</summary>
    public required long KvCachePerSequence { get; init; }

    /// <summary>One sequence's activation buffers for <see cref="BatchSize"/> tokens (<see cref="InferenceState.ScratchBytes"/>).</summary>
    public required long ActivationsPerSequence { get; init; }

    /// <summary>One sequence's attention scratch: a score row of the context and a widened head per thread.</summary>
    public required long AttentionPerSequence { get; init; }

    /// <summary>One sequence's logits (a float per vocabulary entry).</summary>
    public required long LogitsPerSequence { get; init; }

    /// <summary>
    /// The shared buffer activations are quantized into before a matmul (Q8_0 / Q8_K rows for quantized weights, floats
    /// for F16), for the largest batch of the widest projection group.
    /// </summary>
    public required long MatMulScratchBytes { get; init; }

    /// <summary>The .NET runtime and the engine's code and heap besides the model (<see cref="FitOptions.RuntimeBytes"/>).</summary>
    public required long RuntimeBytes { get; init; }

    /// <summary>The whole mapped file.</summary>
    public long FileBytes => WeightBytes + FileOverheadBytes;

    /// <summary>All KV caches: <see cref="KvCachePerSequence"/> × <see cref="Parallel"/>.</summary>
    public long KvCacheBytes => KvCachePerSequence * Parallel;

    /// <summary>One sequence's compute buffers: activations, attention scratch and logits.</summary>
    public long ComputePerSequence => ActivationsPerSequence + AttentionPerSequence + LogitsPerSequence;

    /// <summary>All compute buffers: <see cref="ComputePerSequence"/> × <see cref="Parallel"/> + the shared matmul scratch.</summary>
    public long ComputeBytes => ComputePerSequence * Parallel + MatMulScratchBytes;

    /// <summary>Everything: file + model heap + KV caches + compute buffers + runtime.</summary>
    public long TotalBytes => FileBytes + ModelHeapBytes + KvCacheBytes + ComputeBytes + RuntimeBytes;
}

/// <summary>What one file type would weigh, and how much context it leaves, under a budget.</summary>
/// <param name="FileType">The file type.</param>
/// <param name="WeightBytes">Tensor data at that type, with llama-quantize's per-tensor mix.</param>
/// <param name="FileBytes">The whole file at that type (header, metadata and aligned tensor data).</param>
/// <param name="Estimate">The estimate at the minimum context.</param>
/// <param name="Fits">True when <paramref name="Estimate"/> is within the budget.</param>
/// <param name="MaxContext">The largest context that fits (0 when not even one token does).</param>
public sealed record QuantizationFit(LlamaFileType FileType, long WeightBytes, long FileBytes, FitEstimate Estimate, bool Fits, int MaxContext);

/// <summary>What fits a memory budget.</summary>
/// <param name="BudgetBytes">The budget.</param>
/// <param name="MinimumContext">The context a quantization must leave room for to be recommended.</param>
/// <param name="Current">The model as it is, at the requested context.</param>
/// <param name="CurrentFits">True when <paramref name="Current"/> is within the budget.</param>
/// <param name="MaxContext">The largest context the model as it is can run with under the budget (0 when none).</param>
/// <param name="Quantizations">The candidate file types (<see cref="FitPlanner.CandidateFileTypes"/>, best quality first) whose
/// mixes can hold every tensor's rows.</param>
/// <param name="Best">The highest-quality file type that fits with <paramref name="MinimumContext"/>, or null.</param>
public sealed record FitRecommendation(long BudgetBytes, int MinimumContext, FitEstimate Current, bool CurrentFits, int MaxContext,
    IReadOnlyList<QuantizationFit> Quantizations, QuantizationFit? Best);
