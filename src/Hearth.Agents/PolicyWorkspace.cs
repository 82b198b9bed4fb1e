using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Agents.Approval;
using Hearth.Agents.Audit;
using Hearth.Agents.Journal;
using Hearth.Agents.Policy;
using Hearth.Agents.State;

namespace Hearth.Agents;

/// <summary>How a <see cref="PolicyWorkspace"/> session behaves.</summary>
public sealed record PolicyWorkspaceOptions
{
    /// <summary>Who decides on "ask" operations. By default nobody, so they are denied.</summary>
    public IApprovalProvider Approval { get; init; } = FixedApprovalProvider.DenyAll;

    /// <summary>Plan only: every change is checked and audited as "dry-run" but not made; reads still happen.</summary>
    public bool DryRun { get; init; }

    /// <summary>Who acts, as written in the audit log ("model", "mcp", "organize", ...).</summary>
    public string Actor { get; init; } = "agent";

    /// <summary>What the run is, as listed by <c>hearth agent runs</c>.</summary>
    public string Description { get; init; } = "agent run";
}

/// <summary>A change an agent made, planned (dry run) or was refused.</summary>
/// <param name="Action">The action (paths as shown).</param>
/// <param name="Decision">What the policy decided.</param>
/// <param name="Reason">Why.</param>
public sealed record ActionRecord(PlannedAction Action, AuditDecision Decision, string Reason);

/// <summary>
/// The policy-backed <see cref="IAgentWorkspace"/>: each operation resolves its paths through a <see cref="PathGuard"/>,
/// checks the operation's mode (auto, ask through the <see cref="IApprovalProvider"/>, deny), journals changes before
/// making them (<see cref="ChangeJournal"/>, so <c>hearth agent undo</c> can revert them and a crash loses nothing),
/// and writes one audit row per call, allowed or not. One instance is one run; it holds the state directory's lock
/// until disposed, and settles what a crashed earlier run left pending when it opens. Operations are serialised.
/// </summary>
public sealed class PolicyWorkspace : IAgentWorkspace, IDisposable
{
    private readonly AgentStateStore _state;
    private readonly PolicyWorkspaceOptions _options;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<AgentOperation> _always = [];
    private readonly HashSet<string> _preApproved = new(StringComparer.Ordinal);
    private readonly List<ActionRecord> _actions = [];
    private bool _ended;

    private PolicyWorkspace(AgentPolicy policy, AgentStateStore state, PolicyWorkspaceOptions options, string runId, IReadOnlyList<JournalOutcome> recovered)
    {
        Policy = policy;
        _state = state;
        _options = options;
        RunId = runId;
        Recovered = recovered;
        var protectedPaths = new List<string> { state.Directory };
        if (policy.SourcePath != null) protectedPaths.Add(policy.SourcePath);
        Paths = new PathGuard(policy.Roots, protectedPaths);
    }

    public AgentPolicy Policy { get; }

    /// <summary>This run's id (in the audit log, the journal and <c>hearth agent undo RUN_ID</c>).</summary>
    public string RunId { get; }

    public bool DryRun => _options.DryRun;

    public PathGuard Paths { get; }

    /// <summary>The state store (audit log, journal, runs). Owned by this workspace.</summary>
    public AgentStateStore State => _state;

    /// <summary>What recovery did when this workspace opened (entries a crashed run left pending); usually empty.</summary>
    public IReadOnlyList<JournalOutcome> Recovered { get; }

    /// <summary>Every change asked for in this run, in order: made, planned (dry run) or refused.</summary>
    public IReadOnlyList<ActionRecord> Actions
    {
        get
        {
            lock (_actions) return [.. _actions];
        }
    }

    /// <summary>
    /// Opens a run: takes the state directory's lock, settles entries a crashed run left pending (audited as
    /// "recovery"), and records the run's start.
    /// </summary>
    /// <exception cref="AgentStateBusyException">Another process holds the state directory.</exception>
    public static PolicyWorkspace Open(AgentPolicy policy, PolicyWorkspaceOptions? options = null)
    {
        options ??= new PolicyWorkspaceOptions();
        var state = AgentStateStore.Open(policy.StateDirectory);
        try
        {
            var recovered = AgentMaintenance.RecoverAndAudit(state);
            var runId = state.BeginRun(options.Description, options.DryRun);
            return new PolicyWorkspace(policy, state, options, runId, recovered);
        }
        catch
        {
            state.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Asks once for a batch of actions (a plan) whose mode is "ask", so a person sees the whole plan before anything
    /// runs. Approved actions then run without asking again (each still checked against the policy when it runs).
    /// Actions that are refused anyway, or automatic, are not asked about. True when nothing needs asking or the answer
    /// was yes; always true in a dry run (nothing changes).
    /// </summary>
    public async Task<bool> RequestApprovalAsync(string summary, IReadOnlyList<PlannedAction> actions, CancellationToken cancel = default)
    {
        if (DryRun) return true;
        await _gate.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var ask = new List<(PlannedAction Action, string Key)>();
            foreach (var a in actions)
            {
                if (Policy.ModeOf(a.Operation) != ApprovalMode.Ask || _always.Contains(a.Operation)) continue;
                string? key = TryKey(a);
                if (key != null) ask.Add((a, key));
            }

            if (ask.Count == 0) return true;
            var decision = await _options.Approval.RequestAsync(new ApprovalRequest(RunId, summary, [.. ask.Select(x => x.Action)]), cancel).ConfigureAwait(false);
            if (decision == ApprovalDecision.Deny) return false;
            foreach (var (action, key) in ask)
            {
                _preApproved.Add(key);
                if (decision == ApprovalDecision.Always) _always.Add(action.Operation);
            }

            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task<byte[]> ReadFileAsync(string path, CancellationToken cancel = default) =>
        GuardedAsync("read_file", new JsonObject { ["path"] = path }, cancel, async call =>
        {
            var r = call.Resolve(path, PathAccess.Read, "resolved");
            await AuthorizeAsync(call, new PlannedAction(AgentOperation.Read, r.DisplayPath), null, cancel).ConfigureAwait(false);
            if (r.Kind == FileKind.Directory) throw new IOException($"'{r.DisplayPath}' is a directory, not a file");
            if (r.Kind == FileKind.Missing) throw new FileNotFoundException($"'{r.DisplayPath}' does not exist", r.DisplayPath);
            await using var stream = new FileStream(r.FullPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
            long length = stream.Length;
            if (length > Policy.Limits.MaxFileBytes) throw new PermissionDeniedException($"'{r.DisplayPath}' is {length} bytes, over the policy's max_file_bytes ({Policy.Limits.MaxFileBytes})");
            var bytes = new byte[length]; // checked against the limit above; a file that grows meanwhile is read up to this length
            int read = await stream.ReadAtLeastAsync(bytes, bytes.Length, throwOnEndOfStream: false, cancel).ConfigureAwait(false);
            if (read < bytes.Length) bytes = bytes[..read];
            call.HashBefore = ContentHash.Of(bytes);
            call.Result = $"ok: {bytes.Length} bytes";
            return bytes;
        });

    /// <summary>
    /// Lists the regular files under a directory inside a root, sorted, as paths relative to the first root (full paths
    /// under other roots), so each can be passed back. Symbolic links, special files, the protected state directory and
    /// Hearth's own temporary files are left out; at most the policy's <c>max_listed_files</c> are returned.
    /// </summary>
    public Task<IReadOnlyList<string>> ListFilesAsync(string directory, bool recursive, CancellationToken cancel = default) =>
        GuardedAsync("list_files", new JsonObject { ["directory"] = directory, ["recursive"] = recursive }, cancel, async call =>
        {
            var r = call.Resolve(directory, PathAccess.Read, "resolved");
            await AuthorizeAsync(call, new PlannedAction(AgentOperation.Read, r.DisplayPath), null, cancel).ConfigureAwait(false);
            if (r.Kind != FileKind.Directory) throw new DirectoryNotFoundException($"'{r.DisplayPath}' is not a directory");
            var files = new List<string>();
            bool truncated = Walk(r.FullPath, recursive, files, cancel);
            files.Sort(StringComparer.Ordinal);
            call.Result = $"ok: {files.Count} files" + (truncated ? $" (stopped at max_listed_files = {Policy.Limits.MaxListedFiles})" : "");
            return (IReadOnlyList<string>)files.Select(Paths.Display).ToList();
        });

    public Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancel = default) =>
        GuardedAsync("write_file", new JsonObject { ["path"] = path, ["bytes"] = content.Length, ["sha256"] = ContentHash.Of(content.Span) }, cancel, async call =>
        {
            var r = call.Resolve(path, PathAccess.Write, "resolved");
            if (content.Length > Policy.Limits.MaxFileBytes) throw new PermissionDeniedException($"writing {content.Length} bytes to '{r.DisplayPath}' is over the policy's max_file_bytes ({Policy.Limits.MaxFileBytes})");
            var op = r.Kind == FileKind.File ? AgentOperation.Overwrite : AgentOperation.Create;
            var action = new PlannedAction(op, r.DisplayPath, null, $"{content.Length} bytes");
            RefuseIfDenied(call, action);
            if (r.Kind == FileKind.Directory) throw new IOException($"'{r.DisplayPath}' is a directory");
            await AuthorizeAsync(call, action, Key(op, r.FullPath, null), cancel).ConfigureAwait(false);
            call.HashAfter = ContentHash.Of(content.Span);
            if (r.Kind == FileKind.File) call.HashBefore = ContentHash.OfFile(r.FullPath);
            if (DryRun) return 0;
            if (op == AgentOperation.Create) _state.Journal.CreateFile(RunId, r.FullPath, content);
            else call.HashBefore = _state.Journal.OverwriteFile(RunId, r.FullPath, content).Before;
            return 0;
        });

    public Task MoveAsync(string from, string to, CancellationToken cancel = default) =>
        GuardedAsync("move_file", new JsonObject { ["from"] = from, ["to"] = to }, cancel, async call =>
        {
            var f = call.Resolve(from, PathAccess.Write, "resolved_from");
            var t = call.Resolve(to, PathAccess.Write, "resolved_to");
            var action = new PlannedAction(AgentOperation.Move, f.DisplayPath, t.DisplayPath);
            RefuseIfDenied(call, action);
            if (f.Kind == FileKind.Missing) throw new FileNotFoundException($"'{f.DisplayPath}' does not exist", f.DisplayPath);
            if (f.Kind != FileKind.File) throw new IOException($"'{f.DisplayPath}' is not a file (only files can be moved)");
            if (t.Kind != FileKind.Missing) throw new IOException($"'{t.DisplayPath}' already exists; a move never replaces a file");
            await AuthorizeAsync(call, action, Key(AgentOperation.Move, f.FullPath, t.FullPath), cancel).ConfigureAwait(false);
            call.HashBefore = call.HashAfter = ContentHash.OfFile(f.FullPath);
            if (!DryRun) _state.Journal.MoveFile(RunId, f.FullPath, t.FullPath);
            return 0;
        });

    public Task DeleteAsync(string path, CancellationToken cancel = default) =>
        GuardedAsync("delete_file", new JsonObject { ["path"] = path }, cancel, async call =>
        {
            var r = call.Resolve(path, PathAccess.Write, "resolved");
            var action = new PlannedAction(AgentOperation.Delete, r.DisplayPath);
            RefuseIfDenied(call, action);
            if (r.Kind == FileKind.Missing) throw new FileNotFoundException($"'{r.DisplayPath}' does not exist", r.DisplayPath);
            if (r.Kind != FileKind.File) throw new IOException($"'{r.DisplayPath}' is not a file (directories are never deleted)");
            await AuthorizeAsync(call, action, Key(AgentOperation.Delete, r.FullPath, null), cancel).ConfigureAwait(false);
            call.HashBefore = ContentHash.OfFile(r.FullPath);
            if (!DryRun) _state.Journal.DeleteFile(RunId, r.FullPath);
            return 0;
        });

    /// <summary>
    /// Runs an allow-listed program (see <see cref="CommandRule"/>): never through a shell, with the arguments as
    /// given (a <c>{path}</c> argument replaced by its resolved full path), standard input closed, an environment of
    /// only PATH, HOME and LANG, and the timeout cut to the policy's <c>max_command_seconds</c>; when it runs past it,
    /// the whole process tree is killed. A command's own effects are not journalled and cannot be undone.
    /// </summary>
    public Task<CommandResult> RunCommandAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancel = default) =>
        GuardedAsync("run_command", RunArguments(program, arguments, workingDirectory, timeout), cancel, async call =>
        {
            var (resolvedArgs, wd) = CheckRun(program, arguments, workingDirectory, call);
            var executable = CommandAllowList.FindExecutable(program);
            var commandLine = string.Join(' ', new[] { program }.Concat(resolvedArgs.Select(CommandAllowList.Quote)));
            await AuthorizeAsync(call, new PlannedAction(AgentOperation.Run, wd.DisplayPath, null, commandLine), null, cancel).ConfigureAwait(false);
            if (DryRun) return new CommandResult(0, "", "", false);
            var limit = timeout <= TimeSpan.Zero || timeout > Policy.Limits.MaxCommandTime ? Policy.Limits.MaxCommandTime : timeout;
            var result = await CommandAllowList.RunAsync(executable, resolvedArgs, wd.FullPath, limit, Policy.Limits.MaxCommandOutputBytes, cancel).ConfigureAwait(false);
            call.Result = result.TimedOut ? $"timed out after {limit.TotalSeconds:0.#} s" : $"exit {result.ExitCode}";
            return result;
        });

    /// <summary>
    /// Checks, without making it, whether the policy lets a change happen: its path (and a move's target) resolve inside
    /// a root that may change, and its operation is not denied. Null when it may (an "ask" operation is still asked
    /// about when it happens), else why not. A refusal is audited as a refused row of the operation's tool
    /// (<c>write_file</c>, <c>move_file</c>, <c>delete_file</c>; "refused: checked before running"), so a change a run
    /// could never make is found before the run spends time on anything else.
    /// </summary>
    /// <exception cref="ArgumentException">The action is a read or a command (see <see cref="CheckCommand"/>).</exception>
    public string? Check(PlannedAction action)
    {
        ArgumentNullException.ThrowIfNull(action);
        var tool = action.Operation switch
        {
            AgentOperation.Create or AgentOperation.Overwrite => "write_file",
            AgentOperation.Move => "move_file",
            AgentOperation.Delete => "delete_file",
            _ => throw new ArgumentException($"only changes are checked this way, not '{action.Operation}'", nameof(action)),
        };
        _gate.Wait();
        try
        {
            var r = Paths.Resolve(action.Path, PathAccess.Write);
            if (action.Target != null) Paths.Resolve(action.Target, PathAccess.Write);
            var op = action.Operation.ToString().ToLowerInvariant();
            if (Policy.ModeOf(action.Operation) == ApprovalMode.Deny) throw new PermissionDeniedException($"{op} '{r.DisplayPath}' is refused: the policy denies '{op}'");
            return null;
        }
        catch (PermissionDeniedException e)
        {
            var args = new JsonObject { ["path"] = action.Path };
            if (action.Target != null) args["to"] = action.Target;
            _state.Audit.Append(RunId, _options.Actor, tool, args.ToJsonString(), AuditDecision.Denied, e.Message, "refused: checked before running");
            return e.Message;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Checks, without running anything, whether the policy lets <paramref name="program"/> run with
    /// <paramref name="arguments"/> in <paramref name="workingDirectory"/> (as <see cref="RunCommandAsync"/> would check
    /// it): null when it may (its mode is auto, or ask and it will be asked about when it runs), else why not. A refusal
    /// is audited as a refused <c>run_command</c> row ("refused: checked before running"), so a command a run can never
    /// use is found before the run spends time on anything else.
    /// </summary>
    public string? CheckCommand(string program, IReadOnlyList<string> arguments, string workingDirectory)
    {
        _gate.Wait();
        try
        {
            CheckRun(program, arguments, workingDirectory, null);
            return null;
        }
        catch (PermissionDeniedException e)
        {
            _state.Audit.Append(RunId, _options.Actor, "run_command", RunArguments(program, arguments, workingDirectory, null).ToJsonString(), AuditDecision.Denied, e.Message,
                "refused: checked before running");
            return e.Message;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A mark of the changes journalled so far (by any run), for <see cref="RevertToAsync"/>.</summary>
    public long ChangeMark()
    {
        _gate.Wait();
        try
        {
            return _state.Journal.LastSeq();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes back this run's changes journalled after <paramref name="mark"/>, newest first (see
    /// <see cref="ChangeJournal.Undo"/>): created files go to the trash, overwritten and deleted content comes back, moved
    /// files move back, directories created are removed when empty. Taking back is not a new action of the agent: like
    /// <c>hearth agent undo</c> it needs no permission, but each step is audited as a <c>revert</c> row of this run, and
    /// the changes are marked undone, so undoing the run later leaves them be. A file changed since by something else is
    /// left alone. Nothing was changed in a dry run, so nothing is taken back.
    /// </summary>
    /// <returns>One line for each change that could not be taken back (empty when every one was).</returns>
    public async Task<IReadOnlyList<string>> RevertToAsync(long mark, CancellationToken cancel = default)
    {
        await _gate.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            var outcomes = _state.Journal.Undo(RunId, mark);
            foreach (var o in outcomes) AgentMaintenance.AuditOutcome(_state, RunId, _options.Actor, "revert", o);
            return [.. outcomes.Where(o => o.Conflict).Select(o => $"{o.Entry.Path}: {o.Outcome}")];
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc/>
    public void RecordRejectedCall(string tool, string argumentsJson, string reason)
    {
        _gate.Wait();
        try
        {
            _state.Audit.Append(RunId, _options.Actor, tool, argumentsJson, AuditDecision.Denied, reason, "rejected: never run");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Records how the run ended (shown by <c>hearth agent runs</c>). Disposing without it records "ended".</summary>
    public void Complete(string outcome)
    {
        if (_ended) return;
        _ended = true;
        _state.EndRun(RunId, outcome);
    }

    public void Dispose()
    {
        try
        {
            Complete("ended");
        }
        finally
        {
            _state.Dispose();
            _gate.Dispose();
        }
    }

    /// <summary>The mutable facts one call gathers for its audit row.</summary>
    private sealed class Call(PolicyWorkspace owner, JsonObject arguments)
    {
        public JsonObject Arguments { get; } = arguments;

        public AuditDecision Decision { get; set; } = AuditDecision.Denied;

        public string Reason { get; set; } = "not checked";

        public bool Decided { get; set; }

        public string? Result { get; set; }

        public string? HashBefore { get; set; }

        public string? HashAfter { get; set; }

        public PlannedAction? Action { get; set; }

        /// <summary>Resolves a path through the guard and notes the resolved path in the arguments under <paramref name="key"/>.</summary>
        public ResolvedPath Resolve(string path, PathAccess access, string key)
        {
            var r = owner.Paths.Resolve(path, access);
            Arguments[key] = r.FullPath;
            return r;
        }
    }

    private async Task<T> GuardedAsync<T>(string tool, JsonObject arguments, CancellationToken cancel, Func<Call, Task<T>> body)
    {
        await _gate.WaitAsync(cancel).ConfigureAwait(false);
        var call = new Call(this, arguments);
        try
        {
            var value = await body(call).ConfigureAwait(false);
            Record(tool, call, call.Result ?? (DryRun && call.Decision == AuditDecision.DryRun ? "planned: not run (dry run)" : "ok"));
            return value;
        }
        catch (PermissionDeniedException e)
        {
            call.Decision = AuditDecision.Denied;
            call.Reason = e.Message;
            Record(tool, call, "refused");
            throw;
        }
        catch (Exception e)
        {
            if (!call.Decided) call.Reason = "the request failed before the policy decided";
            Record(tool, call, $"error: {e.Message}");
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Record(string tool, Call call, string result)
    {
        _state.Audit.Append(RunId, _options.Actor, tool, call.Arguments.ToJsonString(), call.Decision, call.Reason, result, call.HashBefore, call.HashAfter);
        if (call.Action != null && call.Action.Operation != AgentOperation.Read)
        {
            lock (_actions) _actions.Add(new ActionRecord(call.Action, call.Decision, call.Reason));
        }
    }

    private static JsonObject RunArguments(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan? timeout)
    {
        var json = new JsonObject
        {
            ["program"] = program,
            ["arguments"] = new JsonArray([.. arguments.Select(a => (JsonNode?)JsonValue.Create(a))]),
            ["working_directory"] = workingDirectory,
        };
        if (timeout is { } t) json["timeout_seconds"] = t.TotalSeconds;
        return json;
    }

    /// <summary>The policy's checks of a command: run not denied, the program and arguments on the allow-list (each
    /// <c>{path}</c> argument resolved), the working directory a directory inside a root.</summary>
    /// <exception cref="PermissionDeniedException">The policy refuses it.</exception>
    /// <exception cref="DirectoryNotFoundException">The working directory is not a directory.</exception>
    private (IReadOnlyList<string> Arguments, ResolvedPath Directory) CheckRun(string program, IReadOnlyList<string> arguments, string workingDirectory, Call? call)
    {
        if (Policy.ModeOf(AgentOperation.Run) == ApprovalMode.Deny) throw new PermissionDeniedException($"running '{PathGuard.Printable(program)}' is refused: the policy denies 'run'");
        var resolvedArgs = CommandAllowList.Match(Policy.Commands, program, arguments, a => Paths.Resolve(a, PathAccess.Read).FullPath);
        var wd = call != null ? call.Resolve(workingDirectory, PathAccess.Read, "resolved_directory") : Paths.Resolve(workingDirectory, PathAccess.Read);
        if (wd.Kind != FileKind.Directory) throw new DirectoryNotFoundException($"'{wd.DisplayPath}' is not a directory");
        return (resolvedArgs, wd);
    }

    /// <summary>Refuses an action whose operation the policy denies, before anything else is looked at.</summary>
    private void RefuseIfDenied(Call call, PlannedAction action)
    {
        call.Action = action;
        var op = action.Operation.ToString().ToLowerInvariant();
        if (Policy.ModeOf(action.Operation) == ApprovalMode.Deny) throw new PermissionDeniedException($"{op} '{action.Path}' is refused: the policy denies '{op}'");
    }

    /// <summary>Applies the operation's mode: deny throws, auto passes, ask consults "always", the approved plan, then the provider.</summary>
    private async Task AuthorizeAsync(Call call, PlannedAction action, string? key, CancellationToken cancel)
    {
        RefuseIfDenied(call, action);
        var mode = Policy.ModeOf(action.Operation);
        var op = action.Operation.ToString().ToLowerInvariant();
        call.Decided = true;
        bool changes = action.Operation != AgentOperation.Read;
        if (DryRun && changes)
        {
            (call.Decision, call.Reason) = (AuditDecision.DryRun, $"policy '{op}: {ModeText(mode)}'; dry run");
            return;
        }

        if (mode == ApprovalMode.Auto)
        {
            (call.Decision, call.Reason) = (AuditDecision.Allowed, $"policy '{op}: auto'");
            return;
        }

        if (_always.Contains(action.Operation))
        {
            (call.Decision, call.Reason) = (AuditDecision.Approved, $"policy '{op}: ask'; approved always for this session");
            return;
        }

        if (key != null && _preApproved.Remove(key))
        {
            (call.Decision, call.Reason) = (AuditDecision.Approved, $"policy '{op}: ask'; approved with the plan");
            return;
        }

        var decision = await _options.Approval.RequestAsync(new ApprovalRequest(RunId, $"{op} {action.Path}", [action]), cancel).ConfigureAwait(false);
        if (decision == ApprovalDecision.Deny) throw new PermissionDeniedException($"{op} '{action.Path}' was not approved");
        if (decision == ApprovalDecision.Always) _always.Add(action.Operation);
        (call.Decision, call.Reason) = (AuditDecision.Approved, decision == ApprovalDecision.Always ? $"policy '{op}: ask'; approved always" : $"policy '{op}: ask'; approved");
    }

    private static string ModeText(ApprovalMode mode) => mode.ToString().ToLowerInvariant();

    private static string Key(AgentOperation op, string full, string? target) => $"{op}\n{full}\n{target}";

    /// <summary>The pre-approval key of a planned action, or null when its paths do not resolve (it will be refused anyway).</summary>
    private string? TryKey(PlannedAction a)
    {
        try
        {
            var full = Paths.Resolve(a.Path, PathAccess.Write).FullPath;
            var target = a.Target != null ? Paths.Resolve(a.Target, PathAccess.Write).FullPath : null;
            return Key(a.Operation, full, target);
        }
        catch (PermissionDeniedException)
        {
            return null;
        }
    }

    /// <summary>Collects regular files (full paths); true when it stopped at the listing limit.</summary>
    private bool Walk(string directory, bool recursive, List<string> files, CancellationToken cancel)
    {
        var pending = new Stack<string>();
        pending.Push(directory);
        while (pending.Count > 0)
        {
            cancel.ThrowIfCancellationRequested();
            var dir = pending.Pop();
            foreach (var entry in Directory.EnumerateFileSystemEntries(dir))
            {
                if (Path.GetFileName(entry).StartsWith(".hearth-", StringComparison.Ordinal) && entry.EndsWith(".tmp", StringComparison.Ordinal)) continue;
                if (PathGuard.IsSameOrBelow(entry, _state.Directory, StringComparison.OrdinalIgnoreCase)) continue;
                if (Policy.SourcePath != null && entry.Equals(Policy.SourcePath, StringComparison.OrdinalIgnoreCase)) continue;
                var (kind, links) = NativeFiles.Probe(entry);
                if (kind == FileKind.Directory)
                {
                    if (recursive) pending.Push(entry);
                }
                else if (kind == FileKind.File && links == 1)
                {
                    if (files.Count >= Policy.Limits.MaxListedFiles) return true;
                    files.Add(entry);
                }
            }
        }

        return false;
    }
}

/// <summary>Undo and recovery outside a run, each step audited.</summary>
public static class AgentMaintenance
{
    /// <summary>Settles pending journal entries (see <see cref="ChangeJournal.Recover"/>), auditing each under its own run as "recovery".</summary>
    public static IReadOnlyList<JournalOutcome> RecoverAndAudit(AgentStateStore state)
    {
        var outcomes = state.Journal.Recover();
        foreach (var o in outcomes) AuditOutcome(state, o.Entry.RunId, "recovery", "recover", o);
        return outcomes;
    }

    /// <summary>
    /// Undoes a run (the newest run with changes when <paramref name="runId"/> is null): see <see cref="ChangeJournal.Undo"/>.
    /// Each step is audited under a new run "undo RUN_ID". Returns the run undone and what happened to each entry.
    /// </summary>
    /// <exception cref="InvalidOperationException">There is no run with changes to undo.</exception>
    public static (string RunId, IReadOnlyList<JournalOutcome> Outcomes) Undo(AgentStateStore state, string? runId = null)
    {
        RecoverAndAudit(state);
        runId ??= state.Journal.LatestUndoableRun() ?? throw new InvalidOperationException("there is no agent run with changes to undo");
        if (!state.Journal.Entries(runId).Any()) throw new InvalidOperationException($"run '{runId}' made no journalled changes (see 'hearth agent runs')");
        var undoRun = state.BeginRun($"undo {runId}", dryRun: false);
        var outcomes = state.Journal.Undo(runId);
        foreach (var o in outcomes) AuditOutcome(state, undoRun, "undo", "undo", o);
        state.EndRun(undoRun, outcomes.Any(o => o.Conflict) ? "completed with conflicts" : "completed");
        return (runId, outcomes);
    }

    /// <summary>Writes the audit row of one journal entry settled by recovery, undo or a revert.</summary>
    internal static void AuditOutcome(AgentStateStore state, string runId, string actor, string tool, JournalOutcome o)
    {
        var args = new JsonObject
        {
            ["run"] = o.Entry.RunId,
            ["seq"] = o.Entry.Seq,
            ["op"] = ChangeJournal.OperationText(o.Entry.Operation),
            ["path"] = o.Entry.Path,
        };
        if (o.Entry.Target != null) args["to"] = o.Entry.Target;
        state.Audit.Append(runId, actor, tool, args.ToJsonString(), o.Conflict ? AuditDecision.Denied : AuditDecision.Allowed,
            o.Conflict ? "the file changed since; left alone" : $"{tool} of a journalled change", o.Outcome, o.Entry.HashAfter, o.Entry.HashBefore);
    }
}
