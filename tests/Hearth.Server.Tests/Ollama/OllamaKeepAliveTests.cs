using System.Net;
using System.Text.Json.Nodes;
using Hearth.Server.Ollama;

namespace Hearth.Server.Tests.Ollama;

/// <summary>Ollama's parameter-count formatting, without a server.</summary>
public sealed class OllamaKeepAliveTests
{
    [Theory]
    [InlineData(1_000L, "1K")]
    [InlineData(292_500L, "292.5K")]
    [InlineData(494_032_768L, "494.03M")]
    [InlineData(8_030_261_248L, "8.0B")]
    [InlineData(999L, "999")]
    public void ParameterCountsPrintAsOllamaPrintsThem(long count, string text) => Assert.Equal(text, OllamaModelFacts.HumanCount(count));
}

/// <summary>Sizes and values from the network that must be refused before they cost anything.</summary>
public sealed class OllamaLimitTests
{
    [Fact]
    public async Task ABodyOverTheLimitIs413AndOddKeepAlivesAreSettled()
    {
        await using var server = await OllamaTestServer.StartAsync(options: new HearthServerOptions { Port = 0, MaxRequestBodyBytes = 1024 });
        using var big = await server.PostAsync("/api/generate", new JsonObject { ["model"] = "stories", ["prompt"] = new string('a', 2000) });
        Assert.Contains("1024", await server.ErrorAsync(big, HttpStatusCode.RequestEntityTooLarge));

        // A keep-alive too long for a TimeSpan keeps the model for ever instead of overflowing.
        var load = await server.PostObjectAsync("/api/generate", new JsonObject { ["model"] = "stories", ["keep_alive"] = 1e300 });
        Assert.Equal("load", load["done_reason"]!.GetValue<string>());
        Assert.Equal(DateTimeOffset.MaxValue, server.Host.Loaded[0].ExpiresAt);

        using var missing = await server.PostAsync("/api/generate", "");
        Assert.Contains("missing request body", await server.ErrorAsync(missing, HttpStatusCode.BadRequest));
        using var deep = await server.PostAsync("/api/generate", string.Concat(Enumerable.Repeat("[", 100)) + string.Concat(Enumerable.Repeat("]", 100)));
        Assert.Contains("invalid JSON", await server.ErrorAsync(deep, HttpStatusCode.BadRequest));
    }
}
