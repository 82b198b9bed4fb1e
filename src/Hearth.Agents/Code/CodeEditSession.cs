using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Agents.Policy;
using Microsoft.Extensions.AI;

namespace Hearth.Agents.Code;

/// <summary>
/// A model edits a repository through unified diffs. The session shows the model the task, a listing and the files the
/// task names, and offers three tools: <c>read_file(path)</c>, <c>propose_edit(diff)</c> and <c>finish(summary)</c>.
/// A proposed diff is parsed, resolved inside the repository, applied in memory to every file it names, and each patched
/// .cs file is parsed with Roslyn; any problem refuses the whole edit before anything is written, and the model is told
/// why (file, hunk, line). Otherwise the files are written, the check command runs, and when it fails every file is
/// restored to its bytes before the edit and the end of the command's output goes back to the model for another try,
/// until it calls <c>finish</c> or the step budget is spent.
/// </summary>
/// <remarks>
/// Every read, write, move, delete and command goes through the <see cref="PolicyWorkspace"/>, which checks the
/// permission policy, audits and journals it; the session itself never touches the file system. A failed edit is taken
/// back from the workspace's journal (<see cref="PolicyWorkspace.RevertToAsync"/>), not by new writes and deletes, so
/// it needs no delete permission and
/// <c>hearth agent undo</c> afterwards takes back only the kept edits. The loop is the session's own rather than
/// <c>ToolCallingLoop</c>'s: it ends on <c>finish</c>, not on a text answer, and can require a tool call on every step.
/// </remarks>
public sealed class CodeEditSession
{
    public const string ReadFileTool = "read_file";
    public const string ProposeEditTool = "propose_edit";
    public const string FinishTool = "finish";

    private const string Instructions = """
        You edit a code repository to complete a task. Tools:
        - read_file(path): the text of a repository file; paths are relative to the repository root, with '/' between directories.
        - propose_edit(diff): a unified diff of the change. Each file starts with '--- a/PATH' and '+++ b/PATH' (or '--- /dev/null'
          for a new file, '+++ /dev/null' to delete one); each hunk starts with '@@ -OLDLINE,OLDCOUNT +NEWLINE,NEWCOUNT @@' and has
          context lines (' '), removed lines ('-') and added lines ('+'); the counts must match the lines. Copy context lines
          exactly. The edit is written only if it applies and every C# file still parses; then the check command runs, and if
          it fails the edit is undone and you see its output.
        - finish(summary): end, with a one-line summary of what changed.
        """;

    private static readonly string[] s_skippedDirectories = ["bin", "obj", ".git", ".vs", "node_modules"];

    private readonly IChatClient _client;
    private readonly PolicyWorkspace _workspace;
    private readonly CodeEditOptions _options;
    private readonly string _root;

    /// <param name="client">The model (any <see cref="IChatClient"/> that can call tools).</param>
    /// <param name="workspace">Every file and process operation goes through it; failed edits are taken back from its journal.</param>
    /// <param name="options">The repository, task, check command and bounds.</param>
    /// <exception cref="ArgumentException">An option is unusable.</exception>
    public CodeEditSession(IChatClient client, PolicyWorkspace workspace, CodeEditOptions options)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _workspace = workspace;
        _options = options;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Repository));
        Tools = [
            Declare(ReadFileTool, "Read a file of the repository.", "path", "the file's path relative to the repository root", null),
            Declare(ProposeEditTool, "Apply a unified diff to the repository, then run the check command; a failing edit is undone.", "diff",
                "the unified diff", options.DiffPattern),
            Declare(FinishTool, "End the session.", "summary", "one line on what was changed", null),
        ];
    }

    /// <summary>The tools offered to the model.</summary>
    public IReadOnlyList<AIFunctionDeclaration> Tools { get; }

    /// <summary>Called after each <c>propose_edit</c> has been dealt with (to show progress); it must not throw.</summary>
    public Action<EditAttempt>? AttemptMade { get; init; }

    /// <summary>Runs the session to its end.</summary>
    /// <exception cref="EditRevertException">A failed edit could not be reverted exactly; the session stops there.</exception>
    /// <exception cref="PermissionDeniedException">The policy refuses listing the repository.</exception>
    public async Task<CodeEditResult> RunAsync(CancellationToken cancel = default)
    {
        var history = new List<ChatMessage> { new(ChatRole.User, await OpeningAsync(cancel).ConfigureAwait(false)) };
        var attempts = new List<EditAttempt>();
        for (int step = 1; step <= _options.MaxSteps; step++)
        {
            cancel.ThrowIfCancellationRequested();
            var chatOptions = _options.ChatOptions?.Clone() ?? new ChatOptions();
            chatOptions.Instructions = string.IsNullOrEmpty(chatOptions.Instructions) ? Instructions : Instructions + "\n" + chatOptions.Instructions;
            chatOptions.Tools = [.. Tools];
            chatOptions.ToolMode = step == 1 && _options.FirstToolMode != null ? _options.FirstToolMode
                : _options.RequireToolCalls ? ChatToolMode.RequireAny : ChatToolMode.Auto;
            var response = await _client.GetResponseAsync(history, chatOptions, cancel).ConfigureAwait(false);
            history.AddRange(response.Messages);
            var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (calls.Count == 0) return new CodeEditResult(CodeEditOutcome.Stopped, step, attempts, response.Text, history);

            var results = new List<AIContent>();
            CodeEditOutcome? end = null;
            string? summary = null;
            foreach (var call in calls)
            {
                string result;
                if (end != null)
                {
                    result = "not run: the session ended with the previous call";
                }
                else if (call.Exception != null)
                {
                    result = $"error: {call.Exception.Message}";
                }
                else if (call.Name == ReadFileTool)
                {
                    result = await ReadForModelAsync(Argument(call, "path"), cancel).ConfigureAwait(false);
                }
                else if (call.Name == ProposeEditTool)
                {
                    if (Argument(call, "diff") is not { } diff)
                    {
                        result = "error: propose_edit needs a 'diff' argument holding the unified diff as a string";
                    }
                    else
                    {
                        var attempt = await ProposeAsync(step, diff, cancel).ConfigureAwait(false);
                        attempts.Add(attempt);
                        AttemptMade?.Invoke(attempt);
                        result = attempt.Message;
                        if (attempt.Status == EditStatus.Validated) end = CodeEditOutcome.Proposed;
                    }
                }
                else if (call.Name == FinishTool)
                {
                    summary = Argument(call, "summary") ?? "";
                    result = "finished";
                    end = CodeEditOutcome.Finished;
                }
                else
                {
                    result = $"error: there is no tool named '{call.Name}'; the tools are {ReadFileTool}, {ProposeEditTool} and {FinishTool}";
                }

                results.Add(new FunctionResultContent(call.CallId, result));
            }

            history.Add(new ChatMessage(ChatRole.Tool, results));
            if (end is { } outcome) return new CodeEditResult(outcome, step, attempts, summary, history);
        }

        return new CodeEditResult(CodeEditOutcome.StepBudgetExhausted, _options.MaxSteps, attempts, null, history);
    }

    /// <summary>
    /// Validates <paramref name="diff"/> and, unless this is a dry run, writes it, runs the check, and reverts on failure.
    /// Never throws for a bad diff or a refused operation: the attempt says what happened. Several file headers for one
    /// file (a plain modification) apply one after the other.
    /// </summary>
    /// <param name="step">The session step to record on the attempt.</param>
    /// <param name="diff">The unified diff, paths relative to the repository root.</param>
    /// <param name="cancel">Cancels it; an edit already written is reverted first.</param>
    /// <exception cref="EditRevertException">A failed edit could not be reverted exactly.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (anything written was reverted).</exception>
    public async Task<EditAttempt> ProposeAsync(int step, string diff, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(diff);
        List<FileChange> changes;
        try
        {
            changes = await PlanAsync(diff, cancel).ConfigureAwait(false);
        }
        catch (RefusedException e)
        {
            return Refused(e.Reason, e.Message, e.Files, e.Problems);
        }

        var files = changes.Select(c => (c.To ?? c.From)!.Relative).ToList();
        if (changes.All(c => c.From?.Full == c.To?.Full && c.Before.AsSpan().SequenceEqual(c.After)))
            return Refused(EditRefusal.NoChange, "refused: the diff leaves every file as it was", files, []);
        if (_options.DryRun)
            return new EditAttempt { Step = step, Diff = diff, Status = EditStatus.Validated, Files = files, Message = $"validated (dry run, nothing written): {string.Join(", ", files)}" };

        long mark = _workspace.ChangeMark();
        try
        {
            foreach (var change in changes) await WriteAsync(change, cancel).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Cancelled or failed half-way: what was written goes back either way.
            await RevertAsync(changes, mark).ConfigureAwait(false);
            if (e is not (PermissionDeniedException or IOException or UnauthorizedAccessException)) throw;
            var reason = e is PermissionDeniedException ? EditRefusal.PermissionDenied : EditRefusal.WriteFailed;
            return Refused(reason, $"refused: writing the edit failed ({e.Message}); nothing was kept", files, []);
        }

        if (_options.Check is not { } check)
            return new EditAttempt { Step = step, Diff = diff, Status = EditStatus.Kept, Files = files, Message = $"applied to {string.Join(", ", files)} (no check command is set)" };

        CommandResult run;
        try
        {
            run = await _workspace.RunCommandAsync(check.Program, check.Arguments, _root, _options.CheckTimeout, cancel).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // An edit is kept only after its check passed: cancelled, refused or unstartable, it goes back.
            await RevertAsync(changes, mark).ConfigureAwait(false);
            if (e is OperationCanceledException) throw;
            var reason = e is PermissionDeniedException ? EditRefusal.PermissionDenied : EditRefusal.CheckDidNotRun;
            return Refused(reason, $"reverted: the check command `{check}` could not run ({e.Message})", files, []);
        }

        if (run.ExitCode == 0 && !run.TimedOut)
        {
            return new EditAttempt
            {
                Step = step, Diff = diff, Status = EditStatus.Kept, Files = files, Check = run,
                Message = $"applied to {string.Join(", ", files)}; `{check}` passed. Call finish if the task is done.",
            };
        }

        await RevertAsync(changes, mark).ConfigureAwait(false);
        var how = run.TimedOut ? $"ran past {_options.CheckTimeout.TotalSeconds:0} s and was stopped" : $"failed with exit code {run.ExitCode}";
        return new EditAttempt
        {
            Step = step, Diff = diff, Status = EditStatus.Reverted, Files = files, Check = run,
            Message = $"reverted: `{check}` {how}; the files are back as they were. The end of its output:\n{Tail(run)}",
        };

        EditAttempt Refused(EditRefusal why, string message, IReadOnlyList<string> touched, IReadOnlyList<SyntaxProblem> problems) =>
            new() { Step = step, Diff = diff, Status = EditStatus.Refused, Refusal = why, Message = message, Files = touched, SyntaxProblems = problems };
    }

    /// <summary>A path inside the repository: as the model should write it, and in full.</summary>
    private sealed record RepoPath(string Relative, string Full);

    /// <summary>One file's part of an edit: where it was and is (null for none), and its bytes before and after.</summary>
    private sealed record FileChange(RepoPath? From, RepoPath? To, byte[]? Before, byte[]? After);

    private sealed class RefusedException(EditRefusal reason, string message, IReadOnlyList<string>? files = null, IReadOnlyList<SyntaxProblem>? problems = null)
        : Exception(message)
    {
        public EditRefusal Reason { get; } = reason;

        public IReadOnlyList<string> Files { get; } = files ?? [];

        public IReadOnlyList<SyntaxProblem> Problems { get; } = problems ?? [];
    }

    /// <summary>Parses the diff and computes every file's new bytes; refuses (before any write) on the first problem.</summary>
    private async Task<List<FileChange>> PlanAsync(string diff, CancellationToken cancel)
    {
        UnifiedDiff parsed;
        try
        {
            parsed = UnifiedDiff.Parse(diff, _options.Limits);
        }
        catch (PatchException e)
        {
            throw new RefusedException(Reason(e.Kind), "refused: " + e.Message);
        }

        var changes = new List<FileChange>();
        foreach (var patch in parsed.Files)
        {
            var from = patch.OldPath is { } o ? Resolve(o) : null;
            var to = patch.NewPath is { } n ? Resolve(n) : null;
            try
            {
                // A second header for a file the diff already modifies continues it (patch(1) does the same).
                int earlier = changes.FindIndex(c => c.To != null && (c.To.Full == from?.Full || c.To.Full == to?.Full));
                if (earlier >= 0)
                {
                    var prior = changes[earlier];
                    if (patch.IsCreation || patch.IsDeletion || patch.IsRename || prior.From?.Full != prior.To!.Full)
                        throw new RefusedException(EditRefusal.Conflict, $"refused: {patch.DisplayPath} (diff line {patch.DiffLine}) is created, deleted or moved by one file header and named by another; use one header per file", [patch.DisplayPath]);
                    changes[earlier] = prior with { After = PatchApplier.Apply(patch, prior.After, _options.Limits) };
                    continue;
                }

                if (changes.Any(c => c.From != null && (c.From.Full == from?.Full || c.From.Full == to?.Full)))
                    throw new RefusedException(EditRefusal.Conflict, $"refused: {patch.DisplayPath} (diff line {patch.DiffLine}) is deleted or moved by an earlier file header", [patch.DisplayPath]);
                byte[]? before = from != null ? await ReadOrNullAsync(from, cancel).ConfigureAwait(false) : null;
                if (to != null && to.Full != from?.Full && await ReadOrNullAsync(to, cancel).ConfigureAwait(false) is { } existing)
                {
                    if (patch.IsCreation) before = existing; // so the applier reports the conflict in its words
                    else throw new RefusedException(EditRefusal.Conflict, $"refused: {patch.OldPath} cannot move to {patch.NewPath}, which exists", [patch.DisplayPath]);
                }

                changes.Add(new FileChange(from, to, before, PatchApplier.Apply(patch, before, _options.Limits)));
            }
            catch (PatchException e)
            {
                throw new RefusedException(Reason(e.Kind), "refused: " + e.Message, [patch.DisplayPath]);
            }
            catch (PermissionDeniedException e)
            {
                throw new RefusedException(EditRefusal.PermissionDenied, "refused: " + e.Message, [patch.DisplayPath]);
            }
        }

        var problems = new List<SyntaxProblem>();
        foreach (var (_, to, _, after) in changes)
        {
            if (after != null && CSharpSyntaxCheck.Applies(to!.Relative))
                problems.AddRange(CSharpSyntaxCheck.Check(to.Relative, PatchApplier.Decode(after, to.Relative, _options.Limits).Text, cancel));
        }

        if (problems.Count > 0)
        {
            var files = problems.Select(p => p.File).Distinct().ToList();
            var text = new StringBuilder($"refused: the edit leaves C# syntax errors, so nothing was written ({problems.Count}):");
            foreach (var p in problems.Take(20)) text.Append('\n').Append(p);
            if (problems.Count > 20) text.Append($"\n... and {problems.Count - 20} more");
            throw new RefusedException(EditRefusal.SyntaxErrors, text.ToString(), files, problems);
        }

        return changes;
    }

    private static EditRefusal Reason(PatchFailure failure) => failure switch
    {
        PatchFailure.Malformed => EditRefusal.Malformed,
        PatchFailure.DoesNotApply => EditRefusal.DoesNotApply,
        PatchFailure.TooLarge => EditRefusal.TooLarge,
        PatchFailure.NotText => EditRefusal.NotText,
        _ => EditRefusal.Conflict,
    };

    /// <summary>Writes one file's change through the workspace (which journals it).</summary>
    private async Task WriteAsync(FileChange change, CancellationToken cancel)
    {
        var (from, to, before, after) = change;
        if (from != null && to != null && from.Full != to.Full)
        {
            await _workspace.MoveAsync(from.Full, to.Full, cancel).ConfigureAwait(false);
            if (!before.AsSpan().SequenceEqual(after)) await _workspace.WriteFileAsync(to.Full, after, cancel).ConfigureAwait(false);
        }
        else if (to == null)
        {
            await _workspace.DeleteAsync(from!.Full, cancel).ConfigureAwait(false);
        }
        else
        {
            await _workspace.WriteFileAsync(to.Full, after, cancel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes back every change the workspace journalled after <paramref name="mark"/> (newest first), then reads every
    /// touched path back and checks it holds its bytes before the edit (or is absent, when it was).
    /// </summary>
    /// <exception cref="EditRevertException">A change could not be taken back (a file changed by something else meanwhile,
    /// such as the check command), or a file does not read back as it was.</exception>
    private async Task RevertAsync(List<FileChange> changes, long mark)
    {
        var failures = new List<string>();
        Exception? first = null;
        try
        {
            failures.AddRange(await _workspace.RevertToAsync(mark, CancellationToken.None).ConfigureAwait(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            first = e;
            failures.Add(e.Message);
        }

        foreach (var (from, to, before, _) in changes)
        {
            if (from != null && await ReadOrNullAsync(from, CancellationToken.None).ConfigureAwait(false) is var now && !now.AsSpan().SequenceEqual(before))
                failures.Add($"{from.Relative} does not hold its bytes from before the edit");
            if (to != null && to.Full != from?.Full && await ReadOrNullAsync(to, CancellationToken.None).ConfigureAwait(false) != null)
                failures.Add($"{to.Relative} was created by the edit and still exists");
        }

        if (failures.Count > 0) throw new EditRevertException($"reverting the edit failed: {string.Join("; ", failures)}", first);
    }

    private async Task<byte[]?> ReadOrNullAsync(RepoPath path, CancellationToken cancel)
    {
        try
        {
            return await _workspace.ReadFileAsync(path.Full, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// A path the model wrote, inside the repository: relative, '/' between directories, no '..', nothing in <c>.git</c>.
    /// </summary>
    private RepoPath Resolve(string path)
    {
        string? problem = path.Length == 0 ? "is empty"
            : path.Contains('\0') ? "has a NUL character"
            : Path.IsPathRooted(path) || path.StartsWith('/') || path.StartsWith('\\') || (path.Length > 1 && path[1] == ':') ? "is absolute; paths are relative to the repository root"
            : path.Contains('\\') ? "has a backslash; use '/' between directories"
            : null;
        var segments = path.Split('/').Where(s => s.Length > 0 && s != ".").ToList();
        if (problem == null && segments.Contains("..")) problem = "climbs out with '..'";
        if (problem == null && segments.Any(s => s.Equals(".git", StringComparison.OrdinalIgnoreCase))) problem = "is inside .git";
        if (problem == null && segments.Count == 0) problem = "names the repository itself, not a file";
        string full = problem == null ? Path.GetFullPath(Path.Join(_root, string.Join('/', segments))) : "";
        if (problem == null && !full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal)) problem = "is outside the repository";
        if (problem != null) throw new RefusedException(EditRefusal.PathOutsideRepository, $"refused: the path '{path}' {problem}", [path]);
        return new RepoPath(string.Join('/', segments), full);
    }

    /// <summary><c>read_file</c>: the file's text (cut at the limit), or what went wrong.</summary>
    private async Task<string> ReadForModelAsync(string? path, CancellationToken cancel)
    {
        if (path == null) return "error: read_file needs a 'path' argument";
        try
        {
            var resolved = Resolve(path);
            var bytes = await _workspace.ReadFileAsync(resolved.Full, cancel).ConfigureAwait(false);
            return Cut(PatchApplier.Decode(bytes, resolved.Relative, _options.Limits).Text, _options.MaxFileChars);
        }
        catch (RefusedException e)
        {
            return "error: " + e.Message["refused: ".Length..];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return $"error: {path}: no such file";
        }
        catch (Exception e) when (e is PermissionDeniedException or PatchException or IOException)
        {
            return "error: " + e.Message;
        }
    }

    /// <summary>The opening message: the task, the repository's files, and the files the task names.</summary>
    private async Task<string> OpeningAsync(CancellationToken cancel)
    {
        var listed = await _workspace.ListFilesAsync(_root, recursive: true, cancel).ConfigureAwait(false);
        // The workspace names files relative to its policy's first root (which may be above the repository), or in full
        // under other roots; the model sees them relative to the repository.
        var primary = _workspace.Paths.Roots[0].Path;
        var repository = _workspace.Paths.Resolve(_root, PathAccess.Read).FullPath;
        var files = listed
            .Select(p => Path.GetRelativePath(repository, Path.IsPathFullyQualified(p) ? p : Path.Join(primary, p)).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(p => !p.Split('/').Any(s => s == ".." || s_skippedDirectories.Contains(s, StringComparer.Ordinal)))
            .Order(StringComparer.Ordinal)
            .ToList();
        var text = new StringBuilder();
        text.Append("Task: ").Append(_options.Task).Append("\n\n");
        text.Append($"Repository files ({files.Count}{(files.Count > _options.MaxListedFiles ? $", the first {_options.MaxListedFiles}" : "")}):\n");
        foreach (var f in files.Take(_options.MaxListedFiles)) text.Append(f).Append('\n');
        foreach (var f in files.Where(f => MentionedIn(_options.Task, f)).Take(_options.MaxTaskFiles))
        {
            text.Append("\n=== ").Append(f).Append(" ===\n").Append(await ReadForModelAsync(f, cancel).ConfigureAwait(false));
            if (text[^1] != '\n') text.Append('\n');
        }

        if (_options.Check is { } check) text.Append($"\nAfter each edit `{check}` runs; the edit stays only if it succeeds.\n");
        return text.ToString();
    }

    /// <summary>Whether <paramref name="task"/> names the file: its whole path, or its file name as a word of its own.</summary>
    internal static bool MentionedIn(string task, string relativePath)
    {
        foreach (var name in new[] { relativePath, relativePath[(relativePath.LastIndexOf('/') + 1)..] }.Distinct())
        {
            for (int at = task.IndexOf(name, StringComparison.Ordinal); at >= 0; at = task.IndexOf(name, at + 1, StringComparison.Ordinal))
            {
                bool startOk = at == 0 || !IsNamePart(task[at - 1]);
                int end = at + name.Length;
                // A trailing '.' ends a sentence, not a name, unless a name character follows it.
                bool endOk = end == task.Length || !IsNamePart(task[end]) || (task[end] == '.' && (end + 1 == task.Length || !IsNamePart(task[end + 1])));
                if (startOk && endOk) return true;
            }
        }

        return false;

        static bool IsNamePart(char c) => char.IsLetterOrDigit(c) || c is '_' or '-' or '.' or '/';
    }

    private string Tail(CommandResult run)
    {
        var all = (run.StandardOutput.TrimEnd() + "\n" + run.StandardError.TrimEnd()).Trim();
        int max = _options.MaxOutputChars;
        return all.Length <= max ? all : "..." + all[^max..];
    }

    private static string Cut(string text, int max) =>
        text.Length <= max ? text : text[..max] + $"\n[cut: the first {max} of {text.Length} characters]";

    /// <summary>A string argument of a call (a JSON string from a model, or a string from a test double), or null.</summary>
    private static string? Argument(FunctionCallContent call, string name) =>
        call.Arguments?.TryGetValue(name, out var value) == true
            ? value switch
            {
                string s => s,
                JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
                _ => null,
            }
            : null;

    private static AIFunctionDeclaration Declare(string name, string description, string parameter, string parameterDescription, string? pattern)
    {
        var property = new JsonObject { ["type"] = "string", ["description"] = parameterDescription };
        if (pattern != null) property["pattern"] = pattern;
        var schema = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject { [parameter] = property },
            ["required"] = new JsonArray(parameter),
            ["additionalProperties"] = false,
        };
        return AIFunctionFactory.CreateDeclaration(name, description, JsonSerializer.SerializeToElement(schema));
    }
}
