using System.Runtime.InteropServices;
using Hearth.Tensors;

namespace Hearth.Quantization;

/// <summary>Fills <paramref name="dst"/> with rows <paramref name="firstRow"/> .. <paramref name="firstRow"/> + <paramref name="rowCount"/> − 1 of a tensor as floats.</summary>
internal delegate void RowSource(long firstRow, int rowCount, Span<float> dst);

/// <summary>
/// Streams tensors into a GGUF data section chunk by chunk: each chunk of rows is produced as floats by a
/// <see cref="RowSource"/> and encoded in the target type, a few chunks per thread in parallel, and written in order.
/// Memory stays at two chunks per worker whatever the tensor size, and the bytes do not depend on the thread count.
/// Used by <see cref="ModelQuantizer"/> (rows dequantized from a mapped file) and the model synthesizer (random rows).
/// </summary>
internal sealed class ChunkedTensorEncoder
{
    /// <summary>Target elements per chunk of rows encoded at once by one thread.</summary>
    public const int ChunkElements = 1 << 20;

    private readonly int _workers;
    private readonly IProgress<double>? _progress;
    private readonly CancellationToken _cancellation;
    private readonly float[][] _src;
    private readonly byte[][] _dst;
    private readonly double _totalBytes;
    private long _written;

    /// <param name="workers">Threads (≥ 1).</param>
    /// <param name="maxRowLength">The longest row any tensor will have.</param>
    /// <param name="totalBytes">Bytes of all tensors to be written, for progress.</param>
    /// <param name="progress">Receives the fraction of <paramref name="totalBytes"/> written.</param>
    /// <param name="cancellation">Checked between chunks.</param>
    public ChunkedTensorEncoder(int workers, long maxRowLength, long totalBytes, IProgress<double>? progress, CancellationToken cancellation)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        if (maxRowLength > Array.MaxLength / sizeof(float))
            throw new QuantizationException($"rows of {maxRowLength} elements are too long to encode");
        _workers = workers;
        _progress = progress;
        _cancellation = cancellation;
        _totalBytes = Math.Max(1, totalBytes);
        int slotElements = (int)Math.Max(ChunkElements, maxRowLength);
        int slots = 2 * workers;
        _src = new float[slots][];
        _dst = new byte[slots][];
        for (int i = 0; i < slots; i++)
        {
            _src[i] = new float[slotElements];
            _dst[i] = new byte[slotElements * sizeof(float)];
        }
    }

    /// <summary>Writes a tensor of <paramref name="rowCount"/> rows of <paramref name="rowLength"/> elements as <paramref name="type"/>.</summary>
    public void Encode(Stream output, GgmlType type, long rowLength, long rowCount, RowSource source)
    {
        long rowsPerChunk = Math.Max(1, ChunkElements / rowLength);
        long chunks = (rowCount + rowsPerChunk - 1) / rowsPerChunk;
        long rowBytes = GgmlTypes.Get(type).RowBytes(rowLength);
        int slots = _src.Length;
        var lengths = new int[slots];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _workers, CancellationToken = _cancellation };
        for (long first = 0; first < chunks; first += slots)
        {
            _cancellation.ThrowIfCancellationRequested();
            int count = (int)Math.Min(slots, chunks - first);
            long firstChunk = first;
            Parallel.For(0, count, parallel, k =>
            {
                long row0 = (firstChunk + k) * rowsPerChunk;
                int rows = (int)Math.Min(rowsPerChunk, rowCount - row0);
                var src = _src[k].AsSpan(0, (int)(rows * rowLength));
                source(row0, rows, src);
                int bytes = (int)(rows * rowBytes);
                var dst = _dst[k].AsSpan(0, bytes);
                if (type == GgmlType.F32) MemoryMarshal.AsBytes(src).CopyTo(dst);
                else Quants.Quantize(type, src, dst);
                lengths[k] = bytes;
            });

            for (int k = 0; k < count; k++)
            {
                output.Write(_dst[k], 0, lengths[k]);
                _written += lengths[k];
            }

            Report();
        }
    }

    /// <summary>Writes bytes that need no conversion (a tensor kept in its type), counting them for progress.</summary>
    public unsafe void Copy(Stream output, byte* data, long length)
    {
        const int step = 1 << 24;
        for (long done = 0; done < length; done += step)
        {
            _cancellation.ThrowIfCancellationRequested();
            int n = (int)Math.Min(step, length - done);
            output.Write(new ReadOnlySpan<byte>(data + done, n));
            _written += n;
            Report();
        }
    }

    private void Report() => _progress?.Report(Math.Min(1.0, _written / _totalBytes));
}
