using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Tests;

namespace Hearth.Server.Tests;

/// <summary>The <c>lora</c> field of the four generation routes: names from <c>--lora-dir</c> only, applied per request.</summary>
public sealed class LoraTests : IAsyncLifetime
{
    private static readonly string s_base = TestData.Path("golden", "models", "parity-llama-untied.F32.gguf");
    private static readonly string s_adapter = TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf");
    private readonly DirectoryInfo _loraDir = Directory.CreateTempSubdirectory("hearth-lora-dir-");
    private RunningServer _server = null!;
    private RunningServer _bare = null!;

    public async Task InitializeAsync()
    {
        File.Copy(s_adapter, Path.Combine(_loraDir.FullName, "tone.gguf"));
        _server = await RunningServer.StartAsync(o =>
        {
            File.Copy(s_base, Path.Combine(o.ModelsDirectory!, "parity.gguf"));
            return o with { LoraDirectory = _loraDir.FullName };
        });
        _bare = await RunningServer.StartAsync(o =>
        {
            File.Copy(s_base, Path.Combine(o.ModelsDirectory!, "parity.gguf"));
            return o;
        });
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _bare.DisposeAsync();
        _loraDir.Delete(recursive: true);
    }

    private static Task<HttpResponseMessage> Post(RunningServer server, string path, JsonObject body) =>
        server.Http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));

    private static async Task<JsonObject> Ok(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static string Expected(float? scale)
    {
        using var model = LanguageModel.Load(s_base, new ModelLoadOptions { Threads = 1 });
        var gen = new TextGenerator(model);
        if (scale is float s) gen.SetAdapters([new ActiveAdapter(model.Adapters.Load(s_adapter), s)]);
        return string.Concat(gen.Generate("abc", new GenerationOptions { MaxTokens = 8, Sampling = SamplerOptions.Greedy }));
    }

    private static JsonArray Lora(string name, double scale) => [new JsonObject { ["name"] = name, ["scale"] = scale }];

    [Fact]
    public async Task CompletionsApplyTheNamedAdapterAtItsScale()
    {
        var expected = Expected(3f);
        Assert.NotEqual(Expected(null), expected);
        var openai = await Ok(await Post(_server, "/v1/completions", new JsonObject
        {
            ["model"] = "parity", ["prompt"] = "abc", ["temperature"] = 0, ["max_tokens"] = 8, ["lora"] = Lora("tone", 3),
        }));
        Assert.Equal(expected, openai["choices"]![0]!["text"]!.GetValue<string>());

        var ollama = await Ok(await Post(_server, "/api/generate", new JsonObject
        {
            ["model"] = "parity", ["prompt"] = "abc", ["raw"] = true, ["stream"] = false,
            ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 8 }, ["lora"] = Lora("tone.gguf", 3),
        }));
        Assert.Equal(expected, ollama["response"]!.GetValue<string>());

        var plain = await Ok(await Post(_server, "/v1/completions", new JsonObject { ["model"] = "parity", ["prompt"] = "abc", ["temperature"] = 0, ["max_tokens"] = 8 }));
        Assert.Equal(Expected(null), plain["choices"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatRoutesApplyTheNamedAdapter()
    {
        var messages = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "hi" } };
        async Task<string> OpenAI(JsonArray? lora) =>
            (await Ok(await Post(_server, "/v1/chat/completions", new JsonObject { ["model"] = "parity", ["messages"] = messages.DeepClone(), ["temperature"] = 0, ["max_tokens"] = 8, ["lora"] = lora })))
            ["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        async Task<string> Ollama(JsonArray? lora) =>
            (await Ok(await Post(_server, "/api/chat", new JsonObject
            {
                ["model"] = "parity", ["messages"] = messages.DeepClone(), ["stream"] = false,
                ["options"] = new JsonObject { ["temperature"] = 0, ["num_predict"] = 8 }, ["lora"] = lora,
            })))["message"]!["content"]!.GetValue<string>();

        var plain = await OpenAI(null);
        var adapted = await OpenAI(Lora("tone", 3));
        Assert.NotEqual(plain, adapted);
        Assert.Equal(adapted, await OpenAI(Lora("tone", 3)));
        Assert.Equal(plain, await Ollama(null));
        Assert.Equal(adapted, await Ollama(Lora("tone", 3)));
    }

    [Theory]
    [InlineData("/v1/completions")]
    [InlineData("/v1/chat/completions")]
    [InlineData("/api/generate")]
    [InlineData("/api/chat")]
    public async Task UnknownNamesAndPathsAreRefused(string route)
    {
        var body = new JsonObject { ["model"] = "parity", ["prompt"] = "abc", ["max_tokens"] = 4, ["stream"] = false, ["messages"] = new JsonArray { new JsonObject { ["role"] = "user", ["content"] = "hi" } } };
        foreach (var name in new[] { "nope", "../tone", s_adapter, "" })
        {
            body["lora"] = Lora(name, 1);
            var response = await Post(_server, route, body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("lora", await response.Content.ReadAsStringAsync());
        }

        body["lora"] = Lora("tone", 1);
        Assert.Equal(HttpStatusCode.BadRequest, (await Post(_bare, route, body)).StatusCode);
    }
}
