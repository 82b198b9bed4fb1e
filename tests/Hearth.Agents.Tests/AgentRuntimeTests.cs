using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Agents.Audit;
using Hearth.Agents.Policy;
using Hearth.Agents.Runtime;
using Hearth.Agents.Tools;
using Hearth.Generation;
using Hearth.Grammar;
using Microsoft.Extensions.AI;
using static Hearth.Agents.Tests.ScriptedChatClientDouble;

namespace Hearth.Agents.Tests;

/// <summary>The runtime driven by the scripted test double: tool calls run under the policy, malformed ones are audited, budgets hold.</summary>
public sealed class AgentRuntimeTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    [Fact]
    public async Task ScriptedCallsRunThroughThePolicyAndTheirResultsGoBackToTheModel()
    {
        _box.Write("a.txt", "alpha");
        _box.Write("docs/b.md", "beta");
        var model = new ScriptedChatClientDouble(
            Call("list_files", ("directory", "."), ("recursive", true)),
            Call("read_file", ("path", "docs/b.md")),
            Call("write_file", ("path", "summary.txt"), ("content", "a.txt and docs/b.md")),
            Say("Wrote the summary."));
        using var ws = _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Auto)));
        var result = await new AgentRuntime(model, ws).RunAsync("Summarise my files.");

        Assert.Equal(ToolLoopOutcome.Answered, result.Outcome);
        Assert.Equal("Wrote the summary.", result.Answer);
        Assert.Equal(4, result.Steps);
        Assert.Equal("a.txt and docs/b.md", File.ReadAllText(Path.Combine(_box.Root, "summary.txt")));
        Assert.Equal("a.txt\ndocs/b.md", ResultOf(model.Seen[1]));
        Assert.Equal("beta", ResultOf(model.Seen[2]));
        Assert.Equal(["list_files", "read_file", "write_file"], ws.State.Audit.Read(ws.RunId).Select(r => r.Tool));
        Assert.All(ws.State.Audit.Read(ws.RunId), r => Assert.Equal(AuditDecision.Allowed, r.Decision));
        Assert.Equal(AgentRunOptions.DefaultInstructions, model.Seen[0][0].Text);
        Assert.Equal(AgentTools.Names, model.Options[0]!.Tools!.Select(t => t.Name));
    }

    [Fact]
    public async Task MalformedCallsAreAuditedAndNeverRun()
    {
        var model = new ScriptedChatClientDouble(
            Calls(
                Call("format_disk", ("device", "/dev/sda")),
                Call("write_file", ("path", "x.txt")),
                Call("write_file", ("path", "y.txt"), ("content", "y"), ("mode", "0777")),
                Call("read_file", ("path", 42))),
            Say("ok"));
        using var ws = _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Auto)));
        var result = await new AgentRuntime(model, ws).RunAsync("go");

        Assert.Empty(Directory.EnumerateFileSystemEntries(_box.Root));
        var rows = ws.State.Audit.Read(ws.RunId);
        Assert.Equal(["format_disk", "write_file", "write_file", "read_file"], rows.Select(r => r.Tool));
        Assert.All(rows, r => Assert.Equal(AuditDecision.Denied, r.Decision));
        Assert.Contains("no function named 'format_disk'", rows[0].Reason);
        Assert.Contains("content", rows[1].Reason);
        Assert.Contains("mode", rows[2].Reason);
        Assert.Equal([false, true, true, true], result.Calls.Select(c => c.Invoked));
        Assert.All(result.Calls, c => Assert.StartsWith("error:", c.Result.Result?.ToString()));
    }

    [Fact]
    public async Task StepBudgetStopsAModelThatNeverAnswers()
    {
        var model = new ScriptedChatClientDouble(Call("list_files", ("directory", "."), ("recursive", false)));
        using var ws = _box.Open(_box.Policy());
        var result = await new AgentRuntime(model, ws, new AgentRunOptions { MaxSteps = 3 }).RunAsync("loop forever");
        Assert.Equal(ToolLoopOutcome.StepBudgetExhausted, result.Outcome);
        Assert.Equal(3, model.Seen.Count);
        Assert.Equal(3, ws.State.Audit.Read(ws.RunId).Count);
    }

    [Fact]
    public async Task TimeBudgetCancelsTheStepInFlight()
    {
        using var ws = _box.Open(_box.Policy());
        var result = await new AgentRuntime(new HangingChatClientDouble(), ws, new AgentRunOptions { TimeBudget = TimeSpan.FromMilliseconds(200) }).RunAsync("hang");
        Assert.Equal(ToolLoopOutcome.TimeBudgetExhausted, result.Outcome);
        Assert.Empty(result.Calls);
    }

    [Fact]
    public async Task CancellationEndsTheRun()
    {
        using var ws = _box.Open(_box.Policy());
        using var cancel = new CancellationTokenSource();
        var run = new AgentRuntime(new HangingChatClientDouble(), ws).RunAsync("hang", cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public void EveryToolSchemaCompilesToAGrammarThatAcceptsAValidCallAndRejectsAnExtraProperty()
    {
        using var ws = _box.Open(_box.Policy());
        foreach (var tool in AgentTools.Create(ws))
        {
            var schema = JsonNode.Parse(tool.JsonSchema.GetRawText())!;
            var grammar = JsonSchemaGrammar.FromSchema(schema);
            var valid = new JsonObject();
            foreach (var (name, prop) in schema["properties"]!.AsObject())
            {
                valid[name] = prop!["type"]!.GetValue<string>() switch
                {
                    "string" => "notes/a.txt",
                    "boolean" => true,
                    "integer" => 5,
                    _ => new JsonArray("-l"),
                };
            }

            Assert.True(Accepts(grammar, valid.ToJsonString()), $"{tool.Name}: {valid.ToJsonString()}");
            Assert.Empty(JsonSchemaValidator.Validate(valid, schema));
            valid["extra"] = 1;
            Assert.False(Accepts(grammar, valid.ToJsonString()), tool.Name);
        }
    }

    private static bool Accepts(Hearth.Grammar.Grammar grammar, string text)
    {
        var matcher = new GrammarMatcher(grammar, TokenVocabulary.FromTokens([[(byte)'a']], []));
        return matcher.TryAcceptText(text) && matcher.IsComplete;
    }

    private static string? ResultOf(IReadOnlyList<ChatMessage> seen) => seen.Last().Contents.OfType<FunctionResultContent>().Single().Result?.ToString();

    /// <summary>TEST DOUBLE: a model that never answers until cancelled.</summary>
    private sealed class HangingChatClientDouble : IChatClient
    {
        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
