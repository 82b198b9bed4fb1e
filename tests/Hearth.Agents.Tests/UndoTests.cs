using Hearth.Agents.Journal;
using Hearth.Agents.Policy;
using Hearth.Agents.State;

namespace Hearth.Agents.Tests;

public sealed class UndoTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private AgentPolicy AllAuto() => _box.Policy(
        (AgentOperation.Create, ApprovalMode.Auto), (AgentOperation.Overwrite, ApprovalMode.Auto), (AgentOperation.Move, ApprovalMode.Auto),
        (AgentOperation.Delete, ApprovalMode.Auto));

    private void Seed()
    {
        _box.Write("inbox/invoice.txt", "Invoice 2024-03-01 total 10 EUR");
        _box.Write("inbox/notes.md", "# notes");
        _box.Write("report.txt", "version 1");
        _box.Write("trashme.txt", "precious");
        Directory.CreateDirectory(Path.Combine(_box.Root, "empty"));
    }

    private async Task<string> ChangeEverything()
    {
        using var ws = _box.Open(AllAuto());
        await ws.MoveAsync("inbox/invoice.txt", "Invoices/2024/invoice.txt");
        await ws.WriteFileAsync("report.txt", "version 2"u8.ToArray());
        await ws.WriteFileAsync("report.txt", "version 3"u8.ToArray());
        await ws.DeleteAsync("trashme.txt");
        await ws.WriteFileAsync("deep/new/file.txt", "created"u8.ToArray());
        await ws.MoveAsync("inbox/notes.md", "trashme.txt"); // takes the deleted file's name
        return ws.RunId;
    }

    [Fact]
    public async Task UndoRestoresTheTreeExactlyIncludingOverwrittenAndDeletedContent()
    {
        Seed();
        var files = Sandbox.Tree(_box.Root);
        var dirs = Sandbox.Directories(_box.Root);
        var runId = await ChangeEverything();
        Assert.NotEqual(files, Sandbox.Tree(_box.Root));

        using var state = AgentStateStore.Open(_box.State);
        var (undone, outcomes) = AgentMaintenance.Undo(state, runId);
        Assert.Equal(runId, undone);
        Assert.DoesNotContain(outcomes, o => o.Conflict);
        Assert.Equal(files, Sandbox.Tree(_box.Root));
        Assert.Equal(dirs, Sandbox.Directories(_box.Root));
        Assert.All(state.Journal.Entries(runId), e => Assert.Equal(JournalState.Undone, e.State));
        Assert.Contains(state.Audit.Read(), r => r.Tool == "undo" && r.Result == "restored");
    }

    [Fact]
    public async Task UndoWithoutARunIdUndoesTheLatestRunOnly()
    {
        Seed();
        using (var ws = _box.Open(AllAuto())) await ws.WriteFileAsync("first.txt", "1"u8.ToArray());
        var afterFirst = Sandbox.Tree(_box.Root);
        using (var ws = _box.Open(AllAuto())) await ws.WriteFileAsync("second.txt", "2"u8.ToArray());

        using var state = AgentStateStore.Open(_box.State);
        AgentMaintenance.Undo(state);
        Assert.Equal(afterFirst, Sandbox.Tree(_box.Root));
        AgentMaintenance.Undo(state);
        Assert.False(File.Exists(Path.Combine(_box.Root, "first.txt")));
        Assert.Throws<InvalidOperationException>(() => AgentMaintenance.Undo(state));
    }

    [Fact]
    public async Task UndoLeavesAFileChangedSinceAloneAndSaysSo()
    {
        Seed();
        var runId = await ChangeEverything();
        File.WriteAllText(Path.Combine(_box.Root, "report.txt"), "edited by hand afterwards");
        using var state = AgentStateStore.Open(_box.State);
        var (_, outcomes) = AgentMaintenance.Undo(state, runId);
        var conflicts = outcomes.Where(o => o.Conflict).ToList();
        Assert.Equal(2, conflicts.Count); // both overwrites of report.txt
        Assert.All(conflicts, c => Assert.Equal(Path.Combine(_box.Root, "report.txt"), c.Entry.Path));
        Assert.Equal("edited by hand afterwards", File.ReadAllText(Path.Combine(_box.Root, "report.txt")));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(_box.Root, "trashme.txt"))); // the rest is undone
    }

    [Fact]
    public async Task UndoneFilesAreMovedToTheTrashNotDeleted()
    {
        Seed();
        var runId = await ChangeEverything();
        using var state = AgentStateStore.Open(_box.State);
        AgentMaintenance.Undo(state, runId);
        var trash = Directory.EnumerateFiles(Path.Combine(_box.State, "trash", runId)).Select(File.ReadAllText).ToList();
        Assert.Contains("created", trash); // the file the run created
        Assert.Contains("version 1", trash); // old content kept before the overwrite
        Assert.Contains("precious", trash); // the deleted file's content
    }

    [Theory]
    [InlineData(JournalPhase.Journalled)]
    [InlineData(JournalPhase.TempWritten)]
    public async Task AChangeThatFailsHalfwayIsSettledAtOnce(JournalPhase phase)
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        using var ws = _box.Open(AllAuto());
        ws.State.Journal.FaultInjection = step =>
        {
            if (step.Phase == phase) throw new IOException("disk full");
        };
        var e = await Assert.ThrowsAsync<IOException>(() => ws.WriteFileAsync("report.txt", "version 2"u8.ToArray()));
        Assert.Equal("disk full", e.Message);
        Assert.Equal(before, Sandbox.Tree(_box.Root)); // the old content, and no temporary file
        Assert.Equal(JournalState.RolledBack, ws.State.Journal.Entries().Single().State);
        Assert.Equal("error: disk full", ws.State.Audit.Read(ws.RunId).Single().Result);
    }

    [Fact]
    public async Task UndoingTwiceChangesNothingMore()
    {
        Seed();
        var files = Sandbox.Tree(_box.Root);
        var runId = await ChangeEverything();
        using var state = AgentStateStore.Open(_box.State);
        AgentMaintenance.Undo(state, runId);
        var (_, again) = AgentMaintenance.Undo(state, runId);
        Assert.Empty(again);
        Assert.Equal(files, Sandbox.Tree(_box.Root));
    }

    [Fact]
    public async Task ARunTakesBackItsOwnChangesAfterAMarkAndUndoThenTakesBackTheRest()
    {
        Seed();
        var files = Sandbox.Tree(_box.Root);
        var dirs = Sandbox.Directories(_box.Root);
        string runId;
        using (var ws = _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Auto), (AgentOperation.Overwrite, ApprovalMode.Auto), (AgentOperation.Move, ApprovalMode.Auto))))
        {
            runId = ws.RunId;
            await ws.WriteFileAsync("report.txt", "version 2"u8.ToArray());
            var afterFirst = Sandbox.Tree(_box.Root);
            long mark = ws.ChangeMark();
            await ws.WriteFileAsync("report.txt", "version 3"u8.ToArray());
            await ws.WriteFileAsync("deep/new/file.txt", "created"u8.ToArray());
            await ws.MoveAsync("inbox/notes.md", "notes.md");

            // Deletes are denied here, yet the created file and its folders go: taking back needs no permission.
            Assert.Empty(await ws.RevertToAsync(mark));
            Assert.Equal(afterFirst, Sandbox.Tree(_box.Root));
            Assert.False(Directory.Exists(Path.Combine(_box.Root, "deep")));
            var reverts = ws.State.Audit.Read(runId).Where(e => e.Tool == "revert").ToList();
            Assert.Equal(5, reverts.Count); // the move, the file, its two folders, the overwrite
            Assert.All(reverts, e => Assert.Equal(Audit.AuditDecision.Allowed, e.Decision));
        }

        using var state = AgentStateStore.Open(_box.State);
        var (_, outcomes) = AgentMaintenance.Undo(state, runId);
        Assert.Equal("restored", Assert.Single(outcomes).Outcome); // only the change before the mark is left to undo
        Assert.Equal(files, Sandbox.Tree(_box.Root));
        Assert.Equal(dirs, Sandbox.Directories(_box.Root));
    }

    [Fact]
    public async Task AChangeCheckedBeforehandIsRefusedAndAuditedWithoutBeingMade()
    {
        Seed();
        using var ws = _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Ask)));
        Assert.Null(ws.Check(new Approval.PlannedAction(AgentOperation.Create, "new.txt")));
        Assert.Contains("denies 'delete'", ws.Check(new Approval.PlannedAction(AgentOperation.Delete, "report.txt")));
        Assert.Contains("outside every workspace root", ws.Check(new Approval.PlannedAction(AgentOperation.Move, "report.txt", "../away.txt")));
        Assert.Contains("denies 'run'", ws.CheckCommand("wc", ["-l", "report.txt"], "."));
        var rows = ws.State.Audit.Read(ws.RunId);
        Assert.Equal(["delete_file", "move_file", "run_command"], rows.Select(r => r.Tool));
        Assert.All(rows, r => Assert.Equal((Audit.AuditDecision.Denied, "refused: checked before running"), (r.Decision, r.Result)));
        Assert.True(File.Exists(Path.Combine(_box.Root, "report.txt")));
        Assert.Empty(ws.State.Journal.Entries());
    }
}
