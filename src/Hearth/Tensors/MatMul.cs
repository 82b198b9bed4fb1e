using System.Buffers;
using System.Runtime.InteropServices;

namespace Hearth.Tensors;

/// <summary>
/// Matrix multiplication of a (quantized) weight matrix with a batch of float activation rows, the way ggml's CPU
/// backend does it: each activation row is first converted to the weight type's pairing type
/// (<see cref="Quants.VecDotType"/>), then every output is one <see cref="Quants.Dot"/> of a weight row with a converted
/// activation row, on the widest instruction set the machine has.
/// </summary>
/// <remarks>
/// Every output is computed with the same instructions whatever the batch size, the thread count or the tile it falls
/// in, so results are bit-identical between one token at a time and a prompt batch, and between any two pools. A batch
/// is tiled: weight rows in groups of about 32 KiB, each group met by four tokens per kernel call, so a weight block is
/// decoded once per four tokens and read from memory once per batch. With a pool, the activations of a batch are
/// converted in parallel too, and nothing is allocated per call.
/// </remarks>
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

    /// <summary>
    /// Bytes of scratch the activations of one call need: <c>nTokens</c> rows of <c>cols</c> elements in the kernels'
    /// activation format (the pairing type; for F16 and BF16 weights, floats holding half / bfloat16 values; nothing for
    /// F32 weights, which read the activations in place).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="cols"/> is not a whole number of blocks, or a count is negative.</exception>
    public static long ScratchBytes(GgmlType type, int cols, int nTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nTokens);
        var traits = TypeTraits.Get(type);
        Quants.CheckElementCount(TypeTraits.Get(traits.VecDotType).Info, cols, nameof(cols));
        return type == GgmlType.F32 ? 0 : GgmlTypes.Get(traits.KernelActType).RowBytes(cols) * nTokens;
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

        // F32 weights read the activations in place; everything else converts them first.
        bool inPlace = type == GgmlType.F32;
        int actRowBytes = checked((int)GgmlTypes.Get(traits.KernelActType).RowBytes(cols));
        long actBytes = inPlace ? 0 : (long)actRowBytes * nTokens;
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
                Span<byte> act = inPlace ? default : useScratch ? scratch : (rented = ArrayPool<byte>.Shared.Rent((int)actBytes));
                ReadOnlySpan<byte> converted = ConvertActivations(traits, pairTraits, x, cols, nTokens, act, actRowBytes);
                fixed (byte* a = converted)
                fixed (float* yp = y)
                {
                    MatMulJob.ComputeRows(traits.Kernels, weights, rowBytes, 0, rows, rows, cols, a, actRowBytes, nTokens, yp);
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
            Span<byte> act = inPlace ? default : useScratch ? scratch : pool.Scratch((int)actBytes);
            fixed (float* xp = x)
            fixed (byte* ap = act)
            fixed (float* yp = y)
            {
                byte* a = inPlace ? (byte*)xp : ap;
                if (!inPlace)
                {
                    if (nTokens > 1 && pool.ThreadCount > 1)
                    {
                        // A prompt batch: each worker converts whole token rows (the same bytes as one thread would).
                        var convert = pool.ActivationJob;
                        convert.Set(traits, pairTraits, xp, cols, nTokens, ap, actRowBytes);
                        try
                        {
                            pool.RunLocked(convert);
                        }
                        finally
                        {
                            convert.Clear();
                        }
                    }
                    else
                    {
                        ConvertActivations(traits, pairTraits, x, cols, nTokens, act, actRowBytes);
                    }
                }

                var job = pool.MatMulJob;
                job.Set(traits.Kernels, weights, rowBytes, rows, cols, a, actRowBytes, nTokens, yp);
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

    /// <summary>Converts each activation row to the kernel format; F32 weights read the floats in place.</summary>
    internal static ReadOnlySpan<byte> ConvertActivations(TypeTraits traits, TypeTraits pair, ReadOnlySpan<float> x, int cols, int nTokens,
        Span<byte> act, int actRowBytes)
    {
        if (traits.Type == GgmlType.F32)
        {
            return MemoryMarshal.AsBytes(x[..(nTokens * cols)]);
        }

        for (int t = 0; t < nTokens; t++)
        {
            KernelDot.ConvertActivations(traits.Type, pair.Quantize, x.Slice(t * cols, cols), act.Slice(t * actRowBytes, actRowBytes));
        }

        return act[..(actRowBytes * nTokens)];
    }
}

/// <summary>Conversion of a batch of activation rows to the kernel format: whole rows, handed out one at a time.</summary>
internal sealed unsafe class ActivationJob : IChunkedComputeWork
{
    private int _next;
    private TypeTraits? _traits;
    private TypeTraits? _pair;
    private float* _x;
    private int _cols;
    private int _nTokens;
    private byte* _act;
    private int _actRowBytes;

    public void Set(TypeTraits traits, TypeTraits pair, float* x, int cols, int nTokens, byte* act, int actRowBytes)
    {
        _traits = traits;
        _pair = pair;
        _x = x;
        _cols = cols;
        _nTokens = nTokens;
        _act = act;
        _actRowBytes = actRowBytes;
        _next = 0;
    }

    public void Clear()
    {
        _traits = null;
        _pair = null;
        _x = null;
        _act = null;
    }

    public void Execute(int workerIndex, int workerCount)
    {
        int cols = _cols;
        int t;
        while ((t = Interlocked.Increment(ref _next) - 1) < _nTokens)
        {
            KernelDot.ConvertActivations(_traits!.Type, _pair!.Quantize, new ReadOnlySpan<float>(_x + (long)t * cols, cols),
                new Span<byte>(_act + (long)t * _actRowBytes, _actRowBytes));
        }
    }
}

/// <summary>
/// One matmul, shared by the pool's workers: rows are handed out in chunks from an atomic counter, so a worker that
/// gets descheduled does not hold up the others, and each output is computed by exactly one worker with the same
/// kernel, which makes the result independent of the thread count.
/// </summary>
internal sealed unsafe class MatMulJob : IChunkedComputeWork
{
    /// <summary>
    /// Weight bytes of the rows a prompt batch sweeps with one group of tokens before moving to the next group: small
    /// enough to stay in L1/L2 while every token group passes over them, so each weight is read from memory once.
    /// </summary>
    private const long TileWeightBytes = 32 * 1024;

    private RowKernels _kernels;
    private byte* _weights;
    private long _rowBytes;
    private int _rows;
    private int _cols;
    private byte* _act;
    private int _actRowBytes;
    private int _nTokens;
    private float* _y;
    private int _nextRow;

    public void Set(RowKernels kernels, byte* weights, long rowBytes, int rows, int cols, byte* act, int actRowBytes, int nTokens, float* y)
    {
        _kernels = kernels;
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
        _kernels = default;
        _weights = null;
        _act = null;
        _y = null;
    }

    public void Execute(int workerIndex, int workerCount)
    {
        int rows = _rows;
        if (workerCount == 1)
        {
            ComputeRows(_kernels, _weights, _rowBytes, 0, rows, rows, _cols, _act, _actRowBytes, _nTokens, _y);
            return;
        }

        // About eight chunks per worker: small enough to balance (and to bound what a worker the system deschedules
        // holds up), large enough that the counter is not contended. Every row has the same number of blocks, so equal
        // row counts are equal work.
        int chunk = Math.Max(1, rows / (workerCount * 8));
        while (true)
        {
            int start = Interlocked.Add(ref _nextRow, chunk) - chunk;
            if (start >= rows)
            {
                return;
            }

            ComputeRows(_kernels, _weights, _rowBytes, start, Math.Min(rows, start + chunk), rows, _cols, _act, _actRowBytes, _nTokens, _y);
        }
    }

    /// <summary>
    /// Outputs of weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) for every token. One token: one
    /// kernel call per row. A batch: rows in groups of about <see cref="TileWeightBytes"/>, each group met by four tokens
    /// per kernel call, so a weight block is decoded once per four tokens and read from memory once per batch.
    /// </summary>
    public static void ComputeRows(RowKernels kernels, byte* weights, long rowBytes, int rowStart, int rowEnd, int rows, int cols,
        byte* act, nint actRowBytes, int nTokens, float* y)
    {
        if (nTokens == 1)
        {
            var one = kernels.One;
            for (int r = rowStart; r < rowEnd; r++)
            {
                one(weights + r * rowBytes, act, 0, cols, y + r, 0);
            }

            return;
        }

        int group = (int)Math.Clamp(TileWeightBytes / Math.Max(1, rowBytes), 1, 256);
        for (int r0 = rowStart; r0 < rowEnd; r0 += group)
        {
            int r1 = Math.Min(rowEnd, r0 + group);
            for (int t = 0; t < nTokens; t += RowKernels.MaxTokens)
            {
                int tokens = Math.Min(RowKernels.MaxTokens, nTokens - t);
                byte* at = act + t * actRowBytes;
                float* yt = y + (long)t * rows;
                for (int r = r0; r < r1; r++)
                {
                    kernels.Run(tokens, weights + r * rowBytes, at, actRowBytes, cols, yt + r, rows);
                }
            }
        }
    }
}

/// <summary>
/// Up to three matmuls that read the same activations (q/k/v, gate/up) run as one pool job: their weight rows form one
/// index space handed out in chunks, so a token pays one hand-over instead of three. Every output is still computed by
/// exactly one worker with the same kernel as <see cref="MatMul.Multiply(byte*, long, GgmlType, int, int, ReadOnlySpan{float}, int, Span{float}, ComputePool?)"/>,
/// so results are bit-identical with running the matmuls one by one.
/// </summary>
internal sealed unsafe class FusedMatMulJob : IChunkedComputeWork
{
    private Part _p0, _p1, _p2;
    private int _parts;
    private int _total;
    private int _cols;
    private int _nTokens;
    private int _nextRow;

    private struct Part
    {
        public RowKernels Kernels;
        public byte* Weights;
        public long RowBytes;
        public int Rows;
        public byte* Act;
        public int ActRowBytes;
        public float* Y;
    }

    /// <summary>
    /// <c>y_i = W_i·x</c> for each given part (a null weight pointer ends the list). Weight sizes must have been checked
    /// by the caller (a bound <c>Weight</c> is); the outputs are checked here.
    /// </summary>
    public static void Multiply(ComputePool pool, ReadOnlySpan<float> x, int cols, int nTokens,
        byte* w0, GgmlType t0, int rows0, Span<float> y0,
        byte* w1, GgmlType t1, int rows1, Span<float> y1,
        byte* w2, GgmlType t2, int rows2, Span<float> y2)
    {
        int parts = w2 != null ? 3 : 2;
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, nTokens * cols, nameof(x));
        ArgumentOutOfRangeException.ThrowIfLessThan(y0.Length, nTokens * rows0, nameof(y0));
        ArgumentOutOfRangeException.ThrowIfLessThan(y1.Length, nTokens * rows1, nameof(y1));
        if (parts == 3) ArgumentOutOfRangeException.ThrowIfLessThan(y2.Length, nTokens * rows2, nameof(y2));
        var tr0 = TypeTraits.Get(t0);
        var tr1 = TypeTraits.Get(t1);
        var tr2 = parts == 3 ? TypeTraits.Get(t2) : tr0;
        Quants.CheckElementCount(tr0.Info, cols, nameof(cols));
        Quants.CheckElementCount(tr1.Info, cols, nameof(cols));
        Quants.CheckElementCount(tr2.Info, cols, nameof(cols));
        Quants.CheckElementCount(TypeTraits.Get(tr0.VecDotType).Info, cols, nameof(cols));
        Quants.CheckElementCount(TypeTraits.Get(tr1.VecDotType).Info, cols, nameof(cols));
        Quants.CheckElementCount(TypeTraits.Get(tr2.VecDotType).Info, cols, nameof(cols));
        int a0 = ActRowBytes(tr0, cols), a1 = ActRowBytes(tr1, cols), a2 = parts == 3 ? ActRowBytes(tr2, cols) : 0;

        // Activations are converted once per distinct weight type; F32 weights read them in place.
        bool share1 = t1 == t0, share2 = t2 == t0 || t2 == t1;
        long bytes0 = ScratchBytes(tr0, a0, nTokens), bytes1 = share1 ? 0 : ScratchBytes(tr1, a1, nTokens), bytes2 = parts < 3 || share2 ? 0 : ScratchBytes(tr2, a2, nTokens);
        long total = bytes0 + bytes1 + bytes2;
        if (total > Array.MaxLength) throw new ArgumentException($"the converted activations ({total} bytes) exceed the largest buffer; split the batch", nameof(nTokens));

        using (pool.EnterExclusive())
        {
            var scratch = pool.Scratch((int)total);
            fixed (float* xp = x)
            fixed (byte* sp = scratch)
            fixed (float* yp0 = y0)
            fixed (float* yp1 = y1)
            fixed (float* yp2 = y2)
            {
                byte* act0 = Convert(pool, tr0, xp, cols, nTokens, sp, a0);
                byte* act1 = share1 ? act0 : Convert(pool, tr1, xp, cols, nTokens, sp + bytes0, a1);
                byte* act2 = parts < 3 ? null : t2 == t0 ? act0 : t2 == t1 ? act1 : Convert(pool, tr2, xp, cols, nTokens, sp + bytes0 + bytes1, a2);

                var job = pool.FusedMatMulJob;
                job._cols = cols;
                job._nTokens = nTokens;
                job._parts = parts;
                job._p0 = new Part { Kernels = tr0.Kernels, Weights = w0, RowBytes = tr0.Info.RowBytes(cols), Rows = rows0, Act = act0, ActRowBytes = a0, Y = yp0 };
                job._p1 = new Part { Kernels = tr1.Kernels, Weights = w1, RowBytes = tr1.Info.RowBytes(cols), Rows = rows1, Act = act1, ActRowBytes = a1, Y = yp1 };
                job._p2 = parts < 3 ? default : new Part { Kernels = tr2.Kernels, Weights = w2, RowBytes = tr2.Info.RowBytes(cols), Rows = rows2, Act = act2, ActRowBytes = a2, Y = yp2 };
                job._total = rows0 + rows1 + (parts < 3 ? 0 : rows2);
                job._nextRow = 0;
                try
                {
                    if (nTokens > 0 && job._total > 0) pool.RunLocked(job);
                }
                finally
                {
                    job._p0 = job._p1 = job._p2 = default;
                }
            }
        }
    }

    private static int ActRowBytes(TypeTraits traits, int cols) => checked((int)GgmlTypes.Get(traits.KernelActType).RowBytes(cols));

    private static long ScratchBytes(TypeTraits traits, int actRowBytes, int nTokens) => traits.Type == GgmlType.F32 ? 0 : (long)actRowBytes * nTokens;

    private static byte* Convert(ComputePool pool, TypeTraits traits, float* x, int cols, int nTokens, byte* act, int actRowBytes)
    {
        if (traits.Type == GgmlType.F32) return (byte*)x;
        var pair = TypeTraits.Get(traits.VecDotType);
        if (nTokens > 1 && pool.ThreadCount > 1)
        {
            var convert = pool.ActivationJob;
            convert.Set(traits, pair, x, cols, nTokens, act, actRowBytes);
            try
            {
                pool.RunLocked(convert);
            }
            finally
            {
                convert.Clear();
            }
        }
        else
        {
            MatMul.ConvertActivations(traits, pair, new ReadOnlySpan<float>(x, nTokens * cols), cols, nTokens,
                new Span<byte>(act, actRowBytes * nTokens), actRowBytes);
        }

        return act;
    }

    public void Execute(int workerIndex, int workerCount)
    {
        int total = _total;
        if (workerCount == 1)
        {
            RunRange(0, total);
            return;
        }

        int chunk = Math.Max(1, total / (workerCount * 8));
        while (true)
        {
            int start = Interlocked.Add(ref _nextRow, chunk) - chunk;
            if (start >= total)
            {
                return;
            }

            RunRange(start, Math.Min(total, start + chunk));
        }
    }

    private void RunRange(int start, int end)
    {
        int offset = 0;
        RunPart(ref _p0, ref offset, start, end);
        RunPart(ref _p1, ref offset, start, end);
        if (_parts == 3) RunPart(ref _p2, ref offset, start, end);
    }

    private void RunPart(ref Part p, ref int offset, int start, int end)
    {
        int lo = Math.Max(start - offset, 0), hi = Math.Min(end - offset, p.Rows);
        if (lo < hi)
        {
            MatMulJob.ComputeRows(p.Kernels, p.Weights, p.RowBytes, lo, hi, p.Rows, _cols, p.Act, p.ActRowBytes, _nTokens, p.Y);
        }

        offset += p.Rows;
    }
}
