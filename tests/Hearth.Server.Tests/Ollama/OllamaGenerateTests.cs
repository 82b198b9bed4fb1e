using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Grammar;

namespace Hearth.Server.Tests.Ollama;

/// <summary><c>/api/generate</c> and <c>/api/chat</c> over HTTP: the wire format of streams, final objects and options.</summary>
public sealed class OllamaGenerateTests(OllamaServerFixture fixture) : IClassFixture<OllamaServerFixture>
{
    private OllamaTestServer Server => fixture.Server;

    private static JsonObject Generate(string prompt, JsonObject? options = null, bool? stream = null, bool raw = true)
    {
        var body = new JsonObject { ["model"] = OllamaTestServer.Model, ["prompt"] = prompt, ["raw"] = raw };
        if (options != null) body["options"] = options;
        if (stream != null) body["stream"] = stream;
        return body;
    }

    private const string HermesModel = "stories-hermes";

    private const string HermesTemplate = "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja";

    private static readonly string[] FinalFields =
        ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"];

    /// <summary>The statistics of a final object: integers (nanoseconds for durations) that agree with each other.</summary>
    private static void AssertFinal(JsonObject final, int? maxEval = null)
    {
        Assert.True(final["done"]!.GetValue<bool>());
        Assert.Contains(final["done_reason"]!.GetValue<string>(), (string[])["stop", "length"]);
        var values = new Dictionary<string, long>();
        foreach (var field in FinalFields)
        {
            var node = final[field];
            Assert.True(node != null, $"the final object has {field}");
            Assert.Equal(JsonValueKind.Number, node!.GetValueKind());
            Assert.True(node.AsValue().TryGetValue(out long value), $"{field} is an integer: {node.ToJsonString()}");
            Assert.True(value >= 0, $"{field} ≥ 0");
            values[field] = value;
        }

        Assert.True(values["prompt_eval_count"] > 0);
        Assert.True(values["eval_count"] > 0);
        if (maxEval is int max) Assert.True(values["eval_count"] <= max, $"eval_count {values["eval_count"]} ≤ num_predict {max}");
        Assert.True(values["eval_duration"] <= values["total_duration"]);
        Assert.True(values["prompt_eval_duration"] <= values["total_duration"]);
        Assert.True(values["load_duration"] + values["prompt_eval_duration"] + values["eval_duration"] <= values["total_duration"],
            "load, prompt evaluation and generation happen one after another within the request");
        Assert.True(values["total_duration"] > 0);
        Assert.True(DateTimeOffset.TryParse(final["created_at"]!.GetValue<string>(), out _));
    }

    [Fact]
    public async Task GenerateStreamsNdjsonPiecesThenAFinalObjectWithNanosecondStatistics()
    {
        var lines = await Server.PostStreamAsync("/api/generate", Generate("Once upon a time", new JsonObject { ["num_predict"] = 20, ["seed"] = 7 }));
        Assert.True(lines.Count >= 2);
        foreach (var piece in lines[..^1])
        {
            Assert.Equal(OllamaTestServer.Model, piece["model"]!.GetValue<string>());
            Assert.False(piece["done"]!.GetValue<bool>());
            Assert.Equal(JsonValueKind.String, piece["response"]!.GetValueKind());
            Assert.Null(piece["total_duration"]);
        }

        var final = lines[^1];
        Assert.Equal("", final["response"]!.GetValue<string>());
        AssertFinal(final, maxEval: 20);
        Assert.Equal("length", final["done_reason"]!.GetValue<string>());
        Assert.Equal(20, final["eval_count"]!.GetValue<int>());
        Assert.NotEqual("", string.Concat(lines.Select(l => l["response"]!.GetValue<string>())));
    }

    [Fact]
    public async Task StreamFalseReturnsOneObjectWithTheSameTextAsTheStreamForTheSameSeed()
    {
        var options = new JsonObject { ["num_predict"] = 24, ["seed"] = 1234, ["temperature"] = 0.9 };
        var one = await Server.PostObjectAsync("/api/generate", Generate("Once upon a time", options.DeepClone().AsObject(), stream: false));
        AssertFinal(one, maxEval: 24);
        var text = one["response"]!.GetValue<string>();
        Assert.NotEqual("", text);

        var again = await Server.PostObjectAsync("/api/generate", Generate("Once upon a time", options.DeepClone().AsObject(), stream: false));
        Assert.Equal(text, again["response"]!.GetValue<string>());

        var lines = await Server.PostStreamAsync("/api/generate", Generate("Once upon a time", options.DeepClone().AsObject()));
        Assert.Equal(text, string.Concat(lines.Select(l => l["response"]!.GetValue<string>())));

        var other = await Server.PostObjectAsync("/api/generate", Generate("Once upon a time", new JsonObject { ["num_predict"] = 24, ["seed"] = 99, ["temperature"] = 0.9 }, stream: false));
        Assert.NotEqual(text, other["response"]!.GetValue<string>());
    }

    [Fact]
    public async Task NumPredictBoundsEvalCountAndTheServerCapsIt()
    {
        var small = await Server.PostObjectAsync("/api/generate", Generate("Once", new JsonObject { ["num_predict"] = 3 }, stream: false));
        Assert.Equal(3, small["eval_count"]!.GetValue<int>());
        Assert.Equal("length", small["done_reason"]!.GetValue<string>());

        // The fixture's server allows 128 tokens per request; asking for more (or for no limit) gets 128 at most.
        var capped = await Server.PostObjectAsync("/api/generate", Generate("Once", new JsonObject { ["num_predict"] = 100000, ["temperature"] = 0 }, stream: false));
        Assert.True(capped["eval_count"]!.GetValue<int>() <= 128);
        var unlimited = await Server.PostObjectAsync("/api/generate", Generate("Once", new JsonObject { ["num_predict"] = -1, ["temperature"] = 0 }, stream: false));
        Assert.True(unlimited["eval_count"]!.GetValue<int>() <= 128);
    }

    [Fact]
    public async Task AStopStringEndsTheTextBeforeIt()
    {
        var options = new JsonObject { ["num_predict"] = 64, ["temperature"] = 0 };
        var free = (await Server.PostObjectAsync("/api/generate", Generate("Once upon a time", options.DeepClone().AsObject(), stream: false)))["response"]!.GetValue<string>();
        int cut = free.IndexOf(' ', 4);
        Assert.True(cut > 0, $"the greedy text has a space to stop at: '{free}'");
        var stop = free.Substring(cut, 3);
        options["stop"] = new JsonArray(stop);
        var stopped = await Server.PostObjectAsync("/api/generate", Generate("Once upon a time", options, stream: false));
        Assert.Equal(free[..free.IndexOf(stop, StringComparison.Ordinal)], stopped["response"]!.GetValue<string>());
        Assert.Equal("stop", stopped["done_reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task FormatJsonYieldsAJsonObject()
    {
        var body = Generate("{", new JsonObject { ["num_predict"] = 128, ["temperature"] = 0 }, stream: false);
        body["format"] = "json";
        var answer = await Server.PostObjectAsync("/api/generate", body);
        var text = answer["response"]!.GetValue<string>();
        Assert.StartsWith("{", text.TrimStart());
        if (answer["done_reason"]!.GetValue<string>() == "stop") Assert.IsType<JsonObject>(JsonNode.Parse(text));
        else Assert.True(GrammarAcceptsPrefix(text), $"a truncated answer is still a prefix of a JSON object: {text}");
    }

    private static bool GrammarAcceptsPrefix(string text)
    {
        var matcher = new GrammarMatcher(JsonSchemaGrammar.AnyJsonObject, TokenVocabulary.FromTokens([new byte[] { (byte)'x' }], []));
        return matcher.TryAcceptText(text);
    }

    [Fact]
    public async Task ASchemaFormatYieldsJsonValidUnderTheSchema()
    {
        var schema = JsonNode.Parse("""
            {"type":"object","properties":{"name":{"type":"string","maxLength":6},"age":{"type":"integer","minimum":0,"maximum":120},
             "happy":{"type":"boolean"}},"required":["name","age","happy"],"additionalProperties":false}
            """)!;
        foreach (var endpoint in (string[])["/api/generate", "/api/chat"])
        {
            var body = endpoint == "/api/generate"
                ? Generate("Lily was", new JsonObject { ["num_predict"] = 100, ["seed"] = 3 }, stream: false)
                : new JsonObject
                {
                    ["model"] = OllamaTestServer.Model, ["stream"] = false, ["options"] = new JsonObject { ["num_predict"] = 100, ["seed"] = 3 },
                    ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Tell me about Lily." }),
                };
            body["format"] = schema.DeepClone();
            var answer = await Server.PostObjectAsync(endpoint, body);
            var text = endpoint == "/api/generate" ? answer["response"]!.GetValue<string>() : answer["message"]!["content"]!.GetValue<string>();
            Assert.Equal("stop", answer["done_reason"]!.GetValue<string>());
            var value = JsonNode.Parse(text);
            Assert.Empty(JsonSchemaValidator.Validate(value, schema));
        }
    }

    [Fact]
    public async Task ChatStreamsMessagePiecesAndAFinalObject()
    {
        var body = new JsonObject
        {
            ["model"] = OllamaTestServer.Model,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You tell stories." },
                new JsonObject { ["role"] = "user", ["content"] = "Once upon a time" }),
            ["options"] = new JsonObject { ["num_predict"] = 12, ["seed"] = 5 },
        };
        var lines = await Server.PostStreamAsync("/api/chat", body);
        foreach (var piece in lines[..^1])
        {
            Assert.False(piece["done"]!.GetValue<bool>());
            Assert.Equal("assistant", piece["message"]!["role"]!.GetValue<string>());
            Assert.Equal(JsonValueKind.String, piece["message"]!["content"]!.GetValueKind());
        }

        var final = lines[^1];
        AssertFinal(final, maxEval: 12);
        Assert.Equal("", final["message"]!["content"]!.GetValue<string>());

        body["stream"] = false;
        var one = await Server.PostObjectAsync("/api/chat", body);
        AssertFinal(one, maxEval: 12);
        Assert.Equal(string.Concat(lines.Select(l => l["message"]!["content"]!.GetValue<string>())), one["message"]!["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatAcceptsToolsAndToolMessagesAndAnswersInOllamasShape()
    {
        var tools = new JsonArray(new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = "get_weather",
                ["description"] = "Current weather in a city",
                ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""),
            },
        });
        Server.AddModelWithTemplate(HermesModel, HermesTemplate);
        JsonObject Body(bool withTools) => new()
        {
            ["model"] = HermesModel,
            ["stream"] = false,
            ["options"] = new JsonObject { ["num_predict"] = 16, ["seed"] = 11 },
            ["tools"] = withTools ? tools.DeepClone() : null,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "Weather in Oslo?" },
                new JsonObject
                {
                    ["role"] = "assistant", ["content"] = "",
                    ["tool_calls"] = new JsonArray(new JsonObject { ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = new JsonObject { ["city"] = "Oslo" } } }),
                },
                new JsonObject { ["role"] = "tool", ["tool_name"] = "get_weather", ["content"] = "sunny" }),
        };

        var with = await Server.PostObjectAsync("/api/chat", Body(withTools: true));
        var without = await Server.PostObjectAsync("/api/chat", Body(withTools: false));
        AssertFinal(with);
        Assert.True(with["prompt_eval_count"]!.GetValue<int>() > without["prompt_eval_count"]!.GetValue<int>(), "the tools are rendered into the prompt");
        var message = with["message"]!.AsObject();
        Assert.Equal("assistant", message["role"]!.GetValue<string>());
        Assert.Equal(JsonValueKind.String, message["content"]!.GetValueKind());
        if (message["tool_calls"] is JsonArray calls)
        {
            foreach (var call in calls)
            {
                Assert.Equal(JsonValueKind.String, call!["function"]!["name"]!.GetValueKind());
                Assert.Equal(JsonValueKind.Object, call["function"]!["arguments"]!.GetValueKind());
            }
        }

        // Streaming with tools: the text is held until it has been parsed, then comes as one piece before the final object.
        var streamed = Body(withTools: true);
        streamed["stream"] = true;
        var lines = await Server.PostStreamAsync("/api/chat", streamed);
        Assert.True(lines.Count <= 2);
        AssertFinal(lines[^1]);
    }

    [Fact]
    public async Task RequestsThatCannotBeServedGetOllamasErrorObject()
    {
        async Task<string> Refused(string path, string json, HttpStatusCode status)
        {
            using var response = await Server.PostAsync(path, json);
            return await Server.ErrorAsync(response, status);
        }

        Assert.Contains("invalid JSON", await Refused("/api/generate", "{\"model\": \"stories\", \"prompt\": ", HttpStatusCode.BadRequest));
        Assert.Contains("JSON object", await Refused("/api/generate", "[1, 2]", HttpStatusCode.BadRequest));
        Assert.Contains("model is required", await Refused("/api/generate", "{\"prompt\": \"hi\"}", HttpStatusCode.BadRequest));
        Assert.Contains("options.temperature", await Refused("/api/generate", """{"model":"stories","prompt":"hi","options":{"temperature":"hot"}}""", HttpStatusCode.BadRequest));
        Assert.Contains("options.top_p", await Refused("/api/generate", """{"model":"stories","prompt":"hi","options":{"top_p":2}}""", HttpStatusCode.BadRequest));
        Assert.Contains("options.num_predict", await Refused("/api/generate", """{"model":"stories","prompt":"hi","options":{"num_predict":0}}""", HttpStatusCode.BadRequest));
        Assert.Contains("options.stop[0]", await Refused("/api/generate", """{"model":"stories","prompt":"hi","options":{"stop":[""]}}""", HttpStatusCode.BadRequest));
        Assert.Contains("keep_alive", await Refused("/api/generate", """{"model":"stories","prompt":"hi","keep_alive":"for ever"}""", HttpStatusCode.BadRequest));
        Assert.Contains("format", await Refused("/api/generate", """{"model":"stories","prompt":"hi","format":"xml"}""", HttpStatusCode.BadRequest));
        Assert.Contains("format", await Refused("/api/generate", """{"model":"stories","prompt":"hi","raw":true,"format":{"type":"object","not":{}}}""", HttpStatusCode.BadRequest));
        Assert.Contains("stream", await Refused("/api/generate", """{"model":"stories","prompt":"hi","stream":"yes"}""", HttpStatusCode.BadRequest));
        Assert.Contains("images are not supported", await Refused("/api/generate", """{"model":"stories","prompt":"hi","images":["aGk="]}""", HttpStatusCode.BadRequest));
        Assert.Contains("template", await Refused("/api/generate", """{"model":"stories","prompt":"hi","template":"{{ .Prompt }}"}""", HttpStatusCode.BadRequest));
        Assert.Contains("messages[1].role", await Refused("/api/chat", """{"model":"stories","messages":[{"role":"user","content":"a"},{"role":"wizard","content":"b"}]}""", HttpStatusCode.BadRequest));
        Assert.Contains("images are not supported", await Refused("/api/chat", """{"model":"stories","messages":[{"role":"user","content":"a","images":["aGk="]}]}""", HttpStatusCode.BadRequest));
        Assert.Contains("tools[0].function.name", await Refused("/api/chat", """{"model":"stories","messages":[{"role":"user","content":"a"}],"tools":[{"type":"function","function":{}}]}""", HttpStatusCode.BadRequest));
        Assert.Contains("limit of 1536", await Refused("/api/generate", JsonSerializer.Serialize(new { model = "stories", prompt = string.Concat(Enumerable.Repeat("Once upon a time ", 600)), raw = true }), HttpStatusCode.BadRequest));
        Assert.Contains("num_ctx", await Refused("/api/generate", JsonSerializer.Serialize(new { model = "stories", prompt = string.Concat(Enumerable.Repeat("Once upon a time ", 20)), raw = true, options = new { num_ctx = 16 } }), HttpStatusCode.BadRequest));

        Assert.Contains("not found", await Refused("/api/generate", """{"model":"nope","prompt":"hi"}""", HttpStatusCode.NotFound));
        Assert.Contains("not found", await Refused("/api/chat", """{"model":"nope","messages":[]}""", HttpStatusCode.NotFound));
        Assert.Contains("not found", await Refused("/api/generate", """{"model":"../stories","prompt":"hi"}""", HttpStatusCode.NotFound));
        Assert.Contains("not found", await Refused("/api/embed", """{"model":"nope","input":"hi"}""", HttpStatusCode.NotFound));
    }

    [Fact]
    public async Task GenerateRendersThePromptThroughTheModelsTemplateUnlessRaw()
    {
        Server.AddModelWithTemplate(HermesModel, HermesTemplate);
        JsonObject Body(bool raw, string? system = null) => new()
        {
            ["model"] = HermesModel, ["prompt"] = "Once upon a time", ["raw"] = raw, ["system"] = system, ["stream"] = false,
            ["options"] = new JsonObject { ["num_predict"] = 4 },
        };
        int Prompt(JsonObject answer) => answer["prompt_eval_count"]!.GetValue<int>();
        var raw = await Server.PostObjectAsync("/api/generate", Body(raw: true));
        var templated = await Server.PostObjectAsync("/api/generate", Body(raw: false));
        var withSystem = await Server.PostObjectAsync("/api/generate", Body(raw: false, system: "You tell stories."));
        Assert.True(Prompt(templated) > Prompt(raw), "the template wraps the prompt in its turn markers");
        Assert.True(Prompt(withSystem) > Prompt(templated), "the system text is part of the prompt");

        // A model without a template of its own is continued as is (Ollama's default template is the bare prompt).
        var bare = Body(raw: false);
        bare["model"] = OllamaTestServer.Model;
        Assert.Equal(Prompt(raw), Prompt(await Server.PostObjectAsync("/api/generate", bare)));
    }

    [Fact]
    public async Task ModelNameWithTheLatestTagFindsTheModel()
    {
        var answer = await Server.PostObjectAsync("/api/generate", new JsonObject
        {
            ["model"] = OllamaTestServer.Model + ":latest", ["prompt"] = "Once", ["raw"] = true, ["stream"] = false,
            ["options"] = new JsonObject { ["num_predict"] = 2 },
        });
        Assert.Equal(OllamaTestServer.Model + ":latest", answer["model"]!.GetValue<string>());
        Assert.Equal(2, answer["eval_count"]!.GetValue<int>());
    }
}
