using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Serving;
using Hearth.Tests.Generation;

namespace Hearth.Tests.Serving;

/// <summary>Raw-prompt completions: preparation, limits named by their wire fields, constraints, and running them.</summary>
public sealed class CompletionRequestTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public CompletionRequestTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    private static readonly RequestLimits Limits = new() { MaxPromptTokens = 50, MaxTokens = 100 };

    [Fact]
    public void ThePromptIsTokenizedAsItIsWithBos()
    {
        var prepared = new CompletionRequest { Prompt = "Once upon a time", MaxTokens = 10 }.Prepare(_model, 0, Limits);
        Assert.Equal(_model.Tokenizer.Encode("Once upon a time", addSpecial: true), prepared.Prompt);
        Assert.Equal(10, prepared.Options.MaxTokens);
        Assert.Equal(prepared.Prompt.Length + 10, prepared.Context);
        var noBos = new CompletionRequest { Prompt = "Once upon a time", AddSpecialTokens = false }.Prepare(_model, 0, Limits);
        Assert.Equal(_model.Tokenizer.Encode("Once upon a time", addSpecial: false), noBos.Prompt);
        Assert.Equal(100, noBos.Options.MaxTokens);
    }

    [Fact]
    public void TokenIdsAreUsedAsTheyAreAndChecked()
    {
        Assert.Equal([1, 2, 3], new CompletionRequest { PromptTokens = [1, 2, 3] }.Prepare(_model, 0, Limits).Prompt);
        var e = Assert.Throws<InvalidRequestException>(() => new CompletionRequest { PromptTokens = [1, 1_000_000] }.Prepare(_model, 0, Limits));
        Assert.Equal("prompt", e.Parameter);
        Assert.Equal("prompt", Assert.Throws<InvalidRequestException>(() => new CompletionRequest().Prepare(_model, 0, Limits)).Parameter);
        Assert.Equal("prompt", Assert.Throws<InvalidRequestException>(() => new CompletionRequest { PromptTokens = [] }.Prepare(_model, 0, Limits)).Parameter);
    }

    [Fact]
    public void LimitsAndBadOptionsNameTheirWireField()
    {
        string Field(CompletionRequest r) => Assert.Throws<InvalidRequestException>(() => r.Prepare(_model, 0, Limits)).Parameter;
        var longPrompt = string.Join(' ', Enumerable.Repeat("cat", 80));
        Assert.Equal("prompt", Field(new CompletionRequest { Prompt = longPrompt }));
        Assert.Equal("max_tokens", Field(new CompletionRequest { Prompt = "a", MaxTokens = 101 }));
        Assert.Equal("max_tokens", Field(new CompletionRequest { Prompt = "a", MaxTokens = 0 }));
        Assert.Equal("num_predict", Field(new CompletionRequest { Prompt = "a", MaxTokens = 101, Fields = CompletionFields.Ollama }));
        Assert.Equal("temperature", Field(new CompletionRequest { Prompt = "a", Sampling = new SamplerOptions { Temperature = -1 } }));
        Assert.Equal("top_p", Field(new CompletionRequest { Prompt = "a", Sampling = new SamplerOptions { TopP = 2 } }));
        Assert.Equal("stop", Field(new CompletionRequest { Prompt = "a", Stop = [""] }));
        Assert.Equal("format", Field(new CompletionRequest { Prompt = "a", JsonSchema = JsonNode.Parse("""{"$ref":"#/missing"}"""), Fields = CompletionFields.Ollama }));
    }

    [Fact]
    public void APromptThatFillsTheContextOverflows() =>
        Assert.Throws<ContextOverflowException>(() => new CompletionRequest { Prompt = "Once upon a time there was" }.Prepare(_model, 4, Limits));

    [Fact]
    public async Task AJsonSchemaConstrainsTheOutput()
    {
        const string schema = """{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"],"additionalProperties":false}""";
        var request = new CompletionRequest
        {
            Prompt = "Once upon a time",
            MaxTokens = 60,
            JsonSchema = JsonNode.Parse(schema),
            Sampling = new SamplerOptions { Seed = 3 },
        };
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1, Context = 256 });
        var handle = request.Submit(scheduler, Limits);
        var text = new System.Text.StringBuilder();
        await foreach (var t in handle.Tokens.ReadAllAsync()) text.Append(t.Text);
        var stats = await handle.Completion;
        Assert.NotEqual(FinishReason.Truncated, stats.FinishReason);
        Assert.Empty(JsonSchemaValidator.Validate(JsonNode.Parse(text.ToString()), JsonNode.Parse(schema)!));
    }

    [Fact]
    public async Task ASubmittedCompletionMatchesTheSingleSequenceGenerator()
    {
        var sampling = new SamplerOptions { Seed = 11, Temperature = 0.9f };
        var request = new CompletionRequest { Prompt = "The little dog", MaxTokens = 30, Sampling = sampling, Logprobs = true, TopLogprobs = 2 };
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 2 });
        var handle = request.Submit(scheduler, Limits);
        var text = new System.Text.StringBuilder();
        await foreach (var t in handle.Tokens.ReadAllAsync())
        {
            text.Append(t.Text);
            if (t.Token >= 0) Assert.Equal(2, t.Top!.Length);
        }

        var expected = string.Concat(new TextGenerator(_model).Generate("The little dog", new GenerationOptions { MaxTokens = 30, Sampling = sampling }));
        Assert.Equal(expected, text.ToString());
    }
}

/// <summary>The limits' own checks.</summary>
public sealed class RequestLimitsTests
{
    [Fact]
    public void ResolveCapsTheOutputAndTheContextAndRefusesWhatDoesNotFit()
    {
        var limits = new RequestLimits { MaxPromptTokens = 50, MaxTokens = 20, Context = 100 };
        Assert.Equal((20, 100), limits.Resolve(10));
        Assert.Equal((5, 100), limits.Resolve(10, maxTokens: 5));
        Assert.Equal((20, 100), limits.Resolve(10, maxTokens: 500));
        Assert.Equal((20, 30), limits.Resolve(10, context: 30));
        Assert.Equal((20, 100), limits.Resolve(10, context: 5000));
        Assert.Equal((20, 100), limits.Resolve(50));
        Assert.Equal("prompt", Assert.Throws<InvalidRequestException>(() => limits.Resolve(51)).Parameter);
        Assert.Throws<ContextOverflowException>(() => limits.Resolve(30, context: 30));
        Assert.Throws<ArgumentOutOfRangeException>(() => limits.Resolve(10, maxTokens: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => limits.Resolve(10, maxTokens: -2));
        Assert.Throws<ArgumentOutOfRangeException>(() => limits.Resolve(10, context: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => (limits with { MaxTokens = 0 }).Resolve(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => (limits with { Context = 0 }).Resolve(10));
    }

    [Fact]
    public void MaxTokensDefaultsToTheLimitAndIsBounded()
    {
        var limits = new RequestLimits { MaxTokens = 10, MaxPromptTokens = 5 };
        Assert.Equal(10, limits.ResolveMaxTokens(null, "max_tokens"));
        Assert.Equal(3, limits.ResolveMaxTokens(3, "max_tokens"));
        Assert.Equal("n", Assert.Throws<InvalidRequestException>(() => limits.ResolveMaxTokens(11, "n")).Parameter);
        Assert.Throws<InvalidRequestException>(() => limits.ResolveMaxTokens(-1, "n"));
        Assert.Throws<InvalidRequestException>(() => limits.ResolveMaxTokens(long.MaxValue, "n"));
        limits.CheckPromptTokens(5, "prompt");
        Assert.Contains("6 tokens", Assert.Throws<InvalidRequestException>(() => limits.CheckPromptTokens(6, "prompt")).Message);
    }
}

/// <summary>Durations as servers and command lines write them.</summary>
public sealed class UnitParsingTests
{
    [Theory]
    [InlineData("5m", 300)]
    [InlineData("1h30m", 5400)]
    [InlineData("300", 300)]
    [InlineData("2.5", 2.5)]
    [InlineData("-1", -1)]
    [InlineData("-1m", -60)]
    [InlineData("1.5h", 5400)]
    [InlineData("250ms", 0.25)]
    [InlineData("0", 0)]
    [InlineData(" 10s ", 10)]
    [InlineData("2s500ms", 2.5)]
    [InlineData("+10s", 10)]
    public void DurationsParse(string text, double seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), Durations.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("5x")]
    [InlineData("5 m")]
    [InlineData("1e400")]
    [InlineData("99999999999h")]
    [InlineData("NaN")]
    [InlineData("--5m")]
    [InlineData("5m-3s")]
    [InlineData("five minutes")]
    public void BadDurationsAreFormatErrors(string text) => Assert.Throws<FormatException>(() => Durations.Parse(text));
}
