namespace Hearth.Chat.ToolCalls;

/// <summary>Phi-4-mini.</summary>
internal static partial class FormatParsers
{
    public static void Phi4Mini(ParseState st, int pos, int end)
    {
        int p = pos;
        while (p < end)
        {
            var (idx, which) = st.FindFirst(s_phiOpeners, p, end);
            if (idx < 0) break;
            st.AddContent(p, idx);
            if (which == PhiOpen)
            {
                p = TaggedJson(st, idx, PhiOpen.Length, s_phiClosers, end, allowFunctionTag: false);
                continue;
            }

            // functools[...]: the '[' opens the array of calls; there is no closing marker.
            var pending = new List<PendingCall>();
            int array = idx + Functools.Length - 1;
            if (st.ReadCalls(array, end, CallKeys.Standard, requireArguments: false, pending, out int after, out var failure))
            {
                st.Commit(pending);
                p = after;
            }
            else
            {
                st.Fail(failure with { End = Math.Max(failure.End, array + 1) }, idx);
                p = Math.Max(failure.End, array + 1);
            }
        }

        st.AddContent(p, end);
    }
}
