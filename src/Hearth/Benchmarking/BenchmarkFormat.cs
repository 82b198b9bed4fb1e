using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Hearth.Benchmarking;

/// <summary>Renders benchmark reports as text tables (like llama-bench's markdown) or JSON.</summary>
public static class BenchmarkFormat
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>A markdown table: one row per test and thread count; tg rows carry weight bytes read per second and efficiency.</summary>
    public static string ToText(ModelBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var m = report.Model;
        var sb = new StringBuilder();
        sb.Append(s_inv, $"model: {m.Path}\n");
        sb.Append(s_inv, $"       {m.Architecture}, {m.FileType}, {Mib(m.FileBytes)} MiB file, {m.Parameters / 1e6:F1} M parameters, {Mib(m.DecodeBytesPerToken)} MiB read per token{(m.TiedOutput ? " (tied output reads the whole embedding)" : "")}\n\n");
        string[] header = ["threads", "test", "t/s", "read GB/s", "bandwidth GB/s", "efficiency"];
        var rows = report.Results.Select(r => new[]
        {
            r.Threads.ToString(s_inv),
            r.Test,
            r.TokensPerSecond.Format(),
            r.Decode is { } d ? d.AchievedGBps.ToString("F2", s_inv) : "",
            r.Decode is { } d2 ? d2.BandwidthGBps.ToString("F2", s_inv) : "",
            r.Decode is { } d3 ? (d3.Efficiency * 100).ToString("F1", s_inv) + " %" : "",
        }).ToList();
        Table(sb, header, rows);
        return sb.ToString();
    }

    /// <summary>A markdown table: one row per thread count and stream count.</summary>
    public static string ToText(MemoryBandwidthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append(s_inv, $"read bandwidth over a {Mib(report.BufferBytes)} MiB buffer, {report.Kernel} loads\n\n");
        string[] header = ["threads", "streams/thread", "GB/s", "best GB/s"];
        var rows = report.Results.Select(r => new[]
        {
            r.Threads.ToString(s_inv),
            r.StreamsPerThread.ToString(s_inv),
            r.Statistics.Format(),
            r.Statistics.Max.ToString("F2", s_inv),
        }).ToList();
        Table(sb, header, rows);
        return sb.ToString();
    }

    /// <summary>
    /// JSON: <c>{"model": {...}, "prompt_tokens", "generate_tokens", "repetitions", "results": [{"test", "threads",
    /// "tokens", "samples_tps", "mean_tps", "stddev_tps", and for tg "bytes_per_token", "read_gbps", "bandwidth_gbps",
    /// "efficiency"}]}</c>.
    /// </summary>
    public static string ToJson(ModelBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Json(w =>
        {
            var m = report.Model;
            w.WriteStartObject();
            w.WriteStartObject("model");
            w.WriteString("path", m.Path);
            w.WriteString("architecture", m.Architecture);
            w.WriteString("file_type", m.FileType);
            w.WriteNumber("file_bytes", m.FileBytes);
            w.WriteNumber("tensor_bytes", m.TensorBytes);
            w.WriteNumber("parameters", m.Parameters);
            w.WriteNumber("decode_bytes_per_token", m.DecodeBytesPerToken);
            w.WriteBoolean("tied_output", m.TiedOutput);
            w.WriteEndObject();
            w.WriteNumber("prompt_tokens", report.PromptTokens);
            w.WriteNumber("generate_tokens", report.GenerateTokens);
            w.WriteNumber("repetitions", report.Repetitions);
            w.WriteStartArray("results");
            foreach (var r in report.Results)
            {
                var s = r.TokensPerSecond;
                w.WriteStartObject();
                w.WriteString("test", r.Test);
                w.WriteNumber("threads", r.Threads);
                w.WriteNumber("tokens", r.Tokens);
                w.WriteStartArray("samples_tps");
                foreach (var x in r.SamplesTokensPerSecond) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteNumber("mean_tps", s.Mean);
                w.WriteNumber("stddev_tps", s.StandardDeviation);
                if (r.Decode is { } d)
                {
                    w.WriteNumber("bytes_per_token", d.BytesPerToken);
                    w.WriteNumber("read_gbps", d.AchievedGBps);
                    w.WriteNumber("bandwidth_gbps", d.BandwidthGBps);
                    w.WriteNumber("efficiency", d.Efficiency);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>
    /// JSON: <c>{"buffer_bytes", "kernel", "results": [{"threads", "streams_per_thread", "bytes_per_pass",
    /// "samples_gbps", "mean_gbps", "stddev_gbps", "max_gbps"}]}</c>.
    /// </summary>
    public static string ToJson(MemoryBandwidthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("buffer_bytes", report.BufferBytes);
            w.WriteString("kernel", report.Kernel);
            w.WriteStartArray("results");
            foreach (var r in report.Results)
            {
                var s = r.Statistics;
                w.WriteStartObject();
                w.WriteNumber("threads", r.Threads);
                w.WriteNumber("streams_per_thread", r.StreamsPerThread);
                w.WriteNumber("bytes_per_pass", r.BytesPerPass);
                w.WriteStartArray("samples_gbps");
                foreach (var x in r.SamplesGBps) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteNumber("mean_gbps", s.Mean);
                w.WriteNumber("stddev_gbps", s.StandardDeviation);
                w.WriteNumber("max_gbps", s.Max);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    /// <summary>A markdown table: one row per stream count: the aggregate rate end to end and over decode steps alone, with the gain over one stream.</summary>
    public static string ToText(ConcurrencyBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var m = report.Model;
        var sb = new StringBuilder();
        sb.Append(s_inv, $"model: {m.Path}\n");
        sb.Append(s_inv, $"       {m.Architecture}, {m.FileType}, {Mib(m.FileBytes)} MiB file; {report.Threads} thread(s); each stream: {report.PromptTokens}-token prompt, {report.GenerateTokens} tokens generated\n\n");
        string[] header = ["streams", "aggregate t/s", "per stream t/s", "vs 1 stream", "decode steps t/s", "vs 1 stream "];
        double? single = report.Results.FirstOrDefault(r => r.Streams == 1)?.TokensPerSecond.Mean;
        double? singleDecode = report.Results.FirstOrDefault(r => r.Streams == 1)?.DecodeTokensPerSecond.Mean;
        var rows = report.Results.Select(r => new[]
        {
            r.Streams.ToString(s_inv),
            r.TokensPerSecond.Format(),
            (r.TokensPerSecond.Mean / r.Streams).ToString("F2", s_inv),
            single is { } one ? (r.TokensPerSecond.Mean / one).ToString("F2", s_inv) + "×" : "",
            r.DecodeTokensPerSecond.Format(),
            singleDecode is { } d ? (r.DecodeTokensPerSecond.Mean / d).ToString("F2", s_inv) + "×" : "",
        }).ToList();
        Table(sb, header, rows);
        return sb.ToString();
    }

    public static string ToJson(ConcurrencyBenchmarkReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("model", report.Model.Path);
            w.WriteString("file_type", report.Model.FileType);
            w.WriteNumber("threads", report.Threads);
            w.WriteNumber("prompt_tokens", report.PromptTokens);
            w.WriteNumber("generate_tokens", report.GenerateTokens);
            w.WriteStartArray("results");
            foreach (var r in report.Results)
            {
                w.WriteStartObject();
                w.WriteNumber("streams", r.Streams);
                w.WriteStartArray("samples_tps");
                foreach (var x in r.SamplesTokensPerSecond) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteNumber("mean_tps", r.TokensPerSecond.Mean);
                w.WriteNumber("stddev_tps", r.TokensPerSecond.StandardDeviation);
                w.WriteStartArray("decode_samples_tps");
                foreach (var x in r.SamplesDecodeTokensPerSecond) w.WriteNumberValue(x);
                w.WriteEndArray();
                w.WriteNumber("decode_mean_tps", r.DecodeTokensPerSecond.Mean);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", s_inv);

    private static string Json(Action<Utf8JsonWriter> write)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            write(w);
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void Table(StringBuilder sb, string[] header, List<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        void Row(string[] cells)
        {
            sb.Append('|');
            for (int i = 0; i < cells.Length; i++) sb.Append(' ').Append(cells[i].PadLeft(widths[i])).Append(" |");
            sb.Append('\n');
        }

        Row(header);
        sb.Append('|');
        foreach (var w in widths) sb.Append(new string('-', w + 1)).Append(":|");
        sb.Append('\n');
        foreach (var r in rows) Row(r);
    }
}
