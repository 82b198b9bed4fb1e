namespace Hearth.Chat.ToolCalls;

/// <summary>Mistral (array and v11 forms).</summary>
internal static partial class FormatParsers
{
    public static void Mistral(ParseState st, int pos, int end)
    {
        int p = st.Find(MistralCalls, pos, end);
        if (p < 0)
        {
            st.AddContent(pos, end);
            return;
        }

        st.AddContent(pos, p);
        while (st.At(p, end, MistralCalls))
        {
            int start = p;
            int q = st.SkipWs(p + MistralCalls.Length, end);
            int nextMarker = st.Find(MistralCalls, q, end);
            int limit = nextMarker < 0 ? end : nextMarker;
            var pending = new List<PendingCall>();
            Failure failure;
            int after;
            bool json = q < limit && (st.S[q] == '{' || (st.S[q] == '[' && !st.At(q, limit, MistralArgs) && !st.At(q, limit, MistralCallId)));
            bool ok = json
                ? st.ReadCalls(q, limit, CallKeys.Standard, requireArguments: false, pending, out after, out failure)
                : MistralV11Call(st, start, q, limit, pending, out after, out failure);
            if (ok)
            {
                st.Commit(pending);
                p = after;
            }
            else
            {
                st.Fail(failure with { End = limit }, start);
                p = limit;
            }

            p = st.SkipWs(p, end);
        }

        st.AddContent(p, end);
    }

    /// <summary><c>name[CALL_ID]id[ARGS]{...}</c> after a <c>[TOOL_CALLS]</c> (<c>[CALL_ID]</c> and <c>[ARGS]</c> optional).</summary>
    private static bool MistralV11Call(ParseState st, int start, int q, int limit, List<PendingCall> into, out int after, out Failure failure)
    {
        after = limit;
        var s = st.S;
        int nameEnd = q;
        while (nameEnd < limit && s[nameEnd] != '{' && s[nameEnd] != '[' && s[nameEnd] != '\n') nameEnd++;
        while (nameEnd < limit && s[nameEnd] == '[' && !st.At(nameEnd, limit, MistralArgs) && !st.At(nameEnd, limit, MistralCallId))
        {
            // A '[' that opens neither [ARGS] nor [CALL_ID] is part of a (strange) name.
            nameEnd++;
            while (nameEnd < limit && s[nameEnd] != '{' && s[nameEnd] != '[' && s[nameEnd] != '\n') nameEnd++;
        }

        var name = s[q..nameEnd].Trim();
        if (nameEnd >= limit || s[nameEnd] == '\n')
        {
            failure = new Failure(nameEnd >= limit ? ToolCallProblemKind.Unterminated : ToolCallProblemKind.Malformed,
                name.Length == 0 ? "[TOOL_CALLS] is not followed by a call" : $"the call to '{name}' has no arguments object", limit);
            return false;
        }

        if (name.Length == 0)
        {
            failure = new Failure(ToolCallProblemKind.MissingName, "the call after [TOOL_CALLS] names no function", limit);
            return false;
        }

        int r = nameEnd;
        string? id = null;
        if (st.At(r, limit, MistralCallId))
        {
            int idStart = r + MistralCallId.Length;
            int idEnd = idStart;
            while (idEnd < limit && s[idEnd] != '[' && s[idEnd] != '{') idEnd++;
            id = s[idStart..idEnd].Trim();
            if (id.Length == 0) id = null;
            r = idEnd;
        }

        if (st.At(r, limit, MistralArgs)) r += MistralArgs.Length;
        r = st.SkipWs(r, limit);
        if (!st.ReadJson(r, limit, out var node, out after, out failure)) return false;
        if (!ParseState.ToArguments(node, out var args))
        {
            failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the arguments of '{name}' must be a JSON object, not {ParseState.Kind(node)}", limit);
            return false;
        }

        into.Add(new PendingCall(name, args, id, start, after));
        return true;
    }
}
