using System.CommandLine;
using Hearth.Agents.Code;
using Hearth.Cli;
using Hearth.Tests;

namespace Hearth.Agents.Tests.Code;

public sealed class AgentCodeCommandTests : IDisposable
{
    private readonly string _repo = Directory.CreateTempSubdirectory("hearth-agent-code-").FullName;

    public void Dispose() => Directory.Delete(_repo, recursive: true);

    [Fact]
    public void TheCommandIsUnderAgentAndDescribesItsOptions()
    {
        var (code, stdout, _) = Hearth.Tests.Cli.Run("agent", "code", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--task", "--model", "--policy", "--test", "--dry-run", "--max-steps", "--template" }) Assert.Contains(option, stdout);
    }

    [Fact]
    public void AModelIsNeeded()
    {
        var (code, _, stderr) = Hearth.Tests.Cli.Run("agent", "code", _repo, "--task", "x");
        Assert.Equal(2, code);
        Assert.Contains("--model is needed", stderr);
    }

    [Fact]
    public async Task RunsTheRealEngineThroughTheWorkspaceItIsGiven()
    {
        var calc = "class Calc { int Add(int a, int b) => a - b; }\n"u8.ToArray();
        File.WriteAllBytes(Path.Combine(_repo, "Calc.cs"), calc);
        var opened = new List<(string Repo, string? Policy, CommandSpec? Check)>();
        DirectWorkspaceDouble? workspace = null;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var command = AgentCodeCommand.Create(TextReader.Null, stdout, stderr, (repo, policy, check) =>
        {
            opened.Add((repo, policy, check));
            return workspace = new DirectWorkspaceDouble(repo, "dotnet");
        });
        int code = await new RootCommand { command }.Parse([
            "code", _repo, "--task", "Fix Calc.cs", "--model", TestData.Path("models", "stories260K.gguf"), "--ctx", "4096",
            "--template", TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"),
            "--policy", "policy.yaml", "--test", "dotnet build --no-restore", "--max-steps", "2", "--seed", "3", "-n", "200",
        ]).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });

        var (repoOpened, policy, check) = Assert.Single(opened);
        Assert.Equal((_repo, "policy.yaml"), (repoOpened, policy));
        Assert.Equal(new[] { "build", "--no-restore" }, check!.Arguments);
        // A story model's calls are well-formed but cannot make an edit that applies: nothing is kept or written.
        Assert.Equal(1, code);
        Assert.Matches("^(the step budget \\(2 steps\\) ran out|finished after (1 step|2 steps))\n", stdout.ToString());
        Assert.All(stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.Matches("^step [12]: refused ", line));
        Assert.Empty(workspace!.Writes);
        Assert.Equal(calc, File.ReadAllBytes(Path.Combine(_repo, "Calc.cs")));
    }
}
