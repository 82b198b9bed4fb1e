using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Tests.Models;

/// <summary>The decode loop (forward one token, sample the next) allocates no managed memory.</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData("models/stories260K.gguf", 1)]
    [InlineData("models/stories260K.gguf", 2)]
    [InlineData("golden/models/parity-gemma3.Q4_K_M.gguf", 1)]
    [InlineData("golden/models/parity-phi3.Q8_0.gguf", 2)]
    [InlineData("golden/models/parity-qwen2.F16.gguf", 1)]
    public void DecodeStepsAllocateNothing(string model, int threads)
    {
        using var lm = LanguageModel.Load(TestData.Path(model.Split('/')), new ModelLoadOptions { Threads = threads, Context = 512 });
        var state = lm.CreateState(512, KvCacheType.F16);
        var logits = new float[lm.Transformer.VocabSize];
        var sampler = new Sampler(logits.Length, new SamplerOptions { Seed = 1, RepeatPenalty = 1.1f });
        int token = 1;

        void Step()
        {
            lm.Transformer.Forward(state, [token], logits, allLogits: false, lm.Pool);
            token = sampler.Sample(logits);
            sampler.Accept(token);
        }

        // Warm-up: lazy buffers, and enough calls (and time) for the JIT to finish tiering, which allocates on its own.
        for (int i = 0; i < 200; i++) Step();
        Thread.Sleep(300);
        for (int i = 0; i < 50; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 48; i++) Step();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
    }
}
