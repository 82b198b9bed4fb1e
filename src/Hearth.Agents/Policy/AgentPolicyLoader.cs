using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hearth.Agents.Policy;

/// <summary>
/// Reads agent policy files (YAML). Every problem is an <see cref="AgentPolicyException"/> naming the line and column;
/// unknown keys are errors, so a typo never silently widens or narrows what an agent may do.
/// </summary>
/// <remarks>
/// <code>
/// roots:                      # at least one; relative paths are relative to the policy file's folder, ~ is home
///   - path: inbox
///     access: read-write      # or read-only
/// operations:                 # ask | auto | deny; defaults: read auto, create/move/overwrite ask, delete/run deny
///   move: auto
///   delete: deny
/// commands:                   # the only programs 'run' can start (never through a shell)
///   - program: wc             # a bare name (searched on PATH) or an absolute path, matched exactly
///     args: ["-l {path}", "-c {path}"]   # one pattern per allowed argument list; [] tokens as a list also work
/// limits: { max_steps: 16, max_run_seconds: 300, max_file_bytes: 16777216, max_listed_files: 10000,
///           max_command_seconds: 60, max_command_output_bytes: 65536 }
/// state: ~/.local/state/hearth/agent   # audit log, journal and trash (default: see DefaultStateDirectory)
/// mcp: { ask: refuse }        # or approve: how 'hearth mcp' treats "ask" operations
/// </code>
/// </remarks>
public static class AgentPolicyLoader
{
    private static readonly string[] s_topKeys = ["roots", "operations", "commands", "limits", "state", "mcp"];
    private static readonly string[] s_rootKeys = ["path", "access"];
    private static readonly string[] s_commandKeys = ["program", "args"];
    private static readonly string[] s_limitKeys =
        ["max_steps", "max_run_seconds", "max_file_bytes", "max_listed_files", "max_command_seconds", "max_command_output_bytes"];
    private static readonly string[] s_mcpKeys = ["ask"];

    /// <summary>A commented example policy (its root is the folder the file is in).</summary>
    public const string ExampleText = """
        # Hearth agent policy: what an agent may touch and do. Every action is checked, audited and undoable.
        roots:                        # the only places an agent may work (relative paths: from this file's folder)
          - path: .
            access: read-write        # or read-only
        operations:                   # ask (approve at the prompt), auto, or deny
          read: auto
          create: ask
          move: ask
          overwrite: ask
          delete: deny                # off unless you turn it on
          run: deny                   # programs below run only when this is ask or auto
        commands:                     # exact programs (a name on PATH or an absolute path), never a shell
          - program: wc
            args: ["-l {path}"]       # one pattern per allowed argument list; {path} must be inside a root
        limits:
          max_steps: 16
          max_run_seconds: 300
          max_file_bytes: 16777216
        # state: ~/.local/state/hearth/agent   # audit log, journal and trash
        # mcp: { ask: refuse }                  # 'hearth mcp' refuses "ask" operations unless this says approve
        """;

    /// <summary>
    /// The state directory used when a policy names none: <c>$HEARTH_AGENT_STATE</c>, else
    /// <c>$XDG_STATE_HOME/hearth/agent</c>, else <c>~/.local/state/hearth/agent</c>.
    /// </summary>
    public static string DefaultStateDirectory()
    {
        if (Environment.GetEnvironmentVariable("HEARTH_AGENT_STATE") is { Length: > 0 } explicitState) return Path.GetFullPath(explicitState);
        var stateHome = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
        return Path.GetFullPath(Path.Combine(stateHome, "hearth", "agent"));
    }

    /// <summary>Loads a policy file; relative paths in it are relative to its folder.</summary>
    /// <exception cref="AgentPolicyException">The file is not a valid policy (the message names the line).</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static AgentPolicy Load(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new FileNotFoundException($"policy file '{path}' does not exist", path);
        return Parse(File.ReadAllText(full), Path.GetDirectoryName(full)!, full);
    }

    /// <summary>Parses policy text. Relative paths are resolved against <paramref name="baseDirectory"/>;
    /// <paramref name="sourcePath"/> names the file in messages and is protected from agents.</summary>
    /// <exception cref="AgentPolicyException">The text is not a valid policy.</exception>
    public static AgentPolicy Parse(string yaml, string baseDirectory, string? sourcePath = null)
    {
        var ctx = new Context(sourcePath != null ? Path.GetFileName(sourcePath) : "policy.yaml", baseDirectory);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new AgentPolicyException(ctx.File, (int)e.Start.Line, (int)e.Start.Column, "YAML syntax error: " + e.Message, e);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            throw new AgentPolicyException(ctx.File, 1, 1, "the policy is empty; it needs at least 'roots'");
        if (stream.Documents.Count > 1) throw ctx.Error(stream.Documents[1].RootNode, "a policy file holds one YAML document");
        var top = ctx.Mapping(stream.Documents[0].RootNode, "the policy");
        ctx.CheckKeys(top, s_topKeys, "the policy");

        var rootsNode = ctx.Required(top, "roots", "the policy");
        var roots = new List<WorkspaceRoot>();
        var rootSeq = ctx.Sequence(rootsNode, "'roots'");
        foreach (var node in rootSeq.Children) roots.Add(ParseRoot(ctx, node));
        if (roots.Count == 0) throw ctx.Error(rootsNode, "'roots' is empty; give at least one directory an agent may work in");
        for (int i = 0; i < roots.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (roots[i].Path == roots[j].Path) throw ctx.Error(rootSeq.Children[i], $"root '{roots[i].Path}' is listed twice");
            }
        }

        var modes = new Dictionary<AgentOperation, ApprovalMode>(AgentPolicy.DefaultModes);
        if (ctx.Optional(top, "operations") is { } opsNode)
        {
            foreach (var (key, value) in ctx.Mapping(opsNode, "'operations' (operation: ask | auto | deny)").Children)
            {
                var name = ctx.Text(key, "an operation");
                var op = ParseOperation(name) ?? throw ctx.Error(key, $"unknown operation '{name}' (use read, create, move, overwrite, delete or run)");
                var modeText = ctx.Text(value, $"the mode of '{name}'");
                modes[op] = modeText switch
                {
                    "ask" => ApprovalMode.Ask,
                    "auto" => ApprovalMode.Auto,
                    "deny" => ApprovalMode.Deny,
                    _ => throw ctx.Error(value, $"the mode of '{name}' must be ask, auto or deny, not '{modeText}'"),
                };
            }
        }

        var commands = new List<CommandRule>();
        if (ctx.Optional(top, "commands") is { } commandsNode)
        {
            foreach (var node in ctx.Sequence(commandsNode, "'commands'").Children) commands.Add(ParseCommand(ctx, node));
        }

        var limits = ctx.Optional(top, "limits") is { } limitsNode ? ParseLimits(ctx, limitsNode) : new PolicyLimits();
        var state = ctx.Optional(top, "state") is { } stateNode ? ctx.FullPath(ctx.Text(stateNode, "'state'")) : DefaultStateDirectory();
        var mcpAsk = McpAskMode.Refuse;
        if (ctx.Optional(top, "mcp") is { } mcpNode)
        {
            var m = ctx.Mapping(mcpNode, "'mcp'");
            ctx.CheckKeys(m, s_mcpKeys, "'mcp'");
            if (ctx.Optional(m, "ask") is { } askNode)
            {
                var text = ctx.Text(askNode, "mcp 'ask'");
                mcpAsk = text switch
                {
                    "refuse" => McpAskMode.Refuse,
                    "approve" => McpAskMode.Approve,
                    _ => throw ctx.Error(askNode, $"mcp 'ask' must be refuse or approve, not '{text}'"),
                };
            }
        }

        return new AgentPolicy
        {
            Roots = roots, Operations = modes, Commands = commands, Limits = limits, StateDirectory = state,
            SourcePath = sourcePath != null ? Path.GetFullPath(sourcePath) : null, McpAsk = mcpAsk,
        };
    }

    /// <summary>The operation named <paramref name="name"/> in a policy file (<c>read</c>, <c>create</c>, ...), or null.</summary>
    public static AgentOperation? ParseOperation(string name) => name switch
    {
        "read" => AgentOperation.Read,
        "create" => AgentOperation.Create,
        "move" => AgentOperation.Move,
        "overwrite" => AgentOperation.Overwrite,
        "delete" => AgentOperation.Delete,
        "run" => AgentOperation.Run,
        _ => null,
    };

    private static WorkspaceRoot ParseRoot(Context ctx, YamlNode node)
    {
        var m = ctx.Mapping(node, "a root ({ path, access })");
        ctx.CheckKeys(m, s_rootKeys, "a root");
        var pathNode = ctx.Required(m, "path", "a root");
        var accessNode = ctx.Required(m, "access", "a root");
        var accessText = ctx.Text(accessNode, "'access'");
        var access = accessText switch
        {
            "read-only" => RootAccess.ReadOnly,
            "read-write" => RootAccess.ReadWrite,
            _ => throw ctx.Error(accessNode, $"'access' must be read-only or read-write, not '{accessText}'"),
        };
        var path = ctx.FullPath(ctx.Text(pathNode, "a root's 'path'"));
        try
        {
            return new WorkspaceRoot(PathGuard.ResolveRoot(path), access);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException or PermissionDeniedException)
        {
            throw ctx.Error(pathNode, $"root '{path}' is not usable: {e.Message}");
        }
    }

    private static CommandRule ParseCommand(Context ctx, YamlNode node)
    {
        var m = ctx.Mapping(node, "a command ({ program, args })");
        ctx.CheckKeys(m, s_commandKeys, "a command");
        var programNode = ctx.Required(m, "program", "a command");
        var program = ctx.Text(programNode, "'program'");
        if (program.Contains('\0') || (program.Contains('/') && !Path.IsPathFullyQualified(program)) || program.Contains('\\'))
            throw ctx.Error(programNode, $"'program' must be a bare name (found on PATH) or an absolute path, not '{program}'");
        var patterns = new List<ArgumentPattern>();
        if (ctx.Optional(m, "args") is not { } argsNode)
        {
            patterns.Add(new ArgumentPattern([]));
        }
        else
        {
            foreach (var p in ctx.Sequence(argsNode, "'args' (a list of argument patterns)").Children)
            {
                var tokens = p switch
                {
                    YamlScalarNode s => (s.Value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries),
                    YamlSequenceNode seq => seq.Children.Select(t => t is YamlScalarNode { Value: { } v } ? v : throw ctx.Error(t, "an argument token must be text")).ToArray(),
                    _ => throw ctx.Error(p, "an argument pattern is a text ('-l {path}') or a list of tokens"),
                };
                foreach (var t in tokens)
                {
                    if (t.Contains('{') && t != ArgumentPattern.PathToken) throw ctx.Error(p, $"argument token '{t}': the only placeholder is {ArgumentPattern.PathToken}, as a whole token");
                }

                patterns.Add(new ArgumentPattern(tokens));
            }

            if (patterns.Count == 0) throw ctx.Error(argsNode, $"'args' of '{program}' is empty, so it could never run; leave 'args' out to allow running it without arguments");
        }

        return new CommandRule(program, patterns);
    }

    private static PolicyLimits ParseLimits(Context ctx, YamlNode node)
    {
        var m = ctx.Mapping(node, "'limits'");
        ctx.CheckKeys(m, s_limitKeys, "'limits'");
        var limits = new PolicyLimits();
        if (ctx.Optional(m, "max_steps") is { } a) limits = limits with { MaxSteps = (int)ctx.Integer(a, "max_steps", 1, 10_000) };
        if (ctx.Optional(m, "max_run_seconds") is { } b) limits = limits with { MaxRunTime = TimeSpan.FromSeconds(ctx.Integer(b, "max_run_seconds", 1, 7 * 24 * 3600)) };
        if (ctx.Optional(m, "max_file_bytes") is { } c) limits = limits with { MaxFileBytes = ctx.Integer(c, "max_file_bytes", 1, 1L << 40) };
        if (ctx.Optional(m, "max_listed_files") is { } d) limits = limits with { MaxListedFiles = (int)ctx.Integer(d, "max_listed_files", 1, 10_000_000) };
        if (ctx.Optional(m, "max_command_seconds") is { } e) limits = limits with { MaxCommandTime = TimeSpan.FromSeconds(ctx.Integer(e, "max_command_seconds", 1, 24 * 3600)) };
        if (ctx.Optional(m, "max_command_output_bytes") is { } f) limits = limits with { MaxCommandOutputBytes = (int)ctx.Integer(f, "max_command_output_bytes", 1, 1 << 30) };
        return limits;
    }

    private sealed class Context(string file, string baseDirectory) : YamlPolicyReader<AgentPolicyException>
    {
        public string File => file;

        public override AgentPolicyException Error(YamlNode node, string problem) => new(file, (int)node.Start.Line, (int)node.Start.Column, problem);

        /// <summary>A path from the file: <c>~</c> is the home folder, relative paths are relative to the policy's folder.</summary>
        public string FullPath(string path)
        {
            if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
                path = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path.Length > 2 ? path[2..] : "");
            return Path.GetFullPath(path, baseDirectory);
        }
    }
}

/// <summary>An agent policy file is not valid. The message starts with <c>FILE:LINE:COLUMN:</c> and says what to change.</summary>
public sealed class AgentPolicyException(string file, int line, int column, string problem, Exception? inner = null)
    : PolicyFileException(file, line, column, problem, inner);
