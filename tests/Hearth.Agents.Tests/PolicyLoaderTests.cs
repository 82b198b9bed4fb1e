using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

public sealed class PolicyLoaderTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private AgentPolicy Parse(string yaml) => AgentPolicyLoader.Parse(yaml, _box.Dir, Path.Combine(_box.Dir, "policy.yaml"));

    [Fact]
    public void FullPolicyIsRead()
    {
        Directory.CreateDirectory(Path.Combine(_box.Dir, "ref"));
        var p = Parse("""
            roots:
              - path: root
                access: read-write
              - path: ref
                access: read-only
            operations:
              move: auto
              delete: ask
            commands:
              - program: wc
                args: ["-l {path}", ["-c", "{path}"]]
              - program: /usr/bin/git
            limits:
              max_steps: 5
              max_run_seconds: 30
              max_file_bytes: 1000
            state: state
            mcp:
              ask: approve
            """);
        Assert.Equal([_box.Root, Path.Combine(_box.Dir, "ref")], p.Roots.Select(r => r.Path));
        Assert.Equal([RootAccess.ReadWrite, RootAccess.ReadOnly], p.Roots.Select(r => r.Access));
        Assert.Equal(ApprovalMode.Auto, p.ModeOf(AgentOperation.Move));
        Assert.Equal(ApprovalMode.Ask, p.ModeOf(AgentOperation.Delete));
        Assert.Equal(ApprovalMode.Auto, p.ModeOf(AgentOperation.Read));
        Assert.Equal(ApprovalMode.Ask, p.ModeOf(AgentOperation.Create));
        Assert.Equal(["-l {path}", "-c {path}"], p.Commands[0].Arguments.Select(a => a.ToString()));
        Assert.Equal([], p.Commands[1].Arguments.Single().Tokens);
        Assert.Equal(5, p.Limits.MaxSteps);
        Assert.Equal(TimeSpan.FromSeconds(30), p.Limits.MaxRunTime);
        Assert.Equal(1000, p.Limits.MaxFileBytes);
        Assert.Equal(_box.State, p.StateDirectory);
        Assert.Equal(McpAskMode.Approve, p.McpAsk);
    }

    [Fact]
    public void DeleteAndRunAreOffByDefault()
    {
        var p = Parse("roots:\n  - path: root\n    access: read-write\n");
        Assert.Equal(ApprovalMode.Deny, p.ModeOf(AgentOperation.Delete));
        Assert.Equal(ApprovalMode.Deny, p.ModeOf(AgentOperation.Run));
        Assert.Equal(McpAskMode.Refuse, p.McpAsk);
        Assert.Empty(p.Commands);
    }

    [Theory]
    [InlineData("roots:\n  - path: root\n    access: read-write\noperations:\n  remove: auto\n", 5, "unknown operation 'remove'")]
    [InlineData("roots:\n  - path: root\n    access: read-write\noperations:\n  delete: sometimes\n", 5, "ask, auto or deny")]
    [InlineData("roots:\n  - path: root\n    access: write\n", 3, "read-only or read-write")]
    [InlineData("roots:\n  - path: missing-dir\n    access: read-write\n", 2, "not usable")]
    [InlineData("roots:\n  - path: root\n    access: read-write\nlimits:\n  max_steps: 0\n", 5, "max_steps")]
    [InlineData("roots:\n  - path: root\n    access: read-write\nrootz: []\n", 4, "unknown key 'rootz'")]
    [InlineData("roots:\n  - path: root\n    access: read-write\ncommands:\n  - program: bin/tool\n", 5, "bare name")]
    [InlineData("roots:\n  - path: root\n    access: read-write\ncommands:\n  - program: wc\n    args: [\"{file}\"]\n", 6, "only placeholder")]
    [InlineData("roots: []\n", 1, "at least one")]
    [InlineData("roots:\n  - path: root\n   access: [\n", 3, "YAML syntax error")]
    public void ErrorsNameTheLine(string yaml, int line, string problem)
    {
        var e = Assert.Throws<AgentPolicyException>(() => Parse(yaml));
        Assert.Equal(line, e.Line);
        Assert.Contains(problem, e.Message);
        Assert.StartsWith($"policy.yaml:{line}:", e.Message);
    }

    [Fact]
    public void RootPathsAreResolvedThroughSymlinks()
    {
        Directory.CreateSymbolicLink(Path.Combine(_box.Dir, "alias"), _box.Root);
        var p = Parse("roots:\n  - path: alias\n    access: read-write\n");
        Assert.Equal(_box.Root, p.Roots[0].Path);
    }
}
