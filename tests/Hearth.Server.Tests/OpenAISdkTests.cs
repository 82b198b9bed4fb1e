using System.ClientModel;
using System.Text.Json.Nodes;
using Hearth.Grammar;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Embeddings;
using OpenAI.Models;

namespace Hearth.Server.Tests;

/// <summary>The server driven by the official OpenAI .NET SDK: what a real client sees.</summary>
public sealed class OpenAISdkTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private OpenAIClientOptions Options() => new() { Endpoint = new Uri(_server.Url + "/v1") };

    private ChatClient Chat() => new(RunningServer.Model, new ApiKeyCredential("unused"), Options());

    [Fact]
    public async Task ChatAnswersWithTextUsageAndFinishReason()
    {
        var result = await Chat().CompleteChatAsync([new UserChatMessage("Once upon a time")],
            new ChatCompletionOptions { MaxOutputTokenCount = 20, Seed = 1, Temperature = 0.7f });
        var completion = result.Value;
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.NotEmpty(completion.Content[0].Text);
        Assert.Equal(RunningServer.Model, completion.Model);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.InRange(completion.Usage.OutputTokenCount, 1, 20);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
    }

    [Fact]
    public async Task StreamingChatGivesTheSameTextAsNonStreamingForTheSameSeed()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 40, Seed = 7, Temperature = 1f };
        ChatMessage[] messages = [new SystemChatMessage("Tell a story."), new UserChatMessage("Lily had a cat.")];
        var whole = (await Chat().CompleteChatAsync(messages, options)).Value;
        var text = new System.Text.StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in Chat().CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(whole.Content[0].Text, text.ToString());
        Assert.Equal(whole.FinishReason, finish);
        if (usage != null) Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
    }

    [Fact]
    public async Task JsonSchemaResponseFormatGivesJsonThatValidates()
    {
        const string schema = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},"pet":{"enum":["cat","dog"]}},
             "required":["name","age","pet"],"additionalProperties":false}
            """;
        var options = new ChatCompletionOptions
        {
            MaxOutputTokenCount = 200,
            Seed = 3,
            Temperature = 1f,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("person", BinaryData.FromString(schema), jsonSchemaIsStrict: true),
        };
        var completion = (await Chat().CompleteChatAsync([new UserChatMessage("Describe a person as JSON.")], options)).Value;
        var json = JsonNode.Parse(completion.Content[0].Text);
        Assert.Empty(JsonSchemaValidator.Validate(json, JsonNode.Parse(schema)!));
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task RequiredToolChoiceYieldsAWellFormedToolCall()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a city",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]}"""));
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 200, Seed = 5, Tools = { tool }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        var client = new ChatClient(RunningServer.ToolModel, new ApiKeyCredential("unused"), Options());
        var completion = (await client.CompleteChatAsync([new UserChatMessage("What is the weather?")], options)).Value;
        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.False(string.IsNullOrEmpty(call.Id));
        var args = JsonNode.Parse(call.FunctionArguments.ToString())!.AsObject();
        Assert.InRange(args["days"]!.GetValue<int>(), 1, 7);
        Assert.True(args["city"]!.GetValue<string>().Length <= 12);
    }

    [Fact]
    public async Task EmbeddingsHaveTheModelsWidthAndUnitLength()
    {
        var client = new EmbeddingClient(RunningServer.Model, new ApiKeyCredential("unused"), Options());
        var one = (await client.GenerateEmbeddingAsync("The cat sat on the mat.")).Value.ToFloats();
        var many = (await client.GenerateEmbeddingsAsync(["The cat sat on the mat.", "A dog ran."])).Value;
        Assert.Equal(2, many.Count);
        Assert.Equal(one.ToArray(), many[0].ToFloats().ToArray());
        Assert.Equal(one.Length, many[1].ToFloats().Length);
        double norm = Math.Sqrt(one.ToArray().Sum(x => (double)x * x));
        Assert.Equal(1.0, norm, 3);
    }

    [Fact]
    public async Task ModelsListTheDirectory()
    {
        var client = new OpenAIModelClient(new ApiKeyCredential("unused"), Options());
        var models = (await client.GetModelsAsync()).Value;
        Assert.Equal([RunningServer.Model, RunningServer.ToolModel], models.Select(m => m.Id).ToArray());
        Assert.All(models, m => Assert.Equal("hearth", m.OwnedBy));
        var one = (await client.GetModelAsync(RunningServer.Model)).Value;
        Assert.Equal(RunningServer.Model, one.Id);
    }

    [Fact]
    public async Task AnUnknownModelIsA404TheSdkReports()
    {
        var client = new ChatClient("no-such-model", new ApiKeyCredential("unused"), Options());
        var e = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, e.Status);
        Assert.Contains("no-such-model", e.Message);
    }
}
