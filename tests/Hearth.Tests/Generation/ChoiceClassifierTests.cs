using Hearth.Generation;
using Hearth.Models;

namespace Hearth.Tests.Generation;

public sealed class ChoiceClassifierTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public ChoiceClassifierTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    [Fact]
    public void ProbabilitiesAreTheNormalisedSequenceProbabilities()
    {
        var prompt = _model.Tokenizer.Encode("Once upon a time, there was a little", addSpecial: true);
        string[] choices = ["girl", "dog", "red ball"];
        var result = ChoiceClassifier.Classify(_model, prompt, choices);

        // Independent computation: score each choice by evaluating prompt + choice from scratch in one batch.
        var expected = new double[choices.Length];
        int v = _model.Transformer.VocabSize;
        for (int c = 0; c < choices.Length; c++)
        {
            var seq = _model.Tokenizer.Encode(choices[c], addSpecial: false);
            var all = _model.EvaluateAll([.. prompt, .. seq]);
            double logp = 0;
            for (int i = 0; i < seq.Length; i++)
            {
                var row = all.AsSpan((prompt.Length - 1 + i) * v, v);
                double max = double.NegativeInfinity;
                foreach (var x in row) max = Math.Max(max, x);
                double sum = 0;
                foreach (var x in row) sum += Math.Exp(x - max);
                logp += row[seq[i]] - max - Math.Log(sum);
            }

            expected[c] = logp;
        }

        double m = expected.Max();
        var probs = expected.Select(e => Math.Exp(e - m)).ToArray();
        double total = probs.Sum();
        for (int c = 0; c < choices.Length; c++) Assert.Equal(probs[c] / total, result.Probabilities[c], 4);
        Assert.Equal(Array.IndexOf(probs, probs.Max()), result.Index);
        Assert.Equal(choices[result.Index], result.Choice);
        Assert.Equal(1.0, result.Probabilities.Sum(), 6);
    }

    [Fact]
    public void FewerThanTwoChoicesOrEmptyChoicesAreRejected()
    {
        var prompt = _model.Tokenizer.Encode("Hi", addSpecial: true);
        Assert.ThrowsAny<ArgumentException>(() => ChoiceClassifier.Classify(_model, prompt, ["", "x"]));
    }
}
