using BenchmarkDotNet.Attributes;
using Hearth.Sampling;

namespace Hearth.Bench;

/// <summary>One sampling step over a 150k vocabulary (Qwen-sized), greedy and with the default chain.</summary>
[MemoryDiagnoser]
public class SamplerBenchmarks
{
    private float[] _logits = [];
    private Sampler _greedy = null!;
    private Sampler _chain = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(2);
        _logits = Enumerable.Range(0, 151936).Select(_ => (float)(rng.NextDouble() * 20 - 10)).ToArray();
        _greedy = new Sampler(_logits.Length, SamplerOptions.Greedy);
        _chain = new Sampler(_logits.Length, new SamplerOptions { Seed = 1 });
    }

    [Benchmark]
    public int Greedy() => _greedy.Sample(_logits);

    [Benchmark]
    public int DefaultChain() => _chain.Sample(_logits);
}
