using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server;

/// <summary>A request the server refuses, with the HTTP status and OpenAI error fields to answer it with.</summary>
public sealed class ApiException(int status, string type, string message, string? param = null, string? code = null) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>OpenAI's error type: <c>invalid_request_error</c>, <c>authentication_error</c>, <c>server_error</c>, ...</summary>
    public string Type { get; } = type;

    /// <summary>The offending request field, if one is to blame.</summary>
    public string? Param { get; } = param;

    /// <summary>A machine-readable code such as <c>model_not_found</c>.</summary>
    public string? Code { get; } = code;

    /// <summary>Extra response headers (such as Retry-After).</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>400 invalid_request_error naming <paramref name="param"/>.</summary>
    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, "invalid_request_error", message, param, code);
}

/// <summary>Writes errors in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class ApiErrors
{
    /// <summary>The error object as JSON text.</summary>
    public static string ToJson(ApiException error)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("error");
            w.WriteString("message", error.Message);
            w.WriteString("type", error.Type);
            if (error.Param is null) w.WriteNull("param");
            else w.WriteString("param", error.Param);
            if (error.Code is null) w.WriteNull("code");
            else w.WriteString("code", error.Code);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>The error in Ollama's shape: <c>{"error":"message"}</c>.</summary>
    public static string ToOllamaJson(ApiException error) => JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = error.Message });

    /// <summary>
    /// Answers the request with <paramref name="error"/> (the response must not have started): in Ollama's shape for
    /// the <c>/api/</c> routes, in OpenAI's for every other.
    /// </summary>
    public static async Task WriteAsync(HttpContext context, ApiException error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        foreach (var (name, value) in error.Headers) response.Headers[name] = value;
        response.ContentType = "application/json";
        var body = context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal) ? ToOllamaJson(error) : ToJson(error);
        await response.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }
}
