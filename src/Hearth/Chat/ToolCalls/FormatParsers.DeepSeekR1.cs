namespace Hearth.Chat.ToolCalls;

/// <summary>DeepSeek R1 / V3.</summary>
internal static partial class FormatParsers
{
    public static void DeepSeekR1(ParseState st, int pos, int end)
    {
        var openers = ToolCallFormats.DeepSeekCallsBegin.Append(ToolCallFormats.DeepSeekCallBegin).ToArray();
        int p = pos;
        while (p < end)
        {
            var (idx, which) = st.FindFirst(openers, p, end);
            if (idx < 0) break;
            st.AddContent(p, idx);
            p = which == ToolCallFormats.DeepSeekCallBegin ? idx : idx + which!.Length;
            while (true)
            {
                p = st.SkipWs(p, end);
                if (st.At(p, end, DeepSeekCallsEnd))
                {
                    p += DeepSeekCallsEnd.Length;
                    break;
                }

                bool begin = st.At(p, end, ToolCallFormats.DeepSeekCallBegin);
                int body = begin ? p + ToolCallFormats.DeepSeekCallBegin.Length : p;
                if (!begin && !st.At(body, end, "function" + DeepSeekSep)) break;
                var pending = new List<PendingCall>();
                if (DeepSeekCall(st, p, body, end, pending, out int after, out var failure))
                {
                    st.Commit(pending);
                    p = after;
                }
                else
                {
                    int close = st.Find(DeepSeekCallEnd, body, end);
                    int segEnd = close < 0 ? end : close + DeepSeekCallEnd.Length;
                    st.Fail(failure with { End = segEnd }, p);
                    p = segEnd;
                }
            }
        }

        st.AddContent(p, end);
    }

    /// <summary>
    /// One call: R1's <c>function&lt;｜tool▁sep｜&gt;name\n```json\n{...}\n```&lt;｜tool▁call▁end｜&gt;</c>, or V3.1's
    /// <c>name&lt;｜tool▁sep｜&gt;{...}&lt;｜tool▁call▁end｜&gt;</c>. The closing token is optional at the end of the output.
    /// </summary>
    private static bool DeepSeekCall(ParseState st, int start, int body, int end, List<PendingCall> into, out int after, out Failure failure)
    {
        var s = st.S;
        after = end;
        int sep = st.Find(DeepSeekSep, body, end);
        int lineEnd = st.Find("\n", body, end);
        if (sep < 0 || (lineEnd >= 0 && lineEnd < sep))
        {
            bool ended = sep < 0 && st.Find(DeepSeekCallEnd, body, end) < 0;
            failure = new Failure(ended ? ToolCallProblemKind.Unterminated : ToolCallProblemKind.Malformed, $"expected {DeepSeekSep} between the call's type or name and the rest", end);
            return false;
        }

        int q = st.SkipWs(sep + DeepSeekSep.Length, end);
        string name;
        bool fenced = false;
        if (q < end && s[q] == '{')
        {
            name = s[body..sep].Trim();
        }
        else
        {
            int nl = st.Find("\n", q, end);
            int nameEnd = nl < 0 ? end : nl;
            int fence = st.Find("```", q, nameEnd);
            if (fence >= 0) nameEnd = fence;
            name = s[q..nameEnd].Trim();
            q = st.SkipWs(nameEnd, end);
            if (st.At(q, end, "```"))
            {
                fenced = true;
                q += 3;
                if (st.At(q, end, "json")) q += 4;
                q = st.SkipWs(q, end);
            }
        }

        if (name.Length == 0)
        {
            failure = new Failure(ToolCallProblemKind.MissingName, "the tool call names no function", end);
            return false;
        }

        if (!st.ReadJson(q, end, out var node, out int r, out failure)) return false;
        if (!ParseState.ToArguments(node, out var args))
        {
            failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the arguments of '{name}' must be a JSON object, not {ParseState.Kind(node)}", end);
            return false;
        }

        r = st.SkipWs(r, end);
        if (fenced && st.At(r, end, "```")) r = st.SkipWs(r + 3, end);
        if (st.At(r, end, DeepSeekCallEnd)) r += DeepSeekCallEnd.Length;
        else if (r < end && !st.At(r, end, DeepSeekCallsEnd) && !st.At(r, end, ToolCallFormats.DeepSeekCallBegin))
        {
            failure = new Failure(ToolCallProblemKind.Malformed, $"expected {DeepSeekCallEnd} after the arguments of '{name}'", end);
            return false;
        }

        into.Add(new PendingCall(name, args, null, start, r));
        after = r;
        return true;
    }
}
