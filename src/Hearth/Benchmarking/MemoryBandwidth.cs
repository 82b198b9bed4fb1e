using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hearth.Benchmarking;

/// <summary>How to measure read bandwidth.</summary>
public sealed record MemoryBandwidthOptions
{
    /// <summary>The smallest buffer accepted (tests); real measurements need far more than the last-level cache.</summary>
    public const long MinBufferBytes = 1 << 20;

    /// <summary>Thread counts to measure (default 1..cores).</summary>
    public IReadOnlyList<int> Threads { get; init; } = ThreadCounts.UpTo(Math.Min(Environment.ProcessorCount, ThreadCounts.Max));

    /// <summary>Independent sequential streams each thread reads at once (default 1 and 4).</summary>
    public IReadOnlyList<int> StreamsPerThread { get; init; } = [1, 4];

    /// <summary>Size of the buffer read (default 1 GiB, allocated once and touched before timing).</summary>
    public long BufferBytes { get; init; } = 1L << 30;

    /// <summary>Timed passes over the buffer per configuration (after one untimed pass).</summary>
    public int Repetitions { get; init; } = 5;

    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        ThreadCounts.Validate(Threads);
        if (StreamsPerThread is null || StreamsPerThread.Count == 0) throw new ArgumentException("streams per thread: give at least one count");
        foreach (int s in StreamsPerThread)
        {
            if (s is < 1 or > MemoryBandwidth.MaxStreams) throw new ArgumentException($"streams per thread {s} is outside 1..{MemoryBandwidth.MaxStreams}");
        }

        if (BufferBytes < MinBufferBytes) throw new ArgumentException($"buffer of {BufferBytes} bytes is below the minimum of {MinBufferBytes}");
        if (Repetitions is < 1 or > 1000) throw new ArgumentException($"repetitions {Repetitions} is outside 1..1000");
        long smallest = BufferBytes / Threads.Max() / StreamsPerThread.Max();
        if (smallest < MemoryBandwidth.BlockBytes) throw new ArgumentException($"a buffer of {BufferBytes} bytes is too small to split into {Threads.Max()} × {StreamsPerThread.Max()} streams");
    }
}

/// <summary>Read bandwidth measured for one configuration.</summary>
/// <param name="Threads">Threads reading at once.</param>
/// <param name="StreamsPerThread">Sequential streams each thread interleaves.</param>
/// <param name="BytesPerPass">Bytes read by all threads in one timed pass.</param>
/// <param name="SamplesGBps">GB/s (10⁹ bytes per second) of each timed pass.</param>
public sealed record BandwidthMeasurement(int Threads, int StreamsPerThread, long BytesPerPass, IReadOnlyList<double> SamplesGBps)
{
    public SampleStatistics Statistics => SampleStatistics.Of(SamplesGBps);
}

/// <summary>All configurations measured over one buffer.</summary>
/// <param name="BufferBytes">The buffer's size.</param>
/// <param name="Kernel">The vector width read with (Vector512, Vector256 or Vector128).</param>
/// <param name="Results">One entry per thread count and stream count, threads outermost.</param>
public sealed record MemoryBandwidthReport(long BufferBytes, string Kernel, IReadOnlyList<BandwidthMeasurement> Results)
{
    /// <summary>Mean GB/s of the given configuration, or null when it was not measured.</summary>
    public double? MeanGBps(int threads, int streamsPerThread) =>
        Results.FirstOrDefault(r => r.Threads == threads && r.StreamsPerThread == streamsPerThread)?.Statistics.Mean;
}

/// <summary>
/// Measures how fast this machine reads memory: a buffer far larger than the caches is split among the threads, and each
/// thread reads its share as one or several interleaved sequential streams with the widest vector loads the CPU has,
/// summing the words so that no load can be skipped. Several streams per thread keep more cache-line fetches in flight
/// and find the ceiling that token generation, which streams the weights once per token, can hope to reach.
/// </summary>
/// <remarks>The buffer is native memory, allocated by the constructor and freed by <see cref="Dispose"/>.</remarks>
public sealed unsafe class MemoryBandwidth : IDisposable
{
    /// <summary>The most streams per thread.</summary>
    public const int MaxStreams = 64;

    /// <summary>Each stream is read in blocks of this many bytes (two 64-byte vectors).</summary>
    internal const int BlockBytes = 128;

    private byte* _buffer;

    /// <summary>Allocates <paramref name="bufferBytes"/> (page aligned) and writes every page, so timing sees no page faults.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is below <see cref="MemoryBandwidthOptions.MinBufferBytes"/>.</exception>
    /// <exception cref="OutOfMemoryException">The memory is not available.</exception>
    public MemoryBandwidth(long bufferBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, MemoryBandwidthOptions.MinBufferBytes);
        BufferBytes = bufferBytes;
        _buffer = (byte*)NativeMemory.AlignedAlloc((nuint)bufferBytes, 4096);
        long chunk = 64L << 20;
        long chunks = (bufferBytes + chunk - 1) / chunk;
        byte* b = _buffer;
        Parallel.For(0L, chunks, i =>
        {
            long start = i * chunk;
            NativeMemory.Fill(b + start, (nuint)Math.Min(chunk, bufferBytes - start), (byte)(i * 37 + 11));
        });
    }

    public long BufferBytes { get; }

    /// <summary>The vector width the kernel reads with.</summary>
    public static string Kernel =>
        Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "Vector128";

    /// <summary>Measures every configuration of <paramref name="options"/> over one freshly allocated buffer.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static MemoryBandwidthReport Run(MemoryBandwidthOptions options, IProgress<string>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var mb = new MemoryBandwidth(options.BufferBytes);
        var results = new List<BandwidthMeasurement>();
        foreach (int t in options.Threads)
        {
            foreach (int s in options.StreamsPerThread)
            {
                cancellation.ThrowIfCancellationRequested();
                progress?.Report($"reading {options.BufferBytes >> 20} MiB on {t} thread(s), {s} stream(s) each");
                results.Add(mb.Measure(t, s, options.Repetitions, cancellation));
            }
        }

        return new MemoryBandwidthReport(options.BufferBytes, Kernel, results);
    }

    /// <summary>
    /// Reads the buffer with <paramref name="threads"/> threads, each interleaving <paramref name="streamsPerThread"/>
    /// sequential streams over its share, once untimed and then <paramref name="repetitions"/> timed times.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range or the buffer is too small to split so.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public BandwidthMeasurement Measure(int threads, int streamsPerThread, int repetitions, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_buffer == null, this);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, ThreadCounts.Max);
        ArgumentOutOfRangeException.ThrowIfLessThan(streamsPerThread, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(streamsPerThread, MaxStreams);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);

        // Each thread owns a contiguous share; each share is cut into equal streams of whole blocks.
        long share = BufferBytes / threads / 4096 * 4096;
        long streamBytes = share / streamsPerThread / BlockBytes * BlockBytes;
        if (streamBytes <= 0) throw new ArgumentOutOfRangeException(nameof(threads), $"a {BufferBytes}-byte buffer cannot be split into {threads} × {streamsPerThread} streams");
        long bytesPerPass = streamBytes * streamsPerThread * threads;

        cancellation.ThrowIfCancellationRequested();
        var samples = new double[repetitions];
        using var barrier = new Barrier(threads);
        var sinks = new long[threads];

        void Worker(int index)
        {
            byte* start = _buffer + index * share;
            var streams = stackalloc byte*[streamsPerThread];
            for (int s = 0; s < streamsPerThread; s++) streams[s] = start + s * streamBytes;
            var sw = new Stopwatch();
            for (int rep = -1; rep < repetitions; rep++)
            {
                // Everyone starts together; worker 0 times from the start to the moment the last one finishes.
                barrier.SignalAndWait();
                if (index == 0) sw.Restart();
                sinks[index] += Read(streams, streamsPerThread, streamBytes);
                barrier.SignalAndWait();
                if (index == 0 && rep >= 0) samples[rep] = bytesPerPass / sw.Elapsed.TotalSeconds / 1e9;
            }
        }

        var others = new Thread[threads - 1];
        for (int i = 0; i < others.Length; i++)
        {
            int index = i + 1;
            others[i] = new Thread(() => Worker(index)) { IsBackground = true, Name = $"Hearth bandwidth {index}" };
            others[i].Start();
        }

        Worker(0);
        foreach (var th in others) th.Join();
        GC.KeepAlive(sinks);
        return new BandwidthMeasurement(threads, streamsPerThread, bytesPerPass, samples);
    }

    /// <summary>Sums every 32-bit word of the streams (interleaved block by block) with the widest vectors available.</summary>
    internal static long Read(byte** streams, int count, long streamBytes)
    {
        if (Vector512.IsHardwareAccelerated) return Read512(streams, count, streamBytes);
        if (Vector256.IsHardwareAccelerated) return Read256(streams, count, streamBytes);
        return Read128(streams, count, streamBytes);
    }

    private static long Read512(byte** streams, int count, long streamBytes)
    {
        var a0 = Vector512<int>.Zero;
        var a1 = Vector512<int>.Zero;
        for (long off = 0; off < streamBytes; off += BlockBytes)
        {
            for (int s = 0; s < count; s++)
            {
                int* p = (int*)(streams[s] + off);
                a0 += Vector512.LoadAligned(p);
                a1 += Vector512.LoadAligned(p + 16);
            }
        }

        return Vector512.Sum(a0 + a1);
    }

    private static long Read256(byte** streams, int count, long streamBytes)
    {
        var a0 = Vector256<int>.Zero;
        var a1 = Vector256<int>.Zero;
        var a2 = Vector256<int>.Zero;
        var a3 = Vector256<int>.Zero;
        for (long off = 0; off < streamBytes; off += BlockBytes)
        {
            for (int s = 0; s < count; s++)
            {
                int* p = (int*)(streams[s] + off);
                a0 += Vector256.LoadAligned(p);
                a1 += Vector256.LoadAligned(p + 8);
                a2 += Vector256.LoadAligned(p + 16);
                a3 += Vector256.LoadAligned(p + 24);
            }
        }

        return Vector256.Sum((a0 + a1) + (a2 + a3));
    }

    private static long Read128(byte** streams, int count, long streamBytes)
    {
        var a0 = Vector128<int>.Zero;
        var a1 = Vector128<int>.Zero;
        for (long off = 0; off < streamBytes; off += BlockBytes)
        {
            for (int s = 0; s < count; s++)
            {
                int* p = (int*)(streams[s] + off);
                for (int k = 0; k < 32; k += 8)
                {
                    a0 += Vector128.LoadAligned(p + k);
                    a1 += Vector128.LoadAligned(p + k + 4);
                }
            }
        }

        return Vector128.Sum(a0 + a1);
    }

    public void Dispose()
    {
        if (_buffer != null)
        {
            NativeMemory.AlignedFree(_buffer);
            _buffer = null;
        }
    }
}
