using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat.Templates;

/// <summary>
/// JSON in and out the way chat tooling does it: JSON input becomes Python values (objects keep their key order,
/// integers stay integers), and <c>tojson</c> writes Python's <c>json.dumps</c> text.
/// </summary>
internal static class PyJson
{
    private const int MaxDepth = 256;

    /// <summary>Converts a JSON node to interpreter values: object → dict, array → list, number → int or float.</summary>
    public static object? FromNode(JsonNode? node, int depth = 0)
    {
        if (depth > MaxDepth) throw new ArgumentException($"JSON nested deeper than {MaxDepth} levels");
        switch (node)
        {
            case null: return null;
            case JsonObject obj:
                var dict = new PyDict();
                foreach (var (key, value) in obj) dict[key] = FromNode(value, depth + 1);
                return dict;
            case JsonArray arr:
                var list = new List<object?>(arr.Count);
                foreach (var item in arr) list.Add(FromNode(item, depth + 1));
                return list;
            case JsonValue value:
                return FromValue(value);
            default:
                throw new ArgumentException($"unsupported JSON node {node.GetType().Name}");
        }
    }

    private static object? FromValue(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.Null: return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return value.GetValue<string>();
            case JsonValueKind.Number:
                if (value.TryGetValue<JsonElement>(out var element))
                {
                    // Python's json.loads: a number without '.', 'e' or 'E' is an int.
                    string raw = element.GetRawText();
                    if (raw.AsSpan().IndexOfAny(".eE") < 0 && element.TryGetInt64(out long l)) return l;
                    return element.GetDouble();
                }

                if (value.TryGetValue<double>(out double d)) return d;
                if (value.TryGetValue<float>(out float f)) return (double)f;
                if (value.TryGetValue<decimal>(out decimal m)) return (double)m;
                if (value.TryGetValue<long>(out long i64)) return i64;
                if (value.TryGetValue<ulong>(out ulong u64)) return u64 <= long.MaxValue ? (long)u64 : (double)u64;
                if (value.TryGetValue<int>(out int i32)) return (long)i32;
                return value.GetValue<long>();
            default:
                throw new ArgumentException($"unsupported JSON value kind {value.GetValueKind()}");
        }
    }

    /// <summary>
    /// Python's <c>json.dumps(value, ensure_ascii, indent, separators, sort_keys)</c>. <paramref name="indent"/> is the
    /// per-level indentation text (null for single-line output).
    /// </summary>
    public static string Dumps(object? value, string? indent, string itemSeparator, string keySeparator, bool sortKeys, bool ensureAscii)
    {
        var sb = new StringBuilder();
        Write(sb, value, indent, itemSeparator, keySeparator, sortKeys, ensureAscii, 0);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, object? value, string? indent, string itemSep, string keySep, bool sortKeys, bool ascii, int level)
    {
        if (level > MaxDepth || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new PyException("Circular reference detected");
        if (sb.Length > Py.MaxStringLength) throw new PyException($"JSON text longer than {Py.MaxStringLength} characters");
        switch (value)
        {
            case null: sb.Append("null"); return;
            case bool b: sb.Append(b ? "true" : "false"); return;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
            case double d: sb.Append(FloatText(d)); return;
            case string s: WriteString(sb, s, ascii); return;
            case List<object?> or PyTuple:
            {
                var items = (IReadOnlyList<object?>)value;
                if (items.Count == 0)
                {
                    sb.Append("[]");
                    return;
                }

                sb.Append('[');
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, indent, level + 1);
                    Write(sb, items[i], indent, itemSep, keySep, sortKeys, ascii, level + 1);
                }

                NewLine(sb, indent, level);
                sb.Append(']');
                return;
            }

            case PyDict dict:
            {
                if (dict.Count == 0)
                {
                    sb.Append("{}");
                    return;
                }

                IEnumerable<KeyValuePair<object, object?>> pairs = dict;
                if (sortKeys)
                {
                    var list = dict.ToList();
                    MergeSort.Sort(list, (x, y) => Py.Compare(x.Key, y.Key, "<"));
                    pairs = list;
                }

                sb.Append('{');
                bool first = true;
                foreach (var (key, item) in pairs)
                {
                    if (!first) sb.Append(itemSep);
                    first = false;
                    NewLine(sb, indent, level + 1);
                    string keyText = key switch
                    {
                        string s => s,
                        bool b => b ? "true" : "false",
                        long l => l.ToString(CultureInfo.InvariantCulture),
                        double d => FloatText(d),
                        _ => throw new PyException($"keys must be str, int, float, bool or None, not {Py.TypeName(key)}"),
                    };
                    WriteString(sb, keyText, ascii);
                    sb.Append(keySep);
                    Write(sb, item, indent, itemSep, keySep, sortKeys, ascii, level + 1);
                }

                NewLine(sb, indent, level);
                sb.Append('}');
                return;
            }

            case Undefined: throw new PyException("Object of type Undefined is not JSON serializable");
            default: throw new PyException($"Object of type {Py.TypeName(value)} is not JSON serializable");
        }
    }

    private static void NewLine(StringBuilder sb, string? indent, int level)
    {
        if (indent == null) return;
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(indent);
    }

    private static string FloatText(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : Py.FloatRepr(d);

    /// <summary>A JSON string literal as Python's json.dumps writes it; <paramref name="ascii"/> also escapes non-ASCII.</summary>
    internal static void WriteString(StringBuilder sb, string s, bool ascii)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20 || (ascii && c > 0x7e))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        sb.Append('"');
    }
}

/// <summary>A stable merge sort whose comparison may throw (List.Sort is unstable and wraps exceptions).</summary>
internal static class MergeSort
{
    public static void Sort<T>(List<T> items, Comparison<T> compare)
    {
        if (items.Count < 2) return;
        var a = items.ToArray();
        var tmp = new T[a.Length];
        for (int width = 1; width < a.Length; width *= 2)
        {
            for (int lo = 0; lo < a.Length; lo += 2 * width)
            {
                int mid = Math.Min(lo + width, a.Length), hi = Math.Min(lo + 2 * width, a.Length);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi) tmp[k++] = compare(a[j], a[i]) < 0 ? a[j++] : a[i++];
                while (i < mid) tmp[k++] = a[i++];
                while (j < hi) tmp[k++] = a[j++];
            }

            (a, tmp) = (tmp, a);
        }

        for (int i = 0; i < a.Length; i++) items[i] = a[i];
    }
}
