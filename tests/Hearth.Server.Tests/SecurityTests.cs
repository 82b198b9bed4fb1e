using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Hearth.Server.Tests;

/// <summary>Safe defaults: loopback, keys for anything else, constant-time key checks, no CORS unless asked.</summary>
public sealed class SecurityTests
{
    private const string Key = "test-key-0123456789";

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.168.1.10")]
    public void ANonLoopbackBindWithoutAKeyIsRefused(string host)
    {
        var e = Assert.Throws<ServerConfigurationException>(() => HearthServer.Build(new HearthServerOptions { Host = host, Port = 0 }));
        Assert.Contains("--api-key", e.Message);
        Assert.Contains("--insecure-no-auth", e.Message);
    }

    [Fact]
    public async Task ANonLoopbackBindIsAllowedWithAKeyOrAnExplicitOptOut()
    {
        await using (HearthServer.Build(new HearthServerOptions { Host = "0.0.0.0", Port = 0, ApiKey = Key }))
        {
        }

        await using (HearthServer.Build(new HearthServerOptions { Host = "0.0.0.0", Port = 0, InsecureNoAuth = true }))
        {
        }
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("127.0.0.1; rm -rf")]
    public void AHostThatIsNotAnAddressIsRefused(string host) =>
        Assert.Throws<ServerConfigurationException>(() => HearthServer.Build(new HearthServerOptions { Host = host, Port = 0 }));

    [Fact]
    public void AWildcardCorsOriginIsRefused() =>
        Assert.Throws<ServerConfigurationException>(() => HearthServer.Build(new HearthServerOptions { Port = 0, CorsOrigins = ["*"] }));

    [Fact]
    public async Task WithAKeyEveryRouteButHealthNeedsIt()
    {
        await using var server = await RunningServer.StartAsync(o => o with { ApiKey = Key });
        var http = server.Http;

        var missing = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("invalid_api_key", await missing.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/v1/chat/completions", Body("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/no/such/route")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/tags")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/api/generate", Body("""{"model":"stories","prompt":"hi"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        foreach (var wrong in new[] { "wrong", Key + "x", Key[..^1], "" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(request)).StatusCode);
        }

        using (var bearer = new HttpRequestMessage(HttpMethod.Get, "/v1/models"))
        {
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(bearer)).StatusCode);
        }

        using (var apiKey = new HttpRequestMessage(HttpMethod.Get, "/v1/models"))
        {
            apiKey.Headers.Add("x-api-key", Key);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(apiKey)).StatusCode);
        }

        using (var ollama = new HttpRequestMessage(HttpMethod.Get, "/api/tags"))
        {
            ollama.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(ollama)).StatusCode);
        }
    }

    [Fact]
    public async Task TheSdkWorksWithTheRightKeyAndFailsWithAWrongOne()
    {
        await using var server = await RunningServer.StartAsync(o => o with { ApiKey = Key });
        var options = new global::OpenAI.OpenAIClientOptions { Endpoint = new Uri(server.Url + "/v1") };
        var good = new global::OpenAI.Models.OpenAIModelClient(new System.ClientModel.ApiKeyCredential(Key), options);
        Assert.NotEmpty((await good.GetModelsAsync()).Value);
        var bad = new global::OpenAI.Models.OpenAIModelClient(new System.ClientModel.ApiKeyCredential("not-the-key"), options);
        var e = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => bad.GetModelsAsync());
        Assert.Equal(401, e.Status);
    }

    [Fact]
    public async Task CorsIsOffByDefault()
    {
        await using var server = await RunningServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Add("Origin", "http://evil.example");
        var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        preflight.Headers.Add("Origin", "http://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        var answer = await server.Http.SendAsync(preflight);
        Assert.DoesNotContain(answer.Headers, h => h.Key.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task CorsAllowsOnlyTheNamedOrigins()
    {
        const string allowed = "http://localhost:3000";
        await using var server = await RunningServer.StartAsync(o => o with { CorsOrigins = [allowed] });
        async Task<HttpResponseMessage> From(string origin, HttpMethod method)
        {
            using var request = new HttpRequestMessage(method, "/v1/models");
            request.Headers.Add("Origin", origin);
            if (method == HttpMethod.Options) request.Headers.Add("Access-Control-Request-Method", "GET");
            return await server.Http.SendAsync(request);
        }

        var ok = await From(allowed, HttpMethod.Get);
        Assert.Equal(allowed, ok.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var preflight = await From(allowed, HttpMethod.Options);
        Assert.Equal(allowed, preflight.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var other = await From("http://evil.example", HttpMethod.Get);
        Assert.False(other.Headers.Contains("Access-Control-Allow-Origin"));
        var otherPreflight = await From("http://evil.example", HttpMethod.Options);
        Assert.False(otherPreflight.Headers.Contains("Access-Control-Allow-Origin"));
    }
}
