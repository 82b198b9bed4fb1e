using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Agents.Audit;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

/// <summary>Every way out of a root is refused, and every refusal is in the audit log.</summary>
public sealed class PathEscapeTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private string Secret => Path.Combine(_box.Outside, "secret.txt");

    private AgentPolicy EverythingAllowed() => _box.Policy(
        (AgentOperation.Create, ApprovalMode.Auto), (AgentOperation.Overwrite, ApprovalMode.Auto), (AgentOperation.Move, ApprovalMode.Auto),
        (AgentOperation.Delete, ApprovalMode.Auto));

    /// <summary>Runs <paramref name="act"/> on a fresh workspace, expects a refusal, and returns the refusal and the audit row it left.</summary>
    private async Task<(PermissionDeniedException Error, AuditEntry Row)> Refused(Func<PolicyWorkspace, Task> act, string tool, string requested)
    {
        File.WriteAllText(Secret, "outside secret");
        var before = Sandbox.Tree(_box.Outside);
        using var ws = _box.Open(EverythingAllowed());
        var error = await Assert.ThrowsAsync<PermissionDeniedException>(() => act(ws));
        var row = Assert.Single(ws.State.Audit.Read(ws.RunId));
        Assert.Equal(tool, row.Tool);
        Assert.Equal(AuditDecision.Denied, row.Decision);
        Assert.Equal(error.Message, row.Reason);
        Assert.Contains(requested, JsonNode.Parse(row.ArgumentsJson)!.AsObject().Select(p => p.Value?.ToString()));
        Assert.Equal(before, Sandbox.Tree(_box.Outside));
        return (error, row);
    }

    [Fact]
    public async Task DotDotOutOfTheRootIsRefused()
    {
        var (e, _) = await Refused(ws => ws.ReadFileAsync("../outside/secret.txt"), "read_file", "../outside/secret.txt");
        Assert.Contains("outside every workspace root", e.Message);
        await Refused(ws => ws.WriteFileAsync("sub/../../outside/new.txt", "x"u8.ToArray()), "write_file", "sub/../../outside/new.txt");
        Assert.False(File.Exists(Path.Combine(_box.Outside, "new.txt")));
    }

    [Fact]
    public async Task AbsolutePathOutsideTheRootIsRefused()
    {
        await Refused(ws => ws.ReadFileAsync(Secret), "read_file", Secret);
        await Refused(ws => ws.DeleteAsync(Secret), "delete_file", Secret);
        await Refused(ws => ws.ReadFileAsync("/etc/passwd"), "read_file", "/etc/passwd");
    }

    [Fact]
    public async Task SymlinkedFileLeadingOutIsRefused()
    {
        File.WriteAllText(Secret, "outside secret");
        File.CreateSymbolicLink(Path.Combine(_box.Root, "link.txt"), Secret);
        var (e, _) = await Refused(ws => ws.ReadFileAsync("link.txt"), "read_file", "link.txt");
        Assert.Contains("symbolic link", e.Message);
        await Refused(ws => ws.WriteFileAsync("link.txt", "pwned"u8.ToArray()), "write_file", "link.txt");
        await Refused(ws => ws.MoveAsync("link.txt", "moved.txt"), "move_file", "link.txt");
        Assert.Equal("outside secret", File.ReadAllText(Secret));
    }

    [Fact]
    public async Task SymlinkedDirectoryLeadingOutIsRefused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_box.Root, "linkdir"), _box.Outside);
        await Refused(ws => ws.ReadFileAsync("linkdir/secret.txt"), "read_file", "linkdir/secret.txt");
        await Refused(ws => ws.WriteFileAsync("linkdir/planted.txt", "x"u8.ToArray()), "write_file", "linkdir/planted.txt");
        await Refused(ws => ws.ListFilesAsync("linkdir", recursive: true), "list_files", "linkdir");
        Assert.False(File.Exists(Path.Combine(_box.Outside, "planted.txt")));
    }

    [Fact]
    public async Task SymlinkInAParentDirectoryIsRefused()
    {
        Directory.CreateDirectory(Path.Combine(_box.Root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(_box.Root, "a", "b"), _box.Outside);
        await Refused(ws => ws.WriteFileAsync("a/b/c/d.txt", "x"u8.ToArray()), "write_file", "a/b/c/d.txt");
        Assert.False(Directory.Exists(Path.Combine(_box.Outside, "c")));
        await Refused(ws => ws.MoveAsync("a/b/secret.txt", "stolen.txt"), "move_file", "a/b/secret.txt");
    }

    [Fact]
    public async Task DotDotAfterASymlinkStepsUpFromTheLinksTarget()
    {
        // linkdir/.. is the parent of the link's target (outside), as the kernel resolves it, not the root.
        Directory.CreateDirectory(Path.Combine(_box.Outside, "deep"));
        Directory.CreateSymbolicLink(Path.Combine(_box.Root, "linkdir"), Path.Combine(_box.Outside, "deep"));
        _box.Write("secret.txt", "inside");
        await Refused(ws => ws.ReadFileAsync("linkdir/../secret.txt"), "read_file", "linkdir/../secret.txt");
    }

    [Fact]
    public async Task DanglingSymlinkPointingOutIsRefused()
    {
        File.CreateSymbolicLink(Path.Combine(_box.Root, "dangle.txt"), Path.Combine(_box.Outside, "not-yet.txt"));
        await Refused(ws => ws.WriteFileAsync("dangle.txt", "x"u8.ToArray()), "write_file", "dangle.txt");
        Assert.False(File.Exists(Path.Combine(_box.Outside, "not-yet.txt")));
    }

    [Fact]
    public async Task SiblingWithACommonPrefixIsOutside()
    {
        var evil = Path.Combine(_box.Dir, "root-evil");
        Directory.CreateDirectory(evil);
        File.WriteAllText(Path.Combine(evil, "loot.txt"), "loot");
        await Refused(ws => ws.ReadFileAsync(Path.Combine(evil, "loot.txt")), "read_file", Path.Combine(evil, "loot.txt"));
        await Refused(ws => ws.ReadFileAsync("../root-evil/loot.txt"), "read_file", "../root-evil/loot.txt");
        await Refused(ws => ws.WriteFileAsync(_box.Root + "-evil/new.txt", "x"u8.ToArray()), "write_file", _box.Root + "-evil/new.txt");
        Assert.False(File.Exists(Path.Combine(evil, "new.txt")));
    }

    [Fact]
    public async Task CaseVariantOfTheRootIsOutside()
    {
        // The rule: containment is ordinal, so a spelling of the root that differs only by case is outside it (on this
        // case-sensitive file system it is a different directory, here holding someone else's file).
        var upper = Path.Combine(_box.Dir, "ROOT");
        Directory.CreateDirectory(upper);
        File.WriteAllText(Path.Combine(upper, "other.txt"), "not yours");
        await Refused(ws => ws.ReadFileAsync(Path.Combine(upper, "other.txt")), "read_file", Path.Combine(upper, "other.txt"));
        await Refused(ws => ws.ReadFileAsync("../ROOT/other.txt"), "read_file", "../ROOT/other.txt");
    }

    [Fact]
    public async Task CaseVariantOfTheProtectedStateDirectoryIsRefused()
    {
        // Protected paths are matched ignoring case, so on a case-insensitive file system no spelling reaches them.
        var policy = AgentPolicy.ForDirectory(_box.Root, Path.Combine(_box.Root, ".state"), EverythingAllowed().Operations);
        using var ws = PolicyWorkspace.Open(policy);
        foreach (var attempt in new[] { ".state/agent.db", ".STATE/agent.db", ".State/trash/x.txt" })
        {
            var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync(attempt, "x"u8.ToArray()));
            Assert.Contains("protected", e.Message);
        }

        Assert.DoesNotContain(await ws.ListFilesAsync(".", recursive: true), f => f.Contains("agent.db", StringComparison.Ordinal));
        Assert.Equal(3, ws.State.Audit.Read(ws.RunId).Count(r => r.Decision == AuditDecision.Denied && r.Reason.Contains("protected")));
    }

    [Fact]
    public async Task PolicyFileInsideTheRootCannotBeRewritten()
    {
        var policyPath = _box.Write("policy.yaml", "roots:\n  - path: .\n    access: read-write\noperations:\n  overwrite: auto\nstate: ../state\n");
        using var ws = PolicyWorkspace.Open(AgentPolicyLoader.Load(policyPath));
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("policy.yaml", "roots: []"u8.ToArray()));
        Assert.Contains("protected", e.Message);
        Assert.Contains("access: read-write", File.ReadAllText(policyPath));
    }

    [Fact]
    public async Task NulBytesAndControlCharactersAreRefused()
    {
        var (e, _) = await Refused(ws => ws.ReadFileAsync("notes.txt\0.jpg"), "read_file", "notes.txt\0.jpg");
        Assert.Contains("NUL", e.Message);
        Assert.DoesNotContain('\0', e.Message);
        await Refused(ws => ws.WriteFileAsync("line\nbreak.txt", "x"u8.ToArray()), "write_file", "line\nbreak.txt");
    }

    [Fact]
    public async Task DeviceFilesAreRefused()
    {
        var policy = AgentPolicy.ForDirectory("/dev", _box.State);
        using var ws = PolicyWorkspace.Open(policy);
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.ReadFileAsync("null"));
        Assert.Contains("device", e.Message);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.ReadFileAsync("/dev/zero"));
        Assert.Equal(2, ws.State.Audit.Read(ws.RunId).Count(r => r.Decision == AuditDecision.Denied));
    }

    [Fact]
    public async Task FifoIsRefusedInsteadOfBlocking()
    {
        var fifo = Path.Combine(_box.Root, "pipe");
        using (var p = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!) p.WaitForExit();
        var (e, _) = await Refused(ws => ws.ReadFileAsync("pipe"), "read_file", "pipe");
        Assert.Contains("fifo", e.Message);
    }

    [Fact]
    public async Task HardLinkToAFileOutsideIsRefused()
    {
        File.WriteAllText(Secret, "outside secret");
        var link = Path.Combine(_box.Root, "hard.txt");
        using (var p = Process.Start(new ProcessStartInfo("ln", [Secret, link]) { UseShellExecute = false })!) p.WaitForExit();
        Assert.True(File.Exists(link));
        var (e, _) = await Refused(ws => ws.ReadFileAsync("hard.txt"), "read_file", "hard.txt");
        Assert.Contains("hard links", e.Message);
    }

    [Fact]
    public async Task ReadOnlyRootRefusesChangesButAllowsReads()
    {
        var reference = Path.Combine(_box.Dir, "reference");
        Directory.CreateDirectory(reference);
        File.WriteAllText(Path.Combine(reference, "ref.txt"), "reference");
        var policy = EverythingAllowed() with { Roots = [.. EverythingAllowed().Roots, new WorkspaceRoot(PathGuard.ResolveRoot(reference), RootAccess.ReadOnly)] };
        using var ws = _box.Open(policy);
        Assert.Equal("reference", Encoding.UTF8.GetString(await ws.ReadFileAsync(Path.Combine(reference, "ref.txt"))));
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync(Path.Combine(reference, "ref.txt"), "changed"u8.ToArray()));
        Assert.Contains("read-only", e.Message);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.MoveAsync(Path.Combine(reference, "ref.txt"), "taken.txt"));
        Assert.Equal("reference", File.ReadAllText(Path.Combine(reference, "ref.txt")));
        Assert.Equal(2, ws.State.Audit.Read(ws.RunId).Count(r => r.Decision == AuditDecision.Denied && r.Reason.Contains("read-only")));
    }

    [Fact]
    public async Task SymlinksThatStayInsideTheRootAreFollowed()
    {
        _box.Write("real/data.txt", "inside");
        Directory.CreateSymbolicLink(Path.Combine(_box.Root, "alias"), Path.Combine(_box.Root, "real"));
        using var ws = _box.Open(EverythingAllowed());
        Assert.Equal("inside", Encoding.UTF8.GetString(await ws.ReadFileAsync("alias/data.txt")));
        var row = Assert.Single(ws.State.Audit.Read(ws.RunId));
        Assert.Equal(AuditDecision.Allowed, row.Decision);
        Assert.Equal(Path.Combine(_box.Root, "real", "data.txt"), JsonNode.Parse(row.ArgumentsJson)!["resolved"]!.GetValue<string>());
    }
}
