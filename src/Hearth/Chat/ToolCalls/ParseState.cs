using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>The keys a call object may use for its parts, in order of preference.</summary>
internal sealed record CallKeys(string[] Name, string[] Arguments, string[] Id)
{
    public static readonly CallKeys Standard = new(["name"], ["arguments", "parameters"], ["id"]);

    public static readonly CallKeys CommandR = new(["tool_name", "name"], ["parameters", "arguments"], ["tool_call_id", "id"]);
}

/// <summary>A call found in a segment, committed only when the whole segment parses.</summary>
internal readonly record struct PendingCall(string Name, JsonObject Arguments, string? Id, int Start, int End);

/// <summary>Why a segment failed, and how much text it covers.</summary>
internal readonly record struct Failure(ToolCallProblemKind Kind, string Message, int End);

/// <summary>The output being parsed and what has been recovered from it so far.</summary>
internal sealed class ParseState
{
    private readonly StringBuilder _content = new();
    private readonly List<PendingCall> _calls = [];
    private readonly List<ToolCallProblem> _problems = [];
    private string? _reasoning;

    public ParseState(string text, ToolCallFormatInfo format, ToolCallParseOptions options)
    {
        S = text;
        Format = format;
        Options = options;
    }

    /// <summary>The whole output.</summary>
    public string S { get; }

    public ToolCallFormatInfo Format { get; }

    public ToolCallParseOptions Options { get; }

    public static string MistralId(int index) => "call" + index.ToString("D5", CultureInfo.InvariantCulture);

    // ---- text helpers ----

    public int SkipWs(int i, int end)
    {
        while (i < end && char.IsWhiteSpace(S[i])) i++;
        return i;
    }

    public bool At(int i, int end, string literal) =>
        i + literal.Length <= end && string.CompareOrdinal(S, i, literal, 0, literal.Length) == 0;

    public int Find(string literal, int from, int end) =>
        from >= end ? -1 : S.IndexOf(literal, from, end - from, StringComparison.Ordinal);

    /// <summary>The earliest of <paramref name="literals"/> at or after <paramref name="from"/>: its index and which one, or (-1, null).</summary>
    public (int Index, string? Literal) FindFirst(IReadOnlyList<string> literals, int from, int end)
    {
        int best = -1;
        string? which = null;
        foreach (var literal in literals)
        {
            int i = Find(literal, from, best < 0 ? end : Math.Min(end, best + literal.Length));
            if (i >= 0 && (best < 0 || i < best))
            {
                best = i;
                which = literal;
            }
        }

        return (best, which);
    }

    public string Slice(int start, int end) => S[start..end];

    // ---- results ----

    /// <summary>Adds <c>S[start..end)</c> to content, without the format's markers and end-of-turn tokens.</summary>
    public void AddContent(int start, int end)
    {
        if (end > start) _content.Append(StripMarkers(S[start..end]));
    }

    /// <summary>Adds text that is not a slice of the output (the "response" of a Generic JSON answer).</summary>
    public void AddContentText(string text) => _content.Append(StripMarkers(text));

    /// <summary>Sets the reasoning to <c>S[start..end)</c>, without markers and trimmed; an empty block counts as none.</summary>
    public void SetReasoning(int start, int end)
    {
        var text = StripMarkers(S[start..end]).Trim();
        _reasoning = text.Length == 0 ? null : text;
    }

    /// <summary>
    /// The text without the format's markers, found left to right (at each position the first marker that matches), the
    /// way the stream filter skips them.
    /// </summary>
    private string StripMarkers(string text)
    {
        StringBuilder? sb = null;
        int copied = 0;
        for (int i = 0; i < text.Length;)
        {
            int length = MarkerLength(text, i);
            if (length == 0)
            {
                i++;
                continue;
            }

            sb ??= new StringBuilder(text.Length);
            sb.Append(text, copied, i - copied);
            i += length;
            copied = i;
        }

        return sb == null ? text : sb.Append(text, copied, text.Length - copied).ToString();
    }

    private int MarkerLength(string text, int i)
    {
        if (text[i] is not ('<' or '[')) return 0;
        foreach (var marker in Format.ContentMarkers)
        {
            if (i + marker.Length <= text.Length && string.CompareOrdinal(text, i, marker, 0, marker.Length) == 0) return marker.Length;
        }

        return 0;
    }

    /// <summary>The length of the content marker at <paramref name="i"/> (ending by <paramref name="end"/>), or 0.</summary>
    public int MarkerAt(int i, int end)
    {
        int length = MarkerLength(S, i);
        return i + length <= end ? length : 0;
    }

    public void Problem(ToolCallProblemKind kind, string message, int start, int end) =>
        _problems.Add(new ToolCallProblem(kind, message, S[start..Math.Max(start, end)], start));

    /// <summary>Records a failed segment: a problem, and its text kept as content.</summary>
    public void Fail(Failure failure, int start)
    {
        Problem(failure.Kind, failure.Message, start, failure.End);
        AddContent(start, failure.End);
    }

    public void Commit(List<PendingCall> calls) => _calls.AddRange(calls);

    public void Commit(PendingCall call) => _calls.Add(call);

    public ParsedAssistantMessage Result()
    {
        var calls = new List<ParsedToolCall>(_calls.Count);
        var names = Options.ToolNames;
        bool mistral = Format.Format is ToolCallFormat.Mistral or ToolCallFormat.MistralV11;
        for (int i = 0; i < _calls.Count; i++)
        {
            var c = _calls[i];
            string id = c.Id ?? (mistral ? MistralId(i) : Options.IdPrefix + i.ToString(CultureInfo.InvariantCulture));
            calls.Add(new ParsedToolCall(id, c.Name, c.Arguments, S[c.Start..c.End], c.Start));
            if (names != null && !names.Contains(c.Name))
            {
                var offered = names.Count == 0 ? "no tools were offered" : "the offered tools are " + string.Join(", ", names.Order(StringComparer.Ordinal));
                Problem(ToolCallProblemKind.UnknownTool, $"the model called '{c.Name}', which is not an offered tool; {offered}", c.Start, c.End);
            }
        }

        var problems = _problems.OrderBy(p => p.Offset).ToList();
        return new ParsedAssistantMessage(_content.ToString().Trim(), _reasoning, calls, problems);
    }

    // ---- JSON calls ----

    /// <summary>
    /// Reads the JSON value at <paramref name="p"/> (after whitespace) as one call object or an array of them. On success
    /// <paramref name="end"/> is just past the value; items of an array that are not valid calls are reported and skipped,
    /// and the whole fails only if none is valid.
    /// </summary>
    public bool ReadCalls(int p, int limit, CallKeys keys, bool requireArguments, List<PendingCall> into, out int end, out Failure failure)
    {
        p = SkipWs(p, limit);
        if (!ReadJson(p, limit, out var node, out end, out failure)) return false;
        if (node is JsonArray array)
        {
            var items = ItemExtents(p, end);
            int valid = 0;
            var itemFailures = new List<(Failure, int)>();
            for (int k = 0; k < array.Count; k++)
            {
                var (itemStart, itemEnd) = k < items.Count ? items[k] : (p, end);
                if (InterpretCall(array[k], keys, requireArguments, out var call, out var why))
                {
                    into.Add(call with { Start = itemStart, End = itemEnd });
                    valid++;
                }
                else
                {
                    itemFailures.Add((why with { End = itemEnd }, itemStart));
                }
            }

            if (valid == 0)
            {
                failure = array.Count == 0
                    ? new Failure(ToolCallProblemKind.MissingName, "the list of tool calls is empty", end)
                    : itemFailures[0].Item1 with { End = end };
                return false;
            }

            foreach (var (why, start) in itemFailures) Problem(why.Kind, why.Message, start, why.End);
            return true;
        }

        if (!InterpretCall(node, keys, requireArguments, out var single, out failure))
        {
            failure = failure with { End = end };
            return false;
        }

        into.Add(single with { Start = p, End = end });
        return true;
    }

    /// <summary>Finds and parses the JSON value at <paramref name="p"/> (no whitespace skipping).</summary>
    public bool ReadJson(int p, int limit, out JsonNode? node, out int end, out Failure failure)
    {
        node = null;
        if (p >= limit)
        {
            end = limit;
            failure = new Failure(ToolCallProblemKind.Unterminated, "the output ends where the call's JSON should begin", limit);
            return false;
        }

        var extent = JsonText.Measure(S, p, limit);
        end = extent.End;
        switch (extent.Kind)
        {
            case JsonExtentKind.Incomplete:
                failure = new Failure(ToolCallProblemKind.Unterminated, "the call's JSON is not closed before the output ends", limit);
                return false;
            case JsonExtentKind.Invalid:
                failure = new Failure(ToolCallProblemKind.InvalidJson, $"the call's JSON is not valid: unexpected '{S[end - 1]}'", end);
                return false;
        }

        if (!JsonText.TryParse(S, p, end, out node, out var error))
        {
            failure = new Failure(ToolCallProblemKind.InvalidJson, "the call's JSON is not valid: " + error, end);
            return false;
        }

        failure = default;
        return true;
    }

    /// <summary>The extents of the top-level items of the (complete, valid) JSON array at <c>S[start..end)</c>.</summary>
    private List<(int, int)> ItemExtents(int start, int end)
    {
        var items = new List<(int, int)>();
        int i = SkipWs(start + 1, end);
        while (i < end && S[i] != ']')
        {
            var extent = JsonText.Measure(S, i, end);
            if (extent.Kind != JsonExtentKind.Complete) break;
            items.Add((i, extent.End));
            i = SkipWs(extent.End, end);
            if (i < end && S[i] == ',') i = SkipWs(i + 1, end);
        }

        return items;
    }

    /// <summary>
    /// Takes a parsed JSON value as a call object: a string name under one of <paramref name="keys"/>' name keys, arguments
    /// as an object (or a string holding one; absent or null means none), an optional id. An OpenAI-shaped
    /// <c>{"function": {"name", "arguments"}}</c> is read the same way.
    /// </summary>
    public static bool InterpretCall(JsonNode? node, CallKeys keys, bool requireArguments, out PendingCall call, out Failure failure)
    {
        call = default;
        if (node is not JsonObject obj)
        {
            failure = new Failure(ToolCallProblemKind.Malformed, $"a tool call must be a JSON object, not {Kind(node)}", 0);
            return false;
        }

        string? id = ReadId(obj, keys);
        if (obj["function"] is JsonObject function && !keys.Name.Any(obj.ContainsKey))
        {
            obj = function;
            id ??= ReadId(obj, keys);
        }

        string? name = null;
        foreach (var key in keys.Name)
        {
            if (!obj.TryGetPropertyValue(key, out var value)) continue;
            if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String && v.GetValue<string>().Length > 0)
            {
                name = v.GetValue<string>();
                break;
            }

            failure = new Failure(ToolCallProblemKind.MissingName, $"the call's \"{key}\" must be a non-empty string, not {Kind(value)}", 0);
            return false;
        }

        if (name == null)
        {
            failure = new Failure(ToolCallProblemKind.MissingName, $"the call has no \"{keys.Name[0]}\"", 0);
            return false;
        }

        JsonNode? arguments = null;
        string argumentsKey = keys.Arguments[0];
        bool hasArguments = false;
        foreach (var key in keys.Arguments)
        {
            if (obj.TryGetPropertyValue(key, out arguments))
            {
                argumentsKey = key;
                hasArguments = true;
                break;
            }
        }

        if (!hasArguments && requireArguments)
        {
            failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the call has no \"{keys.Arguments[0]}\"", 0);
            return false;
        }

        if (!ToArguments(arguments, out var args))
        {
            failure = new Failure(ToolCallProblemKind.ArgumentsNotObject, $"the call's \"{argumentsKey}\" must be a JSON object, not {Kind(arguments)}", 0);
            return false;
        }

        call = new PendingCall(name, args, id, 0, 0);
        failure = default;
        return true;
    }

    private static string? ReadId(JsonObject obj, CallKeys keys)
    {
        foreach (var key in keys.Id)
        {
            if (obj[key] is JsonValue v)
            {
                var kind = v.GetValueKind();
                if (kind == JsonValueKind.String && v.GetValue<string>().Length > 0) return v.GetValue<string>();
                if (kind == JsonValueKind.Number) return v.ToJsonString();
            }
        }

        return null;
    }

    /// <summary>Arguments as a parentless object: a copy of an object, the object inside a JSON string, or {} for none.</summary>
    public static bool ToArguments(JsonNode? value, out JsonObject args)
    {
        switch (value)
        {
            case null:
                args = [];
                return true;
            case JsonObject obj:
                args = (JsonObject)obj.DeepClone();
                return true;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                var text = v.GetValue<string>();
                if (string.IsNullOrWhiteSpace(text))
                {
                    args = [];
                    return true;
                }

                if (JsonText.TryParse(text, 0, text.Length, out var inner, out _) && inner is JsonObject innerObject)
                {
                    args = innerObject;
                    return true;
                }

                break;
        }

        args = [];
        return false;
    }

    public static string Kind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        },
        _ => "something else",
    };
}
