using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>Hermes 2/3 Pro, Qwen 2.5/3 and Qwen3-Coder.</summary>
internal static partial class FormatParsers
{
    public static void Hermes(ParseState st, int pos, int end)
    {
        int p = pos;
        if (p < end && Patterns.JsonCallStart(st.S.AsSpan(0, end), p) == Patterns.Match.Yes)
            p = UntaggedJsonCalls(st, p, end, semicolons: false);

        while (p < end)
        {
            var (idx, which) = st.FindFirst(s_hermesOpeners, p, end);
            if (idx < 0) break;
            st.AddContent(p, idx);
            p = which == ToolCallOpen
                ? TaggedJson(st, idx, ToolCallOpen.Length, s_hermesClosers, end, allowFunctionTag: true)
                : TopLevelFunctionTag(st, idx, end);
        }

        st.AddContent(p, end);
    }

    /// <summary>
    /// JSON call objects opening the output, with no markers (Llama 3.x, a Hermes model skipping its tags). An object without
    /// an arguments key is an answer that happens to be JSON, not a call: it and what follows are left as content.
    /// </summary>
    private static int UntaggedJsonCalls(ParseState st, int p, int end, bool semicolons)
    {
        while (p < end && Patterns.JsonCallStart(st.S.AsSpan(0, end), p) == Patterns.Match.Yes)
        {
            if (!st.ReadJson(p, end, out var node, out int after, out var failure))
            {
                st.Fail(failure with { End = end }, p);
                return end;
            }

            if (node is not JsonObject obj || !IsCallObject(obj, requireArguments: true)) return p;
            if (ParseState.InterpretCall(node, CallKeys.Standard, requireArguments: true, out var call, out var why)) st.Commit(call with { Start = p, End = after });
            else st.Fail(why with { End = after }, p);

            p = st.SkipWs(after, end);
            if (semicolons && p < end && st.S[p] == ';') p = st.SkipWs(p + 1, end);
        }

        return p;
    }

    /// <summary>
    /// A tag holding JSON calls: <c>&lt;tool_call&gt;{...}&lt;/tool_call&gt;</c>, <c>&lt;|tool_call|&gt;[...]&lt;|/tool_call|&gt;</c>. The tag may
    /// hold one object, an array, several objects, or (Qwen3-Coder) a function tag. A missing closing tag is accepted when
    /// the output ends right after complete JSON. Returns where scanning continues.
    /// </summary>
    private static int TaggedJson(ParseState st, int idx, int openLength, string[] closers, int end, bool allowFunctionTag)
    {
        var pending = new List<PendingCall>();
        int q = st.SkipWs(idx + openLength, end);
        Failure failure;
        if (allowFunctionTag && (st.At(q, end, FunctionEq) || st.At(q, end, FunctionName)))
        {
            if (!ReadFunctionTag(st, q, end, pending, out q, out failure)) return FailTag(st, idx, openLength, closers, end, failure);
        }
        else
        {
            while (true)
            {
                if (!st.ReadCalls(q, end, CallKeys.Standard, requireArguments: false, pending, out q, out failure))
                    return FailTag(st, idx, openLength, closers, end, failure);
                q = st.SkipWs(q, end);
                if (q < end && st.S[q] == ',') q = st.SkipWs(q + 1, end);
                if (q >= end || st.S[q] is not ('{' or '[')) break;
            }
        }

        q = st.SkipWs(q, end);
        if (q >= end)
        {
            st.Commit(pending);
            return end;
        }

        foreach (var closer in closers)
        {
            if (st.At(q, end, closer))
            {
                st.Commit(pending);
                return q + closer.Length;
            }
        }

        var found = st.Slice(q, Math.Min(end, q + 20));
        return FailTag(st, idx, openLength, closers, end,
            new Failure(ToolCallProblemKind.Malformed, $"expected {closers[0]} after the call, found \"{found}\"", end));
    }

    /// <summary>Reports a tag that did not parse; the tag, up to its closing tag (or the end), stays as content.</summary>
    private static int FailTag(ParseState st, int idx, int openLength, string[] closers, int end, Failure failure)
    {
        var (close, closer) = st.FindFirst(closers, idx + openLength, end);
        int segEnd = close < 0 ? end : close + closer!.Length;
        if (close >= 0 && failure.Kind == ToolCallProblemKind.Unterminated)
            failure = failure with { Kind = ToolCallProblemKind.InvalidJson, Message = $"the call's JSON is not closed before {closer}" };
        st.Problem(failure.Kind, failure.Message, idx, segEnd);
        st.AddContent(idx, segEnd);
        return segEnd;
    }

    /// <summary>A function tag outside <c>&lt;tool_call&gt;</c>: <c>&lt;function=name&gt;{...}&lt;/function&gt;</c>.</summary>
    private static int TopLevelFunctionTag(ParseState st, int idx, int end)
    {
        var pending = new List<PendingCall>();
        if (ReadFunctionTag(st, idx, end, pending, out int after, out var failure))
        {
            st.Commit(pending);
            return after;
        }

        int close = st.Find(FunctionClose, idx, end);
        int segEnd = close < 0 ? end : close + FunctionClose.Length;
        st.Problem(failure.Kind, failure.Message, idx, segEnd);
        st.AddContent(idx, segEnd);
        return segEnd;
    }

    /// <summary>
    /// <c>&lt;function=name&gt;</c> or <c>&lt;function name="name"&gt;</c>, then either a JSON arguments object or Qwen3-Coder
    /// parameters (<c>&lt;parameter=key&gt;\nvalue\n&lt;/parameter&gt;</c>), then <c>&lt;/function&gt;</c> (optional at the end of output).
    /// </summary>
    private static bool ReadFunctionTag(ParseState st, int q, int end, List<PendingCall> into, out int after, out Failure failure)
    {
        var s = st.S;
        after = end;
        string name;
        int p;
        if (st.At(q, end, FunctionEq))
        {
            int nameStart = q + FunctionEq.Length;
            int gt = IndexOfOnLine(s, '>', nameStart, end);
            if (gt < 0)
            {
                failure = new Failure(ToolCallProblemKind.Malformed, "the <function= tag is not closed with '>' on its line", end);
                return false;
            }

            name = s[nameStart..gt].Trim();
            p = gt + 1;
        }
        else
        {
            int nameStart = q + FunctionName.Length;
            int quote = IndexOfOnLine(s, '"', nameStart, end);
            int gt = quote < 0 ? -1 : st.SkipWs(quote + 1, end);
            if (quote < 0 || gt >= end || s[gt] != '>')
            {
                failure = new Failure(ToolCallProblemKind.Malformed, "the <function name=\"...\"> tag is not closed", end);
                return false;
            }

            name = s[nameStart..quote].Trim();
            p = gt + 1;
        }

        if (name.Length == 0)
        {
            failure = new Failure(ToolCallProblemKind.MissingName, "the function tag names no function", end);
            return false;
        }

        p = st.SkipWs(p, end);
        JsonObject args;
        if (p < end && s[p] == '{')
        {
            if (!st.ReadJson(p, end, out var node, out p, out failure)) return false;
            if (!ParseState.ToArguments(node, out args))
            {
                failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the arguments of '{name}' must be a JSON object, not {ParseState.Kind(node)}", p);
                return false;
            }
        }
        else
        {
            args = [];
            var schema = st.Options.SchemaOf(name);
            while (st.At(p, end, "<parameter="))
            {
                int keyStart = p + "<parameter=".Length;
                int gt = IndexOfOnLine(s, '>', keyStart, end);
                if (gt < 0)
                {
                    failure = new Failure(ToolCallProblemKind.Malformed, "a <parameter= tag is not closed with '>' on its line", end);
                    return false;
                }

                var key = s[keyStart..gt].Trim();
                int close = st.Find("</parameter>", gt + 1, end);
                if (close < 0)
                {
                    failure = new Failure(ToolCallProblemKind.Unterminated, $"parameter '{key}' of '{name}' is not closed by </parameter>", end);
                    return false;
                }

                var value = s[(gt + 1)..close];
                if (value.StartsWith('\n')) value = value[1..];
                if (value.EndsWith('\n')) value = value[..^1];
                args[key] = TypedParameter(value, (schema?["properties"] as JsonObject)?[key] as JsonObject);
                p = st.SkipWs(close + "</parameter>".Length, end);
            }
        }

        p = st.SkipWs(p, end);
        if (st.At(p, end, FunctionClose)) p += FunctionClose.Length;
        else if (p < end)
        {
            failure = new Failure(ToolCallProblemKind.Malformed, $"expected {FunctionClose} after the arguments of '{name}', found \"{st.Slice(p, Math.Min(end, p + 20))}\"", end);
            return false;
        }

        into.Add(new PendingCall(name, args, null, q, p));
        after = p;
        failure = default;
        return true;
    }

    private static int IndexOfOnLine(string s, char c, int from, int end)
    {
        for (int i = from; i < end; i++)
        {
            if (s[i] == c) return i;
            if (s[i] == '\n') return -1;
        }

        return -1;
    }

    /// <summary>
    /// A Qwen3-Coder parameter value: text, unless the tool's schema gives the parameter a non-string type and the text is
    /// JSON of it (numbers, booleans, objects, arrays). Without a schema it stays text.
    /// </summary>
    private static JsonNode? TypedParameter(string value, JsonObject? schema)
    {
        var types = new List<string>();
        switch (schema?["type"])
        {
            case JsonValue t when t.GetValueKind() == JsonValueKind.String:
                types.Add(t.GetValue<string>());
                break;
            case JsonArray list:
                types.AddRange(list.OfType<JsonValue>().Where(x => x.GetValueKind() == JsonValueKind.String).Select(x => x.GetValue<string>()));
                break;
        }

        if (types.Count == 0 || types.Contains("string")) return JsonValue.Create(value);
        var trimmed = value.Trim();
        if (JsonText.TryParse(trimmed, 0, trimmed.Length, out var node, out _) && node is not null)
        {
            var kind = node.GetValueKind();
            bool fits = types.Any(t => t switch
            {
                "integer" or "number" => kind == JsonValueKind.Number,
                "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
                "object" => kind == JsonValueKind.Object,
                "array" => kind == JsonValueKind.Array,
                _ => false,
            });
            if (fits) return node;
        }

        if (types.Contains("null") && trimmed is "null" or "None") return null;
        if (types.Contains("boolean") && trimmed is "True" or "False") return JsonValue.Create(trimmed == "True");
        return JsonValue.Create(value);
    }
}
