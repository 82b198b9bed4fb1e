namespace Hearth.Agents.Policy;

/// <summary>An operation an agent can ask for. Each has an <see cref="ApprovalMode"/> in the policy.</summary>
public enum AgentOperation
{
    /// <summary>Read a file or list a directory.</summary>
    Read,

    /// <summary>Create a file that does not exist (and the directories above it).</summary>
    Create,

    /// <summary>Move or rename a file.</summary>
    Move,

    /// <summary>Replace the content of a file that exists.</summary>
    Overwrite,

    /// <summary>Delete a file (off by default).</summary>
    Delete,

    /// <summary>Run a program from the policy's allow-list (off by default).</summary>
    Run,
}

/// <summary>What happens when an agent asks for an operation.</summary>
public enum ApprovalMode
{
    /// <summary>It runs without asking.</summary>
    Auto,

    /// <summary>It runs only when the approval provider (a person at the CLI, a test) says yes.</summary>
    Ask,

    /// <summary>It is refused.</summary>
    Deny,
}

/// <summary>Whether an agent may change files under a root.</summary>
public enum RootAccess
{
    /// <summary>Files may be read and listed; every change is refused.</summary>
    ReadOnly,

    /// <summary>Files may be read and changed, as far as the operations' modes allow.</summary>
    ReadWrite,
}

/// <summary>How an MCP server treats operations whose mode is <see cref="ApprovalMode.Ask"/>: nobody can be asked over
/// stdio, so they are refused unless the policy says otherwise.</summary>
public enum McpAskMode
{
    /// <summary>"ask" operations are refused over MCP (the default).</summary>
    Refuse,

    /// <summary>"ask" operations are approved over MCP (the MCP client is trusted to have asked its user).</summary>
    Approve,
}

/// <summary>A directory tree an agent may work in.</summary>
/// <param name="Path">The root's full path, with every symbolic link resolved (no trailing separator).</param>
/// <param name="Access">Whether it may be changed.</param>
public sealed record WorkspaceRoot(string Path, RootAccess Access);

/// <summary>
/// One allow-listed program. <see cref="Program"/> is matched exactly against what the agent asks for: a bare name
/// (found on <c>PATH</c> when it runs) or an absolute path. The arguments must match one of <see cref="Arguments"/>.
/// </summary>
public sealed record CommandRule(string Program, IReadOnlyList<ArgumentPattern> Arguments);

/// <summary>
/// A pattern for a whole argument list: one token per argument, the same count as the arguments. A token is either
/// <c>{path}</c> (an argument that must be a readable path inside a root; the program receives its resolved full
/// path) or a literal in which <c>*</c> matches any run of characters and <c>?</c> any one character. A wildcard never
/// matches across arguments. An <see cref="Exact"/> pattern has neither: each argument must equal its token.
/// </summary>
public sealed record ArgumentPattern(IReadOnlyList<string> Tokens)
{
    /// <summary>The token that stands for a path inside a root.</summary>
    public const string PathToken = "{path}";

    /// <summary>Each argument must equal its token, character for character (no wildcards, no <c>{path}</c>): the
    /// one argument list a policy derived from a command line allows. Policy files always give wildcard patterns.</summary>
    public bool Exact { get; init; }

    /// <summary>A pattern that allows exactly these arguments.</summary>
    public static ArgumentPattern Exactly(IReadOnlyList<string> arguments) => new(arguments) { Exact = true };

    public override string ToString() => Exact ? string.Join(' ', Tokens.Select(CommandAllowList.Quote)) : string.Join(' ', Tokens);
}

/// <summary>Budgets and size limits.</summary>
public sealed record PolicyLimits
{
    /// <summary>Most model calls in one agent run.</summary>
    public int MaxSteps { get; init; } = 16;

    /// <summary>Longest wall-clock time of one agent run.</summary>
    public TimeSpan MaxRunTime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Largest file an agent may read or write, in bytes.</summary>
    public long MaxFileBytes { get; init; } = 16L << 20;

    /// <summary>Most files one listing returns.</summary>
    public int MaxListedFiles { get; init; } = 10_000;

    /// <summary>Longest time a command may run (a longer timeout asked by the agent is cut to this).</summary>
    public TimeSpan MaxCommandTime { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Most bytes kept of a command's standard output and of its standard error.</summary>
    public int MaxCommandOutputBytes { get; init; } = 64 * 1024;
}

/// <summary>
/// The permission policy every agent action is checked against: the roots an agent may work in, what it may do there
/// and whether each operation needs approval, the programs it may run, and its budgets. Immutable; load it with
/// <see cref="AgentPolicyLoader"/> or build it in code.
/// </summary>
public sealed record AgentPolicy
{
    /// <summary>The default mode of each operation: reading is automatic, changes are asked for, delete and run are refused.</summary>
    public static IReadOnlyDictionary<AgentOperation, ApprovalMode> DefaultModes { get; } =
        Modes(read: ApprovalMode.Auto, create: ApprovalMode.Ask, move: ApprovalMode.Ask, overwrite: ApprovalMode.Ask, delete: ApprovalMode.Deny, run: ApprovalMode.Deny);

    /// <summary>A table that gives every operation its mode (for <see cref="Operations"/>).</summary>
    public static IReadOnlyDictionary<AgentOperation, ApprovalMode> Modes(ApprovalMode read, ApprovalMode create, ApprovalMode move, ApprovalMode overwrite,
        ApprovalMode delete, ApprovalMode run) => new Dictionary<AgentOperation, ApprovalMode>
    {
        [AgentOperation.Read] = read,
        [AgentOperation.Create] = create,
        [AgentOperation.Move] = move,
        [AgentOperation.Overwrite] = overwrite,
        [AgentOperation.Delete] = delete,
        [AgentOperation.Run] = run,
    };

    /// <summary>The roots, the first being the one relative paths are resolved against. At least one.</summary>
    public required IReadOnlyList<WorkspaceRoot> Roots { get; init; }

    /// <summary>The mode of each operation; one missing here has its <see cref="DefaultModes"/> mode.</summary>
    public IReadOnlyDictionary<AgentOperation, ApprovalMode> Operations { get; init; } = DefaultModes;

    /// <summary>The programs that may run (only when <see cref="AgentOperation.Run"/> is not denied).</summary>
    public IReadOnlyList<CommandRule> Commands { get; init; } = [];

    public PolicyLimits Limits { get; init; } = new();

    /// <summary>Where the audit log, the journal and the trash live (see <see cref="AgentPolicyLoader.DefaultStateDirectory"/>).
    /// Agents can never read or change anything inside it.</summary>
    public required string StateDirectory { get; init; }

    /// <summary>The policy file it came from (agents can never change it), or null for a policy built in code.</summary>
    public string? SourcePath { get; init; }

    /// <summary>How an MCP server treats "ask" operations.</summary>
    public McpAskMode McpAsk { get; init; } = McpAskMode.Refuse;

    /// <summary>The mode of an operation (its default when the policy does not name it).</summary>
    public ApprovalMode ModeOf(AgentOperation operation) =>
        Operations.TryGetValue(operation, out var mode) ? mode : DefaultModes[operation];

    /// <summary>
    /// A policy with one read-write root (resolved) and the default modes, with its state in
    /// <paramref name="stateDirectory"/> (or the default state directory).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public static AgentPolicy ForDirectory(string directory, string? stateDirectory = null, IReadOnlyDictionary<AgentOperation, ApprovalMode>? modes = null) => new()
    {
        Roots = [new WorkspaceRoot(PathGuard.ResolveRoot(directory), RootAccess.ReadWrite)],
        Operations = modes ?? DefaultModes,
        StateDirectory = Path.GetFullPath(stateDirectory ?? AgentPolicyLoader.DefaultStateDirectory()),
    };
}
