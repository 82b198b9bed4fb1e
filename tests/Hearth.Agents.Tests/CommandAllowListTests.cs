using Hearth.Agents.Audit;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

public sealed class CommandAllowListTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private PolicyWorkspace Open(ApprovalMode run, params CommandRule[] rules) =>
        _box.Open(_box.Policy((AgentOperation.Run, run)) with { Commands = rules });

    /// <summary>A rule as the policy file would give it (no patterns: runs only without arguments).</summary>
    private static CommandRule Rule(string program, params string[] patterns) =>
        new(program, patterns.Length == 0 ? [new ArgumentPattern([])] : [.. patterns.Select(p => new ArgumentPattern(p.Split(' ', StringSplitOptions.RemoveEmptyEntries)))]);

    [Fact]
    public async Task AnAllowListedProgramRunsWithItsPathArgumentResolved()
    {
        _box.Write("notes.txt", "one\ntwo\nthree\n");
        using var ws = Open(ApprovalMode.Auto, Rule("wc", "-l {path}"));
        var result = await ws.RunCommandAsync("wc", ["-l", "notes.txt"], ".", TimeSpan.FromSeconds(30));
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"3 {Path.Combine(_box.Root, "notes.txt")}", result.StandardOutput.Trim());
        var row = Assert.Single(ws.State.Audit.Read(ws.RunId));
        Assert.Equal(("run_command", AuditDecision.Allowed, "exit 0"), (row.Tool, row.Decision, row.Result));
    }

    [Fact]
    public async Task RunIsOffByDefaultEvenForAListedProgram()
    {
        _box.Write("notes.txt", "x");
        using var ws = _box.Open(_box.Policy() with { Commands = [Rule("wc", "-l {path}")] });
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.RunCommandAsync("wc", ["-l", "notes.txt"], ".", TimeSpan.FromSeconds(5)));
        Assert.Contains("denies 'run'", e.Message);
    }

    [Theory]
    [InlineData("cat", new[] { "notes.txt" }, "not on the policy's command allow-list")]
    [InlineData("/usr/bin/wc", new[] { "-l", "notes.txt" }, "not on the policy's command allow-list")] // exact match: the path is not the name
    [InlineData("wc", new[] { "-c", "notes.txt" }, "match none of the allowed patterns")]
    [InlineData("wc", new[] { "-l", "notes.txt", "/etc/passwd" }, "match none of the allowed patterns")]
    [InlineData("wc", new[] { "-l", "../outside/secret.txt" }, "outside every workspace root")]
    [InlineData("wc", new[] { "-l", "/etc/passwd" }, "outside every workspace root")]
    public async Task AnythingElseIsRefusedAndAudited(string program, string[] args, string reason)
    {
        _box.Write("notes.txt", "x");
        using var ws = Open(ApprovalMode.Auto, Rule("wc", "-l {path}"));
        var e = await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.RunCommandAsync(program, args, ".", TimeSpan.FromSeconds(5)));
        Assert.Contains(reason, e.Message);
        var row = Assert.Single(ws.State.Audit.Read(ws.RunId));
        Assert.Equal(AuditDecision.Denied, row.Decision);
    }

    [Fact]
    public async Task TheWorkingDirectoryMustBeInsideARoot()
    {
        using var ws = Open(ApprovalMode.Auto, Rule("pwd"));
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.RunCommandAsync("pwd", [], _box.Outside, TimeSpan.FromSeconds(5)));
        var inside = await ws.RunCommandAsync("pwd", [], ".", TimeSpan.FromSeconds(5));
        Assert.Equal(_box.Root, inside.StandardOutput.Trim());
    }

    [Fact]
    public async Task TheEnvironmentIsMinimalAndNothingGoesThroughAShell()
    {
        using var ws = Open(ApprovalMode.Auto, Rule("env"), Rule("echo", "*"));
        var env = await ws.RunCommandAsync("env", [], ".", TimeSpan.FromSeconds(5));
        Assert.Equal(["HOME", "LANG", "PATH"], env.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')[0]).Order());
        var echo = await ws.RunCommandAsync("echo", ["$(rm -rf ~); `id`"], ".", TimeSpan.FromSeconds(5));
        Assert.Equal("$(rm -rf ~); `id`", echo.StandardOutput.Trim());
    }

    [Fact]
    public async Task ACommandPastItsTimeoutIsKilled()
    {
        using var ws = Open(ApprovalMode.Auto, Rule("sleep", "*"));
        var result = await ws.RunCommandAsync("sleep", ["30"], ".", TimeSpan.FromMilliseconds(300));
        Assert.True(result.TimedOut);
        Assert.Equal(-1, result.ExitCode);
        Assert.StartsWith("timed out", ws.State.Audit.Read(ws.RunId).Single().Result);
    }

    [Fact]
    public async Task AskModeShowsTheCommandLine()
    {
        _box.Write("notes.txt", "x");
        var approval = new RecordingApprovalProvider();
        using var ws = _box.Open(_box.Policy((AgentOperation.Run, ApprovalMode.Ask)) with { Commands = [Rule("wc", "-l {path}")] }, approval);
        await Assert.ThrowsAsync<PermissionDeniedException>(() => ws.RunCommandAsync("wc", ["-l", "notes.txt"], ".", TimeSpan.FromSeconds(5)));
        var action = Assert.Single(Assert.Single(approval.Requests).Actions);
        Assert.Equal($"wc -l {Path.Combine(_box.Root, "notes.txt")}", action.Detail);
    }

    [Theory]
    [InlineData("--format=*", "--format=json", true)]
    [InlineData("--format=*", "--format", false)]
    [InlineData("v?.?", "v1.2", true)]
    [InlineData("v?.?", "v1.23", false)]
    [InlineData("*", "", true)]
    [InlineData("a*b*c", "aXbYbZc", true)]
    [InlineData("status", "status ", false)]
    public void GlobsMatchWholeArguments(string pattern, string text, bool match) => Assert.Equal(match, CommandAllowList.Glob(pattern, text));
}
