using System.Net;
using System.Text.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Hearth.Server.Tests;

/// <summary>The wire formats, checked byte by byte over raw HTTP: SSE framing, chunk shapes, logprobs, errors.</summary>
public sealed class WireFormatTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync(o => o with { MaxTokens = 300, MaxPromptTokens = 1000, MaxRequestBodyBytes = 16 * 1024 });

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<HttpResponseMessage> Post(string path, string json) =>
        _server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonObject> Json(HttpResponseMessage response) => JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>The payloads of an event stream, checking that every frame is exactly <c>data: ...\n\n</c>.</summary>
    private static async Task<List<string>> Events(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n\n", body);
        var frames = body[..^2].Split("\n\n");
        Assert.All(frames, f => Assert.StartsWith("data: ", f));
        Assert.All(frames, f => Assert.DoesNotContain('\n', f));
        return frames.Select(f => f["data: ".Length..]).ToList();
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string? param, string? code = null)
    {
        Assert.Equal(status, response.StatusCode);
        var error = (await Json(response))["error"]!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(error["message"]!.GetValue<string>()));
        Assert.False(string.IsNullOrWhiteSpace(error["type"]!.GetValue<string>()));
        Assert.True(error.ContainsKey("param") && error.ContainsKey("code"));
        Assert.Equal(param, error["param"]?.GetValue<string>());
        if (code != null) Assert.Equal(code, error["code"]?.GetValue<string>());
    }

    [Fact]
    public async Task StreamingChatIsFramedAsChunksThenUsageThenDone()
    {
        var response = await Post("/v1/chat/completions", """
            {"model":"stories","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":12,"seed":2,"stream":true,
             "stream_options":{"include_usage":true}}
            """);
        var events = await Events(response);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!.AsObject()).ToList();
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c["object"]!.GetValue<string>()));
        Assert.Single(chunks.Select(c => c["id"]!.GetValue<string>()).Distinct());
        Assert.Equal("assistant", chunks[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        var usage = chunks[^1];
        Assert.Empty(usage["choices"]!.AsArray());
        int completionTokens = usage["usage"]!["completion_tokens"]!.GetValue<int>();
        Assert.InRange(completionTokens, 1, 12);
        Assert.Equal(usage["usage"]!["prompt_tokens"]!.GetValue<int>() + completionTokens, usage["usage"]!["total_tokens"]!.GetValue<int>());
        var last = chunks[^2]["choices"]![0]!;
        Assert.Contains(last["finish_reason"]!.GetValue<string>(), new[] { "stop", "length" });
        Assert.All(chunks[..^2], c => Assert.Null(c["choices"]![0]!["finish_reason"]));
        Assert.Contains(chunks.Skip(1).Take(chunks.Count - 3), c => c["choices"]![0]!["delta"]!["content"]?.GetValue<string>() is { Length: > 0 });
    }

    [Fact]
    public async Task WithoutIncludeUsageThereIsNoUsageChunk()
    {
        var events = await Events(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"stream":true}"""));
        Assert.Equal("[DONE]", events[^1]);
        Assert.All(events[..^1], e => Assert.NotEmpty(JsonNode.Parse(e)!["choices"]!.AsArray()));
    }

    [Fact]
    public async Task ChatLogprobsHaveTokensBytesAndAlternatives()
    {
        var response = await Post("/v1/chat/completions", """
            {"model":"stories","messages":[{"role":"user","content":"Once upon a time"}],"max_tokens":8,"seed":4,"logprobs":true,"top_logprobs":3}
            """);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await Json(response);
        var choice = body["choices"]![0]!;
        var content = choice["logprobs"]!["content"]!.AsArray();
        Assert.Equal(body["usage"]!["completion_tokens"]!.GetValue<int>(), content.Count);
        var text = new List<byte>();
        foreach (var t in content)
        {
            Assert.True(t!["logprob"]!.GetValue<float>() <= 0);
            var bytes = t["bytes"]!.AsArray().Select(b => (byte)b!.GetValue<int>()).ToArray();
            text.AddRange(bytes);
            var top = t["top_logprobs"]!.AsArray();
            Assert.Equal(3, top.Count);
            Assert.True(top[0]!["logprob"]!.GetValue<float>() >= top[1]!["logprob"]!.GetValue<float>());
            Assert.NotNull(top[0]!["bytes"]);
            Assert.NotNull(top[0]!["token"]);
        }

        // The tokens' bytes spell the answer (up to an end token, which prints nothing).
        Assert.StartsWith(choice["message"]!["content"]!.GetValue<string>(), Encoding.UTF8.GetString([.. text]));
    }

    [Fact]
    public async Task ToolCallsStreamAsToolCallDeltas()
    {
        var response = await Post("/v1/chat/completions", """
            {"model":"stories-tools","messages":[{"role":"user","content":"Weather?"}],"max_tokens":200,"seed":5,"stream":true,
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string","maxLength":12}},"required":["city"]}}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}}}
            """);
        var chunks = (await Events(response))[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        var deltas = chunks.Select(c => c["choices"]![0]!["delta"]!["tool_calls"]).OfType<JsonArray>().SelectMany(a => a).ToList();
        var call = Assert.Single(deltas)!;
        Assert.Equal(0, call["index"]!.GetValue<int>());
        Assert.Equal("function", call["type"]!.GetValue<string>());
        Assert.Equal("get_weather", call["function"]!["name"]!.GetValue<string>());
        Assert.IsType<JsonObject>(JsonNode.Parse(call["function"]!["arguments"]!.GetValue<string>()));
        Assert.Equal("tool_calls", chunks[^1]["choices"]![0]!["finish_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task CompletionsRunTheRawPromptStreamingAndNot()
    {
        const string request = """{"model":"stories","prompt":"Once upon a time","max_tokens":16,"seed":9,"temperature":0.9}""";
        var whole = await Json(await Post("/v1/completions", request));
        Assert.Equal("text_completion", whole["object"]!.GetValue<string>());
        var text = whole["choices"]![0]!["text"]!.GetValue<string>();
        Assert.NotEmpty(text);
        Assert.InRange(whole["usage"]!["completion_tokens"]!.GetValue<int>(), 1, 16);

        var events = await Events(await Post("/v1/completions", request[..^1] + ""","stream":true,"stream_options":{"include_usage":true}}"""));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonNode.Parse(e)!).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c["object"]!.GetValue<string>()));
        var streamed = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => c["choices"]![0]!["text"]!.GetValue<string>()));
        Assert.Equal(text, streamed);
        Assert.Equal(whole["usage"]!.ToJsonString(), chunks[^1]["usage"]!.ToJsonString());
    }

    [Fact]
    public async Task CompletionsAcceptTokenIdsAndGiveLegacyLogprobs()
    {
        var response = await Post("/v1/completions", """{"model":"stories","prompt":[1,403,407],"max_tokens":6,"seed":1,"logprobs":2}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var choice = (await Json(response))["choices"]![0]!;
        var lp = choice["logprobs"]!;
        int count = lp["tokens"]!.AsArray().Count;
        Assert.InRange(count, 1, 6);
        Assert.Equal(count, lp["token_logprobs"]!.AsArray().Count);
        Assert.Equal(count, lp["text_offset"]!.AsArray().Count);
        var top = lp["top_logprobs"]!.AsArray();
        Assert.Equal(count, top.Count);
        Assert.All(top, t => Assert.InRange(t!.AsObject().Count, 1, 2));
        Assert.Equal(0, lp["text_offset"]![0]!.GetValue<int>());
    }

    [Fact]
    public async Task EmbeddingsAsBase64AreTheFloatsLittleEndian()
    {
        var floats = await Json(await Post("/v1/embeddings", """{"model":"stories","input":"a cat"}"""));
        var b64 = await Json(await Post("/v1/embeddings", """{"model":"stories","input":["a cat"],"encoding_format":"base64"}"""));
        var expected = floats["data"]![0]!["embedding"]!.AsArray().Select(x => x!.GetValue<float>()).ToArray();
        var bytes = Convert.FromBase64String(b64["data"]![0]!["embedding"]!.GetValue<string>());
        var decoded = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, decoded, 0, bytes.Length);
        Assert.Equal(expected, decoded);
        Assert.Equal("list", floats["object"]!.GetValue<string>());
        Assert.True(floats["usage"]!["prompt_tokens"]!.GetValue<int>() > 0);
    }

    [Fact]
    public async Task MoreThanOneChoiceIsRefused() =>
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"n":2}"""), HttpStatusCode.BadRequest, "n");

    [Theory]
    [InlineData("{\"model\":\"stories\",", null)]
    [InlineData("not json", null)]
    [InlineData("{\"model\":\"stories\",\"messages\":[],\"temperature\":\"hot\"}", "temperature")]
    [InlineData("{\"model\":\"stories\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":99999999999999999999}", "max_tokens")]
    public async Task MalformedJsonIsA400NamingTheProblem(string body, string? param)
    {
        var response = await Post("/v1/chat/completions", body);
        await AssertError(response, HttpStatusCode.BadRequest, param, "invalid_json");
    }

    [Fact]
    public async Task MalformedJsonMessageSaysWhere()
    {
        var error = (await Json(await Post("/v1/chat/completions", "{\"model\": }")))["error"]!;
        Assert.Contains("line 1", error["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task UnknownModelIs404ModelNotFound()
    {
        await AssertError(await Post("/v1/chat/completions", """{"model":"nope","messages":[{"role":"user","content":"hi"}]}"""), HttpStatusCode.NotFound, "model", "model_not_found");
        await AssertError(await Post("/v1/completions", """{"model":"../stories","prompt":"hi"}"""), HttpStatusCode.NotFound, "model", "model_not_found");
        await AssertError(await _server.Http.GetAsync("/v1/models/nope"), HttpStatusCode.NotFound, "model", "model_not_found");
    }

    [Fact]
    public async Task LimitsAre400sNamingTheField()
    {
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_tokens":301}"""), HttpStatusCode.BadRequest, "max_tokens");
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":0}"""), HttpStatusCode.BadRequest, "max_completion_tokens");
        await AssertError(await Post("/v1/completions", """{"model":"stories","prompt":"hi","max_tokens":1000}"""), HttpStatusCode.BadRequest, "max_tokens");
        var longPrompt = string.Join(' ', Enumerable.Repeat("cat", 1200));
        await AssertError(await Post("/v1/completions", $$"""{"model":"stories","prompt":"{{longPrompt}}"}"""), HttpStatusCode.BadRequest, "prompt");
        await AssertError(await Post("/v1/chat/completions", $$"""{"model":"stories","messages":[{"role":"user","content":"{{longPrompt}}"}]}"""), HttpStatusCode.BadRequest, "messages");
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"temperature":3}"""), HttpStatusCode.BadRequest, "temperature");
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"stop":["a",""]}"""), HttpStatusCode.BadRequest, "stop");
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"wizard","content":"hi"}]}"""), HttpStatusCode.BadRequest, "messages[0].role");
        await AssertError(await Post("/v1/chat/completions", """{"model":"stories","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}"""), HttpStatusCode.BadRequest, "tool_choice");
        await AssertError(await Post("/v1/completions", """{"model":"stories","prompt":[1,99999999]}"""), HttpStatusCode.BadRequest, "prompt");
        await AssertError(await Post("/v1/embeddings", """{"model":"stories","input":[1,2]}"""), HttpStatusCode.BadRequest, "input");
    }

    [Fact]
    public async Task AnInvalidJsonSchemaIsA400ForResponseFormat()
    {
        var response = await Post("/v1/chat/completions", """
            {"model":"stories","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","properties":{"a":{"$ref":"#/nowhere"}}}}}}
            """);
        await AssertError(response, HttpStatusCode.BadRequest, "response_format");
    }

    [Fact]
    public async Task ABodyOverTheLimitIs413()
    {
        var huge = new string('a', 20 * 1024);
        var response = await Post("/v1/chat/completions", $$"""{"model":"stories","messages":[{"role":"user","content":"{{huge}}"}]}""");
        await AssertError(response, HttpStatusCode.RequestEntityTooLarge, null, "request_too_large");
    }

    [Fact]
    public async Task UnknownRoutesAre404AndTheServerNamesNoSoftware()
    {
        var response = await _server.Http.GetAsync("/etc/passwd");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("Server"));
    }

    [Fact]
    public async Task APromptLongerThanTheContextIsA400ForThePrompt()
    {
        await using var small = await RunningServer.StartAsync(o => o with { Context = 64 });
        var prompt = string.Join(' ', Enumerable.Repeat("cat", 100));
        var response = await small.Http.PostAsync("/v1/completions", new StringContent($$"""{"model":"stories","prompt":"{{prompt}}"}""", Encoding.UTF8, "application/json"));
        await AssertError(response, HttpStatusCode.BadRequest, "prompt", "context_length_exceeded");
        response = await small.Http.PostAsync("/v1/chat/completions", new StringContent($$"""{"model":"stories","messages":[{"role":"user","content":"{{prompt}}"}]}""", Encoding.UTF8, "application/json"));
        await AssertError(response, HttpStatusCode.BadRequest, "messages", "context_length_exceeded");
    }

    [Fact]
    public async Task ErrorsOnOllamaRoutesHaveOllamasShape()
    {
        var response = await Post("/api/generate", "{");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using (var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()))
        {
            Assert.Equal(JsonValueKind.String, body.RootElement.GetProperty("error").ValueKind);
        }

        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Request.Path = "/api/chat";
        context.Response.Body = new MemoryStream();
        await ApiErrors.WriteAsync(context, ApiException.BadRequest("model is required", "model"));
        context.Response.Body.Position = 0;
        Assert.Equal("""{"error":"model is required"}""", await new StreamReader(context.Response.Body).ReadToEndAsync());
        Assert.Equal(400, context.Response.StatusCode);
    }
}
