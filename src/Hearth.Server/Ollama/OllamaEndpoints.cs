using Hearth.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Ollama;

/// <summary>The Ollama-compatible HTTP API (<c>/api/...</c>).</summary>
public static class OllamaEndpoints
{
    /// <summary>
    /// Maps Ollama's API: <c>POST /api/generate</c>, <c>/api/chat</c>, <c>/api/embed</c>, <c>/api/embeddings</c>,
    /// <c>/api/show</c>, <c>/api/pull</c>; <c>GET /api/tags</c>, <c>/api/ps</c>, <c>/api/version</c>;
    /// <c>DELETE /api/delete</c>; and <c>/api/create</c>, <c>/api/copy</c>, <c>/api/push</c> answering 501. Generation
    /// streams NDJSON unless the request says <c>"stream": false</c>; durations are nanoseconds; errors are
    /// <c>{"error": "..."}</c> with 400 (the message names the bad field), 404 (unknown model), 413 (body too large),
    /// 429 (queue full, with <c>Retry-After</c>), 501, 503 or 500. A client that disconnects cancels its generation.
    /// </summary>
    /// <remarks>
    /// Resolves <see cref="ModelHost"/>, <see cref="IModelSource"/> and <see cref="HearthServerOptions"/> from the
    /// request's services (singletons). Model names are the source's; <c>name:latest</c> also finds <c>name</c>.
    /// </remarks>
    public static IEndpointRouteBuilder MapOllama(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = new OllamaApi(new OllamaModelCatalog());
        app.MapPost("/api/generate", context => Handle(context, api.GenerateAsync));
        app.MapPost("/api/chat", context => Handle(context, api.ChatAsync));
        app.MapPost("/api/embed", context => Handle(context, api.EmbedAsync));
        app.MapPost("/api/embeddings", context => Handle(context, api.LegacyEmbeddingsAsync));
        app.MapGet("/api/tags", context => Handle(context, api.TagsAsync));
        app.MapPost("/api/show", context => Handle(context, api.ShowAsync));
        app.MapGet("/api/ps", context => Handle(context, api.RunningAsync));
        app.MapPost("/api/pull", context => Handle(context, api.PullAsync));
        app.MapDelete("/api/delete", context => Handle(context, api.DeleteAsync));
        app.MapGet("/api/version", context => Handle(context, OllamaApi.VersionAsync));
        foreach (var path in (string[])["/api/create", "/api/copy", "/api/push"])
        {
            app.MapPost(path, context => Handle(context, _ => throw new OllamaRequestException(StatusCodes.Status501NotImplemented,
                $"{path} is not supported by Hearth: models are GGUF files in the models directory or the store")));
        }

        return app;
    }

    /// <summary>Runs a handler and turns its failure into Ollama's error object (or a last NDJSON line once streaming).</summary>
    private static async Task Handle(HttpContext context, Func<HttpContext, Task> handler)
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to tell.
        }
        catch (Exception e)
        {
            var (status, message) = OllamaWire.Classify(e);
            if (status >= 500)
            {
                context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger("Hearth.Server.Ollama")
                    .LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            }

            try
            {
                if (!context.Response.HasStarted)
                {
                    if (e is SchedulerBusyException) context.Response.Headers.RetryAfter = "1";
                    await OllamaWire.WriteJsonAsync(context, status, OllamaWire.Error(message)).ConfigureAwait(false);
                }
                else if (context.Response.ContentType == OllamaWire.NdjsonContentType)
                {
                    // Mid-stream: Ollama's clients read an error object as the stream's last line.
                    await OllamaWire.WriteLineAsync(context, OllamaWire.Error(message)).ConfigureAwait(false);
                }
            }
            catch (Exception) when (context.RequestAborted.IsCancellationRequested)
            {
            }
        }
    }

}
