using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

        // A prompt batch on a type with a GEMM also lays the converted activations out token-interleaved (the panel).
        bool gemm = UsesGemm(traits, nTokens);
        var layout = gemm ? traits.Batch.Panel(traits.VecDotType, nTokens, cols) : default;
        long panelBytes = gemm ? layout.TotalBytes : 0;
        long ownBytes = (useScratch ? 0 : actBytes) + panelBytes;
        if (ownBytes > Array.MaxLength)
        {
            throw new ArgumentException($"the converted activations ({ownBytes} bytes) exceed the largest buffer; split the batch", nameof(nTokens));
        }

        if (pool is null)
        {
            long workBytes = gemm ? traits.Batch.ScratchBytes(cols) : 0;
            byte[]? rented = ownBytes + workBytes > 0 ? ArrayPool<byte>.Shared.Rent((int)(ownBytes + workBytes)) : null;
            try
            {
                Span<byte> own = rented;
                Span<byte> act = inPlace ? default : useScratch ? scratch : own[..(int)actBytes];
                Span<byte> rest = inPlace || useScratch ? own : own[(int)actBytes..];
                ReadOnlySpan<byte> converted = ConvertActivations(traits, pairTraits, x, cols, nTokens, act, actRowBytes);
                fixed (byte* a = converted)
                fixed (byte* r = rest)
                fixed (float* yp = y)
                {
                    var part = new MatMulPart(traits, weights, rowBytes, rows, a, actRowBytes, yp, gemm, layout, r);
                    if (gemm)
                    {
                        BuildPanel(part, nTokens, 0, nTokens);
                        layout.ClearPadding(r);
                    }

                    MatMulJob.ComputeRows(part, 0, rows, cols, nTokens, r + panelBytes);
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
            var own = pool.Scratch((int)ownBytes);
            fixed (float* xp = x)
            fixed (byte* op = own)
            fixed (byte* sp = scratch)
            fixed (float* yp = y)
            {
                byte* a = inPlace ? (byte*)xp : useScratch ? sp : op;
                byte* panel = useScratch ? op : op + actBytes;
                var part = new MatMulPart(traits, weights, rowBytes, rows, a, actRowBytes, yp, gemm, layout, panel);
                if (!inPlace)
                {
                    Convert(pool, part, pairTraits, xp, cols, nTokens);
                }

                var job = pool.MatMulJob;
                job.Set(pool, part, cols, nTokens);
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

    /// <summary>True when a batch of <paramref name="nTokens"/> goes through the GEMM of the type's batch kernels.</summary>
    internal static bool UsesGemm(TypeTraits traits, int nTokens) => nTokens >= GemmKernels.MinGemmTokens && traits.Batch.HasGemm;

    /// <summary>
    /// Converts the activations of <paramref name="part"/> (and lays them into its panel when it uses the GEMM): a batch in
    /// parallel, each worker taking whole token rows (the same bytes as one thread would write).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void Convert(ComputePool pool, in MatMulPart part, TypeTraits pair, float* x, int cols, int nTokens)
    {
        if (nTokens > 1 && pool.ThreadCount > 1)
        {
            var convert = pool.ActivationJob;
            convert.Set(part, pair, x, cols, nTokens);
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
            ConvertActivations(part.Traits, pair, new ReadOnlySpan<float>(x, nTokens * cols), cols, nTokens,
                new Span<byte>(part.Act, part.ActRowBytes * nTokens), part.ActRowBytes);
            if (part.Gemm)
            {
                BuildPanel(part, nTokens, 0, nTokens);
            }
        }

        if (part.Gemm)
        {
            part.Layout.ClearPadding(part.Panel);
        }
    }

    /// <summary>Lays tokens [start, end) of the converted rows into the panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void BuildPanel(in MatMulPart part, int nTokens, int start, int end)
    {
        for (int t = start; t < end; t++)
        {
            part.Layout.AddToken(part.Panel, t, part.Act + (long)t * part.ActRowBytes);
        }
    }

    /// <summary>Converts each activation row to the kernel format; F32 weights read the floats in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

/// <summary>One weight matrix of a matmul job, with its converted activations (and panel) and its outputs.</summary>
internal readonly unsafe struct MatMulPart
{
    public MatMulPart(TypeTraits traits, byte* weights, long rowBytes, int rows, byte* act, int actRowBytes, float* y, bool gemm, TokenPanel layout, byte* panel)
    {
        Traits = traits;
        Weights = weights;
        RowBytes = rowBytes;
        Rows = rows;
        Act = act;
        ActRowBytes = actRowBytes;
        Y = y;
        Gemm = gemm;
        Layout = layout;
        Panel = panel;
    }

    public TypeTraits Traits { get; }

    public byte* Weights { get; }

    public long RowBytes { get; }

    public int Rows { get; }

    /// <summary>Converted activation rows (kernel format), <see cref="ActRowBytes"/> apart.</summary>
    public byte* Act { get; }

    public int ActRowBytes { get; }

    /// <summary>[nTokens, Rows] outputs.</summary>
    public float* Y { get; }

    /// <summary>True when the part runs the GEMM over <see cref="Panel"/>.</summary>
    public bool Gemm { get; }

    public TokenPanel Layout { get; }

    public byte* Panel { get; }
}

/// <summary>Conversion of a batch of activation rows to the kernel format: whole rows, handed out one at a time.</summary>
internal sealed unsafe class ActivationJob : IChunkedComputeWork
{
    private int _next;
    private MatMulPart _part;
    private TypeTraits? _pair;
    private float* _x;
    private int _cols;
    private int _nTokens;

    public void Set(in MatMulPart part, TypeTraits pair, float* x, int cols, int nTokens)
    {
        _part = part;
        _pair = pair;
        _x = x;
        _cols = cols;
        _nTokens = nTokens;
        _next = 0;
    }

    public void Clear()
    {
        _part = default;
        _pair = null;
        _x = null;
    }

[MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int workerIndex, int workerCount)
    {
        int cols = _cols;
        int rowBytes = _part.ActRowBytes;
        int t;
        while ((t = Interlocked.Increment(ref _next) - 1) < _nTokens)
        {
            byte* row = _part.Act + (long)t * rowBytes;
            KernelDot.ConvertActivations(_part.Traits.Type, _pair!.Quantize, new ReadOnlySpan<float>(_x + (long)t * cols, cols), new Span<byte>(row, rowBytes));
            if (_part.Gemm)
            {
                _part.Layout.AddToken(_part.Panel, t, row);
            }
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

    /// <summary>
    /// How far ahead a decode step fetches weight rows into the cache, in bytes (whole rows, at least one). The hardware
    /// prefetchers stop at every 4 KiB page of the mapped file; fetching a page ahead keeps the stream going.
    /// </summary>
    private const long PrefetchBytes = 4096;

    private ComputePool? _pool;
    private MatMulPart _part;
    private int _cols;
    private int _nTokens;
    private int _chunk;
    private int _nextRow;

    public void Set(ComputePool pool, in MatMulPart part, int cols, int nTokens)
    {
        _pool = pool;
        _part = part;
        _cols = cols;
        _nTokens = nTokens;
        _chunk = Chunk(part, part.Rows, cols, pool.ThreadCount);
        _nextRow = 0;
        if (part.Gemm)
        {
            pool.EnsureWorkerScratch();
        }
    }

    public void Clear()
    {
        _pool = null;
        _part = default;
    }

    /// <summary>
    /// Rows per hand-out for <paramref name="rows"/> rows of <paramref name="part"/>'s kind over <paramref name="workers"/>:
    /// about eight chunks per worker (small enough to balance, and to bound what a worker the system deschedules holds
    /// up; large enough that the counter is not contended), in whole tiles of the kernel that runs them.
    /// </summary>
    internal static int Chunk(in MatMulPart part, int rows, int cols, int workers)
    {
        int chunk = Math.Max(1, rows / (workers * 8));
        if (part.Gemm)
        {
            return Math.Clamp((chunk + 3) / 4 * 4, 8, part.Traits.Batch.RowBlock(cols));
        }

        return part.Traits.Batch.Rows.IsEmpty ? chunk : Math.Max(RowsKernels.Width, (chunk + 7) / 8 * 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int workerIndex, int workerCount)
    {
        int rows = _part.Rows;
        byte* scratch = _part.Gemm ? _pool!.WorkerScratch(workerIndex, _part.Traits.Batch.ScratchBytes(_cols)) : null;
        if (workerCount == 1)
        {
            ComputeRows(_part, 0, rows, _cols, _nTokens, scratch);
            return;
        }

        int chunk = _chunk;
        while (true)
        {
            int start = Interlocked.Add(ref _nextRow, chunk) - chunk;
            if (start >= rows)
            {
                return;
            }

            ComputeRows(_part, start, Math.Min(rows, start + chunk), _cols, _nTokens, scratch);
        }
    }

    /// <summary>
    /// Outputs of weight rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) for every token: the GEMM over the
    /// part's panel, the exact few-token kernels eight rows at a time, or the row kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeRows(in MatMulPart part, int rowStart, int rowEnd, int cols, int nTokens, byte* scratch)
    {
        var batch = part.Traits.Batch;
        if (part.Gemm)
        {
            var call = new GemmCall
            {
                W = part.Weights,
                RowBytes = part.RowBytes,
                Cols = cols,
                Layout = part.Layout,
                PanelData = part.Panel,
                Y = part.Y,
                YStride = part.Rows,
                Scratch = scratch,
            };
            batch.Gemm(call, rowStart, rowEnd);
            return;
        }

        byte* weights = part.Weights;
        long rowBytes = part.RowBytes;
        byte* act = part.Act;
        nint actRowBytes = part.ActRowBytes;
        int rows = part.Rows;
        float* y = part.Y;
        if (!batch.Rows.IsEmpty)
        {
            for (int r = rowStart; r < rowEnd; r += RowsKernels.Width)
            {
                int count = Math.Min(RowsKernels.Width, rowEnd - r);
                for (int t = 0; t < nTokens; t += RowKernels.MaxTokens)
                {
                    batch.Rows.Run(Math.Min(RowKernels.MaxTokens, nTokens - t), weights + r * rowBytes, (nint)rowBytes, count,
                        act + t * actRowBytes, actRowBytes, cols, y + (long)t * rows + r, rows);
                }
            }

            return;
        }

        ComputeRows(part.Traits.Kernels, weights, rowBytes, rowStart, rowEnd, rows, cols, act, actRowBytes, nTokens, y);
    }

    /// <summary>
    /// One token: each row of [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) by one kernel call, fetching the
    /// rows <see cref="PrefetchBytes"/> ahead into the cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DecodeRows(delegate*<byte*, byte*, nint, int, float*, nint, void> one, byte* weights, long rowBytes,
        int rowStart, int rowEnd, int cols, byte* act, float* y)
    {
        long aheadRows = Math.Max(1, PrefetchBytes / rowBytes);
        long ahead = aheadRows * rowBytes;
        for (int r = rowStart; r < rowEnd; r++)
        {
            byte* row = weights + r * rowBytes;
            if (Sse.IsSupported && r + aheadRows < rowEnd)
            {
                for (long o = 0; o < rowBytes; o += 64)
                {
                    Sse.Prefetch0(row + ahead + o);
                }
            }

            one(row, act, 0, cols, y + r, 0);
        }
    }

    /// <summary>
    /// The row-kernel path of <see cref="ComputeRows(in MatMulPart, int, int, int, int, byte*)"/> for any kernels: one
    /// token, one row per call; a batch, rows in groups of about <see cref="TileWeightBytes"/>, each group met by four
    /// tokens per kernel call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ComputeRows(RowKernels kernels, byte* weights, long rowBytes, int rowStart, int rowEnd, int rows, int cols,
        byte* act, nint actRowBytes, int nTokens, float* y)
    {
        if (nTokens == 1)
        {
            DecodeRows(kernels.One, weights, rowBytes, rowStart, rowEnd, cols, act, y);
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
    private MatMulPart _p0, _p1, _p2;
    private ComputePool? _pool;
    private int _parts;
    private int _total;
    private int _cols;
    private int _nTokens;
    private int _chunk;
    private long _workerScratch;
    private int _nextRow;

    /// <summary>
    /// <c>y_i = W_i·x</c> for each given part (a null weight pointer ends the list). Weight sizes must have been checked
    /// by the caller (a bound <c>Weight</c> is); the outputs are checked here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

        // Activations (and their panel) are converted once per distinct weight type; F32 weights read them in place.
        bool share1 = t1 == t0, share2 = t2 == t0 || t2 == t1;
        long bytes0 = ScratchBytes(tr0, cols, nTokens), bytes1 = share1 ? 0 : ScratchBytes(tr1, cols, nTokens), bytes2 = parts < 3 || share2 ? 0 : ScratchBytes(tr2, cols, nTokens);
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
                var p0 = Convert(pool, tr0, w0, rows0, yp0, xp, cols, nTokens, sp);
                var p1 = share1 ? Retarget(p0, w1, rows1, yp1) : Convert(pool, tr1, w1, rows1, yp1, xp, cols, nTokens, sp + bytes0);
                var p2 = parts < 3 ? default
                    : t2 == t0 ? Retarget(p0, w2, rows2, yp2)
                    : t2 == t1 ? Retarget(p1, w2, rows2, yp2)
                    : Convert(pool, tr2, w2, rows2, yp2, xp, cols, nTokens, sp + bytes0 + bytes1);

                var job = pool.FusedMatMulJob;
                job._pool = pool;
                job._cols = cols;
                job._nTokens = nTokens;
                job._parts = parts;
                job._p0 = p0;
                job._p1 = p1;
                job._p2 = p2;
                job._total = rows0 + rows1 + (parts < 3 ? 0 : rows2);
                int workers = pool.ThreadCount;
                job._chunk = Math.Min(MatMulJob.Chunk(p0, job._total, cols, workers), MatMulJob.Chunk(p1, job._total, cols, workers));
                if (parts == 3) job._chunk = Math.Min(job._chunk, MatMulJob.Chunk(p2, job._total, cols, workers));
                job._workerScratch = Math.Max(WorkerBytes(p0, cols), Math.Max(WorkerBytes(p1, cols), parts == 3 ? WorkerBytes(p2, cols) : 0));
                if (job._workerScratch > 0) pool.EnsureWorkerScratch();
                job._nextRow = 0;
                try
                {
                    if (nTokens > 0 && job._total > 0) pool.RunLocked(job);
                }
                finally
                {
                    job._p0 = job._p1 = job._p2 = default;
                    job._pool = null;
                }
            }
        }
    }

    private static long WorkerBytes(in MatMulPart part, int cols) => part.Gemm ? part.Traits.Batch.ScratchBytes(cols) : 0;

    /// <summary>Converted activation rows plus, for a GEMM batch, their panel.</summary>
    private static long ScratchBytes(TypeTraits traits, int cols, int nTokens)
    {
        if (traits.Type == GgmlType.F32) return 0;
        long rows = GgmlTypes.Get(traits.KernelActType).RowBytes(cols) * nTokens;
        return MatMul.UsesGemm(traits, nTokens) ? rows + traits.Batch.Panel(traits.VecDotType, nTokens, cols).TotalBytes : rows;
    }

    /// <summary>The part of another weight of the same type, sharing <paramref name="source"/>'s converted activations.</summary>
    private static MatMulPart Retarget(in MatMulPart source, byte* w, int rows, float* y) =>
        new(source.Traits, w, source.RowBytes, rows, source.Act, source.ActRowBytes, y, source.Gemm, source.Layout, source.Panel);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static MatMulPart Convert(ComputePool pool, TypeTraits traits, byte* w, int rows, float* y, float* x, int cols, int nTokens, byte* scratch)
    {
        int actRowBytes = checked((int)GgmlTypes.Get(traits.KernelActType).RowBytes(cols));
        long rowBytes = traits.Info.RowBytes(cols);
        if (traits.Type == GgmlType.F32)
        {
            return new MatMulPart(traits, w, rowBytes, rows, (byte*)x, actRowBytes, y, false, default, null);
        }

        bool gemm = MatMul.UsesGemm(traits, nTokens);
        var layout = gemm ? traits.Batch.Panel(traits.VecDotType, nTokens, cols) : default;
        var part = new MatMulPart(traits, w, rowBytes, rows, scratch, actRowBytes, y, gemm, layout, scratch + (long)actRowBytes * nTokens);
        MatMul.Convert(pool, part, TypeTraits.Get(traits.VecDotType), x, cols, nTokens);
        return part;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int workerIndex, int workerCount)
    {
        int total = _total;
        byte* scratch = _workerScratch > 0 ? _pool!.WorkerScratch(workerIndex, _workerScratch) : null;
        if (workerCount == 1)
        {
            RunRange(0, total, scratch);
            return;
        }

        int chunk = _chunk;
        while (true)
        {
            int start = Interlocked.Add(ref _nextRow, chunk) - chunk;
            if (start >= total)
            {
                return;
            }

            RunRange(start, Math.Min(total, start + chunk), scratch);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunRange(int start, int end, byte* scratch)
    {
        int offset = 0;
        RunPart(_p0, ref offset, start, end, scratch);
        RunPart(_p1, ref offset, start, end, scratch);
        if (_parts == 3) RunPart(_p2, ref offset, start, end, scratch);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RunPart(in MatMulPart p, ref int offset, int start, int end, byte* scratch)
    {
        int lo = Math.Max(start - offset, 0), hi = Math.Min(end - offset, p.Rows);
        if (lo < hi)
        {
            MatMulJob.ComputeRows(p, lo, hi, _cols, _nTokens, scratch);
        }

        offset += p.Rows;
    }
}
