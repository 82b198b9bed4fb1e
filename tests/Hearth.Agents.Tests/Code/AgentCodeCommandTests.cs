using System.CommandLine;
using Hearth.Agents.Audit;
using Hearth.Agents.State;
using Hearth.Cli;
using Hearth.Tests;
using static Hearth.Agents.Tests.ScriptedChatClientDouble;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// <c>hearth agent code</c> end to end through the real policy-backed workspace: on the tiny C# project with a scripted
/// model double (no instruction-tuned model can run here) and on stories260K, then <c>hearth agent undo</c> and
/// <c>hearth agent log</c> on the same state directory.
/// </summary>
[Collection(TinyProject.Collection)]
public sealed class AgentCodeCommandTests : IDisposable
{
    private const string Task = "Calc.Add in Calc.cs subtracts; make it add.";

    private readonly TinyProject _project;
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-agent-code-").FullName;

    public AgentCodeCommandTests(TinyProject project)
    {
        _project = project;
        project.Reset();
    }

    private string State => Path.Combine(_dir, "state");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Runs <c>code ARGS</c> in-process with the model played by <paramref name="model"/>.</summary>
    private static async Task<(int Code, string Out, string Err)> Code(ScriptedChatClientDouble model, string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var command = AgentCodeCommand.Create(new StringReader(stdin), stdout, stderr, _ => model);
        int code = await new RootCommand { command }.Parse(["code", .. args]).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string RunIdOf(string stdout) =>
        stdout.Split('\n').Single(l => l.StartsWith("Undo with: hearth agent undo ", StringComparison.Ordinal))["Undo with: hearth agent undo ".Length..].Trim();

    [Fact]
    public void TheCommandIsUnderAgentAndDescribesItsOptions()
    {
        var (code, stdout, _) = Hearth.Tests.Cli.Run("agent", "code", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--task", "--model", "--policy", "--state", "--test", "--dry-run", "--yes", "--max-steps", "--template" }) Assert.Contains(option, stdout);
    }

    [Fact]
    public void AModelIsNeeded()
    {
        var (code, _, stderr) = Hearth.Tests.Cli.Run("agent", "code", _project.Root, "--task", "x", "--state", State);
        Assert.Equal(2, code);
        Assert.Contains("--model is needed", stderr);
    }

    [Fact]
    public async Task AKeptEditIsUndoneExactlyByHearthAgentUndo()
    {
        var model = new ScriptedChatClientDouble(Call(CodeEditSessionTests.ProposeEditTool, ("diff", CodeEditSessionTests.Fix)), Call(CodeEditSessionTests.FinishTool, ("summary", "Add adds")));
        var (code, stdout, stderr) = await Code(model, "", _project.Root, "--task", Task, "--test", "dotnet run --no-restore", "--state", State);

        Assert.True(code == 0, stderr);
        Assert.Contains("kept (step 1): Calc.cs", stdout);
        Assert.Contains("step 1: kept Calc.cs: applied to Calc.cs; `dotnet run --no-restore` passed", stderr);
        Assert.Equal(CodeEditSessionTests.FixedCalc(), File.ReadAllBytes(_project.CalcPath));
        var runId = RunIdOf(stdout);

        // The audit log holds the write and the check, both allowed by the derived policy; the chain is intact.
        var log = Hearth.Tests.Cli.Run("agent", "log", runId, "--state", State, "--verify");
        Assert.Contains("audit log intact", log.Out);
        Assert.Contains("\twrite_file\tallowed\t", log.Out);
        Assert.Contains("\trun_command\tallowed\t", log.Out);

        var undo = Hearth.Tests.Cli.Run("agent", "undo", runId, "--state", State);
        Assert.Equal(0, undo.Code);
        Assert.Contains($"Run {runId} undone.", undo.Out);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
    }

    [Fact]
    public async Task ATestCommandNotOnTheAllowListIsRefusedAndAuditedBeforeAnythingRuns()
    {
        var policy = Path.Combine(_dir, "policy.yaml");
        File.WriteAllText(policy, $"roots:\n  - path: {_project.Root}\n    access: read-write\noperations:\n  create: auto\n  overwrite: auto\n  run: auto\ncommands:\n  - program: make\n    args: [\"test\"]\n");
        var model = new ScriptedChatClientDouble(Call(CodeEditSessionTests.ProposeEditTool, ("diff", CodeEditSessionTests.Fix)));
        var (code, _, stderr) = await Code(model, "", _project.Root, "--task", Task, "--test", "dotnet run --no-restore", "--policy", policy, "--state", State, "--yes");

        Assert.Equal(2, code);
        Assert.Contains("error: --test dotnet run --no-restore: running 'dotnet' is refused: it is not on the policy's command allow-list (make)", stderr);
        Assert.Empty(model.Seen); // refused before the model was asked anything
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        using var state = AgentStateStore.Open(State);
        var row = Assert.Single(state.Audit.Read());
        Assert.Equal(("run_command", AuditDecision.Denied, "refused: checked before running"), (row.Tool, row.Decision, row.Result));
        Assert.Contains("\"program\":\"dotnet\"", row.ArgumentsJson);
        Assert.Empty(state.Journal.Entries());
    }

    [Fact]
    public async Task UnderAPolicyRootedAboveTheRepositoryPathsStayRelativeToTheRepository()
    {
        var repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(repo);
        File.WriteAllBytes(Path.Combine(repo, "Calc.cs"), TinyProject.CalcBytes);
        var policy = Path.Combine(_dir, "policy.yaml");
        File.WriteAllText(policy, "roots:\n  - path: .\n    access: read-write\noperations:\n  create: auto\n  overwrite: auto\n");
        var model = new ScriptedChatClientDouble(Call(CodeEditSessionTests.ProposeEditTool, ("diff", CodeEditSessionTests.Fix)), Call(CodeEditSessionTests.FinishTool, ("summary", "ok")));
        var (code, stdout, stderr) = await Code(model, "", repo, "--task", Task, "--policy", policy, "--state", State);

        Assert.True(code == 0, stderr);
        Assert.Contains("kept (step 1): Calc.cs", stdout);
        var opening = model.Seen[0][0].Text;
        Assert.Contains("Repository files (1):\nCalc.cs\n", opening);
        Assert.DoesNotContain("repo/", opening);
        Assert.Equal(CodeEditSessionTests.FixedCalc(), File.ReadAllBytes(Path.Combine(repo, "Calc.cs")));
    }

    [Fact]
    public async Task ADryRunPrintsTheEditAndChangesNothing()
    {
        var model = new ScriptedChatClientDouble(Call(CodeEditSessionTests.ProposeEditTool, ("diff", CodeEditSessionTests.Fix)));
        var (code, stdout, _) = await Code(model, "", _project.Root, "--task", Task, "--test", "dotnet run --no-restore", "--state", State, "--dry-run");

        Assert.Equal(0, code);
        Assert.StartsWith("dry run: an edit that applies and parses, after 1 step (nothing was written)\n--- a/Calc.cs\n", stdout);
        Assert.Equal(TinyProject.CalcBytes, File.ReadAllBytes(_project.CalcPath));
        using var state = AgentStateStore.Open(State);
        Assert.True(Assert.Single(state.Runs()).DryRun);
        Assert.Empty(state.Journal.Entries());
        Assert.DoesNotContain(state.Audit.Read(), r => r.Tool is "write_file" or "run_command");
    }

    [Fact]
    public void RunsTheRealEngineThroughThePolicyWorkspace()
    {
        var repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(repo);
        var calc = "class Calc { int Add(int a, int b) => a - b; }\n"u8.ToArray();
        File.WriteAllBytes(Path.Combine(repo, "Calc.cs"), calc);
        var (code, stdout, stderr) = Hearth.Tests.Cli.Run("agent", "code", repo, "--task", "Fix Calc.cs", "--model", TestData.Path("models", "stories260K.gguf"), "--ctx", "4096",
            "--template", TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"),
            "--state", State, "--test", "dotnet build --no-restore", "--max-steps", "2", "--seed", "3", "-n", "200");

        // A story model's calls are well-formed but cannot make an edit that applies: nothing is kept or written.
        Assert.Equal(1, code);
        Assert.Matches("^(the step budget \\(2 steps\\) ran out|finished after (1 step|2 steps))\n", stdout);
        Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Matches("^step [12]: refused ", line));
        Assert.Equal(calc, File.ReadAllBytes(Path.Combine(repo, "Calc.cs")));
        using var state = AgentStateStore.Open(State);
        Assert.Contains(state.Audit.Read(), r => r.Tool == "list_files" && r.Decision == AuditDecision.Allowed);
        Assert.DoesNotContain(state.Audit.Read(), r => r.Tool is "write_file" or "run_command" or "move_file" or "delete_file");
    }
}
