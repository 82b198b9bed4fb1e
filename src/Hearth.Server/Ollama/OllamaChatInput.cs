using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Serving;
using Microsoft.Extensions.AI;

namespace Hearth.Server.Ollama;

/// <summary>The parts of a request that describe a conversation: messages, tools and the output format.</summary>
internal static class OllamaChatInput
{
    public const int MaxMessages = 4096;

    public const int MaxTools = 128;

    public const int MaxToolCalls = 64;

    /// <summary>
    /// <c>messages</c> as Microsoft.Extensions.AI messages. Ollama's tool calls carry no ids, so each call gets one
    /// (<c>call_N</c>, unless the client sent <c>id</c>) and a <c>tool</c> message answers the call named by its
    /// <c>tool_call_id</c>, else the oldest unanswered call of its <c>tool_name</c>, else the oldest unanswered call.
    /// </summary>
    public static List<ChatMessage> ReadMessages(OllamaJson body)
    {
        var result = new List<ChatMessage>();
        var unanswered = new List<(string Id, string Name)>();
        int calls = 0;
        foreach (var m in body.Objects("messages", MaxMessages))
        {
            var role = m.String("role") ?? throw m.Bad("role", "is required");
            var content = m.String("content") ?? "";
            if (m.Get("images") is { } images && !(images.ValueKind == JsonValueKind.Array && images.GetArrayLength() == 0))
                throw OllamaRequestException.BadRequest($"images are not supported ({m.Path}.images)");
            switch (role)
            {
                case "system":
                    result.Add(new ChatMessage(ChatRole.System, content));
                    break;
                case "user":
                    result.Add(new ChatMessage(ChatRole.User, content));
                    break;
                case "assistant":
                    var message = new ChatMessage(ChatRole.Assistant, content.Length > 0 ? [new TextContent(content)] : []);
                    foreach (var call in m.Objects("tool_calls", MaxToolCalls))
                    {
                        var function = call.Object("function") ?? throw call.Bad("function", "is required");
                        var name = function.String("name");
                        if (string.IsNullOrEmpty(name)) throw function.Bad("name", "is required");
                        var id = call.String("id") ?? $"call_{calls.ToString(CultureInfo.InvariantCulture)}";
                        calls++;
                        message.Contents.Add(new FunctionCallContent(id, name, Arguments(function)));
                        unanswered.Add((id, name));
                    }

                    result.Add(message);
                    break;
                case "tool":
                    var callId = m.String("tool_call_id");
                    var toolName = m.String("tool_name");
                    int answered = callId != null ? unanswered.FindIndex(c => c.Id == callId)
                        : toolName != null && unanswered.FindIndex(c => c.Name == toolName) is >= 0 and var byName ? byName
                        : unanswered.Count > 0 ? 0 : -1;
                    if (answered >= 0)
                    {
                        callId ??= unanswered[answered].Id;
                        unanswered.RemoveAt(answered);
                    }

                    callId ??= $"call_{(calls++).ToString(CultureInfo.InvariantCulture)}";
                    result.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, content)]));
                    break;
                default:
                    throw m.Bad("role", $"must be system, user, assistant or tool (got '{(role.Length > 32 ? role[..32] + "…" : role)}')");
            }
        }

        return result;
    }

    /// <summary><c>function.arguments</c>: an object (Ollama's form) or a string holding one (OpenAI's form).</summary>
    private static Dictionary<string, object?> Arguments(OllamaJson function)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (function.Get("arguments") is not { } args) return result;
        JsonElement obj = args;
        if (args.ValueKind == JsonValueKind.String)
        {
            try
            {
                obj = JsonDocument.Parse(args.GetString()!, new JsonDocumentOptions { MaxDepth = 64 }).RootElement;
            }
            catch (JsonException)
            {
                throw function.Bad("arguments", "must be a JSON object");
            }
        }

        if (obj.ValueKind != JsonValueKind.Object) throw function.Bad("arguments", "must be a JSON object");
        foreach (var p in obj.EnumerateObject()) result[p.Name] = p.Value.Clone();
        return result;
    }

    /// <summary><c>tools</c>: <c>[{type: "function", function: {name, description, parameters}}]</c>.</summary>
    public static List<AITool> ReadTools(OllamaJson body)
    {
        var result = new List<AITool>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in body.Objects("tools", MaxTools))
        {
            var type = t.String("type") ?? "function";
            if (type != "function") throw t.Bad("type", $"must be \"function\" (got '{(type.Length > 32 ? type[..32] + "…" : type)}')");
            var function = t.Object("function") ?? throw t.Bad("function", "is required");
            var name = function.String("name");
            if (string.IsNullOrEmpty(name)) throw function.Bad("name", "is required");
            if (name.Length > 256) throw function.Bad("name", "is longer than 256 characters");
            if (!names.Add(name)) throw function.Bad("name", $"'{name}' is declared twice");
            var description = function.String("description");
            JsonElement parameters;
            if (function.Get("parameters") is { } p)
            {
                if (p.ValueKind != JsonValueKind.Object) throw function.Bad("parameters", "must be a JSON schema object");
                parameters = p.Clone();
            }
            else
            {
                parameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
            }

            result.Add(AIFunctionFactory.CreateDeclaration(name, description, parameters));
        }

        return result;
    }

    /// <summary><c>format</c>: absent or <c>""</c> for text, <c>"json"</c> for any JSON object, or a JSON schema object.</summary>
    public static (OllamaFormat Kind, JsonNode? Schema) ReadFormat(OllamaJson body)
    {
        if (body.Get("format") is not { } f) return (OllamaFormat.Text, null);
        return f.ValueKind switch
        {
            JsonValueKind.String when f.GetString() is "" => (OllamaFormat.Text, null),
            JsonValueKind.String when f.GetString() is "json" => (OllamaFormat.JsonObject, null),
            JsonValueKind.Object => (OllamaFormat.JsonSchema, body.Node("format")),
            _ => throw body.Bad("format", "must be \"json\" or a JSON schema object"),
        };
    }

    /// <summary>The chat form of a format.</summary>
    public static ChatResponseFormat? ToChatFormat((OllamaFormat Kind, JsonNode? Schema) format) => format.Kind switch
    {
        OllamaFormat.JsonObject => ChatResponseFormat.Json,
        OllamaFormat.JsonSchema => ChatResponseFormat.ForJsonSchema(JsonSerializer.SerializeToElement(format.Schema)),
        _ => null,
    };
}

/// <summary>What Ollama's <c>format</c> asks the output to be.</summary>
internal enum OllamaFormat
{
    /// <summary>Free text.</summary>
    Text,

    /// <summary>Any JSON object (<c>"json"</c>).</summary>
    JsonObject,

    /// <summary>JSON valid under the schema given as <c>format</c>.</summary>
    JsonSchema,
}
