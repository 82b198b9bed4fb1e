using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Models;

/// <summary>
/// A weight tensor living in the memory-mapped model file. Shape follows ggml: <see cref="Shape"/>[0] is the
/// contiguous row length (the input width of a matrix), the rest multiply into the row count.
/// </summary>
public sealed unsafe class Weight
{
    internal Weight(GgufTensorInfo info, byte* data)
    {
        Name = info.Name;
        Type = info.Type;
        Shape = info.Shape;
        Pointer = data;
        ByteSize = info.ByteSize;
        Rows = checked((int)info.RowCount);
        Cols = checked((int)info.RowLength);
    }

    public string Name { get; }

    public GgmlType Type { get; }

    public long[] Shape { get; }

    /// <summary>First byte of the data inside the mapping.</summary>
    public byte* Pointer { get; }

    public long ByteSize { get; }

    /// <summary>Row length (ne[0]): the input width when the weight is used as a matrix.</summary>
    public int Cols { get; }

    /// <summary>Row count: the output width when the weight is used as a matrix.</summary>
    public int Rows { get; }

    public ReadOnlySpan<byte> Bytes => new(Pointer, checked((int)ByteSize));

    /// <summary>Bytes of one row.</summary>
    public ReadOnlySpan<byte> RowBytes(int row)
    {
        long rowBytes = GgmlTypes.Get(Type).RowBytes(Cols);
        return new ReadOnlySpan<byte>(Pointer + row * rowBytes, checked((int)rowBytes));
    }

    /// <summary>Dequantizes one row into <paramref name="dst"/> (length <see cref="Cols"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ReadRow(int row, Span<float> dst)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} of '{Name}' (rows: {Rows})");
        Quants.Dequantize(Type, RowBytes(row), dst[..Cols]);
    }

    /// <summary>
    /// The tensor as floats. F32 data is returned in place (no copy); other types are dequantized into a new array,
    /// which is meant for small vectors (norms, biases, RoPE factors) only.
    /// </summary>
    public ReadOnlyMemory<float> ToFloats()
    {
        long n = Shape.Aggregate(1L, (a, b) => a * b);
        if (Type == GgmlType.F32) return new MappedFloats(this, (int)n).Memory;
        var result = new float[n];
        Quants.Dequantize(Type, Bytes, result);
        return result;
    }

    /// <summary>y[t] = W · x[t] for each of <paramref name="nTokens"/> rows of x (x: [nTokens][Cols], y: [nTokens][Rows]).</summary>
    public void Multiply(ReadOnlySpan<float> x, int nTokens, Span<float> y, ComputePool? pool) =>
        MatMul.Multiply(Pointer, ByteSize, Type, Rows, Cols, x, nTokens, y, pool);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>Exposes F32 tensor data in the mapping as <see cref="Memory{T}"/> without copying.</summary>
    private sealed class MappedFloats(Weight owner, int length) : MemoryManager<float>
    {
        public override Span<float> GetSpan() => new((float*)owner.Pointer, length);

        public override MemoryHandle Pin(int elementIndex = 0) => new((float*)owner.Pointer + elementIndex);

        public override void Unpin() { }

        protected override void Dispose(bool disposing) { }
    }
}

/// <summary>Looks up tensors by name and checks their shapes, so that a bad file fails at load with a clear message.</summary>
public sealed unsafe class WeightBinder
{
    private readonly GgufFile _file;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public WeightBinder(GgufFile file) => _file = file;

    public GgufFile File => _file;

    /// <summary>Names of tensors that were bound.</summary>
    public IReadOnlySet<string> Used => _used;

    /// <summary>A required tensor with exactly the given ggml shape (ne[0] first).</summary>
    /// <exception cref="ModelFormatException">The tensor is missing, misshapen or of a type Hearth cannot compute with.</exception>
    public Weight Require(string name, params long[] shape) =>
        Optional(name, shape) ?? throw new ModelFormatException($"{_file.Path}: tensor '{name}' is missing (expected shape [{string.Join(", ", shape)}])");

    /// <summary>An optional tensor: null when absent; when present it must have the given shape.</summary>
    public Weight? Optional(string name, params long[] shape)
    {
        var info = _file.FindTensor(name);
        if (info == null) return null;
        var actual = info.Shape.AsEnumerable();
        // ggml drops trailing dimensions of 1 in some writers; compare with them trimmed on both sides.
        if (!Trim(info.Shape).SequenceEqual(Trim(shape)))
            throw new ModelFormatException($"{_file.Path}: tensor '{name}' has shape {info.ShapeText}, expected [{string.Join(", ", shape)}]");
        if (!GgmlTypes.Get(info.Type).IsComputable)
            throw new ModelFormatException($"{_file.Path}: tensor '{name}' has type {info.Type}, which Hearth cannot compute with yet");
        _used.Add(name);
        return new Weight(info, _file.TensorPointer(info));
    }

    private static long[] Trim(long[] shape)
    {
        int n = shape.Length;
        while (n > 1 && shape[n - 1] == 1) n--;
        return shape[..n];
    }
}
