using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>Llama 3.1/3.2/3.3 JSON calls and built-in tools.</summary>
internal static partial class FormatParsers
{
    public static void Llama3(ParseState st, int pos, int end)
    {
        int p = pos;
        if (p < end && Patterns.JsonCallStart(st.S.AsSpan(0, end), p) == Patterns.Match.Yes)
            p = UntaggedJsonCalls(st, p, end, semicolons: true);

        int tag = st.Find(PythonTag, p, end);
        if (tag < 0)
        {
            st.AddContent(p, end);
            return;
        }

        st.AddContent(p, tag);
        int q = st.SkipWs(tag + PythonTag.Length, end);
        if (q >= end)
        {
            st.Fail(new Failure(ToolCallProblemKind.Unterminated, "<|python_tag|> is not followed by a call", end), tag);
            return;
        }

        if (st.S[q] == '{')
        {
            // <|python_tag|>{"name": ..., "parameters": ...}: every object here is meant as a call.
            while (q < end && st.S[q] == '{')
            {
                var pending = new List<PendingCall>();
                if (!st.ReadCalls(q, end, CallKeys.Standard, requireArguments: false, pending, out int after, out var failure))
                {
                    st.Fail(failure, q);
                    q = failure.End;
                }
                else
                {
                    st.Commit(pending);
                    q = after;
                }

                q = st.SkipWs(q, end);
                if (q < end && st.S[q] == ';') q = st.SkipWs(q + 1, end);
            }

            st.AddContent(q, end);
            return;
        }

        if (BuiltinCall(st, tag, q, end, out int next)) st.AddContent(next, end);
    }

    /// <summary>
    /// After <c>&lt;|python_tag|&gt;</c> at <paramref name="tag"/>: <c>name.call(key="value", ...)</c>, or else raw code, which is a
    /// <c>code_interpreter</c> call (<c>python</c> when only that name was offered) with the code as <c>{"code": ...}</c>.
    /// </summary>
    private static bool BuiltinCall(ParseState st, int tag, int q, int end, out int next)
    {
        var s = st.S;
        next = end;
        int nameEnd = q;
        while (nameEnd < end && (char.IsLetterOrDigit(s[nameEnd]) || s[nameEnd] == '_')) nameEnd++;
        int r = st.SkipWs(nameEnd, end);
        bool isCall = nameEnd > q && st.At(r, end, ".");
        if (isCall)
        {
            r = st.SkipWs(r + 1, end);
            isCall = st.At(r, end, "call");
            r = st.SkipWs(r + 4, end);
            isCall &= st.At(r, end, "(");
        }

        if (!isCall)
        {
            var names = st.Options.ToolNames;
            string tool = names != null && !names.Contains("code_interpreter") && names.Contains("python") ? "python" : "code_interpreter";
            st.Commit(new PendingCall(tool, new JsonObject { ["code"] = s[q..end] }, null, tag, end));
            return false;
        }

        string name = s[q..nameEnd];
        var args = new JsonObject();
        r = st.SkipWs(r + 1, end);
        while (r < end && s[r] != ')')
        {
            int keyStart = r;
            while (r < end && (char.IsLetterOrDigit(s[r]) || s[r] == '_')) r++;
            var key = s[keyStart..r];
            r = st.SkipWs(r, end);
            if (key.Length == 0 || !st.At(r, end, "="))
            {
                st.Fail(new Failure(ToolCallProblemKind.Malformed, $"expected key=value arguments in the call to '{name}'", end), tag);
                return false;
            }

            r = st.SkipWs(r + 1, end);
            var read = PythonValue(st, ref r, end, out var value);
            if (read is { } problem)
            {
                st.Fail(new Failure(problem, problem == ToolCallProblemKind.Unterminated
                    ? $"argument '{key}' of '{name}' is not closed before the output ends"
                    : $"argument '{key}' of '{name}' has no value", end), tag);
                return false;
            }

            args[key] = value;
            r = st.SkipWs(r, end);
            if (r < end && s[r] == ',') r = st.SkipWs(r + 1, end);
            else if (r < end && s[r] != ')')
            {
                st.Fail(new Failure(ToolCallProblemKind.Malformed, $"expected ',' or ')' after argument '{key}' of '{name}'", end), tag);
                return false;
            }
        }

        if (r >= end)
        {
            st.Fail(new Failure(ToolCallProblemKind.Unterminated, $"the call to '{name}' is not closed with ')'", end), tag);
            return false;
        }

        st.Commit(new PendingCall(name, args, null, tag, r + 1));
        next = r + 1;
        return true;
    }

    /// <summary>
    /// A Python-literal argument value: a quoted string (either quote, backslash escapes), JSON, True/False/None, or bare text.
    /// Returns null on success, otherwise what is wrong.
    /// </summary>
    private static ToolCallProblemKind? PythonValue(ParseState st, ref int r, int end, out JsonNode? value)
    {
        var s = st.S;
        value = null;
        if (r >= end) return ToolCallProblemKind.Unterminated;
        char quote = s[r];
        if (quote is '"' or '\'')
        {
            var sb = new StringBuilder();
            for (int i = r + 1; i < end; i++)
            {
                char c = s[i];
                if (c == quote)
                {
                    value = JsonValue.Create(sb.ToString());
                    r = i + 1;
                    return null;
                }

                if (c == '\\' && i + 1 < end)
                {
                    char e = s[++i];
                    switch (e)
                    {
                        case 'n': sb.Append('\n'); break;
                        case 't': sb.Append('\t'); break;
                        case 'r': sb.Append('\r'); break;
                        case 'u' when i + 4 < end && int.TryParse(s.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int code):
                            sb.Append((char)code);
                            i += 4;
                            break;
                        case '\\' or '"' or '\'': sb.Append(e); break;
                        default: sb.Append('\\').Append(e); break;
                    }

                    continue;
                }

                sb.Append(c);
            }

            return ToolCallProblemKind.Unterminated;
        }

        var extent = JsonText.Measure(s, r, end);
        if (extent.Kind == JsonExtentKind.Incomplete) return ToolCallProblemKind.Unterminated;
        if (extent.Kind == JsonExtentKind.Invalid) return ToolCallProblemKind.Malformed;
        int valueEnd = extent.End;
        var text = s[r..valueEnd].Trim();
        r = valueEnd;
        value = text switch
        {
            "True" => JsonValue.Create(true),
            "False" => JsonValue.Create(false),
            "None" => null,
            _ => JsonText.TryParse(text, 0, text.Length, out var node, out _) ? node : JsonValue.Create(text),
        };
        return null;
    }
}
