using Hearth.Agents.Policy;

namespace Hearth.Agents.Code;

/// <summary>The permission policy <c>hearth agent code</c> runs under when no policy file is given.</summary>
public static class CodeEditPolicy
{
    /// <summary>
    /// The repository as the one read-write root. Reading, creating and overwriting files are automatic: an edit is
    /// kept only after it applies, parses and passes the check, every write is journalled (so <c>hearth agent undo</c>
    /// takes a kept edit back), and asking before each attempt, most of which are taken back, would make the loop
    /// unusable. Moving and deleting files are asked for. Running is allowed for exactly <paramref name="check"/>'s
    /// program and arguments (no wildcards, no other program) and denied when there is no check; the check may run for
    /// <paramref name="checkTimeout"/>.
    /// </summary>
    /// <param name="repository">The repository's directory.</param>
    /// <param name="check">The build/test command, or null.</param>
    /// <param name="checkTimeout">How long the check may run (the policy's command time limit).</param>
    /// <param name="stateDirectory">Where the audit log and journal live; null for <see cref="AgentPolicyLoader.DefaultStateDirectory"/>.</param>
    /// <exception cref="DirectoryNotFoundException">The repository does not exist.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is not positive.</exception>
    public static AgentPolicy For(string repository, CommandSpec? check, TimeSpan checkTimeout, string? stateDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(repository);
        if (checkTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(checkTimeout), $"the check timeout {checkTimeout} must be positive");
        return new AgentPolicy
        {
            Roots = [new WorkspaceRoot(PathGuard.ResolveRoot(repository), RootAccess.ReadWrite)],
            Operations = AgentPolicy.Modes(read: ApprovalMode.Auto, create: ApprovalMode.Auto, move: ApprovalMode.Ask, overwrite: ApprovalMode.Auto,
                delete: ApprovalMode.Ask, run: check != null ? ApprovalMode.Auto : ApprovalMode.Deny),
            Commands = check != null ? [new CommandRule(check.Program, [ArgumentPattern.Exactly(check.Arguments)])] : [],
            Limits = new PolicyLimits { MaxCommandTime = checkTimeout },
            StateDirectory = Path.GetFullPath(stateDirectory ?? AgentPolicyLoader.DefaultStateDirectory()),
        };
    }
}
