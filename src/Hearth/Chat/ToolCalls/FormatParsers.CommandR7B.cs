namespace Hearth.Chat.ToolCalls;

/// <summary>Command R7B.</summary>
internal static partial class FormatParsers
{
    public static void CommandR7B(ParseState st, int pos, int end)
    {
        int p = pos;
        while (p < end)
        {
            int idx = st.Find(StartAction, p, end);
            if (idx < 0) break;
            st.AddContent(p, idx);
            var pending = new List<PendingCall>();
            if (!st.ReadCalls(idx + StartAction.Length, end, CallKeys.CommandR, requireArguments: false, pending, out int after, out var failure))
            {
                int close = st.Find(EndAction, idx, end);
                int segEnd = close < 0 ? end : close + EndAction.Length;
                st.Fail(failure with { End = segEnd }, idx);
                p = segEnd;
                continue;
            }

            st.Commit(pending);
            p = st.SkipWs(after, end);
            if (st.At(p, end, EndAction)) p += EndAction.Length;
        }

        st.AddContent(p, end);
    }
}
