using System.Text;
using Hearth.Models;
using Hearth.Tokenizers;

namespace Hearth.Sensors.Tests;

/// <summary>
/// Greedy decoding computed independently of the engine's generate loop, sampler and grammar matcher: every step
/// evaluates the whole sequence from scratch (<see cref="LanguageModel.EvaluateAll"/>), and the allowed tokens are found by
/// plain byte-prefix comparison with the target strings. The classifier's answers are checked against it.
/// </summary>
internal static class GreedyReference
{
    /// <summary>The greedy continuation of <paramref name="prompt"/> restricted to one of <paramref name="targets"/>
    /// (an end-of-generation token is allowed once the text is a whole target; the text ends by itself when no target
    /// extends it).</summary>
    public static string Constrained(LanguageModel model, int[] prompt, IReadOnlyList<string> targets)
    {
        var tok = model.Tokenizer;
        var goals = targets.Select(t => Encoding.UTF8.GetBytes(t)).ToArray();
        var sequence = prompt.ToList();
        var text = new List<byte>();
        while (true)
        {
            bool whole = goals.Any(g => g.AsSpan().SequenceEqual(text.ToArray()));
            bool extendable = goals.Any(g => g.Length > text.Count && g.AsSpan().StartsWith(text.ToArray()));
            if (whole && !extendable) break;
            var logits = LastRow(model, sequence);
            int best = -1;
            byte[] bestBytes = [];
            for (int id = 0; id < tok.VocabSize; id++)
            {
                byte[] bytes;
                if (tok.IsEndOfGeneration(id))
                {
                    if (!whole) continue;
                    bytes = [];
                }
                else
                {
                    if ((tok.GetTokenAttributes(id) & (TokenAttributes.Control | TokenAttributes.Unknown | TokenAttributes.Unused)) != 0) continue;
                    bytes = tok.TokenBytes(id, special: false);
                    if (bytes.Length == 0) continue;
                    var next = text.Concat(bytes).ToArray();
                    if (!goals.Any(g => g.AsSpan().StartsWith(next))) continue;
                }

                if (best < 0 || logits[id] > logits[best])
                {
                    best = id;
                    bestBytes = bytes;
                }
            }

            if (tok.IsEndOfGeneration(best)) break;
            sequence.Add(best);
            text.AddRange(bestBytes);
        }

        return Encoding.UTF8.GetString(text.ToArray());
    }

    /// <summary>The free greedy continuation: at most <paramref name="maxTokens"/> tokens, ending early at an
    /// end-of-generation token or once the text holds <paramref name="stop"/> (cut there). Also returns how many tokens it took.</summary>
    public static (string Text, int Tokens) Free(LanguageModel model, int[] prompt, int maxTokens, string? stop)
    {
        var sequence = prompt.ToList();
        var generated = new List<int>();
        while (generated.Count < maxTokens)
        {
            var logits = LastRow(model, sequence);
            int best = 0;
            for (int id = 1; id < model.Tokenizer.VocabSize; id++)
            {
                if (logits[id] > logits[best]) best = id;
            }

            if (model.Tokenizer.IsEndOfGeneration(best)) break;
            generated.Add(best);
            sequence.Add(best);
            if (stop != null && Decode(model, generated).Contains(stop, StringComparison.Ordinal)) break;
        }

        var text = Decode(model, generated);
        if (stop != null && text.IndexOf(stop, StringComparison.Ordinal) is >= 0 and var at) text = text[..at];
        return (text, generated.Count);
    }

    private static string Decode(LanguageModel model, List<int> ids) =>
        Encoding.UTF8.GetString(ids.SelectMany(id => model.Tokenizer.TokenBytes(id, special: false)).ToArray());

    private static float[] LastRow(LanguageModel model, List<int> sequence)
    {
        var all = model.EvaluateAll(sequence.ToArray());
        int vocab = model.Transformer.VocabSize;
        return all.AsSpan((sequence.Count - 1) * vocab, vocab).ToArray();
    }
}
