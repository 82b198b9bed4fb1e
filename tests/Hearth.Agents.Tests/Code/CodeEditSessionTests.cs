using System.Text;
using Hearth.Agents.Approval;
using Hearth.Agents.Audit;
using Hearth.Agents.Code;
using Hearth.Agents.Journal;
using Microsoft.Extensions.AI;
using static Hearth.Agents.Tests.ScriptedChatClientDouble;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// The edit session on a real tiny C# project, built and run by the real <c>dotnet</c>, through the real policy-backed
/// workspace (under <see cref="CodeEditPolicy"/>: every write journalled and audited, only the check allowed to run); the
/// model is a scripted test double (no instruction-tuned model can run here).
/// </summary>
[Collection(TinyProject.Collection)]
public sealed class CodeEditSessionTests
{
    public const string ProposeEditTool = CodeEditSession.ProposeEditTool;

    public const string FinishTool = CodeEditSession.FinishTool;

    /// <summary>The one-character fix of Calc.cs, as a model would write it (LF lines against the CRLF file).</summary>
    public const string Fix = """
        --- a/Calc.cs
        +++ b/Calc.cs
        @@ -4,3 +4,3 @@
         {
        -    public static int Add(int a, int b) => a - b;
        +    public static int Add(int a, int b) => a + b;
         }
        \ No newline at end of file

        """;

    private static readonly CommandSpec s_check = CommandSpec.Parse("dotnet run --no-restore");

    private readonly TinyProject _project;

    public CodeEditSessionTests(TinyProject project)
    {
        _project = project;
        project.Reset();
    }

    private static ChatMessage Propose(string diff) => Call(CodeEditSession.ProposeEditTool, ("diff", diff));

    private static ChatMessage Finish(string summary = "done") => Call(CodeEditSession.FinishTool, ("summary", summary));

    /// <summary>A run under the policy <c>hearth agent code</c> derives (only <paramref name="allowed"/>, by default the
    /// check, may run), approving nothing that is asked for.</summary>
    private TestRun Run(CommandSpec? allowed = null, TimeSpan? timeout = null, IApprovalProvider? approval = null) =>
        new(state => CodeEditPolicy.For(_project.Root, allowed ?? s_check, timeout ?? TimeSpan.FromMinutes(5), state), approval);

    private CodeEditSession Session(TestRun run, ScriptedChatClientDouble client, CommandSpec? check = null, bool dryRun = false)
    {
        var options = new CodeEditOptions { Repository = _project.Root, Task = "Calc.Add in Calc.cs subtracts; make it add.", Check = check ?? s_check, DryRun = dryRun };
        return new CodeEditSession(client, run.Workspace, options);
    }

    /// <summary>Calc.cs as it must be after the fix: the same bytes but one character (hand-made, not from the applier).</summary>
    public static byte[] FixedCalc() => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(TinyProject.CalcBytes).Replace("a - b", "a + b"));

    [Fact]
    public async Task ACorrectFixIsWrittenCheckedAndKept()
    {
        var client = new ScriptedChatClientDouble(Propose(Fix), Finish("Add adds"));
        using var run = Run();
        var result = await Session(run, client).RunAsync();

        Assert.Equal(CodeEditOutcome.Finished, result.Outcome);
        Assert.Equal("Add adds", result.Summary);
        var attempt = Assert.Single(result.Attempts);
        Assert.Equal(EditStatus.Kept, attempt.Status);
        Assert.Equal(["Calc.cs"], attempt.Files);
        Assert.Equal(0, attempt.Check!.ExitCode);
        // Byte order mark, CRLF and the missing final newline survive an LF diff.
        Assert.Equal(FixedCalc(), File.ReadAllBytes(_project.CalcPath));
        Assert.Equal(["write_file", "run_command"], run.ChangeTools);
        var check = run.Changes[1];
        Assert.Equal(AuditDecision.Allowed, check.Decision);
        Assert.Contains("\"arguments\":[\"run\",\"--no-restore\"]", check.ArgumentsJson);
        Assert.Equal("exit 0", check.Result);
        Assert.Contains("passed", LastToolResult(client.Seen[1]));
        // The task names Calc.cs, so the model saw it up front.
        var opening = client.Seen[0][0].Text;
        Assert.Contains("=== Calc.cs ===", opening);
        Assert.Contains("a - b", opening);
        Assert.Contains("Program.cs", opening);
        Assert.DoesNotContain("obj/", opening);
    }

    [Fact]
    public async Task EditsThatBreakTheBuildOrTheCheckAreRevertedByteForByteAndTheOutputGoesBack()
    {
        var original = File.ReadAllBytes(_project.CalcPath);
        var seenAfterFailure = new List<(byte[] Calc, string Result)>();
        ChatMessage Observe(IReadOnlyList<ChatMessage> history, string diff)
        {
            seenAfterFailure.Add((File.ReadAllBytes(_project.CalcPath), LastToolResult(history)));
            return Propose(diff);
        }

        var client = new ScriptedChatClientDouble(
            _ => Propose(Fix.Replace("a + b", "a + c")),    // does not compile: 'c' is unknown
            h => Observe(h, Fix.Replace("a + b", "a * b")), // compiles, but the check exits with 1
            h => Observe(h, Fix),
            _ => Finish());
        using var run = Run();
        var result = await Session(run, client).RunAsync();

        Assert.Equal([EditStatus.Reverted, EditStatus.Reverted, EditStatus.Kept], result.Attempts.Select(a => a.Status));
        Assert.Equal(original, seenAfterFailure[0].Calc);
        Assert.Equal(original, seenAfterFailure[1].Calc);
        // The compiler's own error reached the model, and the failing run's exit code.
        Assert.Contains("CS0103", seenAfterFailure[0].Result);
        Assert.StartsWith("reverted:", seenAfterFailure[0].Result);
        Assert.Contains("exit code 1", seenAfterFailure[1].Result);
        Assert.Equal(FixedCalc(), File.ReadAllBytes(_project.CalcPath));
        // Each failed edit was taken back from the journal (audited), so undoing the run takes back only the kept one.
        Assert.Equal(["write_file", "run_command", "revert", "write_file", "run_command", "revert", "write_file", "run_command"], run.ChangeTools);
        var journal = run.Workspace.State.Journal.Entries(run.Workspace.RunId);
        Assert.Equal([JournalState.Undone, JournalState.Undone, JournalState.Done], journal.Select(e => e.State));
        AgentMaintenance.Undo(run.Workspace.State, run.Workspace.RunId);
        Assert.Equal(original, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ACSharpSyntaxErrorIsRefusedBeforeWritingWithTheDiagnostics()
    {
        var client = new ScriptedChatClientDouble(Propose(Fix.Replace("a + b;", "a + b")), Finish());
        using var run = Run();
        var result = await Session(run, client).RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.SyntaxErrors), (attempt.Status, attempt.Refusal));
        var problem = Assert.Single(attempt.SyntaxProblems);
        Assert.Equal(("Calc.cs", 5, "CS1002"), (problem.File, problem.Line, problem.Id));
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(run.Changes);
        Assert.Contains("Calc.cs(5,", LastToolResult(client.Seen[1]));
    }

    [Fact]
    public async Task ADiffThatDoesNotApplyIsAClearErrorAndNothingChanges()
    {
        var stale = Fix.Replace("-    public static int Add(int a, int b) => a - b;", "-    public static int Add(int x, int y) => x - y;");
        var client = new ScriptedChatClientDouble(Propose(stale), Finish());
        using var run = Run();
        var result = await Session(run, client).RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.DoesNotApply), (attempt.Status, attempt.Refusal));
        Assert.Contains("Calc.cs, hunk 1 (diff line 3)", attempt.Message);
        Assert.Contains("line 5 of the file is \"    public static int Add(int a, int b) => a - b;\\r\"", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(run.Changes);
    }

    [Theory]
    [InlineData("../outside.txt", "climbs out")]
    [InlineData("/tmp/hearth-outside.txt", "is absolute")]
    [InlineData("sub/../../outside.txt", "climbs out")]
    [InlineData(".git/hooks/pre-commit", "inside .git")]
    [InlineData("sub\\file.txt", "backslash")]
    public async Task PathsOutsideTheRepositoryAreRefused(string path, string reason)
    {
        var diff = $"--- /dev/null\n+++ {path}\n@@ -0,0 +1 @@\n+owned\n";
        var client = new ScriptedChatClientDouble(Propose(diff), Finish());
        using var run = Run();
        var result = await Session(run, client).RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.PathOutsideRepository), (attempt.Status, attempt.Refusal));
        Assert.Contains(reason, attempt.Message);
        Assert.Empty(run.Changes);
        Assert.False(File.Exists(Path.GetFullPath(Path.Combine(_project.Root, path))));
    }

    [Fact]
    public async Task AnEditIsAllOrNothingAcrossFiles()
    {
        var diff = Fix + "--- a/Program.cs\n+++ b/Program.cs\n@@ -1 +1 @@\n-return 7;\n+return 0;\n";
        using var run = Run();
        var attempt = await Session(run, new ScriptedChatClientDouble()).ProposeAsync(1, diff);

        Assert.Equal(EditRefusal.DoesNotApply, attempt.Refusal);
        Assert.StartsWith("refused: Program.cs, hunk 1", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(run.Changes);
    }

    [Fact]
    public async Task TwoHeadersForOneFileApplyInTurnButNotAroundACreation()
    {
        var comment = "--- a/Calc.cs\n+++ b/Calc.cs\n@@ -1,2 +1,3 @@\n+// Adds.\n namespace Demo;\n \n";
        using var run = Run();
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x" };
        var attempt = await new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, options).ProposeAsync(1, Fix + comment);

        Assert.Equal(EditStatus.Kept, attempt.Status);
        Assert.Equal(["Calc.cs"], attempt.Files);
        Assert.Equal(Encoding.UTF8.GetBytes("\uFEFF// Adds.\r\n" + Encoding.UTF8.GetString(FixedCalc())[1..]), File.ReadAllBytes(_project.CalcPath));

        var created = "--- /dev/null\n+++ b/New.cs\n@@ -0,0 +1 @@\n+class N { }\n--- a/New.cs\n+++ b/New.cs\n@@ -1 +1 @@\n-class N { }\n+class M { }\n";
        attempt = await new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, options).ProposeAsync(1, created);
        Assert.Equal(EditRefusal.Conflict, attempt.Refusal);
        Assert.Contains("use one header per file", attempt.Message);
        Assert.False(File.Exists(Path.Combine(_project.Root, "New.cs")));
    }

    [Fact]
    public async Task ACreatedFileThatBreaksTheBuildIsTakenBackWithoutAnyDeletePermission()
    {
        // Parses, but does not compile: a string is not an int.
        var diff = "--- /dev/null\n+++ b/Extra/Extra.cs\n@@ -0,0 +1 @@\n+static class Extra { const int X = \"no\"; }\n";
        using var run = Run(); // deletes are asked for, and nobody approves
        var attempt = await Session(run, new ScriptedChatClientDouble()).ProposeAsync(1, diff);

        Assert.Equal(EditStatus.Reverted, attempt.Status);
        Assert.Contains("CS0029", attempt.Message);
        Assert.False(File.Exists(Path.Combine(_project.Root, "Extra", "Extra.cs")));
        Assert.False(Directory.Exists(Path.Combine(_project.Root, "Extra")));
        // The journal took back the file and the folder it made: no delete was asked for.
        Assert.Equal(["write_file", "run_command", "revert", "revert"], run.ChangeTools);
        Assert.All(run.Changes, e => Assert.NotEqual(AuditDecision.Denied, e.Decision));
    }

    [Fact]
    public async Task AKeptEditIsUndoneExactlyByTheJournal()
    {
        using var run = Run();
        var attempt = await Session(run, new ScriptedChatClientDouble()).ProposeAsync(1, Fix);
        Assert.Equal(EditStatus.Kept, attempt.Status);
        Assert.Equal(FixedCalc(), File.ReadAllBytes(_project.CalcPath));

        var (undone, outcomes) = AgentMaintenance.Undo(run.Workspace.State);
        Assert.Equal(run.Workspace.RunId, undone);
        Assert.Equal("restored", Assert.Single(outcomes).Outcome);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ACheckThePolicyForbidsIsRefusedAuditedAndTheEditTakenBack()
    {
        using var run = Run(allowed: CommandSpec.Parse("make"));
        var attempt = await Session(run, new ScriptedChatClientDouble()).ProposeAsync(1, Fix);

        Assert.Equal((EditStatus.Refused, EditRefusal.PermissionDenied), (attempt.Status, attempt.Refusal));
        Assert.Contains("not on the policy's command allow-list (make)", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Equal(["write_file", "run_command", "revert"], run.ChangeTools);
        Assert.Equal(AuditDecision.Denied, run.Changes[1].Decision);
        Assert.Equal("refused", run.Changes[1].Result);
    }

    [Fact]
    public async Task OnlyTheExactCheckCommandMayRun()
    {
        // The derived policy allows "dotnet run --no-restore" and nothing else: not other arguments, not a wildcard.
        using var run = Run(allowed: CommandSpec.Parse("dotnet run --no-restore"));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => run.Workspace.RunCommandAsync("dotnet", ["run"], _project.Root, TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => run.Workspace.RunCommandAsync("dotnet", ["run", "--no-restore", "x"], _project.Root, TimeSpan.FromSeconds(5)));
        using var wild = Run(allowed: new CommandSpec("ls", ["*"]));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => wild.Workspace.RunCommandAsync("ls", ["Calc.cs"], _project.Root, TimeSpan.FromSeconds(5)));
        // Allowed as written, and taken literally: no file is named '*', so ls fails.
        Assert.NotEqual(0, (await wild.Workspace.RunCommandAsync("ls", ["*"], _project.Root, TimeSpan.FromSeconds(5))).ExitCode);
        Assert.Equal([AuditDecision.Denied, AuditDecision.Denied], run.Changes.Select(e => e.Decision));
    }

    [Fact]
    public async Task ACheckThatCannotStartOrRunsTooLongRevertsTheEdit()
    {
        var missing = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = CommandSpec.Parse("hearth-no-such-program") };
        using (var run = Run(allowed: missing.Check))
        {
            var attempt = await new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, missing).ProposeAsync(1, Fix);
            Assert.Equal((EditStatus.Refused, EditRefusal.CheckDidNotRun), (attempt.Status, attempt.Refusal));
            Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        }

        var slow = missing with { Check = CommandSpec.Parse("sleep 60"), CheckTimeout = TimeSpan.FromSeconds(1) };
        using (var run = Run(allowed: slow.Check, timeout: slow.CheckTimeout))
        {
            var attempt = await new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, slow).ProposeAsync(1, Fix);
            Assert.Equal(EditStatus.Reverted, attempt.Status);
            Assert.True(attempt.Check!.TimedOut);
            Assert.Contains("ran past 1 s", attempt.Message);
            Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        }
    }

    [Fact]
    public async Task CancellingDuringTheCheckRevertsTheEditAndStops()
    {
        var check = CommandSpec.Parse("sleep 59.5");
        using var run = Run(allowed: check);
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = check };
        using var cancel = new CancellationTokenSource();
        var session = new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, options);
        var proposal = session.ProposeAsync(1, Fix, cancel.Token);
        while (!TestProcess.IsRunningIn(_project.Root, "sleep", "59.5")) await Task.Delay(10);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proposal);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Equal("revert", run.ChangeTools[^1]);
    }

    [Fact]
    public async Task AFileTheCheckChangedCannotBeTakenBackAndThatIsAnError()
    {
        // truncate empties Calc.cs, then fails on the second file: the edit must go back, but Calc.cs is neither as the
        // edit left it nor as it was, so the journal leaves it alone and the session stops rather than hide it.
        var check = CommandSpec.Parse("truncate -s 0 Calc.cs no/such/file");
        using var run = Run(allowed: check);
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = check };
        var session = new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, options);
        var e = await Assert.ThrowsAsync<EditRevertException>(() => session.ProposeAsync(1, Fix));
        Assert.Contains("Calc.cs", e.Message);
        Assert.Contains("changed since", e.Message);
        Assert.Empty(File.ReadAllBytes(_project.CalcPath));
        Assert.Contains(run.Changes, r => r.Tool == "revert" && r.Decision == AuditDecision.Denied);
    }

    [Fact]
    public async Task ADryRunValidatesWritesNothingAndEnds()
    {
        var client = new ScriptedChatClientDouble(Propose(Fix), Finish());
        using var run = Run();
        var result = await Session(run, client, dryRun: true).RunAsync();

        Assert.Equal(CodeEditOutcome.Proposed, result.Outcome);
        Assert.Equal(EditStatus.Validated, Assert.Single(result.Attempts).Status);
        Assert.Single(client.Seen);
        Assert.Empty(run.Changes);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ReadFileUnknownToolsBadArgumentsAndTheStepBudget()
    {
        var client = new ScriptedChatClientDouble(
            Call(CodeEditSession.ReadFileTool, ("path", "Program.cs")),
            Call(CodeEditSession.ReadFileTool, ("path", "../../etc/passwd")),
            Call("rm_rf"),
            Call(CodeEditSession.ProposeEditTool, ("patch", Fix)));
        using var run = Run();
        var options = new CodeEditOptions { Repository = _project.Root, Task = "look around", MaxSteps = 4, RequireToolCalls = true };
        var result = await new CodeEditSession(client, run.Workspace, options).RunAsync();

        Assert.Equal(CodeEditOutcome.StepBudgetExhausted, result.Outcome);
        var results = result.History.Where(m => m.Role == ChatRole.Tool).Select(m => m.Contents.OfType<FunctionResultContent>().Single().Result?.ToString()).ToList();
        Assert.Equal(File.ReadAllText(Path.Combine(_project.Root, "Program.cs")), results[0]);
        Assert.Contains("climbs out", results[1]);
        Assert.Contains("no tool named 'rm_rf'", results[2]);
        Assert.Contains("needs a 'diff' argument", results[3]);
        Assert.All(client.Options, o => Assert.IsType<RequiredChatToolMode>(o!.ToolMode));
        Assert.Empty(run.Changes);
    }

    [Fact]
    public async Task TextInsteadOfAToolCallEndsTheSession()
    {
        var client = new ScriptedChatClientDouble(Say("I cannot do that."));
        using var run = Run();
        var result = await Session(run, client).RunAsync();
        Assert.Equal((CodeEditOutcome.Stopped, 1, "I cannot do that."), (result.Outcome, result.Steps, result.Summary));
        Assert.IsType<AutoChatToolMode>(client.Options[0]!.ToolMode);
    }
}
