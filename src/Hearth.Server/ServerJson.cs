using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server;

/// <summary>JSON settings of the wire (snake_case, nulls left out unless a shape needs them) and body reading.</summary>
internal static class ServerJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.General)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        MaxDepth = 64,
    };

    /// <summary>Reads the request body as <typeparamref name="T"/>; malformed JSON is a 400 naming the problem.</summary>
    /// <exception cref="ApiException">The body is not valid JSON of the expected shape.</exception>
    public static async Task<T> ReadAsync<T>(HttpContext context) where T : class
    {
        T? value;
        try
        {
            value = await JsonSerializer.DeserializeAsync<T>(context.Request.Body, Options, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw BadJson(e);
        }

        return value ?? throw ApiException.BadRequest("the request body must be a JSON object, not null");
    }

    /// <summary>A 400 for a JSON error: where it is (line, byte, field) and what is wrong.</summary>
    public static ApiException BadJson(JsonException e)
    {
        var path = e.Path is { Length: > 1 } p ? p.TrimStart('$').TrimStart('.') : null;
        string where = e.LineNumber is long line ? $" at line {line + 1}, byte {e.BytePositionInLine + 1}" : "";
        string what = e.InnerException is InvalidOperationException or FormatException
            ? $"field '{path}' has the wrong type"
            : path is { Length: > 0 } && e.Message.Contains("could not be converted", StringComparison.Ordinal)
                ? $"field '{path}' has the wrong type or is out of range"
                : e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0].TrimEnd('.', ' ');
        return ApiException.BadRequest($"invalid JSON in the request body{where}: {what}", path is { Length: > 0 } ? path : null, "invalid_json");
    }

    public static async Task WriteAsync<T>(HttpContext context, T value, int status = 200)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, Options, context.RequestAborted).ConfigureAwait(false);
    }
}
