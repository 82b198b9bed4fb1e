using Hearth.Grammar;

namespace Hearth.Generation;

/// <summary>A grammar as a generation constraint: one matcher per sequence over the model's shared token vocabulary.</summary>
public sealed class GrammarConstraint : ITokenConstraint
{
    private readonly GrammarMatcher _matcher;

    public GrammarConstraint(Grammar.Grammar grammar, TokenVocabulary vocabulary) => _matcher = new GrammarMatcher(grammar, vocabulary);

    public GrammarMatcher Matcher => _matcher;

    public bool IsComplete => _matcher.IsComplete;

    public bool MustStop => _matcher.MustStop;

    /// <exception cref="GrammarConstraintException">No token can continue the grammar (fails closed).</exception>
    public void ComputeMask(Span<bool> allowed)
    {
        if (_matcher.ComputeMask(allowed) == 0) throw new GrammarConstraintException("no token of the vocabulary can continue the grammar here");
    }

    public void Accept(int token)
    {
        // End-of-generation tokens end the sequence; the matcher only has to know the text.
        if (_matcher.Vocabulary.IsEndOfGeneration(token)) return;
        _matcher.AcceptToken(token);
    }
}
