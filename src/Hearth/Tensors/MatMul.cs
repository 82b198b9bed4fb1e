using System.Buffers;
using System.Runtime.InteropServices;

namespace Hearth.Tensors;

/// <summary>
/// Matrix multiplication of a (quantized) weight matrix with a batch of float activation rows, the way ggml's CPU
/// backend does it: each activation row is first converted to the weight type's pairing type
/// (<see cref="Quants.VecDotType"/>), then every output is one <see cref="Quants.Dot"/> of a weight row with a converted
/// activation row.
/// </summary>
public static class MatMul
{
    /// <summary>
    /// <c>y[t, r] = dot(weights[r, :], x[t, :])</c> for every token <c>t &lt; nTokens</c> and row <c>r &lt; rows</c>.
    /// </summary>
    /// <param name="weights">[rows, cols] of <paramref name="type"/>, ne[0] = cols contiguous; at least <c>rows * RowBytes(cols)</c> bytes.</param>
    /// <param name="type">The weight type; see <see cref="Quants.IsSupported"/>.</param>
    /// <param name="rows">Output features (weight rows).</param>
    /// <param name="cols">Input features; a multiple of the block size of the weight type and of its pairing type.</param>
    /// <param name="x">[nTokens, cols] activations, row-major; at least <c>nTokens * cols</c> floats.</param>
    /// <param name="nTokens">Activation rows.</param>
    /// <param name="y">[nTokens, rows] outputs, row-major; at least <c>nTokens * rows</c> floats.</param>
    /// <param name="pool">Threads to split the weight rows over; null runs on the calling thread. Its scratch buffer holds the converted activations.</param>
    /// <exception cref="ArgumentException">A size or count is inconsistent; the message says which.</exception>
    /// <exception cref="NotSupportedException">The weight type cannot be computed with.</exception>
    public static unsafe void Multiply(ReadOnlySpan<byte> weights, GgmlType type, int rows, int cols, ReadOnlySpan<float> x, int nTokens,
        Span<float> y, ComputePool? pool = null)
    {
        fixed (byte* w = weights)
        {
            MultiplyCore(w, weights.Length, type, rows, cols, x, nTokens, y, scratch: default, useScratch: false, pool);
        }
    }

    /// <summary>
    /// As <see cref="Multiply(ReadOnlySpan{byte}, GgmlType, int, int, ReadOnlySpan{float}, int, Span{float}, ComputePool?)"/>,
    /// converting the activations into the caller's <paramref name="scratch"/> (at least <see cref="ScratchBytes"/> bytes).
    /// </summary>
    public static unsafe void Multiply(ReadOnlySpan<byte> weights, GgmlType type, int rows, int cols, ReadOnlySpan<float> x, int nTokens,
        Span<float> y, Span<byte> scratch, ComputePool? pool = null)
    {
        fixed (byte* w = weights)
        {
            MultiplyCore(w, weights.Length, type, rows, cols, x, nTokens, y, scratch, useScratch: true, pool);
        }
    }

    /// <summary>
    /// As <see cref="Multiply(ReadOnlySpan{byte}, GgmlType, int, int, ReadOnlySpan{float}, int, Span{float}, ComputePool?)"/>
    /// for weights addressed by pointer (a memory-mapped tensor larger than a span can describe).
    /// </summary>
    /// <param name="weights">Start of the weight matrix; must stay valid for the duration of the call.</param>
    /// <param name="weightBytes">Bytes readable from <paramref name="weights"/>.</param>
    /// <param name="type">The weight type.</param>
    /// <param name="rows">Output features (weight rows).</param>
    /// <param name="cols">Input features.</param>
    /// <param name="x">[nTokens, cols] activations.</param>
    /// <param name="nTokens">Activation rows.</param>
    /// <param name="y">[nTokens, rows] outputs.</param>
    /// <param name="pool">Threads to split the rows over, or null.</param>
    public static unsafe void Multiply(byte* weights, long weightBytes, GgmlType type, int rows, int cols, ReadOnlySpan<float> x, int nTokens,
        Span<float> y, ComputePool? pool = null)
    {
        if (weights == null && weightBytes != 0)
        {
            throw new ArgumentNullException(nameof(weights));
        }

        MultiplyCore(weights, weightBytes, type, rows, cols, x, nTokens, y, scratch: default, useScratch: false, pool);
    }

    /// <summary>Bytes of scratch the activations of one call need: <c>nTokens</c> rows of <c>cols</c> elements of the pairing type.</summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is not a whole number of blocks, or a count is negative.</exception>
    public static long ScratchBytes(GgmlType type, int cols, int nTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nTokens);
        var pair = TypeTraits.Get(TypeTraits.Get(type).VecDotType).Info;
        Quants.CheckElementCount(pair, cols, nameof(cols));
        return pair.RowBytes(cols) * nTokens;
    }

    private static unsafe void MultiplyCore(byte* weights, long weightBytes, GgmlType type, int rows, int cols, ReadOnlySpan<float> x,
        int nTokens, Span<float> y, Span<byte> scratch, bool useScratch, ComputePool? pool)
    {
        var traits = TypeTraits.Get(type);
        var pairTraits = TypeTraits.Get(traits.VecDotType);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        ArgumentOutOfRangeException.ThrowIfNegative(nTokens);
        Quants.CheckElementCount(traits.Info, cols, nameof(cols));
        Quants.CheckElementCount(pairTraits.Info, cols, nameof(cols));

        long rowBytes = traits.Info.RowBytes(cols);
        if (rowBytes > int.MaxValue)
        {
            throw new ArgumentException($"a row of {cols} {traits.Info.Name} elements takes {rowBytes} bytes, more than a span can address", nameof(cols));
        }

        if (weightBytes < rowBytes * rows)
        {
            throw new ArgumentException(
                $"{rows} rows of {cols} {traits.Info.Name} elements need {rowBytes * rows} bytes but the weights have {weightBytes}", nameof(weights));
        }

        if (x.Length < (long)nTokens * cols)
        {
            throw new ArgumentException($"{nTokens} tokens of {cols} features need {(long)nTokens * cols} floats but x has {x.Length}", nameof(x));
        }

        if (y.Length < (long)nTokens * rows)
        {
            throw new ArgumentException($"{nTokens} tokens of {rows} outputs need {(long)nTokens * rows} floats but y has {y.Length}", nameof(y));
        }

        int actRowBytes = checked((int)pairTraits.Info.RowBytes(cols));
        long actBytes = (long)actRowBytes * nTokens;
        if (useScratch && scratch.Length < actBytes)
        {
            throw new ArgumentException($"the converted activations need {actBytes} bytes of scratch but it has {scratch.Length}", nameof(scratch));
        }

        if (rows == 0 || nTokens == 0)
        {
            return;
        }

        if (actBytes > Array.MaxLength)
        {
            throw new ArgumentException($"the converted activations ({actBytes} bytes) exceed the largest buffer; split the batch", nameof(nTokens));
        }

        if (pool is null)
        {
            byte[]? rented = null;
            try
            {
                Span<byte> act = useScratch ? scratch : (rented = ArrayPool<byte>.Shared.Rent((int)actBytes));
                ReadOnlySpan<byte> converted = ConvertActivations(pairTraits, x, cols, nTokens, act, actRowBytes);
                fixed (byte* a = converted)
                fixed (float* yp = y)
                {
                    MatMulJob.ComputeRows(traits.VecDot, weights, (int)rowBytes, 0, rows, rows, cols, a, actRowBytes, nTokens, yp);
                }
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }

            return;
        }

        using (pool.EnterExclusive())
        {
            Span<byte> act = useScratch ? scratch : pool.Scratch((int)actBytes);
            ReadOnlySpan<byte> converted = ConvertActivations(pairTraits, x, cols, nTokens, act, actRowBytes);
            fixed (byte* a = converted)
            fixed (float* yp = y)
            {
                var job = pool.MatMulJob;
                job.Set(traits.VecDot, weights, rowBytes, rows, cols, a, actRowBytes, nTokens, yp);
                try
                {
                    pool.RunLocked(job);
                }
                finally
                {
                    job.Clear();
                }
            }
        }
    }

    /// <summary>Converts each activation row to the pairing type; F32 needs no conversion and is used in place.</summary>
    private static ReadOnlySpan<byte> ConvertActivations(TypeTraits pair, ReadOnlySpan<float> x, int cols, int nTokens, Span<byte> act, int actRowBytes)
    {
        if (pair.Type == GgmlType.F32)
        {
            return MemoryMarshal.AsBytes(x[..(nTokens * cols)]);
        }

        for (int t = 0; t < nTokens; t++)
        {
            pair.Quantize(x.Slice(t * cols, cols), act.Slice(t * actRowBytes, actRowBytes));
        }

        return act[..(actRowBytes * nTokens)];
    }
}

/// <summary>
/// One matmul, shared by the pool's workers: rows are handed out in chunks from an atomic counter, so a worker that
/// gets descheduled does not hold up the others, and each output is computed by exactly one worker with the same
/// kernel, which makes the result independent of the thread count.
/// </summary>
internal sealed unsafe class MatMulJob : IComputeWork
{
    private VecDotKernel? _dot;
    private byte* _weights;
    private long _rowBytes;
    private int _rows;
    private int _cols;
    private byte* _act;
    private int _actRowBytes;
    private int _nTokens;
    private float* _y;
    private int _nextRow;

    public void Set(VecDotKernel dot, byte* weights, long rowBytes, int rows, int cols, byte* act, int actRowBytes, int nTokens, float* y)
    {
        _dot = dot;
        _weights = weights;
        _rowBytes = rowBytes;
        _rows = rows;
        _cols = cols;
        _act = act;
        _actRowBytes = actRowBytes;
        _nTokens = nTokens;
        _y = y;
        _nextRow = 0;
    }

    public void Clear()
    {
        _dot = null;
        _weights = null;
        _act = null;
        _y = null;
    }

    public void Execute(int workerIndex, int workerCount)
    {
        var dot = _dot!;
        int rows = _rows;
        if (workerCount == 1)
        {
            ComputeRows(dot, _weights, (int)_rowBytes, 0, rows, rows, _cols, _act, _actRowBytes, _nTokens, _y);
            return;
        }

        // About four chunks per worker: small enough to balance, large enough that the counter is not contended.
        int chunk = Math.Max(1, rows / (workerCount * 4));
        while (true)
        {
            int start = Interlocked.Add(ref _nextRow, chunk) - chunk;
            if (start >= rows)
            {
                return;
            }

            ComputeRows(dot, _weights, (int)_rowBytes, start, Math.Min(rows, start + chunk), rows, _cols, _act, _actRowBytes, _nTokens, _y);
        }
    }

    /// <summary>Outputs of weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) for every token.</summary>
    public static void ComputeRows(VecDotKernel dot, byte* weights, int rowBytes, int rowStart, int rowEnd, int rows, int cols,
        byte* act, int actRowBytes, int nTokens, float* y)
    {
        for (int r = rowStart; r < rowEnd; r++)
        {
            // Each weight row meets every token while it is hot in cache.
            var w = new ReadOnlySpan<byte>(weights + (long)r * rowBytes, rowBytes);
            for (int t = 0; t < nTokens; t++)
            {
                var a = new ReadOnlySpan<byte>(act + (long)t * actRowBytes, actRowBytes);
                y[(long)t * rows + r] = dot(w, a, cols);
            }
        }
    }
}
