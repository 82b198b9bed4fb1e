using Hearth.Tokenizers;

namespace Hearth.Grammar;

/// <summary>
/// A constraint to one of a fixed list of strings (labels such as <c>NORMAL</c> / <c>ANOMALY DETECTED</c>): its
/// <see cref="Grammar"/>, the mapping from generated text back to the choice, and each choice's tokens for scoring the
/// choices by probability. Immutable.
/// </summary>
public sealed class ChoiceSet
{
    private readonly string[] _choices;

    /// <exception cref="ArgumentException">No choices, an empty choice, or the same choice twice.</exception>
    public ChoiceSet(IReadOnlyList<string> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        _choices = choices.ToArray();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in _choices)
        {
            if (string.IsNullOrEmpty(c)) throw new ArgumentException("choices must be non-empty strings", nameof(choices));
            if (!seen.Add(c)) throw new ArgumentException($"choice '{c}' is listed twice", nameof(choices));
        }

        Grammar = Grammar.Choices(_choices);
    }

    public IReadOnlyList<string> Choices => _choices;

    /// <summary><c>root ::= "choice 1" | "choice 2" | ...</c></summary>
    public Grammar Grammar { get; }

    /// <summary>The index of the choice equal to <paramref name="generated"/> (ordinal), or -1.</summary>
    public int IndexOf(string generated)
    {
        ArgumentNullException.ThrowIfNull(generated);
        return Array.IndexOf(_choices, generated);
    }

    /// <summary>
    /// Each choice as the tokenizer encodes it on its own, without special tokens: the sequences to score when picking
    /// a choice by its probability under the model.
    /// </summary>
    public IReadOnlyList<int[]> TokenSequences(Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return _choices.Select(c => tokenizer.Encode(c, addSpecial: false)).ToArray();
    }
}
