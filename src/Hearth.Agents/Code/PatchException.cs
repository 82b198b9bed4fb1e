namespace Hearth.Agents.Code;

/// <summary>What kind of problem stopped a diff.</summary>
public enum PatchFailure
{
    /// <summary>The text is not a well-formed unified diff (bad header, counts that disagree with the body...).</summary>
    Malformed,

    /// <summary>A hunk's context or removed lines are not in the file, at any allowed offset or fuzz.</summary>
    DoesNotApply,

    /// <summary>The diff or a file is past a <see cref="DiffLimits"/> bound.</summary>
    TooLarge,

    /// <summary>The file is not UTF-8 text (binary, or another encoding).</summary>
    NotText,

    /// <summary>The diff disagrees with what exists: it creates a file that exists, or patches one that does not.</summary>
    Conflict,
}

/// <summary>
/// A diff could not be parsed or applied. The message names the file, the hunk (1-based, in diff order) and the line
/// (of the diff text, and of the file where one is known), and says what was expected, so a person or a model can fix
/// the diff.
/// </summary>
public sealed class PatchException(PatchFailure kind, string message, string? file = null, int? hunk = null, int? diffLine = null, int? fileLine = null)
    : Exception(message)
{
    public PatchFailure Kind { get; } = kind;

    /// <summary>The file the problem is in (as the diff names it), when known.</summary>
    public string? File { get; } = file;

    /// <summary>The hunk (1-based within its file), when the problem is in one.</summary>
    public int? Hunk { get; } = hunk;

    /// <summary>The 1-based line of the diff text where the problem is, when known.</summary>
    public int? DiffLine { get; } = diffLine;

    /// <summary>The 1-based line of the patched file where the problem is, when known.</summary>
    public int? FileLine { get; } = fileLine;
}
