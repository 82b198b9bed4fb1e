using Hearth.Models;

namespace Hearth.Tests.Models;

/// <summary>
/// One decode step for several sequences must give every sequence exactly (bit for bit) what it gets alone: this is
/// what lets a server batch requests without changing their answers.
/// </summary>
public sealed class MultiSequenceDecodeTests
{
    public static TheoryData<string, string> Models() => new()
    {
        { "parity-llama-untied.Q4_K_M.gguf", "f32" },
        { "parity-llama-untied.Q8_0.gguf", "f16" },
        { "parity-qwen2.Q4_0.gguf", "f32" },
        { "parity-qwen3.Q6_K.gguf", "f32" },
        { "parity-gemma2.F16.gguf", "f16" },
        { "parity-gemma3.Q8_0.gguf", "f32" },
        { "parity-phi3.Q4_K_M.gguf", "f32" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void BatchedDecodeStepIsBitIdenticalToEachSequenceAlone(string file, string cache)
    {
        using var model = LanguageModel.Load(TestData.Path("golden", "models", file), new ModelLoadOptions { Threads = 2, Context = 64 });
        var type = cache == "f16" ? KvCacheType.F16 : KvCacheType.F32;
        int vocab = model.Transformer.VocabSize;
        int[][] prompts = [[1, 5, 9, 33, 7], [1, 70], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13], [1]];
        int[] next = [11, 12, 13, 14];

        // Alone: each sequence prefilled, then one token forward.
        var alone = new float[prompts.Length][];
        for (int i = 0; i < prompts.Length; i++)
        {
            var s = model.CreateState(64, type);
            var logits = new float[vocab];
            model.Transformer.Forward(s, prompts[i], logits, allLogits: false, model.Pool);
            model.Transformer.Forward(s, next.AsSpan(i, 1), logits, allLogits: false, model.Pool);
            alone[i] = logits;
        }

        // Together: the same prefills, then one batched step for all four.
        var states = prompts.Select(p =>
        {
            var s = model.CreateState(64, type);
            model.Transformer.Forward(s, p, new float[vocab], allLogits: false, model.Pool);
            return s;
        }).ToArray();
        var scratch = model.CreateState(1, KvCacheType.F32, batchSize: 4);
        var batched = new float[4 * vocab];
        model.Transformer.ForwardSequences(scratch, states, next, batched, model.Pool);

        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(prompts[i].Length + 1, states[i].Position);
            Assert.True(alone[i].AsSpan().SequenceEqual(batched.AsSpan(i * vocab, vocab)), $"sequence {i} differs from its solo run");
        }
    }

    [Fact]
    public void MalformedBatchesAreRefused()
    {
        using var model = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 1 });
        int vocab = model.Transformer.VocabSize;
        var a = model.CreateState(4);
        var b = model.CreateState(4);
        var scratch = model.CreateState(1, batchSize: 2);
        var logits = new float[3 * vocab];
        Assert.Throws<ArgumentException>(() => model.Transformer.ForwardSequences(scratch, [a, b], [1], logits, model.Pool));
        Assert.Throws<ArgumentException>(() => model.Transformer.ForwardSequences(scratch, [a, a], [1, 2], logits, model.Pool));
        Assert.Throws<ArgumentException>(() => model.Transformer.ForwardSequences(scratch, [a, b, model.CreateState(4)], [1, 2, 3], logits, model.Pool));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Transformer.ForwardSequences(scratch, [a, b], [1, vocab + 5], logits, model.Pool));
        var full = model.CreateState(2);
        model.Transformer.Forward(full, [1, 2], new float[vocab], allLogits: false, model.Pool);
        Assert.Throws<ContextOverflowException>(() => model.Transformer.ForwardSequences(scratch, [a, full], [1, 2], logits, model.Pool));
    }
}
