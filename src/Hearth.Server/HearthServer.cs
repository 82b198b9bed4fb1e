using Hearth.Server.Ollama;
using System.Net;
using Hearth.Serving;
using Hearth.Server.OpenAI;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hearth.Server;

/// <summary>The HTTP server: builds the ASP.NET Core application with its routes. No model logic lives here.</summary>
public static class HearthServer
{
    /// <summary>
    /// Builds (does not start) the server: Kestrel bound to <see cref="HearthServerOptions.Host"/> and
    /// <see cref="HearthServerOptions.Port"/>, the OpenAI routes, <c>/health</c> and <c>/metrics</c>. <see cref="ModelHost"/>,
    /// <see cref="IModelSource"/>, <see cref="HearthServerOptions"/> and <see cref="ServerMetrics"/> are registered as
    /// singletons for other route groups.
    /// </summary>
    /// <param name="options">What to serve and how; the defaults are the safe ones.</param>
    /// <param name="host">Supplies the models; by default one is made from the options over <paramref name="source"/>
    /// (and disposed when the application stops).</param>
    /// <param name="source">Lists and resolves model names; by default the options' models directory (or none).</param>
    /// <exception cref="ServerConfigurationException">The options are unsafe or invalid (such as a non-loopback bind without a key).</exception>
    public static WebApplication Build(HearthServerOptions options, ModelHost? host = null, IModelSource? source = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = Validate(options);
        try
        {
            source ??= DefaultSource(options);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ServerConfigurationException($"--models: {e.Message}");
        }

        bool ownsHost = host == null;
        host ??= new ModelHost(new ModelHostOptions
        {
            Resolve = source.Resolve,
            MemoryBudget = options.MemoryBudget,
            KeepAlive = options.KeepAlive,
            Threads = options.Threads,
            Scheduler = new SchedulerOptions { Parallel = options.Parallel, MaxQueue = options.MaxQueue, Context = options.Context },
        });

        // The empty builder reads no appsettings.json, environment or command line: nothing but these options can add an
        // endpoint or change a limit.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Hearth.Server" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            if (address == null) k.ListenLocalhost(options.Port);
            else k.Listen(address, options.Port);
        });
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoutingCore();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(host);
        builder.Services.AddSingleton(source);
        builder.Services.AddSingleton(new ServerMetrics());
        builder.Services.AddSingleton(new RequestLimits { MaxPromptTokens = options.MaxPromptTokens, MaxTokens = options.MaxTokens });
        if (options.CorsOrigins.Count > 0)
        {
            builder.Services.AddCors(c => c.AddDefaultPolicy(p => p.WithOrigins([.. options.CorsOrigins]).AllowAnyHeader().AllowAnyMethod()));
        }

        var app = builder.Build();
        if (ownsHost) app.Lifetime.ApplicationStopped.Register(host.Dispose);

        app.UseMiddleware<ErrorMiddleware>();
        app.UseRouting();
        if (options.CorsOrigins.Count > 0) app.UseCors();
        if (options.ApiKey != null) app.UseMiddleware<ApiKeyMiddleware>(options.ApiKey);

        app.MapGet("/health", Health);
        app.MapGet("/metrics", Metrics);
        app.MapOpenAI();
        app.MapOllama();
        return app;
    }

    /// <summary>The models directory (when given) first, then the model store (when given); names resolve in that order.</summary>
    private static IModelSource DefaultSource(HearthServerOptions options)
    {
        var sources = new List<IModelSource>();
        if (options.ModelsDirectory != null) sources.Add(new DirectoryModelSource(options.ModelsDirectory));
        if (options.StoreDirectory != null)
        {
            var hub = new Hearth.Store.HubClient(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, Hearth.Store.HubOptions.FromEnvironment());
            sources.Add(new StoreModelSource(new Hearth.Store.ModelStore(options.StoreDirectory), hub));
        }

        return sources.Count switch
        {
            0 => new EmptyModelSource(),
            1 => sources[0],
            _ => new CompositeModelSource([.. sources]),
        };
    }

    /// <summary>The addresses a started server listens on.</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) => app.Urls.ToList();

    /// <summary>Checks the options; returns the address to bind (null for "localhost").</summary>
    private static IPAddress? Validate(HearthServerOptions o)
    {
        IPAddress? address = null;
        if (!string.Equals(o.Host, "localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(o.Host, out address))
            throw new ServerConfigurationException($"--host '{o.Host}' is not an IP address (or localhost)");
        if (o.Port is < 0 or > 65535) throw new ServerConfigurationException($"--port {o.Port} must be within 0..65535");
        if (o.ApiKey != null && (o.ApiKey.Length < 8 || o.ApiKey.Any(char.IsWhiteSpace)))
            throw new ServerConfigurationException("--api-key must be at least 8 characters with no spaces");
        if (!o.IsLoopback && o.ApiKey == null && !o.InsecureNoAuth)
            throw new ServerConfigurationException(
                $"refusing to listen on {o.Host} without authentication: give --api-key KEY (or HEARTH_API_KEY), or --insecure-no-auth to allow anyone who can reach this address");
        if (o.Parallel is < 1 or > 256) throw new ServerConfigurationException($"--parallel {o.Parallel} must be within 1..256");
        if (o.MaxQueue < 0) throw new ServerConfigurationException($"the queue length {o.MaxQueue} must be ≥ 0");
        if (o.Context < 0) throw new ServerConfigurationException($"--ctx {o.Context} must be ≥ 0");
        if (o.MaxRequestBodyBytes < 1024) throw new ServerConfigurationException($"the request body limit {o.MaxRequestBodyBytes} must be at least 1024 bytes");
        if (o.MaxPromptTokens < 1) throw new ServerConfigurationException($"the prompt token limit {o.MaxPromptTokens} must be ≥ 1");
        if (o.MaxTokens < 1) throw new ServerConfigurationException($"the generated token limit {o.MaxTokens} must be ≥ 1");
        if (o.MemoryBudget < 0) throw new ServerConfigurationException($"--memory-budget {o.MemoryBudget} must be ≥ 0");
        if (o.Threads < 0) throw new ServerConfigurationException($"the thread count {o.Threads} must be ≥ 0");
        foreach (var origin in o.CorsOrigins)
        {
            if (origin == "*") throw new ServerConfigurationException("--cors-origin '*' is not allowed: name each origin (such as http://localhost:3000)");
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.AbsolutePath != "/" || origin.EndsWith('/'))
                throw new ServerConfigurationException($"--cors-origin '{origin}' is not an origin (scheme://host[:port], such as http://localhost:3000)");
        }

        return address;
    }

    private static Task Health(HttpContext context)
    {
        var host = context.RequestServices.GetRequiredService<ModelHost>();
        bool loading = host.IsLoading;
        context.Response.Headers.CacheControl = "no-store";
        return ServerJson.WriteAsync(context, new HealthDto(loading ? "loading" : "ok"), loading ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    private static async Task Metrics(HttpContext context)
    {
        var metrics = context.RequestServices.GetRequiredService<ServerMetrics>();
        var text = metrics.Render(context.RequestServices.GetRequiredService<ModelHost>());
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    private sealed record HealthDto(string Status);
}

/// <summary>The server's options are unsafe or invalid; the message says which and how to fix it.</summary>
public sealed class ServerConfigurationException(string message) : HearthException(message);
