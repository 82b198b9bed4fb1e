using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Tests.Generation;

/// <summary>End to end on the one trained model: the reference's greedy text, stop strings, limits and seeds.</summary>
public sealed class StoriesGenerationTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public StoriesGenerationTests(ModelFixture fixture) => _model = fixture.Model;

    public sealed class ModelFixture : IDisposable
    {
        public LanguageModel Model { get; } = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 2 });

        public void Dispose() => Model.Dispose();
    }

    private static (int[] Ids, string Text) Reference()
    {
        var lines = File.ReadAllText(TestData.Path("golden", "stories260K.greedy64.txt"));
        int idsAt = lines.IndexOf("ids: ", StringComparison.Ordinal);
        int textAt = lines.IndexOf("\ntext: ", StringComparison.Ordinal);
        var ids = lines[(idsAt + 5)..textAt].Split(',').Select(int.Parse).ToArray();
        var text = lines[(textAt + 7)..];
        return (ids, text.EndsWith('\n') ? text[..^1] : text);
    }

    [Fact]
    public void GreedyContinuationFromBosIsTheReferenceText()
    {
        var (ids, text) = Reference();
        Assert.Equal(1, ids[0]);
        var gen = new TextGenerator(_model);
        var output = string.Concat(gen.Generate([ids[0]], new GenerationOptions { MaxTokens = ids.Length - 1, Sampling = SamplerOptions.Greedy }));
        Assert.Equal(ids[1..], gen.GeneratedTokens);
        Assert.Equal(text, output);
        Assert.Equal(FinishReason.Length, gen.Stats.FinishReason);
        Assert.Equal(ids.Length - 1, gen.Stats.GeneratedTokens);

        // Time to first token: after the prompt pass, before the end of the generation.
        Assert.InRange(gen.Stats.FirstTokenTime, gen.Stats.PromptTime, gen.Stats.PromptTime + gen.Stats.GenerationTime);
        Assert.True(gen.Stats.FirstTokenTime > TimeSpan.Zero);
    }

    [Fact]
    public void StopStringEndsGenerationAndIsNotReturned()
    {
        var (_, text) = Reference();
        var gen = new TextGenerator(_model);
        var output = string.Concat(gen.Generate([1], new GenerationOptions { MaxTokens = 64, Stop = ["little girl"], Sampling = SamplerOptions.Greedy }));
        Assert.Equal(text[..text.IndexOf("little girl", StringComparison.Ordinal)], output);
        Assert.Equal(FinishReason.Stop, gen.Stats.FinishReason);
    }

    [Fact]
    public void SameSeedGivesSameTextAndDifferentSeedsDiffer()
    {
        string Run(ulong seed) => string.Concat(new TextGenerator(_model).Generate("Once upon a time", new GenerationOptions
        {
            MaxTokens = 40,
            Sampling = new SamplerOptions { Temperature = 1.0f, TopK = 0, TopP = 1f, MinP = 0f, Seed = seed },
        }));

        var a = Run(42);
        Assert.Equal(a, Run(42));
        var others = new[] { Run(1), Run(2), Run(3) };
        Assert.Contains(others, o => o != a);
    }

    [Fact]
    public void PromptLongerThanTheContextIsAClearError()
    {
        var gen = new TextGenerator(_model, context: 8);
        var e = Assert.Throws<ContextOverflowException>(() => gen.Generate(Enumerable.Repeat(5, 9).ToArray(), new GenerationOptions()).ToList());
        Assert.Contains("context", e.Message);
    }

    [Fact]
    public void GenerationStopsWhenTheContextIsFull()
    {
        var gen = new TextGenerator(_model, context: 10);
        _ = gen.Generate([1], new GenerationOptions { MaxTokens = -1, Sampling = SamplerOptions.Greedy, IgnoreEndOfGeneration = true }).ToList();
        Assert.Equal(FinishReason.ContextFull, gen.Stats.FinishReason);
        Assert.Equal(10, gen.GeneratedTokens.Count);
    }

    [Fact]
    public void BatchedPrefillGivesTheSameLogitsAsOneTokenAtATime()
    {
        int[] tokens = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376];
        var all = _model.EvaluateAll(tokens);
        var state = _model.CreateState(16, batchSize: 1);
        var one = new float[_model.Transformer.VocabSize];
        for (int i = 0; i < tokens.Length; i++)
        {
            _model.Transformer.Forward(state, tokens.AsSpan(i, 1), one, allLogits: false, _model.Pool);
            var batched = all.AsSpan(i * one.Length, one.Length);
            for (int v = 0; v < one.Length; v++) Assert.Equal(batched[v], one[v], 4);
        }
    }

    [Fact]
    public void TokenIdsOutsideTheVocabularyAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => _model.EvaluateAll([1, 512]));
        Assert.Contains("512", e.Message);
    }
}
