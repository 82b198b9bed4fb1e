using System.Net;
using System.Security.Cryptography;
using System.Text;
using Hearth.Sensors.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Sensors.Monitoring;

/// <summary>
/// The monitor's HTTP face (Kestrel): <c>GET /health</c> (200 with the health JSON, or 503 when unhealthy),
/// <c>GET /stats</c> (the live statistics JSON) and, for each HTTP ingest source, <c>POST /ingest/NAME</c> (also
/// <c>POST /ingest</c> when there is exactly one). An ingest request is answered once its payloads are stored: 200 with
/// the counts, 413 when the body is over the source's limit (its start is quarantined as too large), 401 without the
/// source's key, 503 while the monitor is not taking readings. Listens on loopback unless told otherwise, and refuses a
/// non-loopback address while an ingest source has no key.
/// </summary>
public sealed class MonitorHttpEndpoint : IAsyncDisposable
{
    private const int ExcerptBytes = 4096;
    private readonly WebApplication _app;

    private MonitorHttpEndpoint(WebApplication app) => _app = app;

    /// <summary>Builds the endpoint for a runner; its HTTP ingest sources get URLs. Nothing listens until <see cref="StartAsync"/>.</summary>
    /// <param name="runner">The monitor.</param>
    /// <param name="address"><c>HOST:PORT</c> with an IP address or <c>localhost</c>; port 0 picks a free one.</param>
    /// <exception cref="MonitorConfigurationException">The address is not valid, or not loopback while an ingest source has no key.</exception>
    public static MonitorHttpEndpoint Create(MonitorRunner runner, string address)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var endpoint = ParseAddress(address);
        var ingest = runner.Sources.OfType<HttpIngestSource>().ToList();
        if (!IPAddress.IsLoopback(endpoint.Address) && ingest.FirstOrDefault(s => s.ApiKey == null) is { } open)
            throw new MonitorConfigurationException(
                $"--http {address}: not a loopback address, and HTTP source '{open.Name}' has no api_key_env; anyone who can reach it could post readings (give it a key, or listen on 127.0.0.1)");

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Hearth.Monitor" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // each ingest source reads at most its own limit
            k.Listen(endpoint);
        });
        builder.Logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        app.UseRouting();
        app.MapGet("/health", () =>
        {
            var health = runner.Health();
            return Json(MonitorFormat.ToJson(health), health.Healthy ? 200 : 503);
        });
        app.MapGet("/stats", () => Json(MonitorFormat.ToJson(runner.Stats()), 200));
        foreach (var source in ingest) app.MapPost("/ingest/" + Uri.EscapeDataString(source.Name), Ingest(source));
        if (ingest.Count == 1) app.MapPost("/ingest", Ingest(ingest[0]));
        return new MonitorHttpEndpoint(app);
    }

    /// <summary>The address it listens on (with the port chosen when 0 was asked for); valid after <see cref="StartAsync"/>.</summary>
    public Uri Address => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>Starts listening.</summary>
    public Task StartAsync(CancellationToken cancel) => _app.StartAsync(cancel);

    /// <summary>Stops listening (requests in progress get a moment to finish).</summary>
    public Task StopAsync(CancellationToken cancel) => _app.StopAsync(cancel);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static IPEndPoint ParseAddress(string address)
    {
        var text = address.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase) ? "127.0.0.1:" + address["localhost:".Length..] : address;
        if (IPEndPoint.TryParse(text, out var endpoint) && text.Contains(':') && endpoint.Port is >= 0 and <= 65535 && text[(text.LastIndexOf(':') + 1)..].All(char.IsAsciiDigit))
            return endpoint;
        throw new MonitorConfigurationException($"--http '{address}' is not HOST:PORT with an IP address or localhost (for example 127.0.0.1:8089)");
    }

    private static IResult Json(string json, int status) => Results.Text(json + "\n", "application/json", Encoding.UTF8, status);

    // A Delegate (not a RequestDelegate), so the returned IResult is written as the response.
    private static Delegate Ingest(HttpIngestSource source) => (HttpContext c) => IngestAsync(c, source);

    private static async Task<IResult> IngestAsync(HttpContext context, HttpIngestSource source)
    {
        var request = context.Request;
        if (source.ApiKey is { } key && !KeyMatches(request, key))
            return Json("{\"error\":\"missing or wrong API key (send x-api-key: KEY or Authorization: Bearer KEY)\"}", 401);
        if (!source.IsAccepting) return Json("{\"error\":\"the monitor is not taking readings now; try again\"}", 503);

        // Read at most the limit (+1 byte to know it is over); never size a buffer from the request's own claims.
        int limit = source.MaxBodyBytes;
        var buffer = new byte[request.ContentLength is { } declared && declared <= limit ? (int)declared + 1 : limit + 1];
        int read = 0, n;
        while (read < buffer.Length && (n = await request.Body.ReadAsync(buffer.AsMemory(read), context.RequestAborted)) > 0) read += n;
        long length = read;
        bool over = read > limit || request.ContentLength > limit;
        if (over) length = Math.Max(request.ContentLength ?? 0, read);

        IReadOnlyList<(ReadOnlyMemory<byte>, long)> payloads = over
            ? [(buffer.AsMemory(0, Math.Min(read, ExcerptBytes)), length)]
            : HttpIngestSource.Split(buffer.AsMemory(0, read)).Select(p => (p, (long)p.Length)).ToList();
        if (payloads.Count == 0) return Json("{\"error\":\"the body is empty; post a JSON object, a JSON array or JSON lines\"}", 400);
        try
        {
            var result = await source.SubmitAsync(payloads, context.RequestAborted);
            return Json(MonitorFormat.ToJson(result), over ? 413 : result.NotStored > 0 ? 503 : 200);
        }
        catch (MonitorUnavailableException e)
        {
            return Json(new System.Text.Json.Nodes.JsonObject { ["error"] = e.Message }.ToJsonString(), 503);
        }
    }

    private static bool KeyMatches(HttpRequest request, string key)
    {
        string? given = request.Headers["x-api-key"].FirstOrDefault();
        if (given == null && request.Headers.Authorization.FirstOrDefault() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            given = auth["Bearer ".Length..].Trim();
        return given != null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(key));
    }
}

/// <summary>The monitor cannot be set up as asked (a missing environment variable, an unusable address, a source the
/// options cannot serve). The message says what to change.</summary>
public sealed class MonitorConfigurationException(string message) : HearthException(message);
