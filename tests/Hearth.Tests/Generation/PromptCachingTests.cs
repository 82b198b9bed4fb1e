using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Tests.Models;

namespace Hearth.Tests.Generation;

/// <summary>
/// Prompt caching in <see cref="TextGenerator"/> (<see cref="TextGenerator.ReusePrefix"/>, saved prefixes): a generation
/// that reuses computed keys and values must be bit-identical to one that processes its whole prompt in a fresh state.
/// </summary>
public sealed class PromptCachingTests
{
    private static readonly GenerationOptions s_greedy = new() { MaxTokens = 6, Sampling = SamplerOptions.Greedy, IgnoreEndOfGeneration = true };

    private static (int[] Tokens, float[] Logprobs, int[][] Top) Run(TextGenerator generator, int[] prompt)
    {
        var sampled = generator.GenerateTokens(prompt, s_greedy, logprobs: true, topLogprobs: 5).Where(t => t.Token >= 0).ToList();
        return (sampled.Select(t => t.Token).ToArray(), sampled.Select(t => t.Logprob).ToArray(), sampled.Select(t => t.Top!.Select(x => x.Token).ToArray()).ToArray());
    }

    // The common leading tokens of two sequences, counted here rather than by the engine.
    private static int Common(int[] a, int[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }

    private static void AssertSame((int[] Tokens, float[] Logprobs, int[][] Top) expected, (int[] Tokens, float[] Logprobs, int[][] Top) actual)
    {
        Assert.Equal(expected.Tokens, actual.Tokens);
        // Bit for bit: the same floats, not merely close ones.
        Assert.Equal(expected.Logprobs.Select(BitConverter.SingleToInt32Bits), actual.Logprobs.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expected.Top, actual.Top);
    }

    // Quantized and float models of several architectures (sliding windows in Gemma 2 and 3), F32 and F16 caches.
    [Theory]
    [MemberData(nameof(MultiSequenceDecodeTests.Models), MemberType = typeof(MultiSequenceDecodeTests))]
    public void ReusedPrefixesGiveExactlyTheFreshResult(string file, string cache)
    {
        using var model = LanguageModel.Load(TestData.Path("golden", "models", file), new ModelLoadOptions { Threads = 2, Context = 160 });
        var type = cache == "f16" ? KvCacheType.F16 : KvCacheType.F32;
        int vocab = model.Transformer.VocabSize;
        var rng = new SeededRandom(5);
        int[] Random(int n) => Enumerable.Range(0, n).Select(_ => 2 + (int)(rng.NextDouble() * (vocab - 2))).ToArray();
        // A head longer than one prefill batch (64), so reuse starts mid-batch and the rest spans batches too.
        var head = Random(70);
        int[] again = [.. head, .. Random(9)];
        // The fourth is the first again: all but its last token are reused.
        int[][] prompts = [again, [.. head, .. Random(12)], [.. head[..40], .. Random(30)], again, [.. head[..1], .. Random(3)]];

        var fresh = prompts.Select(p => Run(new TextGenerator(model, 160, type), p)).ToArray();

        var cached = new TextGenerator(model, 160, type) { ReusePrefix = true };
        int[] previous = [];
        for (int i = 0; i < prompts.Length; i++)
        {
            var result = Run(cached, prompts[i]);
            AssertSame(fresh[i], result);
            // The state held the previous prompt and the generated tokens that went forward (all but the last).
            var held = i == 0 ? [] : previous.Concat(fresh[i - 1].Tokens[..^1]).ToArray();
            Assert.Equal(Math.Min(Common(held, prompts[i]), prompts[i].Length - 1), cached.Stats.ReusedPromptTokens);
            Assert.Equal(prompts[i].Length, cached.Stats.PromptTokens);
            Assert.Equal(prompts[i].Concat(result.Tokens[..^1]), cached.CachedTokens);
            previous = prompts[i];
        }

        // A continuation of the last conversation (prompt, its output, more text) reuses all of it.
        int[] next = [.. prompts[^1], .. fresh[^1].Tokens, .. Random(5)];
        AssertSame(Run(new TextGenerator(model, 160, type), next), Run(cached, next));
        Assert.Equal(prompts[^1].Length + fresh[^1].Tokens.Length - 1, cached.Stats.ReusedPromptTokens);

        // A saved prefix brought into another generator of the same model.
        Run(cached, prompts[1]);
        var saved = cached.SavePrefix(head.Length);
        Assert.Equal(head, saved.Tokens.ToArray());
        Assert.Equal(head.Length * model.Transformer.Hp.BlockCount * (long)(model.Transformer.Hp.KvWidth + model.Transformer.Hp.ValueWidth) * (type == KvCacheType.F32 ? 4 : 2), saved.ByteSize);
        var other = new TextGenerator(model, 160, type) { ReusePrefix = true };
        Run(other, prompts[4]); // the other generator holds something else first
        other.LoadPrefix(saved, 50);
        Assert.Equal(head.Take(50), other.CachedTokens);
        AssertSame(fresh[2], Run(other, prompts[2]));
        Assert.Equal(40, other.Stats.ReusedPromptTokens);
        other.LoadPrefix(saved, head.Length);
        AssertSame(fresh[0], Run(other, prompts[0]));
        Assert.Equal(head.Length, other.Stats.ReusedPromptTokens);
    }

    [Fact]
    public void WithoutReuseEveryPromptIsProcessedWhole()
    {
        using var model = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 2 });
        var generator = new TextGenerator(model, 64);
        int[] prompt = [1, 40, 41, 42, 43];
        var first = Run(generator, prompt);
        var again = Run(generator, prompt);
        AssertSame(first, again);
        Assert.Equal((5, 0), (generator.Stats.PromptTokens, generator.Stats.ReusedPromptTokens));

        // A loaded prefix is used only when reuse is on.
        var saved = generator.SavePrefix(4);
        generator.LoadPrefix(saved, 4);
        Run(generator, prompt);
        Assert.Equal(0, generator.Stats.ReusedPromptTokens);
        generator.ReusePrefix = true;
        generator.LoadPrefix(saved, 4);
        AssertSame(first, Run(generator, prompt));
        Assert.Equal(4, generator.Stats.ReusedPromptTokens);
    }

    [Fact]
    public void PrefixesAreRefusedWhereTheyDoNotBelong()
    {
        var path = TestData.Path("models", "stories260K.gguf");
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1 });
        using var twin = LanguageModel.Load(path, new ModelLoadOptions { Threads = 1 });
        var generator = new TextGenerator(model, 64) { ReusePrefix = true };
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.SavePrefix(1)); // nothing cached yet
        Run(generator, [1, 40, 41, 42, 43]);
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.SavePrefix(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.SavePrefix(generator.CachedTokens.Count + 1));
        var saved = generator.SavePrefix(generator.CachedTokens.Count);

        // Keys and values belong to the model that computed them, even when another load of the same file asks.
        Assert.Throws<ArgumentException>(() => new TextGenerator(twin, 64).LoadPrefix(saved, 2));
        Assert.Throws<ArgumentException>(() => new TextGenerator(model, 64, KvCacheType.F16).LoadPrefix(saved, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.LoadPrefix(saved, saved.Length + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => generator.LoadPrefix(saved, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextGenerator(model, 4).LoadPrefix(saved, 5));

        // Loading nothing leaves an empty state.
        generator.LoadPrefix(saved, 0);
        Assert.Empty(generator.CachedTokens);
    }
}
