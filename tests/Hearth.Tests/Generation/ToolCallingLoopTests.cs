using System.Text.Json;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Tests.Generation;

public sealed class ToolCallingLoopTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public ToolCallingLoopTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    /// <summary>
    /// Test double standing in for an instruction-tuned model (none can exist here): replies from a script and records
    /// what it was sent.
    /// </summary>
    private sealed class ScriptedChatClient(params ChatMessage[] replies) : IChatClient
    {
        private int _next;

        public List<List<ChatMessage>> Seen { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Seen.Add(messages.ToList());
            return Task.FromResult(new ChatResponse(replies[Math.Min(_next++, replies.Length - 1)]));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task RunsCalledFunctionsAndHandsResultsBack()
    {
        int calls = 0;
        var add = AIFunctionFactory.Create((int a, int b) => { calls++; return a + b; }, "add");
        var client = new ScriptedChatClient(
            new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("c1", "add", new Dictionary<string, object?> { ["a"] = 2, ["b"] = 40 })]),
            new ChatMessage(ChatRole.Assistant, "The sum is 42."));
        var history = new List<ChatMessage> { new(ChatRole.User, "What is 2 + 40?") };
        var result = await new ToolCallingLoop(client, [add]).RunAsync(history);

        Assert.Equal(ToolLoopOutcome.Answered, result.Outcome);
        Assert.Equal(2, result.Steps);
        Assert.Equal(1, calls);
        Assert.Equal("The sum is 42.", result.FinalResponse.Text);
        var toolResult = Assert.Single(client.Seen[1].SelectMany(m => m.Contents).OfType<FunctionResultContent>());
        Assert.Equal("c1", toolResult.CallId);
        Assert.Equal("42", toolResult.Result?.ToString());
        Assert.Equal(4, history.Count);
    }

    [Fact]
    public async Task UnknownFunctionsRefusalsAndThrowingFunctionsAreReportedToTheModel()
    {
        var boom = AIFunctionFactory.Create(string () => throw new InvalidOperationException("disk full"), "boom");
        var client = new ScriptedChatClient(
            new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("a", "nope"), new FunctionCallContent("b", "boom"), new FunctionCallContent("c", "boom")]),
            new ChatMessage(ChatRole.Assistant, "ok"));
        int approvals = 0;
        var loop = new ToolCallingLoop(client, [boom]) { Approve = c => c.CallId != "c" && ++approvals > 0 };
        await loop.RunAsync([new(ChatRole.User, "go")]);
        var results = client.Seen[1].SelectMany(m => m.Contents).OfType<FunctionResultContent>().ToDictionary(r => r.CallId, r => r.Result?.ToString());
        Assert.Contains("no function named 'nope'", results["a"]);
        Assert.Contains("disk full", results["b"]);
        Assert.Contains("not approved", results["c"]);
    }

    [Fact]
    public async Task StepBudgetEndsALoopThatNeverAnswers()
    {
        var f = AIFunctionFactory.Create(() => "again", "f");
        var client = new ScriptedChatClient(new ChatMessage(ChatRole.Assistant, [new FunctionCallContent("x", "f")]));
        var result = await new ToolCallingLoop(client, [f], maxSteps: 3).RunAsync([new(ChatRole.User, "go")]);
        Assert.Equal(ToolLoopOutcome.StepBudgetExhausted, result.Outcome);
        Assert.Equal(3, client.Seen.Count);
    }

    private static string Describe(IEnumerable<ChatMessage> history) => string.Join("\n", history.Select(m => m.Role + ": " + string.Join(" | ", m.Contents.Select(c => c switch
    {
        FunctionCallContent f => $"call {f.Name} {JsonSerializer.Serialize(f.Arguments)} {f.Exception?.Message}",
        FunctionResultContent r => $"result {r.Result}",
        TextContent t => t.Text,
        ErrorContent e => "error " + e.Message,
        _ => c.GetType().Name,
    }))));

    [Fact]
    public async Task DrivesTheRealEngineWithAForcedFirstCall()
    {
        // The sample from the README, on the trained stories model with a real tool-calling template.
        int? days = null;
        var weather = AIFunctionFactory.Create((int d) => { days = d; return "sunny"; }, "get_weather", "Weather forecast for the next d days");
        var template = ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja")));
        using IChatClient client = new HearthChatClient(_model, template, new GrammarChatConstraints());
        var history = new List<ChatMessage> { new(ChatRole.User, "What's the weather in Oslo?") };
        var loop = new ToolCallingLoop(client, [weather], maxSteps: 3);
        var result = await loop.RunAsync(history, new ChatOptions { Seed = 1, MaxOutputTokens = 400 }, ChatToolMode.RequireSpecific("get_weather"));

        Assert.True(days != null, Describe(history));
        var call = history.SelectMany(m => m.Contents).OfType<FunctionCallContent>().First();
        Assert.Equal("get_weather", call.Name);
        Assert.Contains(history, m => m.Role == ChatRole.Tool);
        Assert.InRange(result.Steps, 2, 3);
    }
}
