namespace Hearth.Generation;

/// <summary>
/// A per-sequence constraint on which tokens may come next (a grammar, a JSON schema, a fixed set of choices). The
/// generate loop asks for a mask before every token and reports every token it takes.
/// </summary>
public interface ITokenConstraint
{
    /// <summary>Sets allowed[id] for every token id of the vocabulary; end-of-generation tokens only when <see cref="IsComplete"/>.</summary>
    void ComputeMask(Span<bool> allowed);

    /// <summary>Advances over a token the mask allowed.</summary>
    /// <exception cref="InvalidOperationException">The token is not allowed here.</exception>
    void Accept(int token);

    /// <summary>True when the text so far is a complete match: generation may stop here.</summary>
    bool IsComplete { get; }

    /// <summary>True when nothing more can follow: generation must stop here.</summary>
    bool MustStop { get; }
}
