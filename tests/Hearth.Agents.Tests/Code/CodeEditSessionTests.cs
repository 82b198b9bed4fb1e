using System.Text;
using Hearth.Agents.Code;
using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// The edit session on a real tiny C# project, built and run by the real <c>dotnet</c>; the model is a scripted test
/// double (no instruction-tuned model can run here) and the workspace a direct one (the policy-backed one is the agent
/// runtime's).
/// </summary>
public sealed class CodeEditSessionTests : IClassFixture<TinyProject>
{
    private const string Fix = """
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

    private static Func<IReadOnlyList<ChatMessage>, ChatMessage> Propose(string diff) => ScriptedChatClient.Call(CodeEditSession.ProposeEditTool, ("diff", diff));

    private static Func<IReadOnlyList<ChatMessage>, ChatMessage> Finish(string summary = "done") => ScriptedChatClient.Call(CodeEditSession.FinishTool, ("summary", summary));

    private (CodeEditSession Session, DirectWorkspaceDouble Workspace) Session(ScriptedChatClient client, CommandSpec? check = null, bool dryRun = false, string[]? allowed = null)
    {
        var workspace = new DirectWorkspaceDouble(_project.Root, allowed ?? ["dotnet"]);
        var options = new CodeEditOptions { Repository = _project.Root, Task = "Calc.Add in Calc.cs subtracts; make it add.", Check = check ?? s_check, DryRun = dryRun };
        return (new CodeEditSession(client, workspace, options), workspace);
    }

    /// <summary>Calc.cs as it must be after the fix: the same bytes but one character (hand-made, not from the applier).</summary>
    private static byte[] FixedCalc() => Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(TinyProject.CalcBytes).Replace("a - b", "a + b"));

    [Fact]
    public async Task ACorrectFixIsWrittenCheckedAndKept()
    {
        var client = new ScriptedChatClient(Propose(Fix), Finish("Add adds"));
        var (session, workspace) = Session(client);
        var result = await session.RunAsync();

        Assert.Equal(CodeEditOutcome.Finished, result.Outcome);
        Assert.Equal("Add adds", result.Summary);
        var attempt = Assert.Single(result.Attempts);
        Assert.Equal(EditStatus.Kept, attempt.Status);
        Assert.Equal(["Calc.cs"], attempt.Files);
        Assert.Equal(0, attempt.Check!.ExitCode);
        // Byte order mark, CRLF and the missing final newline survive an LF diff.
        Assert.Equal(FixedCalc(), File.ReadAllBytes(_project.CalcPath));
        Assert.Contains("run dotnet run --no-restore", workspace.Log);
        Assert.Contains("passed", ScriptedChatClient.LastToolResult(client.Seen[1]));
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
            seenAfterFailure.Add((File.ReadAllBytes(_project.CalcPath), ScriptedChatClient.LastToolResult(history)));
            return ScriptedChatClient.CallMessage(CodeEditSession.ProposeEditTool, ("diff", diff));
        }

        var client = new ScriptedChatClient(
            Propose(Fix.Replace("a + b", "a + c")),        // does not compile: 'c' is unknown
            h => Observe(h, Fix.Replace("a + b", "a * b")), // compiles, but the check exits with 1
            h => Observe(h, Fix),
            Finish());
        var (session, _) = Session(client);
        var result = await session.RunAsync();

        Assert.Equal([EditStatus.Reverted, EditStatus.Reverted, EditStatus.Kept], result.Attempts.Select(a => a.Status));
        Assert.Equal(original, seenAfterFailure[0].Calc);
        Assert.Equal(original, seenAfterFailure[1].Calc);
        // The compiler's own error reached the model, and the failing run's exit code.
        Assert.Contains("CS0103", seenAfterFailure[0].Result);
        Assert.StartsWith("reverted:", seenAfterFailure[0].Result);
        Assert.Contains("exit code 1", seenAfterFailure[1].Result);
        Assert.Equal(FixedCalc(), File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ACSharpSyntaxErrorIsRefusedBeforeWritingWithTheDiagnostics()
    {
        var client = new ScriptedChatClient(Propose(Fix.Replace("a + b;", "a + b")), Finish());
        var (session, workspace) = Session(client);
        var result = await session.RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.SyntaxErrors), (attempt.Status, attempt.Refusal));
        var problem = Assert.Single(attempt.SyntaxProblems);
        Assert.Equal(("Calc.cs", 5, "CS1002"), (problem.File, problem.Line, problem.Id));
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(workspace.Writes);
        Assert.Contains("Calc.cs(5,", ScriptedChatClient.LastToolResult(client.Seen[1]));
    }

    [Fact]
    public async Task ADiffThatDoesNotApplyIsAClearErrorAndNothingChanges()
    {
        var stale = Fix.Replace("-    public static int Add(int a, int b) => a - b;", "-    public static int Add(int x, int y) => x - y;");
        var client = new ScriptedChatClient(Propose(stale), Finish());
        var (session, workspace) = Session(client);
        var result = await session.RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.DoesNotApply), (attempt.Status, attempt.Refusal));
        Assert.Contains("Calc.cs, hunk 1 (diff line 3)", attempt.Message);
        Assert.Contains("line 5 of the file is \"    public static int Add(int a, int b) => a - b;\\r\"", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(workspace.Writes);
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
        var client = new ScriptedChatClient(Propose(diff), Finish());
        var (session, workspace) = Session(client);
        var result = await session.RunAsync();

        var attempt = Assert.Single(result.Attempts);
        Assert.Equal((EditStatus.Refused, EditRefusal.PathOutsideRepository), (attempt.Status, attempt.Refusal));
        Assert.Contains(reason, attempt.Message);
        Assert.Empty(workspace.Writes);
        Assert.False(File.Exists(Path.GetFullPath(Path.Combine(_project.Root, path))));
    }

    [Fact]
    public async Task AnEditIsAllOrNothingAcrossFiles()
    {
        var diff = Fix + "--- a/Program.cs\n+++ b/Program.cs\n@@ -1 +1 @@\n-return 7;\n+return 0;\n";
        var (session, workspace) = Session(new ScriptedChatClient());
        var attempt = await session.ProposeAsync(1, diff);

        Assert.Equal(EditRefusal.DoesNotApply, attempt.Refusal);
        Assert.StartsWith("refused: Program.cs, hunk 1", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Empty(workspace.Writes);
    }

    [Fact]
    public async Task TwoHeadersForOneFileApplyInTurnButNotAroundACreation()
    {
        var comment = "--- a/Calc.cs\n+++ b/Calc.cs\n@@ -1,2 +1,3 @@\n+// Adds.\n namespace Demo;\n \n";
        var workspace = new DirectWorkspaceDouble(_project.Root);
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x" };
        var attempt = await new CodeEditSession(new ScriptedChatClient(), workspace, options).ProposeAsync(1, Fix + comment);

        Assert.Equal(EditStatus.Kept, attempt.Status);
        Assert.Equal(["Calc.cs"], attempt.Files);
        Assert.Equal(Encoding.UTF8.GetBytes("\uFEFF// Adds.\r\n" + Encoding.UTF8.GetString(FixedCalc())[1..]), File.ReadAllBytes(_project.CalcPath));

        var created = "--- /dev/null\n+++ b/New.cs\n@@ -0,0 +1 @@\n+class N { }\n--- a/New.cs\n+++ b/New.cs\n@@ -1 +1 @@\n-class N { }\n+class M { }\n";
        attempt = await new CodeEditSession(new ScriptedChatClient(), workspace, options).ProposeAsync(1, created);
        Assert.Equal(EditRefusal.Conflict, attempt.Refusal);
        Assert.Contains("use one header per file", attempt.Message);
        Assert.False(File.Exists(Path.Combine(_project.Root, "New.cs")));
    }

    [Fact]
    public async Task ACreatedFileThatBreaksTheBuildIsRemovedAgain()
    {
        // Parses, but does not compile: a string is not an int.
        var diff = "--- /dev/null\n+++ b/Extra/Extra.cs\n@@ -0,0 +1 @@\n+static class Extra { const int X = \"no\"; }\n";
        var (session, workspace) = Session(new ScriptedChatClient());
        var attempt = await session.ProposeAsync(1, diff);

        Assert.Equal(EditStatus.Reverted, attempt.Status);
        Assert.Contains("CS0029", attempt.Message);
        Assert.False(File.Exists(Path.Combine(_project.Root, "Extra", "Extra.cs")));
        Assert.Equal(["write", "run", "delete"], workspace.Writes.Select(w => w.Split(' ')[0]));
    }

    [Fact]
    public async Task ACheckThePolicyForbidsRevertsTheEdit()
    {
        var (session, workspace) = Session(new ScriptedChatClient(), allowed: ["make"]);
        var attempt = await session.ProposeAsync(1, Fix);

        Assert.Equal((EditStatus.Refused, EditRefusal.PermissionDenied), (attempt.Status, attempt.Refusal));
        Assert.Contains("not on the allow-list", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        Assert.Equal(2, workspace.Writes.Count());
    }

    [Fact]
    public async Task ACheckThatCannotStartOrRunsTooLongRevertsTheEdit()
    {
        var workspace = new DirectWorkspaceDouble(_project.Root, "hearth-no-such-program", "sleep");
        var missing = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = CommandSpec.Parse("hearth-no-such-program") };
        var attempt = await new CodeEditSession(new ScriptedChatClient(), workspace, missing).ProposeAsync(1, Fix);
        Assert.Equal((EditStatus.Refused, EditRefusal.CheckDidNotRun), (attempt.Status, attempt.Refusal));
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));

        var slow = missing with { Check = CommandSpec.Parse("sleep 60"), CheckTimeout = TimeSpan.FromSeconds(1) };
        attempt = await new CodeEditSession(new ScriptedChatClient(), workspace, slow).ProposeAsync(1, Fix);
        Assert.Equal(EditStatus.Reverted, attempt.Status);
        Assert.True(attempt.Check!.TimedOut);
        Assert.Contains("ran past 1 s", attempt.Message);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task CancellingDuringTheCheckRevertsTheEditAndStops()
    {
        var workspace = new DirectWorkspaceDouble(_project.Root, "sleep");
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = CommandSpec.Parse("sleep 60") };
        using var cancel = new CancellationTokenSource();
        var session = new CodeEditSession(new ScriptedChatClient(), workspace, options);
        var proposal = session.ProposeAsync(1, Fix, cancel.Token);
        while (!workspace.Log.Any(l => l.StartsWith("run ", StringComparison.Ordinal))) await Task.Delay(10);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proposal);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ARevertThePolicyForbidsIsAnError()
    {
        // Reverting a created file needs a delete; with deletes off the session stops rather than leave it silently.
        var workspace = new DirectWorkspaceDouble(_project.Root, "dotnet") { AllowDelete = false };
        var options = new CodeEditOptions { Repository = _project.Root, Task = "x", Check = CommandSpec.Parse("dotnet no-such-command") };
        var session = new CodeEditSession(new ScriptedChatClient(), workspace, options);
        var e = await Assert.ThrowsAsync<EditRevertException>(() => session.ProposeAsync(1, "--- /dev/null\n+++ b/New.txt\n@@ -0,0 +1 @@\n+x\n"));
        Assert.Contains("New.txt was created by the edit and still exists", e.Message);
        Assert.IsType<PermissionDeniedException>(e.InnerException);
    }

    [Fact]
    public async Task ADryRunValidatesWritesNothingAndEnds()
    {
        var client = new ScriptedChatClient(Propose(Fix), Finish());
        var (session, workspace) = Session(client, dryRun: true);
        var result = await session.RunAsync();

        Assert.Equal(CodeEditOutcome.Proposed, result.Outcome);
        Assert.Equal(EditStatus.Validated, Assert.Single(result.Attempts).Status);
        Assert.Single(client.Seen);
        Assert.Empty(workspace.Writes);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ReadFileUnknownToolsBadArgumentsAndTheStepBudget()
    {
        var client = new ScriptedChatClient(
            ScriptedChatClient.Call(CodeEditSession.ReadFileTool, ("path", "Program.cs")),
            ScriptedChatClient.Call(CodeEditSession.ReadFileTool, ("path", "../../etc/passwd")),
            ScriptedChatClient.Call("rm_rf"),
            ScriptedChatClient.Call(CodeEditSession.ProposeEditTool, ("patch", Fix)));
        var workspace = new DirectWorkspaceDouble(_project.Root, "dotnet");
        var options = new CodeEditOptions { Repository = _project.Root, Task = "look around", MaxSteps = 4, RequireToolCalls = true };
        var result = await new CodeEditSession(client, workspace, options).RunAsync();

        Assert.Equal(CodeEditOutcome.StepBudgetExhausted, result.Outcome);
        var results = result.History.Where(m => m.Role == ChatRole.Tool).Select(m => m.Contents.OfType<FunctionResultContent>().Single().Result?.ToString()).ToList();
        Assert.Equal(File.ReadAllText(Path.Combine(_project.Root, "Program.cs")), results[0]);
        Assert.Contains("climbs out", results[1]);
        Assert.Contains("no tool named 'rm_rf'", results[2]);
        Assert.Contains("needs a 'diff' argument", results[3]);
        Assert.All(client.Options, o => Assert.IsType<RequiredChatToolMode>(o!.ToolMode));
        Assert.Empty(workspace.Writes);
    }

    [Fact]
    public async Task TextInsteadOfAToolCallEndsTheSession()
    {
        var client = new ScriptedChatClient(_ => new ChatMessage(ChatRole.Assistant, "I cannot do that."));
        var (session, _) = Session(client);
        var result = await session.RunAsync();
        Assert.Equal((CodeEditOutcome.Stopped, 1, "I cannot do that."), (result.Outcome, result.Steps, result.Summary));
        Assert.IsType<AutoChatToolMode>(client.Options[0]!.ToolMode);
    }
}
