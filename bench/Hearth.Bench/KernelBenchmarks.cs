using BenchmarkDotNet.Attributes;
using Hearth.Tensors;

namespace Hearth.Bench;

/// <summary>Matrix-vector products (one token) of a 2048 × 2048 weight, per type: the decode hot path.</summary>
[MemoryDiagnoser]
public class MatVecBenchmarks
{
    private const int Rows = 2048, Cols = 2048;
    private byte[] _weights = [];
    private float[] _x = [];
    private float[] _y = [];

    [Params(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var floats = Enumerable.Range(0, Rows * Cols).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.04f).ToArray();
        _weights = new byte[GgmlTypes.Get(Type).RowBytes(Cols) * Rows];
        Quants.Quantize(Type, floats, _weights);
        _x = Enumerable.Range(0, Cols).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        _y = new float[Rows];
    }

    [Benchmark]
    public void MatVec() => MatMul.Multiply(_weights, Type, Rows, Cols, _x, 1, _y);
}
