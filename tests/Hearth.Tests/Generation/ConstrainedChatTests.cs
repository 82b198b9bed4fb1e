using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Chat.ToolCalls;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Tests.Generation;

/// <summary>The chat client under constraints, driving the trained stories model: JSON schemas and forced tool calls.</summary>
public sealed class ConstrainedChatTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private const string PersonSchema = """
        {"type":"object","properties":{"name":{"type":"string","maxLength":10},"age":{"type":"integer"},"pet":{"enum":["cat","dog"]}},
         "required":["name","age","pet"],"additionalProperties":false}
        """;

    private readonly LanguageModel _model;

    public ConstrainedChatTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    private IChatClient Client() => new HearthChatClient(_model, constraints: new GrammarChatConstraints());

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task JsonSchemaAnswersValidateStreamingAndNot(int seed)
    {
        var schema = JsonDocument.Parse(PersonSchema).RootElement;
        var options = new ChatOptions { Seed = seed, Temperature = 1f, MaxOutputTokens = 200, ResponseFormat = ChatResponseFormat.ForJsonSchema(schema) };
        ChatMessage[] messages = [new(ChatRole.User, "Describe a person as JSON.")];
        var response = await Client().GetResponseAsync(messages, options);
        var streamed = new List<ChatResponseUpdate>();
        await foreach (var u in Client().GetStreamingResponseAsync(messages, options)) streamed.Add(u);

        Assert.Equal(response.Text, string.Concat(streamed.Select(u => u.Text)));
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        var json = JsonNode.Parse(response.Text);
        Assert.Empty(JsonSchemaValidator.Validate(json, JsonNode.Parse(PersonSchema)!));
    }

    [Fact]
    public async Task AnswerCutShortByTheTokenLimitIsReportedAsLengthNotAsValid()
    {
        var options = new ChatOptions { Seed = 1, MaxOutputTokens = 3, ResponseFormat = ChatResponseFormat.ForJsonSchema(JsonDocument.Parse(PersonSchema).RootElement) };
        var response = await Client().GetResponseAsync([new(ChatRole.User, "JSON please")], options);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal("Truncated", response.AdditionalProperties?["hearth.finish_reason"]);
    }

    [Fact]
    public async Task RequiredToolModeForcesAValidCall()
    {
        var weather = AIFunctionFactory.CreateDeclaration("get_weather", "Weather for a city",
            JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string","maxLength":12},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","days"]}""").RootElement);
        var options = new ChatOptions { Seed = 5, MaxOutputTokens = 200, Tools = [weather], ToolMode = ChatToolMode.RequireAny };
        // stories260K ships no template; use a real tool-calling template (Hermes 2 Pro) with it.
        var template = Hearth.Chat.ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja")));
        IChatClient client = new HearthChatClient(_model, template, new GrammarChatConstraints());
        var response = await client.GetResponseAsync([new(ChatRole.User, "What is the weather?")], options);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal("get_weather", call.Name);
        Assert.Null(call.Exception);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var days = ((JsonElement)call.Arguments!["days"]!).GetInt32();
        Assert.InRange(days, 1, 7);
    }

    [Theory]
    [InlineData(ToolCallFormat.Hermes)]
    [InlineData(ToolCallFormat.Phi4Mini)]
    [InlineData(ToolCallFormat.Mistral)]
    [InlineData(ToolCallFormat.Llama3Json)]
    [InlineData(ToolCallFormat.FunctionaryV32)]
    public void ForcedCallGrammarAcceptsTheFormatsOwnRenderingAndRejectsOtherNames(ToolCallFormat format)
    {
        var syntax = ToolCallFormats.Get(format).Syntax!;
        var tools = new[]
        {
            AIFunctionFactory.CreateDeclaration("search", null, JsonDocument.Parse("""{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}""").RootElement),
            AIFunctionFactory.CreateDeclaration("add", null, JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["a","b"]}""").RootElement),
        };
        var grammar = GrammarChatConstraints.ForcedCallGrammar(syntax, tools);
        var vocab = _model.TokenVocabulary;
        bool Accepts(string text)
        {
            var m = new GrammarMatcher(grammar, vocab);
            return m.TryAcceptText(text) && m.IsComplete;
        }

        Assert.True(Accepts(syntax.Render([("add", new JsonObject { ["a"] = 2, ["b"] = 3 }, "abc123XYZ")])), grammar.ToGbnf());
        Assert.True(Accepts(syntax.Render([("search", new JsonObject { ["q"] = "cats" }, "abc123XYZ")])));
        Assert.False(Accepts(syntax.Render([("delete", new JsonObject { ["q"] = "cats" }, "abc123XYZ")])));
        Assert.False(Accepts(syntax.Render([("add", new JsonObject { ["a"] = "two", ["b"] = 3 }, "abc123XYZ")])));
    }
}
