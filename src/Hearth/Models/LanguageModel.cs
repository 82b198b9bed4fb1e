using System.Diagnostics;
using Hearth.Gguf;
using Hearth.Models.Architectures;
using Hearth.Tensors;
using Hearth.Tokenizers;

namespace Hearth.Models;

/// <summary>Bytes a model occupies: its mapped file, one sequence's KV cache and scratch, and the process's resident set.</summary>
public readonly record struct MemoryFootprint(long FileBytes, long KvCacheBytes, long ScratchBytes, long ResidentBytes)
{
    /// <summary>File + KV cache + scratch: what residency should not exceed by much (the runtime itself adds some).</summary>
    public long ExpectedBytes => FileBytes + KvCacheBytes + ScratchBytes;
}

/// <summary>How to load a model.</summary>
public sealed record ModelLoadOptions
{
    /// <summary>Worker threads for matrix products; 0 uses every core.</summary>
    public int Threads { get; init; }

    /// <summary>
    /// The context sequences will run with; it picks LongRoPE factors and the default cache size. 0 uses the model's
    /// training context capped at <see cref="LanguageModel.DefaultContextCap"/>.
    /// </summary>
    public int Context { get; init; }
}

/// <summary>
/// A loaded model: the mapped GGUF file, the transformer bound to its weights, the tokenizer, and a thread pool.
/// Weights are shared by every sequence; each sequence gets its own <see cref="InferenceState"/>.
/// </summary>
public sealed class LanguageModel : IDisposable
{
    /// <summary>The default context when none is asked for: the training context, but no more than this.</summary>
    public const int DefaultContextCap = 4096;

    private LanguageModel(GgufFile file, Transformer transformer, Tokenizer tokenizer, ComputePool pool, int context, TimeSpan loadTime)
    {
        File = file;
        Transformer = transformer;
        Tokenizer = tokenizer;
        Pool = pool;
        Context = context;
        LoadTime = loadTime;
        _vocabulary = new(() => Hearth.Grammar.TokenVocabulary.FromTokenizer(tokenizer), LazyThreadSafetyMode.ExecutionAndPublication);
        Adapters = new Lora.AdapterRegistry(transformer);
    }

    /// <summary>The LoRA adapters loaded for this model, each once, shared by every sequence; released with the model.</summary>
    public Lora.AdapterRegistry Adapters { get; }

    public GgufFile File { get; }

    public Transformer Transformer { get; }

    public Tokenizer Tokenizer { get; }

    public ComputePool Pool { get; }

    /// <summary>The context new sequences get unless they ask otherwise.</summary>
    public int Context { get; }

    public TimeSpan LoadTime { get; }

    /// <summary>Per-token data for grammar masking, built on first use and shared by every sequence.</summary>
    public Hearth.Grammar.TokenVocabulary TokenVocabulary => _vocabulary.Value;

    private readonly Lazy<Hearth.Grammar.TokenVocabulary> _vocabulary;

    public string Architecture => Transformer.Hp.Architecture;

    /// <summary>Maps and validates the file, resolves the architecture, binds weights and builds the tokenizer.</summary>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The architecture is unknown, or a tensor or hyper-parameter is wrong.</exception>
    public static LanguageModel Load(string path, ModelLoadOptions? options = null)
    {
        options ??= new ModelLoadOptions();
        if (options.Threads < 0) throw new ArgumentOutOfRangeException(nameof(options), $"threads {options.Threads} must be ≥ 0");
        if (options.Context < 0) throw new ArgumentOutOfRangeException(nameof(options), $"context {options.Context} must be ≥ 0");
        var sw = Stopwatch.StartNew();
        var file = GgufFile.Open(path);
        try
        {
            var arch = ArchitectureRegistry.Resolve(file);
            var trainCtx = (int)Math.Clamp(file.GetInteger($"{arch.Name}.context_length") ?? DefaultContextCap, 1, int.MaxValue);
            int context = options.Context > 0 ? options.Context : Math.Min(trainCtx, DefaultContextCap);
            var transformer = arch.Build(file, context);
            var tokenizer = Tokenizer.FromGguf(file);
            if (tokenizer.VocabSize > transformer.VocabSize)
                throw new ModelFormatException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the output layer only {transformer.VocabSize}");
            var pool = new ComputePool(options.Threads > 0 ? options.Threads : Environment.ProcessorCount);
            return new LanguageModel(file, transformer, tokenizer, pool, context, sw.Elapsed);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>A fresh sequence state (KV cache and buffers) for this model.</summary>
    public InferenceState CreateState(int context = 0, KvCacheType cacheType = KvCacheType.F32, int batchSize = 64) =>
        new(Transformer, context > 0 ? context : Context, batchSize, cacheType);

    /// <summary>
    /// Evaluates <paramref name="tokens"/> as one sequence from position 0 and returns the logits of every position,
    /// [n_tokens][n_vocab] (what <c>hearth logits</c> writes).
    /// </summary>
    public float[] EvaluateAll(ReadOnlySpan<int> tokens, KvCacheType cacheType = KvCacheType.F32)
    {
        var state = CreateState(Math.Max(tokens.Length, 1), cacheType, batchSize: Math.Max(tokens.Length, 1));
        var logits = new float[tokens.Length * Transformer.VocabSize];
        Transformer.Forward(state, tokens, logits, allLogits: true, Pool);
        return logits;
    }

    /// <summary>
    /// What a model and one sequence should occupy (the mapped file, the KV cache, the scratch buffers) next to what the
    /// process actually holds resident, so a user can see that weights stay mapped rather than copied.
    /// </summary>
    public MemoryFootprint Footprint(InferenceState state) =>
        new(File.FileLength, state.Cache.ByteSize, state.ScratchBytes, Environment.WorkingSet);

    public void Dispose()
    {
        Adapters.Dispose();
        Pool.Dispose();
        File.Dispose();
    }
}
