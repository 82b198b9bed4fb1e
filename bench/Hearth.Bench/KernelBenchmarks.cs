using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Hearth.Tensors;

namespace Hearth.Bench;

// Kernel micro-benchmarks, per weight type and per instruction-set path. Quick runs, e.g.:
//   dotnet run -c Release --project bench/Hearth.Bench -- --filter '*RowKernel*' --anyCategories matvec
//   dotnet run -c Release --project bench/Hearth.Bench -- --filter '*MatVec*'
//   dotnet run -c Release --project bench/Hearth.Bench -- --filter '*GemmBenchmarks*'
// The "GB/s" column is weight bytes read per second; "GFLOP/s" counts a multiply-add as two operations.

/// <summary>One weight type × one instruction-set path of the row kernels, called directly (no pool, no dispatch).</summary>
[Config(typeof(KernelConfig))]
public class RowKernelBenchmarks
{
    private const int Rows = 1024, Cols = 4096;
    private KernelBench _bench = null!;

    [ParamsSource(nameof(Types))]
    public GgmlType Type { get; set; }

    /// <summary>Every path this machine runs except the scalar reference (hours at this size).</summary>
    [ParamsSource(nameof(Isas))]
    public string Isa { get; set; } = "";

    public static IEnumerable<GgmlType> Types => KernelBench.WeightTypes;

    public static IEnumerable<string> Isas => KernelIsas.Supported.Where(i => i != KernelIsa.Scalar).Select(i => i.ToString());

    [GlobalSetup]
    public void Setup() => _bench = new KernelBench(Type, Enum.Parse<KernelIsa>(Isa), Rows, Cols, tokens: 32);

    [GlobalCleanup]
    public void Cleanup() => _bench.Dispose();

    /// <summary>Decode: a 1024 × 4096 weight times one activation row.</summary>
    [Benchmark, BenchmarkCategory("matvec")]
    [WeightBytes(Rows, Cols, Tokens = 1)]
    public void MatVec() => _bench.Run(1);

    /// <summary>Prompt: the same weight times 32 activation rows (four-token tiles, rows in cache-sized groups).</summary>
    [Benchmark, BenchmarkCategory("batch")]
    [WeightBytes(Rows, Cols, Tokens = 32)]
    public void Batch32() => _bench.Run(32);
}

/// <summary>The public entry point end to end (activation quantization, dispatch, pool hand-over) for a 4096 × 4096 weight.</summary>
[Config(typeof(KernelConfig))]
public class MatVecBenchmarks
{
    private const int Rows = 4096, Cols = 4096;
    private byte[] _weights = [];
    private float[] _x = [];
    private float[] _y = [];
    private ComputePool? _pool;

    [Params(GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _weights = KernelBench.RandomWeights(Type, Rows, Cols);
        _x = KernelBench.RandomFloats(Cols * 128, seed: 2);
        _y = new float[Rows * 128];
        _pool = new ComputePool(Threads);
    }

    [GlobalCleanup]
    public void Cleanup() => _pool?.Dispose();

    [Benchmark]
    [WeightBytes(Rows, Cols, Tokens = 1)]
    public void MatVec() => MatMul.Multiply(_weights, Type, Rows, Cols, _x.AsSpan(0, Cols), 1, _y, _pool);

    [Benchmark]
    [WeightBytes(Rows, Cols, Tokens = 8)]
    public void Batch8() => MatMul.Multiply(_weights, Type, Rows, Cols, _x.AsSpan(0, 8 * Cols), 8, _y, _pool);

    /// <summary>A prompt batch: the GEMM for the types that have one.</summary>
    [Benchmark]
    [WeightBytes(Rows, Cols, Tokens = 128)]
    public void Batch128() => MatMul.Multiply(_weights, Type, Rows, Cols, _x, 128, _y, _pool);
}

/// <summary>
/// One weight type × one instruction-set path of the batch kernels, called directly: the prompt GEMM over a ready
/// token panel (128 tokens), and the exact few-token kernel (one token) of the 32-element block types.
/// </summary>
[Config(typeof(KernelConfig))]
public unsafe class GemmBenchmarks
{
    private const int Rows = 1024, Cols = 4096, Tokens = 128;
    private byte[] _weights = [];
    private byte[] _act = [];
    private byte[] _panel = [];
    private byte[] _scratch = [];
    private float[] _y = [];
    private GemmKernels _kernels;
    private TokenPanel _layout;
    private int _actRowBytes;

    [Params(GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q4_K, GgmlType.Q6_K)]
    public GgmlType Type { get; set; }

    [ParamsSource(nameof(Isas))]
    public string Isa { get; set; } = "";

    public static IEnumerable<string> Isas => GemmIsas.Supported.Where(i => i != GemmIsa.None).Select(i => i.ToString());

    [GlobalSetup]
    public void Setup()
    {
        var traits = TypeTraits.Get(Type);
        _kernels = GemmIsas.Get(Enum.Parse<GemmIsa>(Isa), Type);
        _weights = GC.AllocateArray<byte>((int)Quants.RowBytes(Type, (long)Rows * Cols), pinned: true);
        KernelBench.RandomWeights(Type, Rows, Cols).CopyTo(_weights, 0);
        _actRowBytes = (int)Quants.RowBytes(traits.VecDotType, Cols);
        _act = GC.AllocateArray<byte>(_actRowBytes * Tokens, pinned: true);
        MatMul.ConvertActivations(traits, TypeTraits.Get(traits.VecDotType), KernelBench.RandomFloats(Cols * Tokens, seed: 7), Cols, Tokens, _act, _actRowBytes);
        _y = GC.AllocateArray<float>(Rows * Tokens, pinned: true);
        _scratch = GC.AllocateArray<byte>((int)Math.Max(1, _kernels.ScratchBytes(Cols)), pinned: true);
        _layout = _kernels.Panel(traits.VecDotType, Tokens, Cols);
        _panel = GC.AllocateArray<byte>((int)_layout.TotalBytes, pinned: true);
        byte* p = (byte*)Unsafe.AsPointer(ref _panel[0]);
        for (int t = 0; t < Tokens; t++)
        {
            _layout.AddToken(p, t, (byte*)Unsafe.AsPointer(ref _act[t * _actRowBytes]));
        }

        _layout.ClearPadding(p);
    }

    /// <summary>Prompt: 1024 × 4096 weights times 128 tokens (a type without a GEMM on this path runs nothing).</summary>
    [Benchmark]
    [WeightBytes(Rows, Cols, Tokens = Tokens)]
    public void Prompt128()
    {
        if (!_kernels.HasGemm)
        {
            return;
        }

        var call = new GemmCall
        {
            W = (byte*)Unsafe.AsPointer(ref _weights[0]),
            RowBytes = Quants.RowBytes(Type, Cols),
            Cols = Cols,
            Layout = _layout,
            PanelData = (byte*)Unsafe.AsPointer(ref _panel[0]),
            Y = (float*)Unsafe.AsPointer(ref _y[0]),
            YStride = Rows,
            Scratch = (byte*)Unsafe.AsPointer(ref _scratch[0]),
        };
        _kernels.Gemm(call, 0, Rows);
    }

    /// <summary>Decode: the exact few-token kernel, eight rows per call, one token (K-quants run nothing: their row kernels are exact).</summary>
    [Benchmark]
    [WeightBytes(Rows, Cols, Tokens = 1)]
    public void Decode()
    {
        if (_kernels.Rows.IsEmpty)
        {
            return;
        }

        byte* w = (byte*)Unsafe.AsPointer(ref _weights[0]);
        byte* a = (byte*)Unsafe.AsPointer(ref _act[0]);
        float* y = (float*)Unsafe.AsPointer(ref _y[0]);
        long rowBytes = Quants.RowBytes(Type, Cols);
        for (int r = 0; r < Rows; r += RowsKernels.Width)
        {
            _kernels.Rows.Run(1, w + r * rowBytes, (nint)rowBytes, RowsKernels.Width, a, _actRowBytes, Cols, y + r, Rows);
        }
    }
}

/// <summary>Activation quantization (what every matmul does to its input first), per format and path, for 4096 floats.</summary>
[Config(typeof(KernelConfig))]
public class ActivationQuantizeBenchmarks
{
    private const int N = 4096;
    private float[] _x = [];
    private byte[] _q = [];
    private QuantizeRowKernel _quantize = null!;

    [Params(GgmlType.Q8_0, GgmlType.Q8_1, GgmlType.Q8_K)]
    public GgmlType Format { get; set; }

    [ParamsSource(nameof(Isas))]
    public string Isa { get; set; } = "";

    public static IEnumerable<string> Isas => KernelIsas.Supported.Select(i => i.ToString());

    [GlobalSetup]
    public void Setup()
    {
        _x = KernelBench.RandomFloats(N, seed: 3);
        _q = new byte[Quants.RowBytes(Format, N)];
        _quantize = ActivationQuantizers.Get(Enum.Parse<KernelIsa>(Isa), Format)!;
    }

    [Benchmark]
    public void Quantize() => _quantize(_x, _q);
}

/// <summary>Shared setup: random weights of a type and a kernel-format activation batch, kept pinned.</summary>
internal sealed unsafe class KernelBench : IDisposable
{
    public static readonly GgmlType[] WeightTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K,
    ];

    private readonly byte[] _weights;
    private readonly byte[] _act;
    private readonly float[] _y;
    private readonly RowKernels _kernels;
    private readonly long _rowBytes;
    private readonly int _actRowBytes;
    private readonly int _rows;
    private readonly int _cols;

    public KernelBench(GgmlType type, KernelIsa isa, int rows, int cols, int tokens)
    {
        var traits = TypeTraits.Get(type);
        _rows = rows;
        _cols = cols;
        _rowBytes = traits.Info.RowBytes(cols);
        _kernels = KernelIsas.Get(isa, type);
        _weights = GC.AllocateArray<byte>((int)(_rowBytes * rows), pinned: true);
        RandomWeights(type, rows, cols).CopyTo(_weights, 0);
        _actRowBytes = (int)GgmlTypes.Get(traits.KernelActType).RowBytes(cols);
        _act = GC.AllocateArray<byte>(_actRowBytes * tokens, pinned: true);
        var x = RandomFloats(cols * tokens, seed: 5);
        MatMul.ConvertActivations(traits, TypeTraits.Get(traits.VecDotType), x, cols, tokens, _act, _actRowBytes);
        if (type == GgmlType.F32)
        {
            Buffer.BlockCopy(x, 0, _act, 0, _act.Length);
        }

        _y = GC.AllocateArray<float>(rows * tokens, pinned: true);
    }

    public void Run(int tokens)
    {
        byte* w = (byte*)Unsafe.AsPointer(ref _weights[0]);
        byte* a = (byte*)Unsafe.AsPointer(ref _act[0]);
        float* y = (float*)Unsafe.AsPointer(ref _y[0]);
        MatMulJob.ComputeRows(_kernels, w, _rowBytes, 0, _rows, _rows, _cols, a, _actRowBytes, tokens, y);
    }

    public void Dispose()
    {
    }

    public static byte[] RandomWeights(GgmlType type, int rows, int cols)
    {
        var w = new byte[Quants.RowBytes(type, (long)rows * cols)];
        var rowBytes = (int)Quants.RowBytes(type, cols);
        var rng = new Random(1);
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < cols; i++)
            {
                row[i] = (float)(rng.NextDouble() - 0.5) * 0.04f;
            }

            Quants.Quantize(type, row, w.AsSpan(r * rowBytes, rowBytes));
        }

        return w;
    }

    public static float[] RandomFloats(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[i] = (float)(rng.NextDouble() - 0.5);
        }

        return x;
    }
}

/// <summary>Marks a benchmark with the weight matrix it streams, for the GB/s and GFLOP/s columns.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class WeightBytesAttribute(int rows, int cols) : Attribute
{
    public int Rows { get; } = rows;

    public int Cols { get; } = cols;

    public int Tokens { get; set; } = 1;
}

/// <summary>Short runs (these are for comparing paths, not for publishing) plus the throughput columns.</summary>
public sealed class KernelConfig : ManualConfig
{
    public KernelConfig()
    {
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(8).WithLaunchCount(1));
        AddColumn(new ThroughputColumn(gigaBytes: true), new ThroughputColumn(gigaBytes: false));
    }
}

/// <summary>
/// Weight bytes per second (GB/s) or multiply-adds × 2 per second (GFLOP/s) from the benchmark's
/// <see cref="WeightBytesAttribute"/>, its Type parameter and the measured mean.
/// </summary>
public sealed class ThroughputColumn(bool gigaBytes) : IColumn
{
    public string Id => gigaBytes ? "WeightGBps" : "GFlops";

    public string ColumnName => gigaBytes ? "GB/s" : "GFLOP/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => gigaBytes ? 0 : 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => gigaBytes ? "Weight bytes read per second (10^9)" : "2 × multiply-adds per second (10^9)";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var shape = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttributes(typeof(WeightBytesAttribute), false)
            .OfType<WeightBytesAttribute>().FirstOrDefault();
        var type = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Type")?.Value;
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (shape is null || type is not GgmlType t || meanNs is not > 0)
        {
            return "-";
        }

        double seconds = meanNs.Value * 1e-9;
        double value = gigaBytes
            ? Quants.RowBytes(t, (long)shape.Rows * shape.Cols) / seconds / 1e9
            : 2.0 * shape.Rows * shape.Cols * shape.Tokens / seconds / 1e9;
        return value.ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
    }
}
