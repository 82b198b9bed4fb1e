using Hearth.Generation;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Serving;

namespace Hearth.Tests.Serving;

/// <summary>Per-request LoRA adapters in the batching scheduler: every request gets exactly what it gets alone.</summary>
public sealed class SchedulerAdapterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-lora-").FullName;
    private readonly LanguageModel _model = LanguageModel.Load(TestData.Path("golden", "models", "parity-llama-untied.F32.gguf"), new ModelLoadOptions { Threads = 2 });

    public void Dispose()
    {
        _model.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>A second adapter for the parity model (rank 4, alpha 8, on attn_v and ffn_down) with seeded random values.</summary>
    internal static string WriteSecondAdapter(string dir)
    {
        var rng = new Random(77);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.2f).ToArray();
        var path = Path.Combine(dir, "second.gguf");
        new GgufWriter()
            .Set("general.architecture", "llama")
            .Set("general.type", "adapter")
            .Set("adapter.type", "lora")
            .Set("adapter.lora.alpha", 8f)
            .AddTensor("blk.0.attn_v.weight.lora_a", [256, 4], Random(256 * 4))
            .AddTensor("blk.0.attn_v.weight.lora_b", [4, 64], Random(4 * 64))
            .AddTensor("blk.1.ffn_down.weight.lora_a", [768, 4], Random(768 * 4))
            .AddTensor("blk.1.ffn_down.weight.lora_b", [4, 256], Random(4 * 256))
            .Write(path);
        return path;
    }

    private static GenerationOptions Options(ulong seed) => new()
    {
        MaxTokens = 24,
        IgnoreEndOfGeneration = true,
        Sampling = new SamplerOptions { Seed = seed, Temperature = 0.8f },
    };

    [Fact]
    public async Task ConcurrentRequestsWithDifferentAdaptersGiveWhatEachGetsAlone()
    {
        using var a = LoraAdapter.Load(TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf"), _model.Transformer);
        using var b = LoraAdapter.Load(WriteSecondAdapter(_dir), _model.Transformer);
        ActiveAdapter[][] sets =
        [
            [],
            [new(a, 1f)],
            [new(a, 0.5f)],
            [new(a, 1f), new(b, 1f)],
            [new(a, 1f)],
            [],
        ];
        int[][] prompts = [[1, 15, 27, 100], [1, 200, 300], [1, 42, 7, 511, 3], [1, 64, 128], [1, 99, 98, 97], [1, 5]];

        var expected = new List<int>[sets.Length];
        for (int i = 0; i < sets.Length; i++)
        {
            var gen = new TextGenerator(_model, context: 128);
            gen.SetAdapters(sets[i]);
            _ = gen.GenerateTokens(prompts[i], Options((ulong)i)).ToList();
            expected[i] = gen.GeneratedTokens.ToList();
        }

        // The adapters change the output, so the comparison below can tell them apart.
        Assert.NotEqual(expected[0], new List<int>(RunAlone(prompts[0], [new(a, 1f)], 0)));
        Assert.NotEqual(expected[1], new List<int>(RunAlone(prompts[1], [new(a, 0.5f)], 1)));

        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 6, Context = 128, PrefillChunk = 2 });
        var handles = sets.Select((s, i) => scheduler.Submit(new SequenceRequest { Prompt = prompts[i], Options = Options((ulong)i), Adapters = s })).ToArray();
        for (int i = 0; i < handles.Length; i++)
        {
            var tokens = new List<int>();
            await foreach (var t in handles[i].Tokens.ReadAllAsync())
            {
                if (t.Token >= 0) tokens.Add(t.Token);
            }

            Assert.Equal(expected[i], tokens);
        }

        // A slot that ran with adapters runs the next request on the base model.
        var after = new List<int>();
        await foreach (var t in scheduler.Submit(new SequenceRequest { Prompt = prompts[0], Options = Options(0) }).Tokens.ReadAllAsync()) after.Add(t.Token);
        Assert.Equal(expected[0], after.Where(t => t >= 0).ToList());
    }

    private List<int> RunAlone(int[] prompt, ActiveAdapter[] adapters, ulong seed)
    {
        var gen = new TextGenerator(_model, context: 128);
        gen.SetAdapters(adapters);
        _ = gen.GenerateTokens(prompt, Options(seed)).ToList();
        return gen.GeneratedTokens.ToList();
    }

    [Fact]
    public void BatchedStepsOfOneAdapterSetAreBitIdenticalAndMixedSetsAreRefused()
    {
        using var a = LoraAdapter.Load(TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf"), _model.Transformer);
        var t = _model.Transformer;
        int vocab = t.VocabSize;
        var alone = new float[2 * vocab];
        var states = new InferenceState[2];
        int[] prompt = [1, 15, 27];
        for (int i = 0; i < 2; i++)
        {
            states[i] = _model.CreateState(16);
            states[i].SetAdapters([new ActiveAdapter(a, 0.75f)]);
            var l = new float[vocab];
            t.Forward(states[i], prompt.AsSpan(0, 2 + i), l, allLogits: false, _model.Pool);
            var copy = _model.CreateState(16);
            copy.SetAdapters([new ActiveAdapter(a, 0.75f)]);
            t.Forward(copy, prompt.AsSpan(0, 2 + i), l, allLogits: false, _model.Pool);
            t.Forward(copy, [40 + i], alone.AsSpan(i * vocab, vocab), allLogits: false, _model.Pool);
        }

        var scratch = _model.CreateState(1, KvCacheType.F32, 2);
        var batched = new float[2 * vocab];
        t.ForwardSequences(scratch, states, [40, 41], batched, _model.Pool);
        Assert.Equal(alone, batched);
        Assert.Empty(scratch.Adapters.ToArray());

        using (var other = LanguageModel.Load(TestData.Path("golden", "models", "parity-llama-untied.F16.gguf"), new ModelLoadOptions { Threads = 1 }))
        using (var scheduler = new SequenceScheduler(other, new SchedulerOptions { Parallel = 1, Context = 16 }))
        {
            // An adapter is bound to the model it was validated against.
            Assert.Throws<ArgumentException>(() => scheduler.Submit(new SequenceRequest { Prompt = [1], Options = Options(0), Adapters = [new ActiveAdapter(a, 1f)] }));
            Assert.Throws<ArgumentException>(() => new TextGenerator(other).SetAdapters([new ActiveAdapter(a, 1f)]));
        }

        states[1].SetAdapters([new ActiveAdapter(a, 0.5f)]);
        Assert.Throws<ArgumentException>(() => t.ForwardSequences(scratch, states, [1, 2], batched, _model.Pool));
    }
}
