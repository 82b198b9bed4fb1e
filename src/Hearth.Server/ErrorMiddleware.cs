using Hearth.Store;
using System.Text.Json;
using Hearth.Models;
using Hearth.Serving;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Hearth.Server;

/// <summary>
/// Turns every failure into an OpenAI error object with the right status (client errors are never a 500; an unexpected
/// exception is a 500 with a generic message, logged), and counts every request for <c>/metrics</c> by route pattern.
/// </summary>
internal sealed class ErrorMiddleware(RequestDelegate next, ServerMetrics metrics, ILogger<ErrorMiddleware> logger)
{
    /// <summary>The status counted for a request whose client went away before the answer.</summary>
    public const int ClientClosedRequest = 499;

    public async Task InvokeAsync(HttpContext context)
    {
        int? status = null;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            status = ClientClosedRequest;
        }
        catch (Exception e)
        {
            var error = Classify(e, logger);
            status = error.Status;
            if (!context.Response.HasStarted)
            {
                context.Response.Clear();
                await ApiErrors.WriteAsync(context, error).ConfigureAwait(false);
            }
            else
            {
                logger.LogWarning("request {Path} failed after its answer had started: {Message}", context.Request.Path.Value, e.Message);
                context.Abort();
            }
        }
        finally
        {
            var endpoint = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
            metrics.CountRequest(endpoint, status ?? context.Response.StatusCode);
        }
    }

    /// <summary>The answer to an exception: its status and OpenAI error fields.</summary>
    public static ApiException Classify(Exception e, ILogger logger) => e switch
    {
        ApiException api => api,
        InvalidRequestException invalid => ApiException.BadRequest(invalid.Message, invalid.Parameter),
        JsonException json => ServerJson.BadJson(json),
        BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge =>
            new ApiException(413, "invalid_request_error", "the request body is larger than this server accepts", null, "request_too_large"),
        BadHttpRequestException bad => new ApiException(bad.StatusCode, "invalid_request_error", bad.Message),
        ModelNotFoundException notFound => new ApiException(404, "invalid_request_error", $"The model '{notFound.Name}' does not exist", "model", "model_not_found"),
        ContextOverflowException overflow => ApiException.BadRequest(
            $"the prompt has {overflow.Tokens} tokens, which does not fit the model's context of {overflow.Context} tokens", "messages", "context_length_exceeded"),
        SchedulerBusyException busy => new ApiException(429, "server_busy", $"the server is busy ({busy.Queued} requests are waiting); retry shortly", null, "server_busy")
        {
            Headers = new Dictionary<string, string> { ["Retry-After"] = "1" },
        },
        ModelMemoryException memory => new ApiException(503, "server_error", memory.Message, "model", "model_too_large"),
        _ => Unexpected(e, logger),
    };

    private static ApiException Unexpected(Exception e, ILogger logger)
    {
        logger.LogError(e, "unexpected error");
        return new ApiException(500, "server_error", "the server hit an unexpected error; it has been logged", null, "internal_error");
    }
}

/// <summary>
/// With an API key configured, every request except <c>GET /health</c> must present it, as <c>Authorization: Bearer KEY</c>
/// or <c>x-api-key: KEY</c>; the comparison takes the same time whatever the key given.
/// </summary>
internal sealed class ApiKeyMiddleware(RequestDelegate next, string key)
{
    private readonly byte[] _keyHash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key));

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if ((HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) && request.Path.Equals("/health", StringComparison.Ordinal))
            return next(context);
        var given = Presented(request);
        if (given != null && Matches(given)) return next(context);
        context.Response.Headers.WWWAuthenticate = "Bearer realm=\"hearth\"";
        var message = given == null
            ? "this server needs an API key: send 'Authorization: Bearer KEY' or 'x-api-key: KEY'"
            : "the API key is not valid";
        return ApiErrors.WriteAsync(context, new ApiException(401, "invalid_request_error", message, null, "invalid_api_key"));
    }

    private static string? Presented(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth["Bearer ".Length..].Trim();
        var header = request.Headers["x-api-key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    private bool Matches(string given)
    {
        // Hashing first makes the comparison independent of the lengths as well as the contents.
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(given));
        return System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(hash, _keyHash);
    }
}
