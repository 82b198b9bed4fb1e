using Hearth.Gguf;
using Hearth.Models.Architectures;
using Hearth.Tensors;

namespace Hearth.Models.Lora;

/// <summary>What <see cref="LoraMerger.Merge"/> writes.</summary>
public sealed record LoraMergeOptions
{
    /// <summary>
    /// Type of the merged weights: <see cref="GgmlType.F32"/> or <see cref="GgmlType.F16"/>; null keeps each weight's own
    /// type (a quantized weight is dequantized, merged and quantized again with Hearth's quantizer). Weights no adapter
    /// changes are copied as they are.
    /// </summary>
    public GgmlType? Type { get; init; }
}

/// <summary>
/// Folds LoRA adapters into a model's weights: W' = W + Σ scale · (alpha / r) · B·A per targeted weight, computed in
/// float (products summed in double), so the merged file runs at the base model's speed with no adapter applied.
/// </summary>
public static class LoraMerger
{
    /// <summary>Writes <paramref name="basePath"/> with <paramref name="adapters"/> merged into <paramref name="outPath"/>.</summary>
    /// <returns>The names of the weights that were changed.</returns>
    /// <exception cref="ArgumentException">No adapters, an unsupported output type, or the output is the base file.</exception>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="GgufFormatException">A file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The base is not a model Hearth runs, or an adapter is not for it.</exception>
    /// <exception cref="NotSupportedException">A targeted weight has a type Hearth cannot dequantize or quantize.</exception>
    public static IReadOnlyList<string> Merge(string basePath, IReadOnlyList<AdapterReference> adapters, string outPath, LoraMergeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        options ??= new LoraMergeOptions();
        if (adapters.Count == 0) throw new ArgumentException("give at least one adapter to merge", nameof(adapters));
        if (options.Type is { } t && t != GgmlType.F32 && t != GgmlType.F16)
            throw new ArgumentException($"merged weights can be written as F32 or F16 (or in each weight's own type), not {t}", nameof(options));
        if (string.Equals(Path.GetFullPath(basePath), Path.GetFullPath(outPath), StringComparison.Ordinal))
            throw new ArgumentException("the output must not overwrite the base model (it is mapped while writing)", nameof(outPath));

        using var file = GgufFile.Open(basePath);
        var model = ArchitectureRegistry.Resolve(file).Build(file, 1);
        var loaded = new List<(LoraAdapter Adapter, float Scale)>();
        try
        {
            foreach (var r in adapters)
            {
                if (!float.IsFinite(r.Scale)) throw new ArgumentException($"the scale of '{r.Source}' must be a finite number", nameof(adapters));
                loaded.Add((LoraAdapter.Load(r.Source, model), r.Scale));
            }

            var writer = new GgufWriter().CopyMetadata(file);
            var changed = new List<string>();
            foreach (var tensor in file.Tensors)
            {
                var deltas = new List<(Weight A, Weight B, float Factor)>();
                foreach (var (adapter, scale) in loaded)
                {
                    if (adapter.TryGet(tensor.Name, out var a, out var b)) deltas.Add((a, b, adapter.Factor(a, scale)));
                }

                if (deltas.Count == 0)
                {
                    writer.AddTensor(tensor.Name, tensor.Shape, tensor.Type, s => s.Write(file.TensorData(tensor)));
                    continue;
                }

                var type = options.Type ?? tensor.Type;
                if (!Quants.IsSupported(tensor.Type) || !Quants.IsSupported(type))
                    throw new NotSupportedException($"{tensor.Name}: weights of type {tensor.Type} cannot be merged");
                changed.Add(tensor.Name);
                var source = tensor;
                writer.AddTensor(tensor.Name, tensor.Shape, type, s => WriteMerged(file, source, type, deltas, s));
            }

            writer.Write(outPath);
            return changed;
        }
        finally
        {
            foreach (var (adapter, _) in loaded) adapter.Dispose();
        }
    }

    /// <summary>Streams W + Σ factor·B·A row by row (every row is whole blocks, so it is quantized on its own).</summary>
    private static void WriteMerged(GgufFile file, GgufTensorInfo tensor, GgmlType type, List<(Weight A, Weight B, float Factor)> deltas, Stream output)
    {
        int cols = checked((int)tensor.Shape[0]);
        int rows = checked((int)(tensor.ElementCount / cols));
        var data = file.TensorData(tensor);
        int inBytes = checked((int)Quants.RowBytes(tensor.Type, cols));
        var outRow = new byte[Quants.RowBytes(type, cols)];
        var row = new float[cols];
        var sum = new double[cols];
        // A is [r][cols] (lora_a's ne0 = n_in), B is [rows][r]: read them once as floats.
        var a = deltas.Select(d => Read(d.A)).ToArray();
        var b = deltas.Select(d => Read(d.B)).ToArray();
        for (int o = 0; o < rows; o++)
        {
            Quants.Dequantize(tensor.Type, data.Slice(o * inBytes, inBytes), row);
            Array.Clear(sum);
            for (int d = 0; d < deltas.Count; d++)
            {
                int rank = deltas[d].A.Rows;
                double factor = deltas[d].Factor;
                for (int k = 0; k < rank; k++)
                {
                    double bk = factor * b[d][o * rank + k];
                    var ak = a[d].AsSpan(k * cols, cols);
                    for (int i = 0; i < cols; i++) sum[i] += bk * ak[i];
                }
            }

            for (int i = 0; i < cols; i++) row[i] = (float)(row[i] + sum[i]);
            Quants.Quantize(type, row, outRow);
            output.Write(outRow);
        }
    }

    private static float[] Read(Weight w)
    {
        var all = new float[(long)w.Rows * w.Cols];
        for (int r = 0; r < w.Rows; r++) w.ReadRow(r, all.AsSpan(r * w.Cols, w.Cols));
        return all;
    }
}
