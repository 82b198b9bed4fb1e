using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>How a JSON value embedded in model output ends.</summary>
internal enum JsonExtentKind
{
    /// <summary>The value closes at <see cref="JsonExtent.End"/>.</summary>
    Complete,

    /// <summary>The text ran out before the value closed.</summary>
    Incomplete,

    /// <summary>A bracket closes the wrong opener, or no value starts here; <see cref="JsonExtent.End"/> is just past the offence.</summary>
    Invalid,
}

internal readonly record struct JsonExtent(JsonExtentKind Kind, int End);

/// <summary>
/// Finds and parses JSON values inside model output without recursion: <see cref="Measure"/> finds where a value ends by
/// bracket and string matching (so deeply nested or truncated output costs one linear pass), then <see cref="TryParse"/>
/// lets System.Text.Json judge the text.
/// </summary>
internal static class JsonText
{
    /// <summary>Nesting deeper than this is rejected as invalid JSON rather than parsed.</summary>
    public const int MaxDepth = 128;

    private static readonly JsonDocumentOptions s_options = new() { MaxDepth = MaxDepth, AllowTrailingCommas = true };

    /// <summary>
    /// The extent of the JSON value starting at <paramref name="start"/> (a non-whitespace character) and ending by
    /// <paramref name="limit"/>. Objects, arrays and strings are matched exactly; a bare literal (number, true, …) runs to
    /// the next delimiter.
    /// </summary>
    public static JsonExtent Measure(string s, int start, int limit)
    {
        if (start >= limit) return new(JsonExtentKind.Incomplete, limit);
        char first = s[start];
        if (first == '"')
        {
            int end = SkipString(s, start, limit);
            return end < 0 ? new(JsonExtentKind.Incomplete, limit) : new(JsonExtentKind.Complete, end);
        }

        if (first != '{' && first != '[')
        {
            int i = start;
            while (i < limit && !IsDelimiter(s[i])) i++;
            if (i == start) return new(JsonExtentKind.Invalid, start + 1);
            return new(JsonExtentKind.Complete, i);
        }

        // A stack of the closers we expect, kept in a StringBuilder: no recursion, so no depth limit here.
        var expected = new StringBuilder();
        for (int i = start; i < limit; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"':
                    int end = SkipString(s, i, limit);
                    if (end < 0) return new(JsonExtentKind.Incomplete, limit);
                    i = end - 1;
                    break;
                case '{':
                    expected.Append('}');
                    break;
                case '[':
                    expected.Append(']');
                    break;
                case '}':
                case ']':
                    if (expected.Length == 0 || expected[^1] != c) return new(JsonExtentKind.Invalid, i + 1);
                    expected.Length--;
                    if (expected.Length == 0) return new(JsonExtentKind.Complete, i + 1);
                    break;
            }
        }

        return new(JsonExtentKind.Incomplete, limit);
    }

    private static bool IsDelimiter(char c) => char.IsWhiteSpace(c) || c is ',' or '}' or ']' or ')' or ';' or '<' or '[' or '{';

    /// <summary>The index just past the string starting at <paramref name="start"/> (a quote), or -1 if it does not close.</summary>
    private static int SkipString(string s, int start, int limit)
    {
        for (int i = start + 1; i < limit; i++)
        {
            char c = s[i];
            if (c == '\\') i++;
            else if (c == '"') return i + 1;
        }

        return -1;
    }

    /// <summary>Parses <c>s[start..end)</c> as one JSON value; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string s, int start, int end, out JsonNode? node, out string error)
    {
        try
        {
            node = JsonNode.Parse(s.AsSpan(start, end - start).ToString(), documentOptions: s_options);
            Materialize(node);
            error = "";
            return true;
        }
        catch (JsonException e)
        {
            node = null;
            error = Describe(e);
            return false;
        }
        catch (ArgumentException e)
        {
            // JsonObject reports a duplicate key this way when first touched.
            node = null;
            error = e.Message.Split(" (Parameter", 2)[0];
            return false;
        }
        catch (InvalidOperationException e)
        {
            node = null;
            error = e.Message;
            return false;
        }
    }

    private static string Describe(JsonException e)
    {
        // System.Text.Json's message names a byte position in the substring; keep the sentence, drop the position noise.
        var message = e.Message;
        int cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut].TrimEnd('.', ' ') : message;
    }

    /// <summary>Touches every object so duplicate keys surface now, not when a caller reads the arguments.</summary>
    private static void Materialize(JsonNode? node)
    {
        var pending = new Stack<JsonNode>();
        if (node != null) pending.Push(node);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case JsonObject obj:
                    foreach (var (_, child) in obj)
                    {
                        if (child != null) pending.Push(child);
                    }

                    break;
                case JsonArray array:
                    foreach (var child in array)
                    {
                        if (child != null) pending.Push(child);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// Writes JSON the way Python's <c>json.dumps(ensure_ascii=False)</c> and the chat templates' <c>tojson</c> do: <c>", "</c>
    /// and <c>": "</c> separators, keys in order, non-ASCII characters as themselves.
    /// </summary>
    public static string ToPythonStyle(JsonNode? node)
    {
        var sb = new StringBuilder();
        Write(sb, node);
        return sb.ToString();
    }

    private static void Write(StringBuilder sb, JsonNode? node)
    {
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                bool firstKey = true;
                foreach (var (key, value) in obj)
                {
                    if (!firstKey) sb.Append(", ");
                    firstKey = false;
                    WriteString(sb, key);
                    sb.Append(": ");
                    Write(sb, value);
                }

                sb.Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, array[i]);
                }

                sb.Append(']');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        WriteString(sb, value.GetValue<string>());
                        break;
                    case JsonValueKind.True:
                        sb.Append("true");
                        break;
                    case JsonValueKind.False:
                        sb.Append("false");
                        break;
                    case JsonValueKind.Null:
                        sb.Append("null");
                        break;
                    default:
                        sb.Append(value.ToJsonString());
                        break;
                }

                break;
        }
    }

    /// <summary>A JSON string literal with Python's escapes (quote, backslash, control characters) and nothing else escaped.</summary>
    public static void WriteString(StringBuilder sb, string text) => Templates.PyJson.WriteString(sb, text, ascii: false);
}
