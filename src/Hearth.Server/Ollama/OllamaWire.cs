using Hearth.Store;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Serving;
using Microsoft.AspNetCore.Http;

namespace Hearth.Server.Ollama;

/// <summary>How the Ollama API writes: JSON objects, NDJSON streams, nanosecond durations, RFC 3339 times, errors.</summary>
internal static class OllamaWire
{
    public const string NdjsonContentType = "application/x-ndjson";

    private static readonly byte[] s_newline = "\n"u8.ToArray();

    // Quotes as \" rather than \u0022: the answers are JSON, never embedded in HTML.
    private static readonly JsonSerializerOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>An instant as RFC 3339 in UTC with the fraction of a second (as Go's <c>time.RFC3339Nano</c> reads it).</summary>
    public static string Timestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Ollama's durations: whole nanoseconds.</summary>
    public static long Nanoseconds(TimeSpan time) => Math.Max(0, time.Ticks) * 100;

    /// <summary>Ollama's <c>done_reason</c> for a finished generation.</summary>
    public static string DoneReason(FinishReason reason) => reason switch
    {
        FinishReason.Length or FinishReason.ContextFull or FinishReason.Truncated => "length",
        _ => "stop",
    };

    /// <summary>Writes one JSON object as the whole response.</summary>
    public static async Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(body, s_json), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Writes one NDJSON line (starting the 200 response with the first) and flushes it to the client.</summary>
    public static async Task WriteLineAsync(HttpContext context, JsonNode line)
    {
        var response = context.Response;
        if (!response.HasStarted)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = NdjsonContentType;
        }

        await response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(line, s_json), context.RequestAborted).ConfigureAwait(false);
        await response.Body.WriteAsync(s_newline, context.RequestAborted).ConfigureAwait(false);
        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static JsonObject Error(string message) => new() { ["error"] = message };

    /// <summary>The status and message of a failure, in Ollama's terms.</summary>
    public static (int Status, string Message) Classify(Exception e) => e switch
    {
        OllamaRequestException r => (r.Status, r.Message),
        ModelNotFoundException => (StatusCodes.Status404NotFound, e.Message),
        SchedulerBusyException => (StatusCodes.Status429TooManyRequests, e.Message),
        InvalidRequestException => (StatusCodes.Status400BadRequest, e.Message),
        ContextOverflowException c => (StatusCodes.Status400BadRequest, $"the prompt has {c.Tokens} tokens but the context holds {c.Context}; shorten it or raise options.num_ctx"),
        GrammarConstraintException => (StatusCodes.Status500InternalServerError, $"constrained generation failed: {e.Message}"),
        GrammarException => (StatusCodes.Status400BadRequest, $"format: {e.Message}"),
        TemplateRaisedException or ChatInputException => (StatusCodes.Status400BadRequest, e.Message),
        ArgumentException => (StatusCodes.Status400BadRequest, e.Message),
        NotSupportedException => (StatusCodes.Status501NotImplemented, e.Message),
        ModelMemoryException => (StatusCodes.Status503ServiceUnavailable, e.Message),
        ObjectDisposedException => (StatusCodes.Status503ServiceUnavailable, "the model was unloaded while the request ran; try again"),
        HearthException or IOException or HttpRequestException => (StatusCodes.Status500InternalServerError, e.Message),
        _ => (StatusCodes.Status500InternalServerError, "internal server error"),
    };
}
