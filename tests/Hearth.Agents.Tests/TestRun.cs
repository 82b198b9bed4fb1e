using Hearth.Agents.Approval;
using Hearth.Agents.Audit;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

/// <summary>
/// One agent run for a test, on the real <see cref="PolicyWorkspace"/>: a policy (built for a temporary state directory
/// of its own: audit log, journal and trash) and an approval provider (denying everything unless told). Disposing ends
/// the run and deletes the state directory.
/// </summary>
internal sealed class TestRun : IDisposable
{
    /// <param name="policy">The policy, given the state directory to use.</param>
    /// <param name="approval">Who answers "ask" operations; nobody (deny) by default.</param>
    /// <param name="dryRun">Plan only.</param>
    public TestRun(Func<string, AgentPolicy> policy, IApprovalProvider? approval = null, bool dryRun = false)
    {
        StateDirectory = Directory.CreateTempSubdirectory("hearth-agent-state-").FullName;
        Policy = policy(StateDirectory);
        Workspace = PolicyWorkspace.Open(Policy, new PolicyWorkspaceOptions { Approval = approval ?? FixedApprovalProvider.DenyAll, DryRun = dryRun, Actor = "test" });
    }

    public string StateDirectory { get; }

    public AgentPolicy Policy { get; }

    public PolicyWorkspace Workspace { get; }

    /// <summary>This run's audit rows, in order.</summary>
    public IReadOnlyList<AuditEntry> Audit => Workspace.State.Audit.Read(Workspace.RunId);

    /// <summary>The audit rows of everything but reading and listing: writes, moves, deletes, commands, reverts.</summary>
    public IReadOnlyList<AuditEntry> Changes => [.. Audit.Where(e => e.Tool is not ("read_file" or "list_files"))];

    /// <summary>The tools of <see cref="Changes"/>, in order.</summary>
    public IReadOnlyList<string> ChangeTools => [.. Changes.Select(e => e.Tool)];

    public void Dispose()
    {
        Workspace.Dispose();
        try
        {
            Directory.Delete(StateDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the system's temporary-file cleanup.
        }
    }
}
