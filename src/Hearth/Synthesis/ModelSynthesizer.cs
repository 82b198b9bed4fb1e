using System.Text;
using Hearth.Models.Blocks;
using Hearth.Quantization;
using Hearth.Sampling;
using Hearth.Tensors;

namespace Hearth.Synthesis;

/// <summary>How to write a synthetic model.</summary>
public sealed record SynthesisOptions
{
    /// <summary>The file type (its mix decides each tensor's type).</summary>
    public LlamaFileType FileType { get; init; } = LlamaFileType.Q4_K_M;

    /// <summary>The seed: the same seed, shape and file type always give a byte-identical file.</summary>
    public ulong Seed { get; init; }

    /// <summary>Threads that generate and quantize rows; 0 uses every core. The output does not depend on it.</summary>
    public int Threads { get; init; }
}

/// <summary>
/// Writes GGUF files with the exact tensor table and metadata of a <see cref="ModelShape"/> and random weights, so that
/// the speed of real model sizes can be measured without downloading them.
/// </summary>
/// <remarks>
/// <para>Tensors are streamed: each is generated and quantized in chunks of rows (in parallel, a few chunks per thread
/// at a time) and written before the next, so memory stays in the tens of megabytes whatever the model size.</para>
/// <para>Content: weight matrices are approximately N(0, 0.02²) and biases N(0, 0.01²), drawn as the Irwin–Hall sum of
/// four 16-bit uniforms (exact mean and variance, tails cut at ±3.46σ) so that the values are reproducible bit for bit
/// on every platform with integer arithmetic only. Each row has its own xoshiro256** stream seeded from the seed, the
/// tensor name and the row index, so the content does not depend on the thread count, and the same seed gives the same
/// weights at every file type. Norms are 1; RoPE factors follow a fixed curve (the exact llama3 factors for
/// <c>rope_freqs</c>).</para>
/// </remarks>
public static class ModelSynthesizer
{
    /// <summary>Plans <paramref name="shape"/> and writes it to <paramref name="path"/> (replacing the file).</summary>
    /// <returns>The plan that was written.</returns>
    /// <exception cref="ArgumentException">The shape or options are invalid.</exception>
    /// <exception cref="IOException">The file cannot be written; no partial file is left behind.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; no partial file is left behind.</exception>
    public static SynthesisPlan Write(ModelShape shape, string path, SynthesisOptions? options = null, IProgress<double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SynthesisOptions();
        var plan = SynthesisPlan.Create(shape, options.FileType);
        try
        {
            using (var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(plan, fs, options.Seed, options.Threads, progress, cancellation);
            }
        }
        catch
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }

        return plan;
    }

    /// <summary>Writes a planned model to a stream.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threads"/> is negative or above 1024.</exception>
    /// <exception cref="OperationCanceledException">Cancelled part way; the stream holds a partial file.</exception>
    public static void Write(SynthesisPlan plan, Stream output, ulong seed, int threads = 0, IProgress<double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(threads);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threads, 1024);
        int workers = threads > 0 ? threads : Environment.ProcessorCount;
        var encoder = new ChunkedTensorEncoder(workers, plan.Tensors.Max(t => t.RowLength), plan.TensorBytes, progress, cancellation);
        progress?.Report(0);
        plan.CreateWriter(t => s =>
        {
            ulong hash = NameHash(t.Name);
            encoder.Encode(s, t.Type, t.RowLength, t.RowCount, (row0, rows, dst) =>
            {
                long n = t.RowLength;
                for (int r = 0; r < rows; r++) Fill(plan.Shape, t, hash, row0 + r, seed, dst.Slice((int)(r * n), (int)n));
            });
        }).Write(output);
        progress?.Report(1);
    }

    /// <summary>
    /// The float values of row <paramref name="row"/> of <paramref name="tensor"/> before quantization, as
    /// <see cref="Write(SynthesisPlan, Stream, ulong, int, IProgress{double}, CancellationToken)"/> generates them.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The row is outside the tensor or <paramref name="dst"/> is shorter than a row.</exception>
    public static void GenerateRow(ModelShape shape, PlannedTensor tensor, long row, ulong seed, Span<float> dst)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(tensor);
        if (row < 0 || row >= tensor.RowCount) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} of '{tensor.Name}' (rows: {tensor.RowCount})");
        if (dst.Length < tensor.RowLength) throw new ArgumentOutOfRangeException(nameof(dst), $"a row of '{tensor.Name}' has {tensor.RowLength} elements, the buffer {dst.Length}");
        Fill(shape, tensor, NameHash(tensor.Name), row, seed, dst[..(int)tensor.RowLength]);
    }

    private static void Fill(ModelShape shape, PlannedTensor tensor, ulong nameHash, long row, ulong seed, Span<float> dst)
    {
        switch (tensor.Kind)
        {
            case SyntheticTensorKind.Norm:
                dst.Fill(1f);
                break;
            case SyntheticTensorKind.RopeFactors:
                RopeFactors(shape, tensor.Name).AsSpan(0, dst.Length).CopyTo(dst);
                break;
            default:
                float sigma = tensor.Kind == SyntheticTensorKind.Bias ? SynthesisPlan.BiasSigma : SynthesisPlan.WeightSigma;
                Gaussian(new SeededRandom(RowSeed(seed, nameHash, row)), sigma, dst);
                break;
        }
    }

    /// <summary>
    /// Approximately normal values: (u1 + u2 + u3 + u4 − 4·32767.5) / sd for four 16-bit uniforms taken from one 64-bit
    /// draw, where sd = √(4·(65536² − 1)/12) is their sum's exact standard deviation.
    /// </summary>
    private static void Gaussian(SeededRandom rng, float sigma, Span<float> dst)
    {
        const double mean = 4 * 32767.5;
        double scale = sigma / Math.Sqrt(4.0 * (65536.0 * 65536.0 - 1) / 12.0);
        for (int i = 0; i < dst.Length; i++)
        {
            ulong r = rng.NextUInt64();
            long sum = (long)(r & 0xFFFF) + (long)((r >> 16) & 0xFFFF) + (long)((r >> 32) & 0xFFFF) + (long)(r >> 48);
            dst[i] = (float)((sum - mean) * scale);
        }
    }

    /// <summary>
    /// RoPE factors: the exact llama3 frequency factors for <c>rope_freqs</c>; for LongRoPE, smooth rising curves from 1
    /// (short: to 3, long: to 48) standing in for the trained ones.
    /// </summary>
    private static float[] RopeFactors(ModelShape s, string name)
    {
        int half = s.RopeDimensionCount / 2;
        if (name == "rope_freqs.weight" && s.Llama3Rope is { } l3)
            return Rope.Llama3Factors(s.RopeDimensionCount, s.RopeFreqBase, l3.Factor, l3.LowFrequencyFactor, l3.HighFrequencyFactor, l3.OriginalContext);
        float top = name == "rope_factors_long.weight" ? 48f : 3f;
        var f = new float[half];
        for (int i = 0; i < half; i++)
        {
            double t = half > 1 ? i / (double)(half - 1) : 0;
            f[i] = (float)(1 + (top - 1) * t * t);
        }

        return f;
    }

    /// <summary>FNV-1a of the tensor name's UTF-8 bytes.</summary>
    private static ulong NameHash(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            h ^= b;
            h *= 1099511628211UL;
        }

        return h;
    }

    private static ulong RowSeed(ulong seed, ulong nameHash, long row) => Mix(Mix(seed ^ 0x5DEECE66DUL) ^ nameHash ^ Mix((ulong)row + 0x9E3779B97F4A7C15UL));

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
