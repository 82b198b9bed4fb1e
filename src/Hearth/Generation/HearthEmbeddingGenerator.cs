using System.Numerics.Tensors;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Generation;

/// <summary>How a sequence's hidden states become one embedding (llama.cpp's <c>pooling_type</c> numbering).</summary>
public enum EmbeddingPooling
{
    Mean = 1,
    Cls = 2,
    Last = 3,
}

/// <summary>
/// <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a loaded model: each text is tokenized, run through the
/// transformer, and its final hidden states (after the output norm) are pooled — by <c>{arch}.pooling_type</c> when
/// the file has it, else by mean — and L2-normalised. Safe to call concurrently: every call has its own state.
/// </summary>
public sealed class HearthEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly LanguageModel _model;
    private readonly Hearth.Serving.SequenceScheduler? _scheduler;

    /// <summary>Embeds with the model's own compute pool (concurrent calls take turns on it).</summary>
    public HearthEmbeddingGenerator(LanguageModel model, EmbeddingPooling? pooling = null, bool normalize = true)
    {
        _model = model;
        Normalize = normalize;
        Pooling = pooling ?? PoolingFromMetadata(model);
        Metadata = new EmbeddingGeneratorMetadata("hearth", null, System.IO.Path.GetFileNameWithoutExtension(model.File.Path), model.Transformer.Hp.EmbeddingLength);
    }

    /// <summary>Embeds between the decode steps of <paramref name="scheduler"/>, which then has the model to itself.</summary>
    public HearthEmbeddingGenerator(Hearth.Serving.SequenceScheduler scheduler, EmbeddingPooling? pooling = null, bool normalize = true)
        : this(scheduler.Model, pooling, normalize) => _scheduler = scheduler;

    public EmbeddingPooling Pooling { get; }

    public bool Normalize { get; }

    public EmbeddingGeneratorMetadata Metadata { get; }

    /// <summary>The pooled (and normalised) hidden state of one text.</summary>
    /// <exception cref="ContextOverflowException">The text has more tokens than the model's context.</exception>
    public float[] Embed(string text)
    {
        var tokens = _model.Tokenizer.Encode(text, addSpecial: true, parseSpecial: false);
        if (tokens.Length == 0) throw new ArgumentException("the text has no tokens", nameof(text));
        if (tokens.Length > _model.Context) throw new ContextOverflowException(0, tokens.Length, _model.Context);
        int e = _model.Transformer.Hp.EmbeddingLength;
        var state = _model.CreateState(tokens.Length, KvCacheType.F32, batchSize: Math.Min(tokens.Length, 256));
        var hidden = new float[tokens.Length * e];
        _model.Transformer.ForwardHidden(state, tokens, hidden, _model.Pool);
        var result = new float[e];
        switch (Pooling)
        {
            case EmbeddingPooling.Cls:
                hidden.AsSpan(0, e).CopyTo(result);
                break;
            case EmbeddingPooling.Last:
                hidden.AsSpan((tokens.Length - 1) * e, e).CopyTo(result);
                break;
            default:
                for (int t = 0; t < tokens.Length; t++) TensorPrimitives.Add(result, hidden.AsSpan(t * e, e), result);
                TensorPrimitives.Multiply(result, 1f / tokens.Length, result);
                break;
        }

        if (Normalize)
        {
            float norm = TensorPrimitives.Norm(result);
            if (norm > 0) TensorPrimitives.Multiply(result, 1f / norm, result);
        }

        return result;
    }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToList();
        GeneratedEmbeddings<Embedding<float>> Work(LanguageModel _)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            long tokens = 0;
            foreach (var text in texts)
            {
                cancellationToken.ThrowIfCancellationRequested();
                tokens += _model.Tokenizer.Encode(text, addSpecial: true).Length;
                result.Add(new Embedding<float>(Embed(text)) { ModelId = Metadata.DefaultModelId, CreatedAt = DateTimeOffset.UtcNow });
            }

            result.Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens };
            return result;
        }

        return _scheduler != null ? _scheduler.RunExclusiveAsync(Work, cancellationToken) : Task.Run(() => Work(_model), cancellationToken);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey == null && serviceType.IsInstanceOfType(this) ? this :
        serviceKey == null && serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata :
        serviceKey == null && serviceType == typeof(LanguageModel) ? _model : null;

    /// <summary>The generator does not own the model; disposing it does nothing.</summary>
    public void Dispose()
    {
    }

    private static EmbeddingPooling PoolingFromMetadata(LanguageModel model) =>
        model.File.GetInteger($"{model.Architecture}.pooling_type") switch
        {
            2 => EmbeddingPooling.Cls,
            3 => EmbeddingPooling.Last,
            _ => EmbeddingPooling.Mean,
        };
}
