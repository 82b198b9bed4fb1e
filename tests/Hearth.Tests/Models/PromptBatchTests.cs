using Hearth.Models;

namespace Hearth.Tests.Models;

/// <summary>
/// A prompt evaluated as one batch (prompt GEMM, batched attention) gives every position exactly (bit for bit) the logits
/// it gets when the tokens are evaluated one at a time: the batch kernels reproduce the scalar reference's bits, and
/// attention scores every position with the same arithmetic whatever the batch. So splitting or merging prefill chunks
/// never changes an answer.
/// </summary>
public sealed class PromptBatchTests
{
    public static TheoryData<string, string> Models() => new()
    {
        { "parity-llama-untied.Q4_K_M.gguf", "f32" },
        { "parity-llama-tied.Q8_0.gguf", "f32" },
        { "parity-llama-tied.Q4_0.gguf", "f16" },
        { "parity-qwen2.Q4_0.gguf", "f32" },
        { "parity-qwen3.Q6_K.gguf", "f32" },
        { "parity-gemma2.Q8_0.gguf", "f32" },
        { "parity-gemma3.Q4_K_M.gguf", "f32" },
        { "parity-phi3.Q4_K_M.gguf", "f32" },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void APromptBatchGivesTheSameBitsAsOneTokenAtATime(string file, string cache)
    {
        using var model = LanguageModel.Load(TestData.Path("golden", "models", file), new ModelLoadOptions { Threads = 2, Context = 64 });
        var type = cache == "f16" ? KvCacheType.F16 : KvCacheType.F32;
        int vocab = model.Transformer.VocabSize;
        int[] prompt = Enumerable.Range(0, 37).Select(i => 1 + (i * 7919) % (vocab - 1)).ToArray();

        var batched = new float[prompt.Length * vocab];
        model.Transformer.Forward(model.CreateState(64, type, batchSize: prompt.Length), prompt, batched, allLogits: true, model.Pool);

        var state = model.CreateState(64, type, batchSize: 1);
        var one = new float[vocab];
        for (int t = 0; t < prompt.Length; t++)
        {
            model.Transformer.Forward(state, prompt.AsSpan(t, 1), one, allLogits: false, model.Pool);
            Assert.True(one.AsSpan().SequenceEqual(batched.AsSpan(t * vocab, vocab)), $"{file}: position {t} differs between the batch and one token at a time");
        }
    }
}
