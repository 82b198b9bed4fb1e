using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>Functionary v3.2.</summary>
internal static partial class FormatParsers
{
    /// <summary>
    /// Functionary v3.2. Scans position by position exactly as <see cref="FunctionaryTrigger"/> does in the stream (a
    /// <c>&gt;&gt;&gt;</c> inside an end-of-turn token such as <c>&lt;|eot_id|&gt;&gt;&gt;&gt;</c> is not a marker; a <c>&gt;&gt;&gt;</c>
    /// not followed by a recipient is content), so the two always agree on what is content.
    /// </summary>
    public static void Functionary(ParseState st, int pos, int end)
    {
        var text = st.S.AsSpan(0, end);
        int segment = pos;
        int i = pos;
        while (i < end)
        {
            int marker = -1;
            var r = default(Patterns.RecipientMatch);
            if (st.At(i, end, ">>>"))
            {
                r = Patterns.Recipient(text, i + 3);
                if (r.Kind is Patterns.RecipientKind.All or Patterns.RecipientKind.Call) marker = i;
            }

            if (marker < 0 && i == pos) r = Patterns.Recipient(text, i);
            if (r.Kind == Patterns.RecipientKind.All)
            {
                st.AddContent(segment, i);
                i = (marker >= 0 ? i + 3 : i) + r.Length;
                segment = i;
                continue;
            }

            if (r.Kind == Patterns.RecipientKind.Call)
            {
                st.AddContent(segment, i);
                i = FunctionaryCall(st, i, marker >= 0 ? i + 3 : i, r, end);
                segment = i;
                continue;
            }

            int skip = st.MarkerAt(i, end);
            i += skip > 0 ? skip : 1;
        }

        st.AddContent(segment, end);
    }

    /// <summary>One Functionary call starting at <paramref name="start"/> (its <c>&gt;&gt;&gt;</c>, if any); returns where scanning resumes.</summary>
    private static int FunctionaryCall(ParseState st, int start, int nameAt, Patterns.RecipientMatch r, int end)
    {
        var name = st.Slice(nameAt, nameAt + r.NameLength);
        int q = nameAt + r.Length;
        if (q >= end || st.S[q] != '{')
        {
            // python\n followed by raw code: the code runs to the end of the output.
            st.Commit(new PendingCall(name, new JsonObject { ["code"] = st.Slice(q, end) }, null, start, end));
            return end;
        }

        bool json = st.ReadJson(q, end, out var node, out int after, out var failure);
        if (json && ParseState.ToArguments(node, out var args))
        {
            st.Commit(new PendingCall(name, args, null, start, after));
            return st.SkipWs(after, end);
        }

        if (json) failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the arguments of '{name}' must be a JSON object, not {ParseState.Kind(node)}", after);

        // The broken call runs to the next ">>>" after its JSON (or the end) and stays as content.
        int next = st.Find(">>>", Math.Min(end, Math.Max(q + 1, failure.End)), end);
        int segEnd = next < 0 ? end : next;
        st.Fail(failure with { End = segEnd }, start);
        return segEnd;
    }
}
