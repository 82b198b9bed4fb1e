using Hearth.Agents.Audit;
using Hearth.Agents.Policy;
using Hearth.Agents.Runtime;
using Hearth.Agents.Tools;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Tests;
using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests;

/// <summary>Loads the trained stories260K model once for the class.</summary>
public sealed class StoriesModelFixture : IDisposable
{
    public LanguageModel Model { get; } = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 2, Context = 8192 }); // six tool declarations in a real template run past 3000 of its tiny tokens

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// The same runtime on Hearth's real engine: stories260K is no instruction model (and has no chat template; a real
/// tool-calling template is used), so this proves the plumbing, not judgement: constrained tool-call decoding yields a
/// well-formed call to a built-in tool, which the runtime then checks against the policy and audits.
/// </summary>
public sealed class RealEngineToolCallTests(StoriesModelFixture fixture) : IClassFixture<StoriesModelFixture>, IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private IChatClient Client() => new HearthChatClient(fixture.Model,
        ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"))), new GrammarChatConstraints());

    private async Task<(AgentRunResult Result, IReadOnlyList<AuditEntry> Rows)> RunOneStep(ChatToolMode mode, int seed)
    {
        _box.Write("story.txt", "Once upon a time there was a little cat.");
        _box.Write("notes/todo.md", "- feed the cat");
        var before = Sandbox.Tree(_box.Root);
        using var ws = _box.Open(_box.Policy()); // defaults: read auto, changes asked (and nobody approves), delete and run denied
        var options = new AgentRunOptions
        {
            MaxSteps = 1,
            FirstToolMode = mode,
            ChatOptions = new ChatOptions { Seed = seed, Temperature = 1f, MaxOutputTokens = 400 },
        };
        var result = await new AgentRuntime(Client(), ws, options).RunAsync("Tidy up my files.");
        Assert.Equal(before, Sandbox.Tree(_box.Root)); // nothing the policy does not allow happened
        return (result, ws.State.Audit.Read(ws.RunId));
    }

    [Fact]
    public async Task ForcedDeleteIsWellFormedAndThenRefusedByThePolicy()
    {
        var (result, rows) = await RunOneStep(ChatToolMode.RequireSpecific("delete_file"), seed: 3);
        var call = Assert.Single(result.Calls);
        Assert.Equal("delete_file", call.Call.Name);
        Assert.Null(call.Call.Exception); // the grammar made it match the tool's schema
        Assert.True(call.Invoked);
        Assert.IsType<string>(call.Call.Arguments!["path"] is System.Text.Json.JsonElement e ? e.GetString() : call.Call.Arguments["path"]);
        var row = Assert.Single(rows);
        Assert.Equal(("delete_file", AuditDecision.Denied), (row.Tool, row.Decision));
        Assert.Contains("refused", call.Result.Result?.ToString());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AnyForcedCallIsWellFormedAndAudited(int seed)
    {
        var (result, rows) = await RunOneStep(ChatToolMode.RequireAny, seed);
        var call = Assert.Single(result.Calls);
        Assert.Contains(call.Call.Name, AgentTools.Names);
        Assert.Null(call.Call.Exception);
        var row = Assert.Single(rows);
        Assert.Equal(call.Call.Name, row.Tool);
        if (call.Call.Name is "write_file" or "move_file" or "delete_file" or "run_command") Assert.Equal(AuditDecision.Denied, row.Decision);
    }
}
