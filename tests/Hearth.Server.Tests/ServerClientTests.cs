using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Server.Tests;

/// <summary>The client side of <c>hearth ps</c>: reading <c>/api/ps</c> and printing it.</summary>
public sealed class ServerClientTests
{
    private const string Answer = """
        {"models":[{"name":"stories","model":"stories","size":1258291,"size_vram":0,"expires_at":"2030-01-01T00:05:00Z","digest":"x"},
                   {"name":"big\u001b[31m","size":4294967296,"size_vram":0,"expires_at":"2318-01-01T00:00:00Z"}]}
        """;

    [Fact]
    public void ReadsTheOllamaShapeAndPrintsATable()
    {
        var models = ServerClient.ParseRunningModels(Encoding.UTF8.GetBytes(Answer));
        Assert.Equal(2, models.Count);
        Assert.Equal(new RunningModel("stories", 1258291, 0, new DateTimeOffset(2030, 1, 1, 0, 5, 0, TimeSpan.Zero)), models[0]);
        var table = ServerClient.FormatTable(models, new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero)).Split(Environment.NewLine);
        Assert.Matches(@"^NAME\s+SIZE\s+PROCESSOR\s+UNTIL$", table[0]);
        Assert.Matches(@"^stories\s+1\.2 MB\s+100% CPU\s+5 minutes from now$", table[1]);
        Assert.Matches(@"^big\?\[31m\s+4\.0 GB\s+100% CPU\s+Forever$", table[2]);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"models\":{}}")]
    [InlineData("{\"models\":[{\"size\":1}]}")]
    [InlineData("{\"models\":[{\"name\":\"a\",\"size\":-5}]}")]
    [InlineData("{\"models\":[{\"name\":\"a\",\"size\":1e30}]}")]
    [InlineData("{\"models\":[")]
    public void RefusesAnswersOfAnotherShape(string json) =>
        Assert.Throws<InvalidDataException>(() => ServerClient.ParseRunningModels(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("127.0.0.1", 11435, "http://127.0.0.1:11435/")]
    [InlineData("0.0.0.0", 8080, "http://127.0.0.1:8080/")]
    [InlineData("::1", 8080, "http://[::1]:8080/")]
    [InlineData("localhost", 1, "http://localhost:1/")]
    public void BaseAddresses(string host, int port, string expected) => Assert.Equal(expected, ServerClient.BaseAddress(host, port).ToString());

    [Fact]
    public async Task GetsApiPsWithTheKey()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Services.AddRoutingCore();
        await using var app = builder.Build();
        string? seenAuth = null;
        app.MapGet("/api/ps", (HttpContext c) =>
        {
            seenAuth = c.Request.Headers.Authorization;
            return c.Response.WriteAsync(Answer);
        });
        await app.StartAsync();
        var uri = new Uri(app.Urls.Single() + "/");
        var models = await ServerClient.RunningModelsAsync(uri, "the-key-123");
        Assert.Equal(2, models.Count);
        Assert.Equal("Bearer the-key-123", seenAuth);
        await Assert.ThrowsAsync<HttpRequestException>(() => ServerClient.RunningModelsAsync(new Uri(uri, "nothing/"), null));
    }

    [Fact]
    public async Task ReadsTheModelsARealServerHasLoaded()
    {
        await using var server = await RunningServer.StartAsync(o => o with { ApiKey = "the-key-123" });
        var uri = new Uri(server.Url + "/");
        Assert.Empty(await ServerClient.RunningModelsAsync(uri, "the-key-123"));
        using (await server.Host.AcquireAsync(RunningServer.Model)) { }
        var loaded = Assert.Single(await ServerClient.RunningModelsAsync(uri, "the-key-123"));
        Assert.Equal(RunningServer.Model, loaded.Name);
        Assert.Equal(Assert.Single(server.Host.Loaded).Bytes, loaded.Size);
        await Assert.ThrowsAsync<HttpRequestException>(() => ServerClient.RunningModelsAsync(uri, "wrong-key-123"));
    }
}
