using System.Globalization;
using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Quantization;

/// <summary>How <see cref="ModelQuantizer"/> converts a model.</summary>
public sealed record ModelQuantizerOptions
{
    /// <summary>The file type to write; its mix (<see cref="QuantizationMix"/>) decides each tensor's type.</summary>
    public LlamaFileType FileType { get; init; } = LlamaFileType.Q4_K_M;

    /// <summary>
    /// Allow tensors that are already quantized (Q4_0, Q6_K, ...) to be dequantized and quantized again. Off by default,
    /// as in <c>llama-quantize</c>: requantizing compounds the errors of both quantizations. F32, F16 and BF16 sources
    /// never need it.
    /// </summary>
    public bool AllowRequantize { get; init; }

    /// <summary>Threads that convert rows; 0 uses every core. The output does not depend on it.</summary>
    public int Threads { get; init; }
}

/// <summary>One tensor of a quantized file: its type before and after.</summary>
/// <param name="Name">ggml tensor name.</param>
/// <param name="Shape">ggml shape, row length first.</param>
/// <param name="SourceType">The type in the input file.</param>
/// <param name="Type">The type written.</param>
/// <param name="PreferredType">The type the mix asked for before the row-length fallback.</param>
/// <param name="ByteSize">Bytes of the tensor's data in <paramref name="Type"/>.</param>
public sealed record QuantizedTensor(string Name, long[] Shape, GgmlType SourceType, GgmlType Type, GgmlType PreferredType, long ByteSize)
{
    /// <summary>True when the data was converted (false: copied as it was).</summary>
    public bool Converted => SourceType != Type;

    /// <summary>True when the row length could not hold <see cref="PreferredType"/>.</summary>
    public bool FellBack => Type != PreferredType;
}

/// <summary>What <see cref="ModelQuantizer"/> wrote.</summary>
/// <param name="FileType">The file type written to <c>general.file_type</c>.</param>
/// <param name="Tensors">Every tensor in output order.</param>
/// <param name="InputTensorBytes">Bytes of tensor data in the input.</param>
/// <param name="OutputTensorBytes">Bytes of tensor data written.</param>
public sealed record ModelQuantizationResult(LlamaFileType FileType, IReadOnlyList<QuantizedTensor> Tensors, long InputTensorBytes, long OutputTensorBytes)
{
    /// <summary>One line for a user: the type, the tensor counts and the size change.</summary>
    public string Summary(string path, long fileBytes) => string.Create(CultureInfo.InvariantCulture,
        $"wrote {path}: {FileType}, {Tensors.Count} tensors ({Tensors.Count(t => t.Converted)} converted, {Tensors.Count(t => t.FellBack)} fell back), tensor data {InputTensorBytes / 1048576.0:F1} MiB → {OutputTensorBytes / 1048576.0:F1} MiB, file {fileBytes} bytes");
}

/// <summary>
/// Converts a GGUF model to another file type the way <c>llama-quantize</c> does: every metadata entry is copied
/// (<c>general.file_type</c> and <c>general.quantization_version</c> set, the alignment kept), each tensor's type is
/// chosen by <see cref="QuantizationMix"/>, and the tensors are written in llama.cpp's order
/// (<see cref="QuantizationMix.CompareTensorNames"/>).
/// </summary>
/// <remarks>
/// Tensors are streamed from the mapped input: a tensor whose type does not change is copied byte for byte; any other is
/// read in chunks of rows, dequantized to float (F32 rows are used as they are), quantized with ggml's reference
/// quantizers (byte-identical to <c>quantize_row_*_ref</c>, which is what <c>llama-quantize</c> runs without an importance
/// matrix) on several threads, and written before the next chunk, so memory stays in the tens of megabytes.
/// </remarks>
public static class ModelQuantizer
{
    /// <summary>
    /// The type every tensor of <paramref name="input"/> would get as <paramref name="fileType"/>, in the input's order,
    /// without writing anything.
    /// </summary>
    /// <exception cref="NotSupportedException">The file type is not one Hearth can write.</exception>
    /// <exception cref="QuantizationException">A tensor's shape fits no type, or the metadata lacks the architecture.</exception>
    public static TensorTypeChoice[] Plan(GgufFile input, LlamaFileType fileType)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!QuantizationMix.IsSupported(fileType))
            throw new NotSupportedException($"file type {fileType} cannot be written (Hearth can write: {string.Join(", ", QuantizationMix.SupportedFileTypes)})");
        string arch = input.GetString("general.architecture")
            ?? throw new QuantizationException($"{input.Path}: general.architecture is missing; the per-tensor type rules need the architecture");
        int layers = (int)Math.Clamp(input.GetInteger($"{arch}.block_count") ?? 0, 0, int.MaxValue);
        int heads = (int)Math.Clamp(input.GetInteger($"{arch}.attention.head_count") ?? 0, 0, int.MaxValue);
        int headsKv = (int)Math.Clamp(input.GetInteger($"{arch}.attention.head_count_kv") ?? heads, 0, int.MaxValue);
        var model = new QuantizationModel(arch, layers, heads, headsKv);
        return QuantizationMix.Choose(model, input.Tensors.Select(t => new TensorToQuantize(t.Name, t.Shape, t.Type)).ToArray(), fileType);
    }

    /// <summary>Converts the model at <paramref name="inputPath"/> and writes it to <paramref name="outputPath"/> (replacing the file).</summary>
    /// <exception cref="ArgumentException">The paths are empty or the same file, or an option is out of range.</exception>
    /// <exception cref="GgufFormatException">The input is not valid GGUF.</exception>
    /// <exception cref="QuantizationException">The input holds quantized tensors and <see cref="ModelQuantizerOptions.AllowRequantize"/> is off,
    /// a tensor's type cannot be converted, or a shape fits no type.</exception>
    /// <exception cref="NotSupportedException">The file type is not one Hearth can write.</exception>
    /// <exception cref="IOException">The output cannot be written; no partial file is left behind.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; no partial file is left behind.</exception>
    public static ModelQuantizationResult Quantize(string inputPath, string outputPath, ModelQuantizerOptions options, IProgress<double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        ArgumentNullException.ThrowIfNull(options);
        if (string.Equals(Path.GetFullPath(inputPath), Path.GetFullPath(outputPath), StringComparison.Ordinal))
            throw new ArgumentException($"the output {outputPath} is the input file; write to another path", nameof(outputPath));
        using var input = GgufFile.Open(inputPath);
        // Everything that can be refused is refused before the output file is created.
        var writer = Prepare(input, options, progress, cancellation, out var result);
        try
        {
            using var fs = new FileStream(outputPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            progress?.Report(0);
            writer.Write(fs);
            progress?.Report(1);
        }
        catch
        {
            try { File.Delete(outputPath); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }

        return result;
    }

    /// <summary>Converts an open model and writes the GGUF file to <paramref name="output"/>.</summary>
    /// <exception cref="QuantizationException">As <see cref="Quantize(string, string, ModelQuantizerOptions, IProgress{double}, CancellationToken)"/>.</exception>
    /// <exception cref="OperationCanceledException">Cancelled part way; the stream holds a partial file.</exception>
    public static ModelQuantizationResult Quantize(GgufFile input, Stream output, ModelQuantizerOptions options, IProgress<double>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(options);
        var writer = Prepare(input, options, progress, cancellation, out var result);
        progress?.Report(0);
        writer.Write(output);
        progress?.Report(1);
        return result;
    }

    private static GgufWriter Prepare(GgufFile input, ModelQuantizerOptions options, IProgress<double>? progress, CancellationToken cancellation, out ModelQuantizationResult result)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Threads, 1024);
        var choices = Plan(input, options.FileType);
        var byName = choices.ToDictionary(c => c.Name, StringComparer.Ordinal);
        var tensors = new List<(GgufTensorInfo Source, QuantizedTensor Out)>();
        foreach (var t in input.Tensors.OrderBy(t => t.Name, Comparer<string>.Create(QuantizationMix.CompareTensorNames)))
        {
            var c = byName[t.Name];
            Validate(input, t, c.Type, options.AllowRequantize);
            long bytes = t.RowCount * GgmlTypes.Get(c.Type).RowBytes(t.RowLength);
            tensors.Add((t, new QuantizedTensor(t.Name, t.Shape, t.Type, c.Type, c.Preferred, bytes)));
        }

        long outBytes = tensors.Sum(t => t.Out.ByteSize);
        int workers = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        long maxRow = tensors.Where(t => t.Out.Converted).Select(t => t.Source.RowLength).DefaultIfEmpty(1).Max();
        var encoder = new ChunkedTensorEncoder(workers, maxRow, outBytes, progress, cancellation);

        var writer = new GgufWriter { Version = 3 };
        writer.CopyMetadata(input);
        writer.Set("general.quantization_version", LlamaFileTypes.QuantizationVersion);
        writer.Set("general.file_type", (uint)options.FileType);
        foreach (var (source, tensor) in tensors)
        {
            writer.AddTensor(tensor.Name, tensor.Shape, tensor.Type, s => WriteTensor(input, source, tensor, encoder, s));
        }

        result = new ModelQuantizationResult(options.FileType, tensors.Select(t => t.Out).ToArray(), tensors.Sum(t => t.Source.ByteSize), outBytes);
        return writer;
    }

    private static void Validate(GgufFile input, GgufTensorInfo t, GgmlType target, bool allowRequantize)
    {
        if (t.Type == target) return;
        if (t.Type is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16) && !allowRequantize)
        {
            throw new QuantizationException(
                $"{input.Path}: tensor '{t.Name}' is already quantized ({t.Type}); requantizing compounds the errors of both quantizations, so quantize from the F32/F16/BF16 model, or pass --allow-requantize (AllowRequantize) to do it anyway");
        }

        if (!Quants.IsSupported(t.Type))
            throw new QuantizationException($"{input.Path}: tensor '{t.Name}' is {t.Type}, which Hearth cannot decode, so it cannot be converted to {target}");
        if (!Quants.IsSupported(target))
            throw new QuantizationException($"tensor '{t.Name}': Hearth cannot encode {target}");
        if (t.RowLength % GgmlTypes.Get(target).BlockSize != 0)
            throw new QuantizationException($"tensor '{t.Name}': rows of {t.RowLength} elements are not a whole number of {target} blocks");
    }

    private static unsafe void WriteTensor(GgufFile input, GgufTensorInfo source, QuantizedTensor tensor, ChunkedTensorEncoder encoder, Stream s)
    {
        byte* data = input.TensorPointer(source);
        if (!tensor.Converted)
        {
            encoder.Copy(s, data, source.ByteSize);
            return;
        }

        long rowLength = source.RowLength;
        long srcRowBytes = GgmlTypes.Get(source.Type).RowBytes(rowLength);
        var srcType = source.Type;
        nint basePtr = (nint)data;
        encoder.Encode(s, tensor.Type, rowLength, source.RowCount, (row0, rows, dst) =>
        {
            var bytes = new ReadOnlySpan<byte>((byte*)basePtr + row0 * srcRowBytes, checked((int)(rows * srcRowBytes)));
            Quants.Dequantize(srcType, bytes, dst);
        });
    }
}
