using Hearth.Sampling;

namespace Hearth.Tests.Sampling;

public sealed class SamplerTests
{
    private static readonly float[] s_logits = [1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f];

    [Fact]
    public void GreedyPicksTheArgMax()
    {
        var s = new Sampler(s_logits.Length, SamplerOptions.Greedy);
        Assert.Equal(1, s.Sample(s_logits));
    }

    [Fact]
    public void RepeatPenaltyDividesPositiveAndMultipliesNegativeLogits()
    {
        // Token 1 (3.0) seen: 3.0 / 1.5 = 2.0, so token 5 (2.9) becomes the best.
        var s = new Sampler(s_logits.Length, SamplerOptions.Greedy with { RepeatPenalty = 1.5f });
        s.Accept(1);
        Assert.Equal(5, s.Sample(s_logits));
        // Token 5 seen too: 2.9 / 1.5 = 1.93 < 2.5, so token 2 wins.
        s.Accept(5);
        Assert.Equal(2, s.Sample(s_logits));
    }

    [Fact]
    public void PresenceAndFrequencyPenaltiesSubtract()
    {
        // 3.0 − (2 × 0.3 + 0.1) = 2.3 < 2.9.
        var s = new Sampler(s_logits.Length, SamplerOptions.Greedy with { FrequencyPenalty = 0.3f, PresencePenalty = 0.1f });
        s.Accept(1);
        s.Accept(1);
        Assert.Equal(5, s.Sample(s_logits));
    }

    [Fact]
    public void PenaltyWindowForgetsOldTokens()
    {
        var s = new Sampler(s_logits.Length, SamplerOptions.Greedy with { RepeatPenalty = 10f, PenaltyLastN = 2 });
        s.Accept(1);
        s.Accept(0);
        s.Accept(0);
        Assert.Equal(1, s.Sample(s_logits));
    }

    [Fact]
    public void TopKOneIsGreedyWhateverTheTemperature()
    {
        var s = new Sampler(s_logits.Length, new SamplerOptions { Temperature = 5f, TopK = 1, Seed = 3 });
        for (int i = 0; i < 50; i++) Assert.Equal(1, s.Sample(s_logits));
    }

    [Fact]
    public void DrawsFollowTheSoftmaxDistribution()
    {
        var s = new Sampler(s_logits.Length, new SamplerOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 11 });
        var counts = new int[s_logits.Length];
        const int draws = 40000;
        for (int i = 0; i < draws; i++) counts[s.Sample(s_logits)]++;
        double max = s_logits.Max();
        var expSum = s_logits.Sum(l => Math.Exp(l - max));
        for (int i = 0; i < s_logits.Length; i++)
        {
            double p = Math.Exp(s_logits[i] - max) / expSum;
            double sigma = Math.Sqrt(p * (1 - p) / draws);
            Assert.InRange(counts[i] / (double)draws, p - 5 * sigma - 1e-4, p + 5 * sigma + 1e-4);
        }
    }

    [Fact]
    public void TopPKeepsTheSmallestSetReachingP()
    {
        // Probabilities (T=1): token1 .35, token5 .32, token2 .21, ... top-p 0.5 keeps {1, 5}.
        var s = new Sampler(s_logits.Length, new SamplerOptions { Temperature = 1f, TopK = 0, TopP = 0.5f, MinP = 0f, Seed = 5 });
        var seen = new HashSet<int>();
        for (int i = 0; i < 2000; i++) seen.Add(s.Sample(s_logits));
        Assert.Equal(new HashSet<int> { 1, 5 }, seen);
    }

    [Fact]
    public void MinPDropsTokensFarBelowTheBest()
    {
        // p(token) / p(best) = exp(l − 3); min-p 0.5 keeps l ≥ 3 + ln 0.5 = 2.307: tokens 1, 5, 2.
        var s = new Sampler(s_logits.Length, new SamplerOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0.5f, Seed = 9 });
        var seen = new HashSet<int>();
        for (int i = 0; i < 3000; i++) seen.Add(s.Sample(s_logits));
        Assert.Equal(new HashSet<int> { 1, 5, 2 }, seen);
    }

    [Fact]
    public void SameSeedSameDraws()
    {
        var o = new SamplerOptions { Temperature = 1.3f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 77 };
        var a = new Sampler(s_logits.Length, o);
        var b = new Sampler(s_logits.Length, o);
        for (int i = 0; i < 200; i++) Assert.Equal(a.Sample(s_logits), b.Sample(s_logits));
    }

    [Fact]
    public void MaskedTokensAreNeverChosenAndAnEmptyMaskIsAnError()
    {
        var s = new Sampler(s_logits.Length, SamplerOptions.Greedy);
        var allowed = new bool[s_logits.Length];
        allowed[3] = true;
        allowed[4] = true;
        Assert.Equal(4, s.Sample(s_logits, allowed));
        Assert.Throws<InvalidOperationException>(() => s.Sample(s_logits, new bool[s_logits.Length]));
    }

    [Theory]
    [InlineData(-1f, 0.9f, 0f, 1f)]
    [InlineData(1f, 1.5f, 0f, 1f)]
    [InlineData(1f, 0.9f, -0.1f, 1f)]
    [InlineData(1f, 0.9f, 0f, 0f)]
    public void InvalidOptionsAreRejected(float temp, float topP, float minP, float repeat)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sampler(4, new SamplerOptions { Temperature = temp, TopP = topP, MinP = minP, RepeatPenalty = repeat }));
    }
}
