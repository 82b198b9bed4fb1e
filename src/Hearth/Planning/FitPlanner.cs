using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Hearth.Quantization;
using Hearth.Tensors;
using Hearth.Tokenizers;

namespace Hearth.Planning;

/// <summary>
/// Estimates the memory a model needs from its file's metadata and tensor table alone (no weight is read), and
/// recommends the context and the quantization that fit a memory budget.
/// </summary>
/// <remarks>
/// <para>The estimate is of the resident set once the model has generated a token and every sequence's KV cache is full:
/// memory-mapped weights count in full (each decode reads every weight page), the KV caches in full (a fresh array is
/// only resident where written, so a short conversation holds less), plus the activation buffers of
/// <c>parallel</c> sequences (<see cref="InferenceState"/> sized for the batch), their attention scratch and logits, the
/// shared buffer that activations are quantized into before each matmul, the managed copies of the vocabulary, and the
/// runtime.</para>
/// <para>Sizes of other quantizations apply Hearth's copy of llama-quantize's per-tensor mix
/// (<see cref="QuantizationMix.Choose"/>) to the tensor shapes of the file, so they are exact for a file written by
/// Hearth's synthesizer or llama-quantize without an importance matrix.</para>
/// </remarks>
public static class FitPlanner
{
    /// <summary>
    /// The runtime line: the resident set of the <c>hearth</c> process besides the model, i.e. the .NET runtime (about
    /// 31 MiB before anything is loaded) plus the engine's jitted code, the GC's allocation budget and the worker threads
    /// (about 15 MiB). Measured on Linux x64, .NET 10: <c>hearth fit ../shared/models/stories260K.gguf --measure</c> (a model
    /// of about 1 MiB in all) is 44 to 45 MiB resident, and the resident sets of the smollm2-135m and qwen2.5-0.5b twins
    /// less every other component leave 46.6 to 47.5 MiB.
    /// </summary>
    public const long DefaultRuntimeBytes = 46L << 20;

    /// <summary>
    /// Resident bytes per vocabulary entry once loaded: the parsed <c>tokenizer.ggml.tokens</c>, scores and types, the
    /// tokenizer's lookup tables, and the garbage their construction leaves in the GC heap. Calibrated from the growth of
    /// the resident set with the vocabulary (49,152 vs 151,936 tokens: 222 bytes per token; loading vocabularies
    /// alone: 249); the live managed objects alone are about 146 bytes per token.
    /// </summary>
    public const long HeapBytesPerToken = 230;

    /// <summary>
    /// Resident bytes per BPE merge (<c>tokenizer.ggml.merges</c> and the merge table), calibrated as above from loading
    /// the real gpt-2, qwen2 and llama-bpe vocabularies of <c>../shared/tokenizers</c> (82 to 197 bytes; 73 to 80 of them
    /// live objects).
    /// </summary>
    public const long HeapBytesPerMerge = 120;

    /// <summary>The context a quantization must leave room for when none was asked for.</summary>
    public const int DefaultMinimumContext = 2048;

    /// <summary>Contexts the recommendation reports are rounded down to multiples of this (when at least this large).</summary>
    public const int ContextStep = 256;

    /// <summary>The file types a recommendation considers, best quality first.</summary>
    public static IReadOnlyList<LlamaFileType> CandidateFileTypes { get; } =
    [
        LlamaFileType.F16, LlamaFileType.Q8_0, LlamaFileType.Q6_K, LlamaFileType.Q5_K_M,
        LlamaFileType.Q4_K_M, LlamaFileType.Q4_0, LlamaFileType.Q3_K_M, LlamaFileType.Q2_K,
    ];

    /// <summary>Estimates the model in <paramref name="path"/> as it is; see <see cref="Estimate(GgufFile, FitOptions?)"/>.</summary>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The architecture is unknown or a hyper-parameter is missing or out of range.</exception>
    public static FitEstimate Estimate(string path, FitOptions? options = null)
    {
        using var file = GgufFile.Open(path);
        return Estimate(file, options);
    }

    /// <summary>Estimates the model in <paramref name="file"/> as it is stored, run with <paramref name="options"/>.</summary>
    /// <exception cref="ModelFormatException">The architecture is unknown, a hyper-parameter is missing or out of range, or
    /// a weight type cannot be computed with.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public static FitEstimate Estimate(GgufFile file, FitOptions? options = null) => Plan.AsStored(file, Check(options)).At(0);

    /// <summary>
    /// Estimates the model in <paramref name="file"/> as if it were quantized to <paramref name="fileType"/> (from its
    /// tensor shapes, with llama-quantize's mix).
    /// </summary>
    /// <exception cref="NotSupportedException">Hearth has no mix for the file type.</exception>
    /// <exception cref="ModelFormatException">As for <see cref="Estimate(GgufFile, FitOptions?)"/>, or a tensor's rows fit
    /// no type of the mix.</exception>
    public static FitEstimate Estimate(GgufFile file, LlamaFileType fileType, FitOptions? options = null) =>
        Plan.Requantized(file, fileType, Check(options)).At(0);

    /// <summary>
    /// The tensor data and whole-file size of <paramref name="file"/>'s model stored as <paramref name="fileType"/>: the
    /// same header and metadata (only <c>general.file_type</c>'s value differs) and each tensor in the type the mix
    /// gives it, aligned as in the file.
    /// </summary>
    /// <exception cref="NotSupportedException">Hearth has no mix for the file type.</exception>
    /// <exception cref="ModelFormatException">A hyper-parameter is missing, or a tensor's rows fit no type of the mix.</exception>
    public static (long WeightBytes, long FileBytes) EstimateFileSize(GgufFile file, LlamaFileType fileType)
    {
        var plan = Plan.Requantized(file, fileType, new FitOptions());
        return (plan.WeightBytes, plan.WeightBytes + plan.FileOverhead);
    }

    /// <summary>
    /// The largest context (at most the training context, rounded down to a multiple of <see cref="ContextStep"/> when
    /// at least that) at which the model, as stored or as <paramref name="fileType"/>, fits <paramref name="budgetBytes"/>;
    /// 0 when not even one token does.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The budget is not positive or an option is out of range.</exception>
    public static int MaxContext(GgufFile file, long budgetBytes, FitOptions? options = null, LlamaFileType? fileType = null)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        var plan = fileType is { } t ? Plan.Requantized(file, t, Check(options)) : Plan.AsStored(file, Check(options));
        return plan.MaxContext(budgetBytes);
    }

    /// <summary>
    /// What fits <paramref name="budgetBytes"/>: the model as it is (at the requested context, and the largest context),
    /// and for every <see cref="CandidateFileTypes"/> entry the model's rows can be stored in, its size and largest
    /// context. The best quantization is the
    /// highest-quality one that fits with <paramref name="minimumContext"/> tokens (0: the requested context, or
    /// <see cref="DefaultMinimumContext"/>; never more than the training context).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The budget is not positive, the minimum context is negative, or an
    /// option is out of range.</exception>
    /// <exception cref="ModelFormatException">As for <see cref="Estimate(GgufFile, FitOptions?)"/>.</exception>
    public static FitRecommendation Recommend(GgufFile file, long budgetBytes, FitOptions? options = null, int minimumContext = 0)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(budgetBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumContext);
        options = Check(options);
        var stored = Plan.AsStored(file, options);
        var current = stored.At(0);
        int min = minimumContext > 0 ? minimumContext : options.Context > 0 ? options.Context : DefaultMinimumContext;
        min = Math.Min(min, current.TrainingContext);
        var fits = new List<QuantizationFit>();
        foreach (var type in CandidateFileTypes)
        {
            Plan plan;
            try
            {
                plan = Plan.Requantized(file, type, options);
            }
            catch (CannotRequantizeException)
            {
                continue; // rows that no type of this mix can hold: not a candidate
            }

            var at = plan.At(min);
            fits.Add(new QuantizationFit(type, plan.WeightBytes, plan.WeightBytes + plan.FileOverhead, at, at.TotalBytes <= budgetBytes, plan.MaxContext(budgetBytes)));
        }

        return new FitRecommendation(budgetBytes, min, current, current.TotalBytes <= budgetBytes, stored.MaxContext(budgetBytes), fits,
            fits.FirstOrDefault(f => f.Fits));
    }

    internal static FitOptions Check(FitOptions? options)
    {
        options ??= new FitOptions();
        if (options.Context < 0) throw new ArgumentOutOfRangeException(nameof(options), $"context {options.Context} must be ≥ 0 (0 = the model's)");
        if (options.Parallel < 1) throw new ArgumentOutOfRangeException(nameof(options), $"parallel {options.Parallel} must be at least 1");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), $"batch size {options.BatchSize} must be at least 1");
        if (options.Threads < 0) throw new ArgumentOutOfRangeException(nameof(options), $"threads {options.Threads} must be ≥ 0 (0 = every core)");
        if (options.RuntimeBytes < 0) throw new ArgumentOutOfRangeException(nameof(options), $"runtime bytes {options.RuntimeBytes} must be ≥ 0");
        if (!Enum.IsDefined(options.CacheType)) throw new ArgumentOutOfRangeException(nameof(options), $"KV cache type {options.CacheType} is unknown");
        return options;
    }

    /// <summary>A model's weights in given types, run with given options: an estimate at any context.</summary>
    private sealed record Plan(ModelFacts Facts, GgmlType[] Types, long WeightBytes, long FileOverhead, LlamaFileType? FileType, FitOptions Options)
    {
        private readonly long _matMulScratch = MatMulScratch(Facts, Types, Options.BatchSize);

        public static Plan AsStored(GgufFile file, FitOptions options)
        {
            var facts = ModelFacts.Read(file);
            long weights = file.Tensors.Sum(t => t.ByteSize);
            var fileType = file.GetInteger("general.file_type") is long ft && ft >= 0 && Enum.IsDefined((LlamaFileType)ft) ? (LlamaFileType?)ft : null;
            return new Plan(facts, file.Tensors.Select(t => t.Type).ToArray(), weights, file.FileLength - weights, fileType, options);
        }

        public static Plan Requantized(GgufFile file, LlamaFileType fileType, FitOptions options)
        {
            var facts = ModelFacts.Read(file);
            var (types, weights, fileBytes) = Requantize(file, facts, fileType);
            return new Plan(facts, types, weights, fileBytes - weights, fileType, options);
        }

        /// <summary>The estimate at <paramref name="context"/> tokens (0: the options' context, or the model's default).</summary>
        public FitEstimate At(int context)
        {
            var hp = Facts.Hp;
            var o = Options;
            if (context <= 0) context = o.Context > 0 ? o.Context : Math.Min(hp.ContextLength, LanguageModel.DefaultContextCap);
            if (context > MaxCacheContext)
                throw new ArgumentOutOfRangeException(nameof(context), $"context {context} makes a KV cache layer larger than one array can hold (at most {MaxCacheContext})");
            int threads = o.Threads > 0 ? o.Threads : Environment.ProcessorCount;
            return new FitEstimate
            {
                Architecture = hp.Architecture,
                FileType = FileType,
                Context = context,
                TrainingContext = hp.ContextLength,
                Parallel = o.Parallel,
                CacheType = o.CacheType,
                BatchSize = o.BatchSize,
                Threads = threads,
                WeightBytes = WeightBytes,
                FileOverheadBytes = FileOverhead,
                ModelHeapBytes = Facts.HeapBytes,
                KvCachePerSequence = KvCache.EstimateBytes(hp, context, o.CacheType),
                ActivationsPerSequence = InferenceState.EstimateScratchBytes(hp, o.BatchSize),
                AttentionPerSequence = 4L * threads * ((long)context + Math.Max(hp.KeyLength, hp.ValueLength)),
                LogitsPerSequence = 4L * Facts.VocabSize,
                MatMulScratchBytes = _matMulScratch,
                RuntimeBytes = o.RuntimeBytes,
            };
        }

        /// <summary>The largest context whose KV cache layer fits one array (what <see cref="KvCache"/> accepts).</summary>
        private int MaxCacheContext => (int)Math.Min(int.MaxValue, Array.MaxLength / Math.Max(Facts.Hp.KvWidth, Facts.Hp.ValueWidth));

        /// <summary>The largest context that fits the budget (rounded down to <see cref="ContextStep"/>s), or 0.</summary>
        public int MaxContext(long budget)
        {
            // The total grows with the context (KV cache and attention scores) and with nothing else: a binary search.
            int hi = Math.Min(Facts.Hp.ContextLength, MaxCacheContext);
            if (At(1).TotalBytes > budget) return 0;
            int lo = 1;
            while (lo < hi)
            {
                int mid = lo + (hi - lo + 1) / 2;
                if (At(mid).TotalBytes <= budget) lo = mid;
                else hi = mid - 1;
            }

            return lo >= ContextStep && lo != Facts.Hp.ContextLength ? lo / ContextStep * ContextStep : lo;
        }
    }

    /// <summary>
    /// The compute pool's activation buffer: the largest of the conversions one pool job needs. Projections that share an
    /// input (q/k/v, gate/up) run as one job converting the input once per distinct weight type; the others one by one.
    /// A prompt batch converts <paramref name="batch"/> rows; the LM head only ever sees the last token's row.
    /// </summary>
    private static long MatMulScratch(ModelFacts facts, GgmlType[] types, int batch)
    {
        var tensors = facts.Tensors;
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < tensors.Count; i++) byName[tensors[i].Name] = i;

        long Bytes(int index, int rows)
        {
            var t = tensors[index];
            try
            {
                return MatMul.ScratchBytes(types[index], checked((int)t.RowLength), rows);
            }
            catch (NotSupportedException e)
            {
                throw new ModelFormatException($"{facts.Path}: tensor '{t.Name}': {e.Message}");
            }
            catch (ArgumentException e)
            {
                throw new ModelFormatException($"{facts.Path}: tensor '{t.Name}': {e.Message}");
            }
        }

        long Group(string prefix, params string[] names)
        {
            var present = names.Select(n => byName.TryGetValue(prefix + n, out int i) ? i : -1).ToArray();
            if (present.Any(i => i < 0))
                return present.Where(i => i >= 0).Select(i => Bytes(i, batch)).DefaultIfEmpty(0).Max();
            return present.DistinctBy(i => types[i]).Sum(i => Bytes(i, batch));
        }

        long max = 0;
        for (int l = 0; l < facts.Hp.BlockCount; l++)
        {
            string p = $"blk.{l}.";
            max = Math.Max(max, Group(p, "attn_q.weight", "attn_k.weight", "attn_v.weight"));
            max = Math.Max(max, Group(p, "ffn_gate.weight", "ffn_up.weight"));
            foreach (var single in new[] { "attn_qkv.weight", "attn_output.weight", "ffn_down.weight" })
            {
                if (byName.TryGetValue(p + single, out int i)) max = Math.Max(max, Bytes(i, batch));
            }

            // A fused gate+up (Phi-3) is a lone ffn_up.
            if (!byName.ContainsKey(p + "ffn_gate.weight") && byName.TryGetValue(p + "ffn_up.weight", out int up)) max = Math.Max(max, Bytes(up, batch));
        }

        int head = byName.TryGetValue("output.weight", out int o) ? o : byName.TryGetValue("token_embd.weight", out int e) ? e : -1;
        if (head >= 0) max = Math.Max(max, Bytes(head, 1));
        return max;
    }

    private static (GgmlType[] Types, long WeightBytes, long FileBytes) Requantize(GgufFile file, ModelFacts facts, LlamaFileType fileType)
    {
        if (!QuantizationMix.IsSupported(fileType))
            throw new NotSupportedException($"file type {fileType} has no quantization mix in Hearth (supported: {string.Join(", ", QuantizationMix.SupportedFileTypes)})");
        var model = new QuantizationModel(facts.Hp.Architecture, facts.Hp.BlockCount, facts.Hp.HeadCount, facts.Hp.HeadCountKv);
        TensorTypeChoice[] choices;
        try
        {
            choices = QuantizationMix.Choose(model, file.Tensors.Select(t => new TensorToQuantize(t.Name, t.Shape, t.Type)).ToArray(), fileType);
        }
        catch (QuantizationException e)
        {
            throw new CannotRequantizeException($"{file.Path}: cannot be stored as {fileType}: {e.Message}");
        }

        var types = choices.Select(c => c.Type).ToArray();
        long weights = 0;
        for (int i = 0; i < types.Length; i++) weights += TensorBytes(file.Tensors[i], types[i]);

        // The data section: every tensor at an aligned offset, in the file's order, and the end padded (as writers do).
        long data = 0;
        foreach (int i in Enumerable.Range(0, types.Length).OrderBy(i => file.Tensors[i].Offset))
            data = AlignUp(data + TensorBytes(file.Tensors[i], types[i]), file.Alignment);
        return (types, weights, file.DataOffset + data);
    }

    private static long TensorBytes(GgufTensorInfo t, GgmlType type) => t.RowCount * GgmlTypes.Get(type).RowBytes(t.RowLength);

    private static long AlignUp(long v, long alignment) => (v + alignment - 1) / alignment * alignment;

    /// <summary>A tensor's rows fit no type of the mix (as <see cref="ModelFormatException"/> to callers).</summary>
    private sealed class CannotRequantizeException(string message) : ModelFormatException(message);

    /// <summary>What the planner reads from a file once.</summary>
    private sealed record ModelFacts(string Path, HyperParameters Hp, int VocabSize, long HeapBytes, IReadOnlyList<GgufTensorInfo> Tensors)
    {
        public static ModelFacts Read(GgufFile file)
        {
            ArgumentNullException.ThrowIfNull(file);
            var arch = ArchitectureRegistry.Resolve(file);
            var hp = HyperParameters.Read(file, arch.Name);
            var head = file.FindTensor("output.weight") ?? file.FindTensor("token_embd.weight")
                ?? throw new ModelFormatException($"{file.Path}: neither output.weight nor token_embd.weight is in the tensor table");
            long vocab = head.Shape.Length > 1 ? head.Shape[1] : 0;
            if (vocab <= 0 || vocab > int.MaxValue) throw new ModelFormatException($"{file.Path}: '{head.Name}' has shape {head.ShapeText}, not [n_embd, n_vocab]");
            long tokens = file.Get(Tokenizer.KeyTokens)?.AsArray?.Count ?? 0;
            long merges = file.Get(Tokenizer.KeyMerges)?.AsArray?.Count ?? 0;
            // 1-D tensors (norms, biases, RoPE factors) are converted to float arrays when the weights are bound.
            long vectors = file.Tensors.Where(t => t.Shape.Skip(1).All(d => d == 1)).Sum(t => t.ElementCount * 4);
            long heap = tokens * HeapBytesPerToken + merges * HeapBytesPerMerge + vectors;
            return new ModelFacts(file.Path, hp, (int)vocab, heap, file.Tensors);
        }
    }
}
