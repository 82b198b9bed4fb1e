using System.Globalization;
using System.Text;
using System.Text.Json;
using Hearth.Models;

namespace Hearth.Planning;

/// <summary>Text and JSON renderings of estimates, recommendations and measurements (what <c>hearth fit</c> prints).</summary>
public static class FitFormat
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// The component table of <paramref name="estimate"/> for <paramref name="model"/>, then (when given) what fits the
    /// budget and (when given) the measured resident set.
    /// </summary>
    public static string ToText(string model, FitEstimate estimate, FitRecommendation? recommendation = null, FitMeasurement? measurement = null)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        var e = estimate;
        var sb = new StringBuilder();
        sb.Append(s_inv, $"{model}: {e.Architecture} {(e.FileType?.ToString() ?? "unknown file type")}, context {e.Context} (trained {e.TrainingContext}), {e.Parallel} sequence(s), KV cache {Kv(e.CacheType)}, batch {e.BatchSize}, {e.Threads} thread(s)\n");
        var rows = new List<(string Name, long Bytes, string Detail)>
        {
            ("weights", e.WeightBytes, "tensor data, memory-mapped"),
            ("file metadata", e.FileOverheadBytes, "header, vocabulary, tensor table, padding (mapped)"),
            ("model heap", e.ModelHeapBytes, "parsed vocabulary, tokenizer tables, float norms and biases"),
            ("KV cache", e.KvCacheBytes, string.Create(s_inv, $"{Kv(e.CacheType)}, {e.Context} tokens: {MemorySize.Format(e.KvCachePerSequence)} per sequence x {e.Parallel}")),
            ("compute buffers", e.ComputeBytes, string.Create(s_inv,
                $"per sequence {MemorySize.Format(e.ComputePerSequence)} (activations {MemorySize.Format(e.ActivationsPerSequence)}, attention {MemorySize.Format(e.AttentionPerSequence)}, logits {MemorySize.Format(e.LogitsPerSequence)}) x {e.Parallel} + matmul scratch {MemorySize.Format(e.MatMulScratchBytes)}")),
            ("runtime", e.RuntimeBytes, ".NET runtime, engine code and heap"),
        };
        int width = rows.Max(r => r.Name.Length);
        foreach (var (name, bytes, detail) in rows) sb.Append(s_inv, $"  {name.PadRight(width)}  {MemorySize.Format(bytes),12}  {detail}\n");
        sb.Append(s_inv, $"  {"total".PadRight(width)}  {MemorySize.Format(e.TotalBytes),12}  ({e.TotalBytes / 1e9:F2} GB)\n");

        if (recommendation is { } r)
        {
            sb.Append(s_inv, $"\nbudget {MemorySize.Format(r.BudgetBytes)} ({r.BudgetBytes / 1e9:F2} GB): ");
            sb.Append(r.CurrentFits ? "fits" : "does not fit");
            sb.Append(r.MaxContext > 0
                ? string.Create(s_inv, $"; largest context that fits: {r.MaxContext}\n")
                : "; not even one token of context fits\n");
            sb.Append(s_inv, $"\n  {"type",-7} {"weights",12} {"file",12} {"total @ " + r.MinimumContext,16}  {"max context",11}\n");
            foreach (var q in r.Quantizations)
            {
                string mark = ReferenceEquals(q, r.Best) ? "  <- recommended" : "";
                sb.Append(s_inv, $"  {q.FileType,-7} {MemorySize.Format(q.WeightBytes),12} {MemorySize.Format(q.FileBytes),12} {MemorySize.Format(q.Estimate.TotalBytes),16}  {(q.Fits ? q.MaxContext.ToString(s_inv) : "-"),11}{mark}\n");
            }

            sb.Append(r.Best is { } best
                ? string.Create(s_inv, $"\nrecommended: {best.FileType} with context up to {best.MaxContext} (the highest quality that fits with at least {r.MinimumContext} tokens)\n")
                : string.Create(s_inv, $"\nno candidate quantization fits with {r.MinimumContext} tokens of context\n"));
        }

        if (measurement is { } m)
        {
            sb.Append(s_inv, $"\nmeasured: resident {MemorySize.Format(m.ResidentBytes)} (process before loading {MemorySize.Format(m.BaselineBytes)}");
            if (m.MappedFileResidentBytes is { } mapped) sb.Append(s_inv, $"; model file resident {MemorySize.Format(mapped)} of {MemorySize.Format(m.Estimate.FileBytes)}");
            sb.Append(s_inv, $") after {m.PositionsRun} positions per sequence, {(m.ContextFilled ? "every context position computed" : "rest of each KV cache written with zeros")}\n");
            sb.Append(s_inv, $"estimated {MemorySize.Format(m.Estimate.TotalBytes)} / measured {MemorySize.Format(m.ResidentBytes)} = {m.Ratio:F3} ({m.RelativeError * 100:+0.0;-0.0;0.0}%)\n");
        }

        return sb.ToString();
    }

    /// <summary>The same as JSON (bytes as integers; names in snake_case).</summary>
    public static string ToJson(string model, FitEstimate estimate, FitRecommendation? recommendation = null, FitMeasurement? measurement = null)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("model", model);
            w.WritePropertyName("estimate");
            WriteEstimate(w, estimate);
            if (recommendation is { } r)
            {
                w.WriteStartObject("recommendation");
                w.WriteNumber("budget_bytes", r.BudgetBytes);
                w.WriteNumber("minimum_context", r.MinimumContext);
                w.WriteBoolean("fits", r.CurrentFits);
                w.WriteNumber("max_context", r.MaxContext);
                if (r.Best is { } best) w.WriteString("best_file_type", best.FileType.ToString());
                else w.WriteNull("best_file_type");
                w.WriteStartArray("quantizations");
                foreach (var q in r.Quantizations)
                {
                    w.WriteStartObject();
                    w.WriteString("file_type", q.FileType.ToString());
                    w.WriteNumber("weight_bytes", q.WeightBytes);
                    w.WriteNumber("file_bytes", q.FileBytes);
                    w.WriteNumber("total_bytes_at_minimum_context", q.Estimate.TotalBytes);
                    w.WriteBoolean("fits", q.Fits);
                    w.WriteNumber("max_context", q.MaxContext);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            if (measurement is { } m)
            {
                w.WriteStartObject("measurement");
                w.WriteNumber("baseline_bytes", m.BaselineBytes);
                w.WriteNumber("resident_bytes", m.ResidentBytes);
                if (m.MappedFileResidentBytes is { } mapped) w.WriteNumber("mapped_file_resident_bytes", mapped);
                else w.WriteNull("mapped_file_resident_bytes");
                w.WriteNumber("positions_run", m.PositionsRun);
                w.WriteBoolean("context_filled", m.ContextFilled);
                w.WriteNumber("estimated_bytes", m.Estimate.TotalBytes);
                w.WriteNumber("ratio", m.Ratio);
                w.WriteNumber("relative_error", m.RelativeError);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteEstimate(Utf8JsonWriter w, FitEstimate e)
    {
        w.WriteStartObject();
        w.WriteString("architecture", e.Architecture);
        if (e.FileType is { } ft) w.WriteString("file_type", ft.ToString());
        else w.WriteNull("file_type");
        w.WriteNumber("context", e.Context);
        w.WriteNumber("training_context", e.TrainingContext);
        w.WriteNumber("parallel", e.Parallel);
        w.WriteString("kv_type", Kv(e.CacheType));
        w.WriteNumber("batch_size", e.BatchSize);
        w.WriteNumber("threads", e.Threads);
        w.WriteNumber("weight_bytes", e.WeightBytes);
        w.WriteNumber("file_overhead_bytes", e.FileOverheadBytes);
        w.WriteNumber("model_heap_bytes", e.ModelHeapBytes);
        w.WriteNumber("kv_cache_bytes_per_sequence", e.KvCachePerSequence);
        w.WriteNumber("kv_cache_bytes", e.KvCacheBytes);
        w.WriteNumber("activation_bytes_per_sequence", e.ActivationsPerSequence);
        w.WriteNumber("attention_bytes_per_sequence", e.AttentionPerSequence);
        w.WriteNumber("logits_bytes_per_sequence", e.LogitsPerSequence);
        w.WriteNumber("matmul_scratch_bytes", e.MatMulScratchBytes);
        w.WriteNumber("compute_bytes", e.ComputeBytes);
        w.WriteNumber("runtime_bytes", e.RuntimeBytes);
        w.WriteNumber("total_bytes", e.TotalBytes);
        w.WriteEndObject();
    }

    private static string Kv(KvCacheType t) => t == KvCacheType.F16 ? "f16" : "f32";
}
