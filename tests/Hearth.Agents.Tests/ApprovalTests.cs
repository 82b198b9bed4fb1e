using System.Text;
using Hearth.Agents.Approval;
using Hearth.Agents.Audit;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

/// <summary>Operation modes (auto, ask, deny), approval providers, plans and dry runs.</summary>
public sealed class ApprovalTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task DeleteIsOffByDefaultEvenWhenEverythingIsApproved()
    {
        _box.Write("keep.txt", "keep");
        using var ws = _box.Open(_box.Policy(), FixedApprovalProvider.ApproveAll);
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.DeleteAsync("keep.txt"));
        Assert.Contains("denies 'delete'", e.Message);
        Assert.True(File.Exists(Path.Combine(_box.Root, "keep.txt")));
        var row = Assert.Single(ws.State.Audit.Read(ws.RunId));
        Assert.Equal(("delete_file", AuditDecision.Denied), (row.Tool, row.Decision));
    }

    [Fact]
    public async Task AskModeAsksAndApprovalLetsItRun()
    {
        var approval = new RecordingApprovalProvider(ApprovalDecision.Approve);
        using var ws = _box.Open(_box.Policy(), approval);
        await ws.WriteFileAsync("notes/new.txt", "hello"u8.ToArray());
        var request = Assert.Single(approval.Requests);
        var action = Assert.Single(request.Actions);
        Assert.Equal((AgentOperation.Create, "notes/new.txt"), (action.Operation, action.Path));
        Assert.Equal(ws.RunId, request.RunId);
        Assert.Equal("hello", File.ReadAllText(Path.Combine(_box.Root, "notes", "new.txt")));
        Assert.Equal(AuditDecision.Approved, Assert.Single(ws.State.Audit.Read(ws.RunId)).Decision);
    }

    [Fact]
    public async Task DenyingAnAskedOperationChangesNothing()
    {
        _box.Write("a.txt", "a");
        var before = Sandbox.Tree(_box.Root);
        var approval = new RecordingApprovalProvider(ApprovalDecision.Deny, ApprovalDecision.Deny, ApprovalDecision.Deny);
        using var ws = _box.Open(_box.Policy(), approval);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.MoveAsync("a.txt", "b.txt"));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("a.txt", "changed"u8.ToArray()));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("c.txt", "new"u8.ToArray()));
        Assert.Equal(3, approval.Requests.Count);
        Assert.Equal(before, Sandbox.Tree(_box.Root));
        Assert.All(ws.State.Audit.Read(ws.RunId), r => Assert.Equal(AuditDecision.Denied, r.Decision));
        Assert.All(ws.State.Audit.Read(ws.RunId), r => Assert.Contains("not approved", r.Reason));
    }

    [Fact]
    public async Task AlwaysApprovesTheSameOperationForTheRestOfTheSession()
    {
        var approval = new RecordingApprovalProvider(ApprovalDecision.Always);
        using var ws = _box.Open(_box.Policy(), approval);
        await ws.WriteFileAsync("1.txt", "1"u8.ToArray());
        await ws.WriteFileAsync("2.txt", "2"u8.ToArray());
        await ws.WriteFileAsync("3.txt", "3"u8.ToArray());
        Assert.Single(approval.Requests);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.MoveAsync("1.txt", "4.txt")); // another operation: asked, denied
        Assert.Equal(2, approval.Requests.Count);
    }

    [Fact]
    public async Task AutoModeNeverAsks()
    {
        var approval = new RecordingApprovalProvider();
        using var ws = _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Auto)), approval);
        await ws.WriteFileAsync("x.txt", "x"u8.ToArray());
        Assert.Empty(approval.Requests);
        Assert.Equal(AuditDecision.Allowed, ws.State.Audit.Read(ws.RunId).Single().Decision);
    }

    [Fact]
    public async Task ConsoleApprovalShowsThePlanAndNoLeavesEverythingAsItWas()
    {
        _box.Write("a.txt", "a");
        var before = Sandbox.Tree(_box.Root);
        var shown = new StringWriter();
        using var ws = _box.Open(_box.Policy(), new ConsoleApprovalProvider(new StringReader("n\n"), shown));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.MoveAsync("a.txt", "archive/a.txt"));
        Assert.Contains("move      a.txt -> archive/a.txt", shown.ToString());
        Assert.Contains("[y]es / [n]o / [a]lways", shown.ToString());
        Assert.Equal(before, Sandbox.Tree(_box.Root));
        Assert.False(Directory.Exists(Path.Combine(_box.Root, "archive")));
    }

    [Fact]
    public async Task ConsoleApprovalAsksAgainOnAnUnclearAnswerAndTakesAlways()
    {
        var shown = new StringWriter();
        using var ws = _box.Open(_box.Policy(), new ConsoleApprovalProvider(new StringReader("maybe\nalways\n"), shown));
        await ws.WriteFileAsync("a.txt", "a"u8.ToArray());
        await ws.WriteFileAsync("b.txt", "b"u8.ToArray());
        Assert.Contains("Please answer y, n or a (not 'maybe')", shown.ToString());
        Assert.Equal(1, CountOf(shown.ToString(), "The agent asks"));
        Assert.True(File.Exists(Path.Combine(_box.Root, "b.txt")));
    }

    [Fact]
    public async Task ConsoleApprovalDeniesAtTheEndOfInput()
    {
        using var ws = _box.Open(_box.Policy(), new ConsoleApprovalProvider(new StringReader(""), new StringWriter()));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("a.txt", "a"u8.ToArray()));
        Assert.False(File.Exists(Path.Combine(_box.Root, "a.txt")));
    }

    [Fact]
    public async Task APlanIsApprovedOnceAndItsActionsThenRunWithoutAsking()
    {
        _box.Write("a.txt", "a");
        _box.Write("b.txt", "b");
        var approval = new RecordingApprovalProvider(ApprovalDecision.Approve);
        using var ws = _box.Open(_box.Policy(), approval);
        PlannedAction[] plan = [new(AgentOperation.Move, "a.txt", "sorted/a.txt"), new(AgentOperation.Move, "b.txt", "sorted/b.txt"), new(AgentOperation.Delete, "a.txt")];
        Assert.True(await ws.RequestApprovalAsync("sort two files", plan));
        var request = Assert.Single(approval.Requests);
        Assert.Equal(2, request.Actions.Count); // delete is denied by the policy: never offered for approval
        await ws.MoveAsync("a.txt", "sorted/a.txt");
        await ws.MoveAsync("b.txt", "sorted/b.txt");
        Assert.Single(approval.Requests);
        Assert.All(ws.State.Audit.Read(ws.RunId), r => Assert.Contains("approved with the plan", r.Reason));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.MoveAsync("sorted/a.txt", "a.txt")); // not in the plan: asked (and denied)
        Assert.Equal(2, approval.Requests.Count);
    }

    [Fact]
    public async Task DryRunPlansEverythingAndChangesNothing()
    {
        _box.Write("a.txt", "a");
        _box.Write("old.txt", "old");
        var before = Sandbox.Tree(_box.Root);
        var approval = new RecordingApprovalProvider();
        using var ws = _box.Open(_box.Policy((AgentOperation.Delete, ApprovalMode.Auto)), approval, dryRun: true);
        await ws.MoveAsync("a.txt", "b/a.txt");
        await ws.WriteFileAsync("old.txt", "new"u8.ToArray());
        await ws.WriteFileAsync("c.txt", "c"u8.ToArray());
        await ws.DeleteAsync("old.txt");
        Assert.Equal("old", Encoding.UTF8.GetString(await ws.ReadFileAsync("old.txt")));
        Assert.Equal(before, Sandbox.Tree(_box.Root));
        Assert.Empty(approval.Requests);
        Assert.Equal([AgentOperation.Move, AgentOperation.Overwrite, AgentOperation.Create, AgentOperation.Delete], ws.Actions.Select(a => a.Action.Operation));
        Assert.All(ws.Actions, a => Assert.Equal(AuditDecision.DryRun, a.Decision));
        Assert.Equal(4, ws.State.Audit.Read(ws.RunId).Count(r => r.Decision == AuditDecision.DryRun));
        Assert.Empty(ws.State.Journal.Entries());
    }

    [Fact]
    public async Task DryRunStillRefusesWhatThePolicyRefuses()
    {
        _box.Write("a.txt", "a");
        using var ws = _box.Open(_box.Policy(), dryRun: true);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.DeleteAsync("a.txt"));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("../outside/x.txt", "x"u8.ToArray()));
        Assert.Equal(AuditDecision.Denied, ws.Actions.Single().Decision);
    }

    [Fact]
    public async Task FilesOverTheSizeLimitAreRefused()
    {
        _box.Write("big.txt", new string('x', 2000));
        var policy = _box.Policy((AgentOperation.Create, ApprovalMode.Auto)) with { Limits = new PolicyLimits { MaxFileBytes = 1000 } };
        using var ws = _box.Open(policy);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.ReadFileAsync("big.txt"));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.WriteFileAsync("new.txt", new byte[1001]));
        Assert.False(File.Exists(Path.Combine(_box.Root, "new.txt")));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;
}
