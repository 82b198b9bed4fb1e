using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Server.OpenAI;

/// <summary><c>GET /v1/models</c> and <c>GET /v1/models/{id}</c>: the models the source can serve.</summary>
internal static class Models
{
    public static Task ListAsync(HttpContext context)
    {
        var source = context.RequestServices.GetRequiredService<IModelSource>();
        return ServerJson.WriteAsync(context, new ModelListDto(source.List().Select(ToDto).ToList()));
    }

    public static Task GetAsync(HttpContext context)
    {
        var id = context.GetRouteValue("id") as string ?? "";
        var source = context.RequestServices.GetRequiredService<IModelSource>();
        var entry = source.List().FirstOrDefault(e => string.Equals(e.Name, id, StringComparison.Ordinal))
            ?? throw new ApiException(404, "invalid_request_error", $"The model '{(id.Length > 64 ? id[..64] + "…" : id)}' does not exist", "model", "model_not_found");
        return ServerJson.WriteAsync(context, ToDto(entry));
    }

    private static ModelDto ToDto(ModelEntry e) => new(e.Name, e.Modified.ToUnixTimeSeconds());
}

/// <summary>Maps the OpenAI-compatible routes.</summary>
public static class OpenAIEndpoints
{
    /// <summary>Adds <c>/v1/chat/completions</c>, <c>/v1/completions</c>, <c>/v1/embeddings</c> and <c>/v1/models</c>.</summary>
    public static IEndpointRouteBuilder MapOpenAI(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/chat/completions", (RequestDelegate)ChatCompletions.HandleAsync);
        app.MapPost("/v1/completions", (RequestDelegate)Completions.HandleAsync);
        app.MapPost("/v1/embeddings", (RequestDelegate)Embeddings.HandleAsync);
        app.MapGet("/v1/models", (RequestDelegate)Models.ListAsync);
        app.MapGet("/v1/models/{id}", (RequestDelegate)Models.GetAsync);
        return app;
    }
}
