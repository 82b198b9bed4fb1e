using Hearth.Grammar;
using Hearth.Models;

namespace Hearth.Generation;

/// <summary>The choice a model prefers, with its probability among the choices and every choice's probability.</summary>
public sealed record ChoiceResult(string Choice, int Index, double Probability, IReadOnlyList<double> Probabilities);

/// <summary>
/// Choice mode: picks one of a fixed list of strings by the probability the model gives each as the continuation of a
/// prompt. Every choice's tokens are scored by teacher forcing (log P(choice | prompt), summed over its tokens), and the
/// scores are normalised over the choices. Deterministic: no sampling, so a safety label never depends on a seed.
/// </summary>
public static class ChoiceClassifier
{
    /// <exception cref="ArgumentException">Fewer than two choices, or a choice that encodes to no tokens.</exception>
    /// <exception cref="ContextOverflowException">The prompt and the longest choice do not fit in the model's context.</exception>
    public static ChoiceResult Classify(LanguageModel model, IReadOnlyList<int> prompt, IReadOnlyList<string> choices)
    {
        var set = new ChoiceSet(choices);
        var sequences = set.TokenSequences(model.Tokenizer);
        for (int i = 0; i < sequences.Count; i++)
        {
            if (sequences[i].Length == 0) throw new ArgumentException($"choice {i} ('{choices[i]}') encodes to no tokens", nameof(choices));
        }

        if (prompt.Count == 0) throw new ArgumentException("the prompt has no tokens", nameof(prompt));
        int vocab = model.Transformer.VocabSize;
        int longest = sequences.Max(s => s.Length);
        int context = prompt.Count + longest;
        if (context > model.Context) throw new ContextOverflowException(0, context, model.Context);
        var state = model.CreateState(context, KvCacheType.F32, batchSize: Math.Max(longest, 1));
        var first = new float[vocab];
        model.Transformer.Forward(state, prompt.ToArray(), first, allLogits: false, model.Pool);
        double firstNorm = LogSumExp(first);
        var rest = new float[longest * vocab];
        var scores = new double[sequences.Count];
        for (int c = 0; c < sequences.Count; c++)
        {
            var seq = sequences[c];
            double logp = first[seq[0]] - firstNorm;
            if (seq.Length > 1)
            {
                state.Truncate(prompt.Count);
                model.Transformer.Forward(state, seq.AsSpan(0, seq.Length - 1), rest, allLogits: true, model.Pool);
                for (int i = 1; i < seq.Length; i++)
                {
                    var row = rest.AsSpan((i - 1) * vocab, vocab);
                    logp += row[seq[i]] - LogSumExp(row);
                }
            }

            scores[c] = logp;
        }

        double max = scores.Max();
        var probs = scores.Select(s => Math.Exp(s - max)).ToArray();
        double sum = probs.Sum();
        for (int i = 0; i < probs.Length; i++) probs[i] /= sum;
        int best = Array.IndexOf(probs, probs.Max());
        return new ChoiceResult(choices[best], best, probs[best], probs);
    }

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        float max = float.NegativeInfinity;
        foreach (var v in row) max = MathF.Max(max, v);
        double sum = 0;
        foreach (var v in row) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
