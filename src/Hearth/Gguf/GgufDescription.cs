using System.Globalization;
using System.Text;
using System.Text.Json;
using Hearth.Tensors;

namespace Hearth.Gguf;

/// <summary>Human-readable and JSON descriptions of a GGUF file's metadata and tensor table (what <c>hearth inspect</c> prints).</summary>
public static class GgufDescription
{
    /// <summary>Arrays longer than this are summarised by their first few items.</summary>
    public const int ArrayPreview = 8;

    public static string ToText(GgufFile file)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"file: {file.Path}\n");
        sb.Append(CultureInfo.InvariantCulture, $"GGUF version {file.Version}, alignment {file.Alignment}, {file.MetadataList.Count} metadata entries, {file.Tensors.Count} tensors, data at offset {file.DataOffset}\n\n");
        sb.Append("metadata:\n");
        int keyWidth = file.MetadataList.Count == 0 ? 0 : file.MetadataList.Max(kv => kv.Key.Length);
        foreach (var kv in file.MetadataList)
        {
            sb.Append("  ").Append(kv.Key.PadRight(keyWidth)).Append(" = ").Append(ValueText(kv.Value)).Append('\n');
        }

        sb.Append("\ntensors:\n");
        int nameWidth = file.Tensors.Count == 0 ? 4 : Math.Max(4, file.Tensors.Max(t => t.Name.Length));
        sb.Append("  ").Append("name".PadRight(nameWidth)).Append("  type     shape                       bytes\n");
        long total = 0;
        foreach (var t in file.Tensors)
        {
            total += t.ByteSize;
            sb.Append("  ").Append(t.Name.PadRight(nameWidth)).Append("  ").Append(t.Type.ToString().PadRight(7)).Append("  ")
              .Append(t.ShapeText.PadRight(26)).Append(' ').Append(t.ByteSize.ToString(CultureInfo.InvariantCulture).PadLeft(12)).Append('\n');
        }

        sb.Append(CultureInfo.InvariantCulture, $"\ntotal tensor data: {total} bytes ({total / 1048576.0:F2} MiB)\n");
        return sb.ToString();
    }

    /// <summary>Text of one value: strings quoted, arrays summarised as <c>[type; n] [a, b, ...]</c>.</summary>
    public static string ValueText(GgufValue value)
    {
        if (value.Value is GgufArray a) return ArrayText(a);
        if (value.Value is string s) return Quote(s.Length > 200 ? s[..200] + "…" : s);
        return value.ToString();
    }

    private static string ArrayText(GgufArray a)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"[{a.ElementType}; {a.Count}] [");
        int shown = Math.Min(a.Count, ArrayPreview);
        for (int i = 0; i < shown; i++)
        {
            if (i > 0) sb.Append(", ");
            var item = a.Items.GetValue(i);
            sb.Append(item switch
            {
                string s => Quote(s),
                GgufArray inner => ArrayText(inner),
                _ => a.ItemToString(i),
            });
        }

        if (a.Count > shown) sb.Append(CultureInfo.InvariantCulture, $", … {a.Count - shown} more");
        return sb.Append(']').ToString();
    }

    private static readonly JsonSerializerOptions s_relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Quote(string s) => JsonSerializer.Serialize(s, s_relaxed);

    public static string ToJson(GgufFile file)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("path", file.Path);
            w.WriteNumber("version", file.Version);
            w.WriteNumber("alignment", file.Alignment);
            w.WriteNumber("data_offset", file.DataOffset);
            w.WriteStartObject("metadata");
            foreach (var kv in file.MetadataList)
            {
                w.WritePropertyName(kv.Key);
                WriteJsonValue(w, kv.Value.Value, 0);
            }

            w.WriteEndObject();
            w.WriteStartArray("tensors");
            foreach (var t in file.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteString("type", t.Type.ToString());
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteNumber("offset", t.Offset);
                w.WriteNumber("bytes", t.ByteSize);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteJsonValue(Utf8JsonWriter w, object value, int depth)
    {
        switch (value)
        {
            case string s: w.WriteStringValue(s); break;
            case bool b: w.WriteBooleanValue(b); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float or double: w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture)); break;
            case GgufArray a:
                // Long arrays (vocabularies, merges) are summarised: type, count, and the first items.
                if (a.Count > ArrayPreview && depth == 0)
                {
                    w.WriteStartObject();
                    w.WriteString("type", a.ElementType.ToString());
                    w.WriteNumber("count", a.Count);
                    w.WriteStartArray("first");
                    for (int i = 0; i < ArrayPreview; i++) WriteJsonValue(w, a.Items.GetValue(i)!, depth + 1);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteStartArray();
                    foreach (var item in a.Items) WriteJsonValue(w, item!, depth + 1);
                    w.WriteEndArray();
                }

                break;
            default:
                w.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
        }
    }
}
