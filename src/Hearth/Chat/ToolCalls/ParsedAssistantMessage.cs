using System.Text.Json.Nodes;

namespace Hearth.Chat.ToolCalls;

/// <summary>
/// An assistant turn recovered from model output: the text meant for the user, the reasoning, the tool calls, and what
/// could not be understood. Produced by <see cref="ToolCallParser.Parse(string, ToolCallFormat, ToolCallParseOptions?)"/>.
/// </summary>
public sealed class ParsedAssistantMessage
{
    internal ParsedAssistantMessage(string content, string? reasoning, IReadOnlyList<ParsedToolCall> toolCalls, IReadOnlyList<ToolCallProblem> problems)
    {
        Content = content;
        Reasoning = reasoning;
        ToolCalls = toolCalls;
        Problems = problems;
    }

    /// <summary>
    /// The text outside reasoning and tool calls, with format markers (<c>&gt;&gt;&gt;all</c>, <c>&lt;|START_RESPONSE|&gt;</c>, end-of-turn
    /// tokens) removed and surrounding whitespace trimmed. A call that could not be parsed stays here verbatim. Never null.
    /// </summary>
    public string Content { get; }

    /// <summary>The reasoning (<c>&lt;think&gt;</c> block, Command R7B plan), trimmed; null when the output had none.</summary>
    public string? Reasoning { get; }

    /// <summary>The well-formed tool calls, in output order.</summary>
    public IReadOnlyList<ParsedToolCall> ToolCalls { get; }

    /// <summary>Everything that looked like a call but was not a valid one, plus calls to tools that were not offered.</summary>
    public IReadOnlyList<ToolCallProblem> Problems { get; }

    /// <summary>Whether there is at least one tool call.</summary>
    public bool HasToolCalls => ToolCalls.Count > 0;

    /// <summary>
    /// The turn as a chat message, in the shape <see cref="ChatTemplateInput.Messages"/> takes:
    /// <c>{"role": "assistant", "content": ..., "tool_calls": [{"id", "type": "function", "function": {"name", "arguments": {...}}}]}</c>
    /// (<c>tool_calls</c> only when there are calls; <c>reasoning_content</c> when there is reasoning).
    /// </summary>
    public JsonObject ToMessageJson()
    {
        var message = new JsonObject { ["role"] = "assistant", ["content"] = Content };
        if (Reasoning != null) message["reasoning_content"] = Reasoning;
        if (ToolCalls.Count > 0)
        {
            var calls = new JsonArray();
            foreach (var call in ToolCalls) calls.Add(call.ToJson());
            message["tool_calls"] = calls;
        }

        return message;
    }
}

/// <summary>One tool call the model made.</summary>
public sealed class ParsedToolCall
{
    internal ParsedToolCall(string id, string name, JsonObject arguments, string rawText, int offset)
    {
        Id = id;
        Name = name;
        Arguments = arguments;
        RawText = rawText;
        Offset = offset;
    }

    /// <summary>
    /// The call id the model wrote (Mistral's <c>"id"</c>, Command R7B's <c>"tool_call_id"</c>), otherwise a deterministic one from
    /// the call's position: <see cref="ToolCallParseOptions.IdPrefix"/> + index (<c>call_0</c>, <c>call_1</c>, …); for the Mistral
    /// formats, whose templates require nine alphanumerics, <c>call00000</c>, <c>call00001</c>, ….
    /// </summary>
    public string Id { get; }

    /// <summary>The function name, as written.</summary>
    public string Name { get; }

    /// <summary>The arguments object (a fresh, parentless node owned by this call; <c>{}</c> when the model gave none).</summary>
    public JsonObject Arguments { get; }

    /// <summary>The arguments as compact JSON text, as OpenAI-style APIs carry them.</summary>
    public string ArgumentsJson => Arguments.ToJsonString();

    /// <summary>
    /// The exact text of this call in the output: for an item of a JSON array, that item; for a call inside a Generic
    /// <c>{"tool_calls": [...]}</c> or <c>{"tool_call": ...}</c> wrapper, the whole JSON answer.
    /// </summary>
    public string RawText { get; }

    /// <summary>Where <see cref="RawText"/> starts in the output string.</summary>
    public int Offset { get; }

    /// <summary>
    /// The call in chat-API shape: <c>{"id": ..., "type": "function", "function": {"name": ..., "arguments": {...}}}</c>, with
    /// the arguments as an object (a copy), as <see cref="ChatTemplateInput"/> expects.
    /// </summary>
    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = Name, ["arguments"] = Arguments.DeepClone() },
    };

    /// <inheritdoc/>
    public override string ToString() => $"{Id}: {Name}({ArgumentsJson})";
}

/// <summary>What kind of thing went wrong with a call.</summary>
public enum ToolCallProblemKind
{
    /// <summary>The call's JSON does not parse (syntax error, duplicate key, nesting too deep).</summary>
    InvalidJson,

    /// <summary>The call has no function name, or the name is not a non-empty string.</summary>
    MissingName,

    /// <summary>The arguments are present but are not a JSON object (nor a string holding one).</summary>
    ArgumentsNotObject,

    /// <summary>A call (or the JSON in it) was opened but the output ended before it was closed.</summary>
    Unterminated,

    /// <summary>The call's text does not have the format's shape (an unexpected character where the syntax requires another).</summary>
    Malformed,

    /// <summary>A well-formed call names a tool that was not offered (<see cref="ToolCallParseOptions.Tools"/>). The call is kept.</summary>
    UnknownTool,

    /// <summary>A reasoning block was opened but never closed; all text after the opening is taken as reasoning.</summary>
    UnterminatedReasoning,
}

/// <summary>A call that could not be taken as given, with the reason and the offending text.</summary>
public sealed class ToolCallProblem
{
    internal ToolCallProblem(ToolCallProblemKind kind, string message, string text, int offset)
    {
        Kind = kind;
        Message = message;
        Text = text;
        Offset = offset;
    }

    /// <summary>What went wrong.</summary>
    public ToolCallProblemKind Kind { get; }

    /// <summary>A sentence saying what is wrong, for a log or an error returned to the model.</summary>
    public string Message { get; }

    /// <summary>The offending text, exactly as it is in the output.</summary>
    public string Text { get; }

    /// <summary>Where <see cref="Text"/> starts in the output string.</summary>
    public int Offset { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Kind} at {Offset}: {Message}";
}
