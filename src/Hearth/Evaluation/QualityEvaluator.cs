using System.Globalization;
using Hearth.Models;

namespace Hearth.Evaluation;

/// <summary>How <see cref="QualityEvaluator"/> cuts a text into chunks.</summary>
public sealed record QualityOptions
{
    /// <summary>Tokens per chunk (llama-perplexity's <c>-c</c>); at least 4.</summary>
    public int Context { get; init; } = 512;

    /// <summary>Evaluate at most this many chunks; 0 evaluates every whole chunk of the text.</summary>
    public int MaxChunks { get; init; }
}

/// <summary>How far a model's next-token distributions are from a reference model's over the same tokens.</summary>
/// <param name="MeanKld">Mean over scored tokens of KL(reference ‖ model) = Σ p_ref (ln p_ref − ln p_model), in nats.</param>
/// <param name="KldStandardError">Standard error of <paramref name="MeanKld"/> (sample standard deviation / √n).</param>
/// <param name="Kld99">The 99th percentile of the per-token KL divergences (nearest rank: the ⌈0.99·n⌉-th smallest).</param>
/// <param name="MaxKld">The largest per-token KL divergence.</param>
/// <param name="Top1Agreement">Fraction of scored tokens where both models' most likely next token is the same.</param>
/// <param name="ReferencePerplexity">The reference model's perplexity on the same tokens.</param>
public sealed record ReferenceComparison(double MeanKld, double KldStandardError, double Kld99, double MaxKld, double Top1Agreement, double ReferencePerplexity);

/// <summary>The result of <see cref="QualityEvaluator.Evaluate"/>.</summary>
/// <param name="Context">Tokens per chunk.</param>
/// <param name="Chunks">Chunks evaluated.</param>
/// <param name="ScoredTokens">Tokens whose probability was scored: Chunks × (Context − 1 − Context / 2).</param>
/// <param name="MeanNll">Mean negative log-likelihood of the scored tokens, in nats.</param>
/// <param name="Reference">The comparison with the reference model, when one was given.</param>
public sealed record QualityReport(int Context, int Chunks, int ScoredTokens, double MeanNll, ReferenceComparison? Reference)
{
    /// <summary>exp(<see cref="MeanNll"/>).</summary>
    public double Perplexity => Math.Exp(MeanNll);

    /// <summary>The report as a few lines of text.</summary>
    public string Describe()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.Append(inv, $"chunks {Chunks} × {Context} tokens, {ScoredTokens} tokens scored\n");
        sb.Append(inv, $"perplexity {Perplexity:F4} (mean NLL {MeanNll:F6})\n");
        if (Reference is { } r)
        {
            sb.Append(inv, $"reference perplexity {r.ReferencePerplexity:F4}\n");
            sb.Append(inv, $"mean KLD {r.MeanKld:F6} ± {r.KldStandardError:F6}, 99th percentile {r.Kld99:F6}, max {r.MaxKld:F6}\n");
            sb.Append(inv, $"top-1 agreement {100 * r.Top1Agreement:F2}%\n");
        }

        return sb.ToString();
    }
}

/// <summary>
/// Measures a model's quality on a text the way llama.cpp's <c>llama-perplexity</c> does: the text is tokenized once
/// (with BOS when the model adds one), cut into non-overlapping chunks of <see cref="QualityOptions.Context"/> tokens,
/// each chunk is evaluated from an empty cache with its first token replaced by BOS, and only the second half of each
/// chunk is scored (positions Context/2 .. Context−2 predict tokens Context/2+1 .. Context−1), so every scored token has
/// at least half a context of history. With a reference model (typically the F16 or F32 original of a quantized model)
/// the same positions also give the KL divergence of the model from the reference and how often their top tokens agree.
/// </summary>
public static class QualityEvaluator
{
    /// <summary>Evaluates <paramref name="model"/> (and <paramref name="reference"/>, if given) on <paramref name="text"/>.</summary>
    /// <exception cref="ArgumentException">The context is below 4, the chunk limit negative, the text shorter than one chunk,
    /// or the reference model's vocabulary or tokenization differs from the model's.</exception>
    /// <exception cref="OperationCanceledException">Cancelled between chunks.</exception>
    public static QualityReport Evaluate(LanguageModel model, string text, QualityOptions? options = null, LanguageModel? reference = null, IProgress<double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(text);
        options ??= new QualityOptions();
        int ctx = options.Context;
        if (ctx < 4) throw new ArgumentException($"the context must be at least 4 tokens (got {ctx})", nameof(options));
        if (options.MaxChunks < 0) throw new ArgumentException($"the chunk limit must be 0 (all) or more (got {options.MaxChunks})", nameof(options));

        var tokens = model.Tokenizer.Encode(text, addSpecial: true);
        int available = tokens.Length / ctx;
        if (available == 0)
            throw new ArgumentException($"the text has {tokens.Length} tokens, fewer than one chunk of {ctx}; give a longer text or a smaller context", nameof(text));
        int chunks = options.MaxChunks > 0 ? Math.Min(options.MaxChunks, available) : available;
        int vocab = model.Transformer.VocabSize;
        if (reference != null)
        {
            if (reference.Transformer.VocabSize != vocab)
                throw new ArgumentException($"the reference model has {reference.Transformer.VocabSize} output tokens and the model {vocab}; compare models with the same vocabulary", nameof(reference));
            if (!reference.Tokenizer.Encode(text, addSpecial: true).AsSpan().SequenceEqual(tokens))
                throw new ArgumentException("the reference model tokenizes the text differently; compare models with the same tokenizer", nameof(reference));
        }

        int? bos = model.Tokenizer.BosId;
        bool addBos = model.Tokenizer.AddBos && bos.HasValue;
        int first = ctx / 2;
        double nll = 0, refNll = 0;
        int scored = 0, agree = 0;
        var klds = reference != null ? new List<double>(chunks * (ctx - 1 - first)) : null;
        var chunk = new int[ctx];
        var logProbs = new double[vocab];
        var refLogProbs = new double[vocab];
        progress?.Report(0);
        for (int c = 0; c < chunks; c++)
        {
            cancellation.ThrowIfCancellationRequested();
            tokens.AsSpan(c * ctx, ctx).CopyTo(chunk);
            if (addBos) chunk[0] = bos!.Value;
            var logits = model.EvaluateAll(chunk);
            var refLogits = reference?.EvaluateAll(chunk);
            for (int j = first; j < ctx - 1; j++)
            {
                int next = chunk[j + 1];
                LogSoftmax(logits.AsSpan(j * vocab, vocab), logProbs);
                nll -= logProbs[next];
                scored++;
                if (refLogits != null)
                {
                    LogSoftmax(refLogits.AsSpan(j * vocab, vocab), refLogProbs);
                    refNll -= refLogProbs[next];
                    double kld = 0;
                    for (int v = 0; v < vocab; v++) kld += Math.Exp(refLogProbs[v]) * (refLogProbs[v] - logProbs[v]);
                    klds!.Add(Math.Max(0, kld));
                    if (ArgMax(logProbs) == ArgMax(refLogProbs)) agree++;
                }
            }

            progress?.Report((c + 1) / (double)chunks);
        }

        ReferenceComparison? comparison = null;
        if (klds != null)
        {
            double mean = klds.Average();
            double variance = klds.Count > 1 ? klds.Sum(k => (k - mean) * (k - mean)) / (klds.Count - 1) : 0;
            var sorted = klds.Order().ToArray();
            double p99 = sorted[Math.Max(0, (int)Math.Ceiling(0.99 * sorted.Length) - 1)];
            comparison = new ReferenceComparison(mean, Math.Sqrt(variance / klds.Count), p99, sorted[^1], agree / (double)scored, Math.Exp(refNll / scored));
        }

        return new QualityReport(ctx, chunks, scored, nll / scored, comparison);
    }

    /// <summary>ln softmax(x) in double precision: x − max − ln Σ exp(x − max).</summary>
    private static void LogSoftmax(ReadOnlySpan<float> x, Span<double> dst)
    {
        double max = double.NegativeInfinity;
        foreach (var v in x) max = Math.Max(max, v);
        double sum = 0;
        for (int i = 0; i < x.Length; i++) sum += Math.Exp(x[i] - max);
        double log = max + Math.Log(sum);
        for (int i = 0; i < x.Length; i++) dst[i] = x[i] - log;
    }

    private static int ArgMax(ReadOnlySpan<double> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best]) best = i;
        }

        return best;
    }
}
