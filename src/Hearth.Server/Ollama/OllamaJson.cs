using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Ollama;

/// <summary>
/// Reads a request body as one JSON object and its fields with the types the Ollama API gives them. Every refusal is an
/// <see cref="OllamaRequestException"/> whose message names the field (<c>options.temperature</c>,
/// <c>messages[2].role</c>). Unknown fields are ignored, as Ollama does.
/// </summary>
internal readonly struct OllamaJson
{
    private const int MaxDepth = 64;

    private readonly JsonElement _element;
    private readonly string _path;

    private OllamaJson(JsonElement element, string path)
    {
        _element = element;
        _path = path;
    }

    /// <summary>Reads the body (at most <paramref name="maxBytes"/>) as a JSON object; the document lives as long as the request.</summary>
    public static async Task<OllamaJson> ReadBodyAsync(HttpContext context, long maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes) throw new OllamaRequestException(413, $"the request body has {request.ContentLength} bytes; at most {maxBytes} are accepted");
        var buffer = new ArrayBufferWriter<byte>(4096);
        while (true)
        {
            var memory = buffer.GetMemory(8192);
            int n = await request.Body.ReadAsync(memory, context.RequestAborted).ConfigureAwait(false);
            if (n == 0) break;
            buffer.Advance(n);
            if (buffer.WrittenCount > maxBytes) throw new OllamaRequestException(413, $"the request body is larger than {maxBytes} bytes");
        }

        if (buffer.WrittenCount == 0) throw OllamaRequestException.BadRequest("missing request body");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException e)
        {
            throw OllamaRequestException.BadRequest($"invalid JSON in the request body: {e.Message}");
        }

        context.Response.RegisterForDispose(document);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw OllamaRequestException.BadRequest("the request body must be a JSON object");
        return new OllamaJson(document.RootElement, "");
    }

    public JsonElement Element => _element;

    public string Path => _path;

    private string Name(string field) => _path.Length == 0 ? field : _path + "." + field;

    /// <summary>The field, or null when it is absent or JSON null.</summary>
    public JsonElement? Get(string field) =>
        _element.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string field)
    {
        if (Get(field) is not { } v) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw Bad(field, "must be a string");
    }

    public bool? Bool(string field)
    {
        if (Get(field) is not { } v) return null;
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(field, "must be true or false"),
        };
    }

    /// <summary>A finite number within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public double? Number(string field, double min, double max)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d)) throw Bad(field, "must be a number");
        if (d < min || d > max) throw Bad(field, $"must be within {Format(min)}..{Format(max)} (got {Format(d)})");
        return d;
    }

    /// <summary>A whole number within [<paramref name="min"/>, <paramref name="max"/>] (42 and 42.0 both count).</summary>
    public long? Integer(string field, long min, long max)
    {
        if (Get(field) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Bad(field, "must be an integer");
        long value;
        if (!v.TryGetInt64(out value))
        {
            if (!v.TryGetDouble(out var d) || !double.IsFinite(d) || Math.Floor(d) != d) throw Bad(field, "must be an integer");
            if (d < min || d > max) throw Bad(field, $"must be within {min}..{max}");
            value = (long)d;
        }

        if (value < min || value > max) throw Bad(field, $"must be within {min}..{max} (got {value})");
        return value;
    }

    public OllamaJson? Object(string field)
    {
        if (Get(field) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Object ? new OllamaJson(v, Name(field)) : throw Bad(field, "must be an object");
    }

    /// <summary>The items of an array field (empty when absent), at most <paramref name="maxItems"/>.</summary>
    public IReadOnlyList<JsonElement> Array(string field, int maxItems)
    {
        if (Get(field) is not { } v) return [];
        if (v.ValueKind != JsonValueKind.Array) throw Bad(field, "must be an array");
        int n = v.GetArrayLength();
        if (n > maxItems) throw Bad(field, $"has {n} items; at most {maxItems} are accepted");
        return [.. v.EnumerateArray()];
    }

    /// <summary>The objects of an array field, each with its path (<c>messages[3]</c>).</summary>
    public IReadOnlyList<OllamaJson> Objects(string field, int maxItems)
    {
        var items = Array(field, maxItems);
        var result = new OllamaJson[items.Count];
        for (int i = 0; i < items.Count; i++)
        {
            if (items[i].ValueKind != JsonValueKind.Object) throw Bad($"{field}[{i}]", "must be an object");
            result[i] = new OllamaJson(items[i], $"{Name(field)}[{i}]");
        }

        return result;
    }

    /// <summary>A string or an array of strings (each non-empty when <paramref name="nonEmpty"/>), as a list.</summary>
    public IReadOnlyList<string>? Strings(string field, int maxItems, int maxLength, bool nonEmpty)
    {
        if (Get(field) is not { } v) return null;
        IReadOnlyList<JsonElement> items = v.ValueKind == JsonValueKind.String ? [v] : Array(field, maxItems);
        var result = new List<string>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            string at = v.ValueKind == JsonValueKind.String ? field : $"{field}[{i}]";
            if (items[i].ValueKind != JsonValueKind.String) throw Bad(at, "must be a string");
            var s = items[i].GetString()!;
            if (nonEmpty && s.Length == 0) throw Bad(at, "must not be empty");
            if (s.Length > maxLength) throw Bad(at, $"has {s.Length} characters; at most {maxLength} are accepted");
            result.Add(s);
        }

        return result;
    }

    /// <summary>The model name from <c>model</c> (or the older <c>name</c>); required.</summary>
    public string ModelName()
    {
        var name = String("model") ?? String("name");
        if (string.IsNullOrWhiteSpace(name)) throw OllamaRequestException.BadRequest("model is required");
        if (name.Length > 512) throw Bad("model", "is longer than 512 characters");
        return name;
    }

    /// <summary>The field as a mutable JSON node (for schemas).</summary>
    public JsonNode? Node(string field) => Get(field) is { } v ? JsonNode.Parse(v.GetRawText(), documentOptions: new JsonDocumentOptions { MaxDepth = MaxDepth }) : null;

    public OllamaRequestException Bad(string field, string problem) => OllamaRequestException.BadRequest($"{Name(field)} {problem}");

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
