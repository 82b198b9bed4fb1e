using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Serving;

namespace Hearth.Tests.Serving;

/// <summary>Request limits and the preparation of raw-prompt completions.</summary>
public sealed class TextCompletionRequestTests : IClassFixture<TextCompletionRequestTests.Stories>
{
    public sealed class Stories : IDisposable
    {
        public LanguageModel Model { get; } = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 1, Context = 256 });

        public void Dispose() => Model.Dispose();
    }

    private readonly LanguageModel _model;

    public TextCompletionRequestTests(Stories stories) => _model = stories.Model;

    private static readonly RequestLimits Limits = new() { MaxPromptTokens = 50, MaxTokens = 20, Context = 100 };

    [Fact]
    public void LimitsCapTheOutputAndTheContextAndRefuseWhatDoesNotFit()
    {
        Assert.Equal((20, 100), Limits.Resolve(10));
        Assert.Equal((5, 100), Limits.Resolve(10, maxTokens: 5));
        Assert.Equal((20, 100), Limits.Resolve(10, maxTokens: 500));
        Assert.Equal((20, 30), Limits.Resolve(10, context: 30));
        Assert.Equal((20, 100), Limits.Resolve(10, context: 5000));
        Assert.Equal((20, 100), Limits.Resolve(50));
        var tooLong = Assert.Throws<PromptTooLongException>(() => Limits.Resolve(51));
        Assert.Equal((51, 50), (tooLong.Tokens, tooLong.Limit));
        Assert.Throws<ContextOverflowException>(() => Limits.Resolve(30, context: 30));
        Assert.Throws<ArgumentOutOfRangeException>(() => Limits.Resolve(10, maxTokens: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Limits.Resolve(10, maxTokens: -2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Limits.Resolve(10, context: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => (Limits with { MaxTokens = 0 }).Resolve(10));
    }

    [Fact]
    public void PrepareTokenizesThePromptAsIsAndAppliesTheLimits()
    {
        var request = new TextCompletionRequest { Prompt = "Once upon a time", MaxTokens = 7, Stop = ["."] }.Prepare(_model, Limits);
        Assert.Equal(_model.Tokenizer.Encode("Once upon a time", addSpecial: true, parseSpecial: true), request.Prompt);
        Assert.Equal(7, request.Options.MaxTokens);
        Assert.Equal(["."], request.Options.Stop);
        Assert.Equal(100, request.Context);
        Assert.Null(request.Options.Constraint);

        var unlimited = new TextCompletionRequest { Prompt = "Once", Context = 40 }.Prepare(_model, Limits);
        Assert.Equal((20, 40), (unlimited.Options.MaxTokens, unlimited.Context));
    }

    [Fact]
    public void PrepareRefusesEmptyPromptsBadOptionsAndPromptsOverTheLimit()
    {
        Assert.Throws<ArgumentException>(() => new TextCompletionRequest { Prompt = "" }.Prepare(_model, Limits));
        Assert.Throws<ArgumentException>(() => new TextCompletionRequest { Prompt = "Once", Stop = [""] }.Prepare(_model, Limits));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextCompletionRequest { Prompt = "Once", Sampling = new() { TopP = 2 } }.Prepare(_model, Limits));
        Assert.Throws<PromptTooLongException>(() => new TextCompletionRequest { Prompt = string.Concat(Enumerable.Repeat("Once upon a time ", 40)) }.Prepare(_model, Limits));
        Assert.Throws<ArgumentException>(() => new TextCompletionRequest { Prompt = "Once", Format = TextCompletionFormat.JsonSchema }.Prepare(_model, Limits));
        Assert.Throws<JsonSchemaException>(() => new TextCompletionRequest { Prompt = "Once", Format = TextCompletionFormat.JsonSchema, JsonSchema = JsonNode.Parse("""{"not":{}}""") }.Prepare(_model, Limits));
    }

    [Fact]
    public async Task ASchemaFormatConstrainsTheGeneratedText()
    {
        var schema = JsonNode.Parse("""{"type":"object","properties":{"n":{"type":"integer","minimum":0,"maximum":9}},"required":["n"],"additionalProperties":false}""")!;
        var request = new TextCompletionRequest
        {
            Prompt = "Once",
            Format = TextCompletionFormat.JsonSchema,
            JsonSchema = schema,
            Sampling = new() { Seed = 4 },
        }.Prepare(_model, Limits with { MaxTokens = 40 });
        Assert.IsType<GrammarConstraint>(request.Options.Constraint);
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1, Context = 100 });
        var handle = scheduler.Submit(request);
        var text = new System.Text.StringBuilder();
        await foreach (var token in handle.Tokens.ReadAllAsync()) text.Append(token.Text);
        var stats = await handle.Completion;
        Assert.NotEqual(FinishReason.Truncated, stats.FinishReason);
        Assert.Empty(JsonSchemaValidator.Validate(JsonNode.Parse(text.ToString()), schema));

        var json = new TextCompletionRequest { Prompt = "Once", Format = TextCompletionFormat.JsonObject }.Prepare(_model, Limits);
        Assert.IsType<GrammarConstraint>(json.Options.Constraint);
    }
}
