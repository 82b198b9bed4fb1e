using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>Generic: a JSON answer.</summary>
internal static partial class FormatParsers
{
    public static void Generic(ParseState st, int pos, int end)
    {
        if (pos >= end) return;
        int p = pos, limit = end;
        if (st.At(p, end, "```"))
        {
            // A fenced answer: ```json\n ... \n``` with nothing after the closing fence.
            int lineEnd = st.Find("\n", p, end);
            var language = lineEnd < 0 ? "" : st.Slice(p + 3, lineEnd).Trim();
            if (lineEnd < 0 || (language.Length > 0 && !language.Equals("json", StringComparison.OrdinalIgnoreCase))
                || end - 3 < lineEnd + 1 || !st.At(end - 3, end, "```"))
            {
                st.AddContent(pos, end);
                return;
            }

            p = st.SkipWs(lineEnd + 1, end - 3);
            limit = end - 3;
        }

        if (p >= limit || st.S[p] is not ('{' or '['))
        {
            st.AddContent(pos, end);
            return;
        }

        if (!st.ReadJson(p, limit, out var node, out int after, out var failure))
        {
            // Report only what was evidently meant as a call; other broken JSON is just an answer.
            var head = st.Slice(p, Math.Min(limit, p + 200));
            if (Patterns.JsonCallStart(st.S.AsSpan(0, limit), p) != Patterns.Match.No || head.Contains("\"tool_call", StringComparison.Ordinal))
                st.Problem(failure.Kind, failure.Message, p, failure.End);
            st.AddContent(pos, end);
            return;
        }

        var pending = new List<PendingCall>();
        switch (node)
        {
            case JsonObject obj when obj["tool_calls"] is JsonArray list:
                foreach (var item in list)
                {
                    if (ParseState.InterpretCall(item, CallKeys.Standard, requireArguments: false, out var call, out var why)) pending.Add(call with { Start = p, End = after });
                    else st.Problem(why.Kind, why.Message, p, after);
                }

                break;
            case JsonObject obj when obj["tool_call"] is JsonObject single:
                if (ParseState.InterpretCall(single, CallKeys.Standard, requireArguments: false, out var one, out var whyOne)) pending.Add(one with { Start = p, End = after });
                else st.Problem(whyOne.Kind, whyOne.Message, p, after);
                break;
            case JsonObject obj when obj.ContainsKey("response"):
                var response = obj["response"];
                st.AddContentText(response is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : response?.ToJsonString() ?? "");
                st.AddContent(after, limit);
                return;
            case JsonObject obj when IsCallObject(obj, requireArguments: true):
            case JsonArray array when array.Count > 0 && array.All(item => item is JsonObject o && IsCallObject(o, requireArguments: false)):
                if (!st.ReadCalls(p, limit, CallKeys.Standard, requireArguments: false, pending, out after, out failure))
                {
                    st.Problem(failure.Kind, failure.Message, p, failure.End);
                    st.AddContent(pos, end);
                    return;
                }

                break;
        }

        if (pending.Count == 0)
        {
            st.AddContent(pos, end);
            return;
        }

        st.Commit(pending);
        st.AddContent(after, limit);
    }

    /// <summary>Whether an object reads as a call: a name (directly or under "function") and, if required, an arguments key.</summary>
    private static bool IsCallObject(JsonObject obj, bool requireArguments)
    {
        if (obj["function"] is JsonObject function && !obj.ContainsKey("name")) obj = function;
        return obj.ContainsKey("name") && (!requireArguments || obj.ContainsKey("arguments") || obj.ContainsKey("parameters"));
    }
}
