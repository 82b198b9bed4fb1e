using Microsoft.Extensions.AI;

namespace Hearth.Agents.Code;

/// <summary>What a <see cref="CodeEditSession"/> works on and how far it may go.</summary>
public sealed record CodeEditOptions
{
    /// <summary>The repository's root directory; every path the model names is relative to it and must stay inside it.</summary>
    public required string Repository { get; init; }

    /// <summary>What to change, in the user's words. Files of the repository it names are shown to the model up front.</summary>
    public required string Task { get; init; }

    /// <summary>
    /// The build/test command run (in <see cref="Repository"/>, through the workspace, so the policy's allow-list decides
    /// whether it may run) after each edit is written; an edit is kept only when it exits with 0. Null keeps every edit
    /// that applies and parses, without running anything.
    /// </summary>
    public CommandSpec? Check { get; init; }

    /// <summary>How long <see cref="Check"/> may run before it is killed (and the edit reverted).</summary>
    public TimeSpan CheckTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Most model calls in the session.</summary>
    public int MaxSteps { get; init; } = 12;

    /// <summary>Validate the first edit that applies and parses, write nothing, run nothing, and end.</summary>
    public bool DryRun { get; init; }

    /// <summary>Bounds on diffs and patched files, and the fuzz and offset a hunk may be applied with.</summary>
    public DiffLimits Limits { get; init; } = DiffLimits.Default;

    /// <summary>
    /// Ask for a tool call on every step (<see cref="ChatToolMode.RequireAny"/>), so the session ends only by
    /// <c>finish</c>, a dry-run proposal or the step budget; with a constraint-decoding client this makes even a small
    /// model produce well-formed calls. Otherwise the model may answer in text, which ends the session.
    /// </summary>
    public bool RequireToolCalls { get; init; }

    /// <summary>The tool mode of the first step, overriding the usual one (such as
    /// <see cref="ChatToolMode.RequireSpecific"/> of <c>propose_edit</c>); null for none.</summary>
    public ChatToolMode? FirstToolMode { get; init; }

    /// <summary>
    /// A JSON Schema <c>pattern</c> for <c>propose_edit</c>'s diff, stated in the tool's schema, so that a
    /// constraint-decoding client makes even a small model write a diff of that shape (such as
    /// <c>^--- a/[^\n]+\n\+\+\+ b/...</c>; the subset Hearth's grammar supports: no look-around or back-references).
    /// Null states none. Either way the diff is parsed and checked as any other.
    /// </summary>
    public string? DiffPattern { get; init; }

    /// <summary>Sampling and length options for each model call (tools, tool mode and instructions are set by the session).</summary>
    public ChatOptions? ChatOptions { get; init; }

    /// <summary>Most repository paths listed to the model.</summary>
    public int MaxListedFiles { get; init; } = 200;

    /// <summary>Most files named in the task that are shown up front.</summary>
    public int MaxTaskFiles { get; init; } = 8;

    /// <summary>Most characters of one file shown to the model (up front or by <c>read_file</c>); longer ones are cut.</summary>
    public int MaxFileChars { get; init; } = 24_000;

    /// <summary>Most characters of a failing check's output fed back to the model (its end, where compilers summarise).</summary>
    public int MaxOutputChars { get; init; } = 4_000;

    /// <exception cref="ArgumentException">A path or bound is unusable.</exception>
    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Repository, nameof(Repository));
        ArgumentException.ThrowIfNullOrWhiteSpace(Task, nameof(Task));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxSteps, 1, nameof(MaxSteps));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxListedFiles, 0, nameof(MaxListedFiles));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxTaskFiles, 0, nameof(MaxTaskFiles));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxFileChars, 1, nameof(MaxFileChars));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxOutputChars, 1, nameof(MaxOutputChars));
        if (CheckTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(CheckTimeout), $"the check timeout {CheckTimeout} must be positive");
        Limits.Validate();
    }
}

/// <summary>How a session ended.</summary>
public enum CodeEditOutcome
{
    /// <summary>The model called <c>finish</c>.</summary>
    Finished,

    /// <summary>The model answered in text instead of calling a tool.</summary>
    Stopped,

    /// <summary>The step budget ran out.</summary>
    StepBudgetExhausted,

    /// <summary>A dry run validated an edit (nothing was written).</summary>
    Proposed,
}

/// <summary>What became of a proposed edit.</summary>
public enum EditStatus
{
    /// <summary>Written, and the check passed (or there is none): it stays.</summary>
    Kept,

    /// <summary>Written, the check failed, and every file was restored to its bytes before the edit.</summary>
    Reverted,

    /// <summary>Refused before anything was written (see <see cref="EditAttempt.Refusal"/>).</summary>
    Refused,

    /// <summary>A dry run: it applies and parses; nothing was written.</summary>
    Validated,
}

/// <summary>Why an edit was refused.</summary>
public enum EditRefusal
{
    /// <summary>Not a well-formed unified diff.</summary>
    Malformed,

    /// <summary>A hunk is not in the file (at any allowed offset or fuzz).</summary>
    DoesNotApply,

    /// <summary>It creates a file that exists, patches one that does not, or names a file twice.</summary>
    Conflict,

    /// <summary>The diff or a file is past the size limits.</summary>
    TooLarge,

    /// <summary>A file is not UTF-8 text.</summary>
    NotText,

    /// <summary>A path is absolute, leaves the repository, or is inside <c>.git</c>.</summary>
    PathOutsideRepository,

    /// <summary>A patched C# file does not parse (see <see cref="EditAttempt.SyntaxProblems"/>).</summary>
    SyntaxErrors,

    /// <summary>The permission policy refused a read, write or the check command (any partial write was reverted).</summary>
    PermissionDenied,

    /// <summary>Writing failed for another reason (any partial write was reverted).</summary>
    WriteFailed,

    /// <summary>The check command could not be started (the edit was reverted).</summary>
    CheckDidNotRun,

    /// <summary>The diff leaves every file as it was.</summary>
    NoChange,
}

/// <summary>One <c>propose_edit</c> call and what came of it.</summary>
public sealed record EditAttempt
{
    /// <summary>The session step (1-based) it was made in.</summary>
    public required int Step { get; init; }

    /// <summary>The diff as the model wrote it.</summary>
    public required string Diff { get; init; }

    public required EditStatus Status { get; init; }

    /// <summary>What the model was told.</summary>
    public required string Message { get; init; }

    /// <summary>The repository paths the edit touches (new paths; the old one for a deletion); empty when it did not parse.</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>Why it was refused, for <see cref="EditStatus.Refused"/>.</summary>
    public EditRefusal? Refusal { get; init; }

    /// <summary>The C# syntax errors that refused it.</summary>
    public IReadOnlyList<SyntaxProblem> SyntaxProblems { get; init; } = [];

    /// <summary>How the check command ended, when it ran.</summary>
    public CommandResult? Check { get; init; }
}

/// <summary>The end of a session: how it ended, every edit attempt, and the conversation.</summary>
/// <param name="Outcome">How it ended.</param>
/// <param name="Steps">Model calls made.</param>
/// <param name="Attempts">Every <c>propose_edit</c>, in order.</param>
/// <param name="Summary">The model's <c>finish</c> summary, or its final text when it stopped.</param>
/// <param name="History">The whole conversation (the opening user message, every answer and tool result).</param>
public sealed record CodeEditResult(CodeEditOutcome Outcome, int Steps, IReadOnlyList<EditAttempt> Attempts, string? Summary, IReadOnlyList<ChatMessage> History)
{
    /// <summary>The edits that stayed written.</summary>
    public IEnumerable<EditAttempt> KeptEdits => Attempts.Where(a => a.Status == EditStatus.Kept);
}

/// <summary>
/// Reverting a failed edit did not bring every file back to its bytes before the edit (a file was changed meanwhile by
/// something else, such as the check command); the repository needs a look. The message names each file and what went
/// wrong; the edit's writes that were not taken back stay in the journal (<c>hearth agent undo</c>).
/// </summary>
public sealed class EditRevertException(string message, Exception? inner = null) : IOException(message, inner);
