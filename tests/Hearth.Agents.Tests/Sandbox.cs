using System.Security.Cryptography;
using Hearth.Agents.Approval;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

/// <summary>
/// A throw-away directory for one test: <c>root/</c> (the workspace root), <c>state/</c> (audit log, journal, trash),
/// and room for things outside the root. Deleted when disposed.
/// </summary>
internal sealed class Sandbox : IDisposable
{
    public Sandbox()
    {
        Dir = Path.Combine(Path.GetTempPath(), "hearth-agents-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Outside);
        Dir = PathGuard.ResolveRoot(Dir);
    }

    /// <summary>The sandbox itself (resolved).</summary>
    public string Dir { get; }

    /// <summary>The workspace root.</summary>
    public string Root => Path.Combine(Dir, "root");

    /// <summary>The state directory.</summary>
    public string State => Path.Combine(Dir, "state");

    /// <summary>A directory outside the root, for escape attempts.</summary>
    public string Outside => Path.Combine(Dir, "outside");

    /// <summary>Writes a file under the root (creating directories); returns its full path.</summary>
    public string Write(string relative, string text)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A policy with the root read-write and the given modes (others at their defaults).</summary>
    public AgentPolicy Policy(params (AgentOperation Op, ApprovalMode Mode)[] modes)
    {
        var all = new Dictionary<AgentOperation, ApprovalMode>(AgentPolicy.DefaultModes);
        foreach (var (op, mode) in modes) all[op] = mode;
        return AgentPolicy.ForDirectory(Root, State, all);
    }

    /// <summary>Opens a workspace on <paramref name="policy"/> (approving nothing unless told).</summary>
    public PolicyWorkspace Open(AgentPolicy policy, IApprovalProvider? approval = null, bool dryRun = false) =>
        PolicyWorkspace.Open(policy, new PolicyWorkspaceOptions { Approval = approval ?? FixedApprovalProvider.DenyAll, DryRun = dryRun, Actor = "test" });

    /// <summary>Every file under a directory: relative path → SHA-256 of its content.</summary>
    public static SortedDictionary<string, string> Tree(string directory)
    {
        var tree = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
            tree[Path.GetRelativePath(directory, f)] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)));
        return tree;
    }

    /// <summary>Every directory under a directory (relative paths).</summary>
    public static SortedSet<string> Directories(string directory) =>
        new(Directory.EnumerateDirectories(directory, "*", SearchOption.AllDirectories).Select(d => Path.GetRelativePath(directory, d)), StringComparer.Ordinal);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
            // A file still open on a slow machine; the temp folder is cleaned up by the system.
        }
    }
}

/// <summary>Test approval provider: answers from a queue (then denies) and records every request.</summary>
internal sealed class RecordingApprovalProvider(params ApprovalDecision[] answers) : IApprovalProvider
{
    private readonly Queue<ApprovalDecision> _answers = new(answers);

    public List<ApprovalRequest> Requests { get; } = [];

    public Task<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancel = default)
    {
        Requests.Add(request);
        return Task.FromResult(_answers.Count > 0 ? _answers.Dequeue() : ApprovalDecision.Deny);
    }
}

/// <summary>Test approval provider standing in for a person at the prompt who answers by a rule: a request is approved
/// when every action in it passes <paramref name="approve"/>. It records every request.</summary>
internal sealed class RuleApprovalProvider(Func<PlannedAction, bool> approve) : IApprovalProvider
{
    public List<ApprovalRequest> Requests { get; } = [];

    public Task<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancel = default)
    {
        lock (Requests) Requests.Add(request);
        return Task.FromResult(request.Actions.All(approve) ? ApprovalDecision.Approve : ApprovalDecision.Deny);
    }
}
