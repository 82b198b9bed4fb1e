using System.Numerics.Tensors;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Tensors;

namespace Hearth.Tests.Generation;

public sealed class EmbeddingTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public EmbeddingTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    [Fact]
    public void HiddenStatesTimesTheHeadAreTheLogits()
    {
        // An independent path to the logits: the final hidden states multiplied by the dequantized LM head in float64.
        int[] tokens = [1, 403, 407, 261, 378];
        var logits = _model.EvaluateAll(tokens);
        var state = _model.CreateState(8);
        int e = _model.Transformer.Hp.EmbeddingLength, v = _model.Transformer.VocabSize;
        var hidden = new float[tokens.Length * e];
        _model.Transformer.ForwardHidden(state, tokens, hidden, _model.Pool);
        var head = new float[v * e];
        Quants.Dequantize(_model.Transformer.LmHead.Type, _model.Transformer.LmHead.Bytes, head);
        for (int t = 0; t < tokens.Length; t++)
        {
            for (int r = 0; r < v; r += 37)
            {
                double sum = 0;
                for (int i = 0; i < e; i++) sum += (double)hidden[t * e + i] * head[r * e + i];
                Assert.Equal(logits[t * v + r], sum, 3);
            }
        }
    }

    [Fact]
    public async Task EmbeddingsAreUnitLengthDeterministicAndDistinguishTexts()
    {
        var gen = new HearthEmbeddingGenerator(_model);
        var result = await gen.GenerateAsync(["The cat sat on the mat.", "The cat sat on the mat.", "Tom went to the park to play ball."]);
        Assert.Equal(3, result.Count);
        Assert.Equal(64, result[0].Dimensions);
        Assert.Equal(1.0, TensorPrimitives.Norm(result[0].Vector.Span), 4);
        Assert.Equal(result[0].Vector.ToArray(), result[1].Vector.ToArray());
        Assert.True(TensorPrimitives.CosineSimilarity(result[0].Vector.Span, result[2].Vector.Span) < 0.9999f);
        Assert.True(result.Usage!.InputTokenCount > 10);
    }

    [Fact]
    public void MeanPoolingAveragesTheHiddenStates()
    {
        var gen = new HearthEmbeddingGenerator(_model, EmbeddingPooling.Mean, normalize: false);
        var tokens = _model.Tokenizer.Encode("A small dog", addSpecial: true);
        int e = _model.Transformer.Hp.EmbeddingLength;
        var hidden = new float[tokens.Length * e];
        _model.Transformer.ForwardHidden(_model.CreateState(16), tokens, hidden, _model.Pool);
        var embedding = gen.Embed("A small dog");
        for (int i = 0; i < e; i++)
        {
            double mean = 0;
            for (int t = 0; t < tokens.Length; t++) mean += hidden[t * e + i];
            Assert.Equal(mean / tokens.Length, embedding[i], 4);
        }
    }
}

public sealed class EmbeddingConcurrencyTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public EmbeddingConcurrencyTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    [Fact]
    public async Task ConcurrentCallsGiveTheSameVectorsAsSequentialOnes()
    {
        var gen = new HearthEmbeddingGenerator(_model);
        string[] texts = ["a cat", "the big dog ran", "Lily had a ball", "Tom and the sun"];
        var sequential = texts.Select(gen.Embed).ToArray();
        var parallel = await Task.WhenAll(texts.Select(t => Task.Run(() => gen.Embed(t))));
        for (int i = 0; i < texts.Length; i++) Assert.Equal(sequential[i], parallel[i]);
    }
}
