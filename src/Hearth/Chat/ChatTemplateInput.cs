using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Chat;

/// <summary>
/// What a chat template is rendered with. Messages and tools are JSON as chat APIs hand them over (arbitrary objects;
/// a tool call's <c>function.arguments</c> is a JSON object). The template sees <c>messages</c>,
/// <c>add_generation_prompt</c>, <c>bos_token</c>, <c>eos_token</c>, <c>tools</c> (only when <see cref="Tools"/> is
/// set, so <c>tools is defined</c> is false otherwise) and every entry of <see cref="Variables"/>.
/// </summary>
public sealed class ChatTemplateInput
{
    private static readonly HashSet<string> s_reserved = ["messages", "tools", "add_generation_prompt", "bos_token", "eos_token"];

    /// <summary>The conversation: a JSON array of message objects (<c>{"role": ..., "content": ...}</c> and whatever else the API carries).</summary>
    public JsonArray Messages { get; init; } = [];

    /// <summary>Tool definitions, or null for none (the template then sees no <c>tools</c> variable at all).</summary>
    public JsonArray? Tools { get; init; }

    /// <summary>Whether the prompt ends by opening the assistant's turn. Default true.</summary>
    public bool AddGenerationPrompt { get; init; } = true;

    /// <summary>The BOS token text; null takes the template's default (<see cref="ChatTemplate.BosToken"/>).</summary>
    public string? BosToken { get; init; }

    /// <summary>The EOS token text; null takes the template's default (<see cref="ChatTemplate.EosToken"/>).</summary>
    public string? EosToken { get; init; }

    /// <summary>The instant <c>strftime_now</c> formats (a local wall-clock time); null means the current local time.</summary>
    public DateTime? Now { get; init; }

    /// <summary>
    /// Further template variables (for example <c>date_string</c>, <c>enable_thinking</c>, <c>documents</c>). A JSON null is
    /// the template's <c>none</c>. The names above are reserved: use the dedicated properties for them.
    /// </summary>
    public IReadOnlyDictionary<string, JsonNode?>? Variables { get; init; }

    /// <summary>
    /// Reads a conversation from JSON text: either an array of messages, or an object with <c>messages</c> and optionally
    /// <c>tools</c>. <paramref name="toolsJson"/>, when given, is an array of tools and takes precedence.
    /// </summary>
    /// <exception cref="ChatInputException">The text is not JSON of that shape.</exception>
    public static ChatTemplateInput FromJson(string messagesJson, string? toolsJson = null, bool addGenerationPrompt = true)
    {
        var root = ParseJson(messagesJson, "messages");
        JsonArray messages;
        JsonArray? tools = null;
        switch (root)
        {
            case JsonArray array:
                messages = array;
                break;
            case JsonObject obj when obj["messages"] is JsonArray array:
                messages = array;
                tools = obj["tools"] switch
                {
                    null => null,
                    JsonArray t => t,
                    _ => throw new ChatInputException("messages: \"tools\" must be an array"),
                };
                break;
            default:
                throw new ChatInputException("messages: expected a JSON array of messages or an object with a \"messages\" array");
        }

        foreach (var message in messages)
        {
            if (message is not JsonObject) throw new ChatInputException("messages: every message must be a JSON object");
        }

        if (toolsJson != null)
        {
            tools = ParseJson(toolsJson, "tools") as JsonArray ?? throw new ChatInputException("tools: expected a JSON array of tools");
        }

        return new ChatTemplateInput { Messages = messages, Tools = tools, AddGenerationPrompt = addGenerationPrompt };
    }

    private static JsonNode? ParseJson(string text, string what)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException e)
        {
            throw new ChatInputException($"{what}: not valid JSON ({e.Message})");
        }
    }

    internal static void CheckVariableName(string name)
    {
        if (s_reserved.Contains(name))
            throw new ArgumentException($"'{name}' is set through its own ChatTemplateInput property, not Variables", nameof(Variables));
    }
}

/// <summary>Chat input (messages, tools) is not the JSON a template can be rendered with.</summary>
public sealed class ChatInputException : HearthException
{
    public ChatInputException(string message) : base(message) { }
}
