using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>
/// The registry and the call syntax a constrained grammar is built from: every format's rendered calls parse back to the
/// same calls, the literal parts are where the syntax says, and names look up both ways.
/// </summary>
public sealed class SyntaxTests
{
    private static readonly (string Name, JsonObject Arguments, string? Id)[] s_calls =
    [
        ("get_weather", ToolCallAssert.Obj("""{"city": "Zürich", "days": 3}"""), "abc123xyz"),
        ("search", ToolCallAssert.Obj("""{"q": "日本 \"x\"\n", "filter": {"range": [1, 2.5, null], "on": true}}"""), null),
        ("now", [], null),
    ];

    public static TheoryData<ToolCallFormat> FormatsWithSyntax()
    {
        var data = new TheoryData<ToolCallFormat>();
        foreach (var info in ToolCallFormats.All.Where(i => i.Syntax != null)) data.Add(info.Format);
        return data;
    }

    [Theory]
    [MemberData(nameof(FormatsWithSyntax))]
    public void RenderedCallsParseBack(ToolCallFormat format)
    {
        var syntax = ToolCallFormats.Get(format).Syntax!;
        var calls = syntax.SupportsParallelCalls ? s_calls : s_calls[..1];
        var text = syntax.Render(calls);
        Assert.StartsWith(syntax.Prefix + syntax.CallPrefix, text);
        Assert.EndsWith(syntax.CallSuffix + syntax.Suffix, text);
        var message = ToolCallParser.Parse(text, format);
        ToolCallAssert.Clean(message);
        Assert.Equal("", message.Content);
        ToolCallAssert.Calls(message, calls.Select(c => (c.Name, c.Arguments.ToJsonString())).ToArray());
        if (syntax.IdKey != null)
        {
            Assert.Matches(syntax.IdPattern!, message.ToolCalls[0].Id);
            foreach (var call in message.ToolCalls) Assert.Matches(syntax.IdPattern!, call.Id);
        }

        // A call starts where the syntax says a lazy grammar would trigger.
        if (!syntax.Triggers.Any(t => text.StartsWith(t, StringComparison.Ordinal))) Assert.True(syntax.CallMayOpenOutput);
        if (syntax.Triggers.Count == 0) Assert.True(syntax.CallMayOpenOutput);
        ToolCallAssert.Streams(text, format, ToolCallAssert.Chunks(text, 2));
    }

    [Theory]
    [MemberData(nameof(FormatsWithSyntax))]
    public void ModelIdsAreKeptWhereTheFormatCarriesThem(ToolCallFormat format)
    {
        var syntax = ToolCallFormats.Get(format).Syntax!;
        var message = ToolCallParser.Parse(syntax.Render(s_calls[..1]), format);
        var expected = format switch
        {
            ToolCallFormat.Mistral => "abc123xyz",
            ToolCallFormat.CommandR7B => "0", // "abc123xyz" does not match ^[0-9]{1,10}$, so the index is written
            ToolCallFormat.MistralV11 => "call00000",
            _ => "call_0",
        };
        Assert.Equal(expected, Assert.Single(message.ToolCalls).Id);
    }

    [Fact]
    public void JsonObjectSyntaxShapes()
    {
        var hermes = ToolCallFormats.Get(ToolCallFormat.Hermes).Syntax!;
        Assert.Equal("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>", hermes.Render([("f", ToolCallAssert.Obj("{\"a\":1}"), null)]));

        var llama = ToolCallFormats.Get(ToolCallFormat.Llama3Json).Syntax!;
        Assert.Equal(("name", "parameters"), (llama.NameKey, llama.ArgumentsKey));
        Assert.False(llama.SupportsParallelCalls);
        Assert.Throws<ArgumentException>(() => llama.Render(s_calls));
        Assert.Throws<ArgumentException>(() => llama.Render(Array.Empty<(string, JsonObject, string?)>()));

        var phi = ToolCallFormats.Get(ToolCallFormat.Phi4Mini).Syntax!;
        Assert.True(phi.ArrayWrapped);
        Assert.Equal("<|tool_call|>[{\"name\": \"f\", \"arguments\": {}}, {\"name\": \"g\", \"arguments\": {}}]<|/tool_call|>",
            phi.Render([("f", [], null), ("g", [], null)]));

        var mistral = ToolCallFormats.Get(ToolCallFormat.Mistral).Syntax!;
        Assert.Equal(["name", "arguments", "id"], mistral.KeyOrder);
        Assert.Equal("[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {}, \"id\": \"call00000\"}]", mistral.Render([("f", [], "not-valid")]));

        var commandR = ToolCallFormats.Get(ToolCallFormat.CommandR7B).Syntax!;
        Assert.Equal(("tool_name", "parameters", "tool_call_id"), (commandR.NameKey, commandR.ArgumentsKey, commandR.IdKey));
        Assert.Equal("tool_call_id", commandR.KeyOrder[0]);
    }

    [Fact]
    public void NameThenArgumentsShapes()
    {
        var v11 = ToolCallFormats.Get(ToolCallFormat.MistralV11).Syntax!;
        Assert.Equal(ToolCallBodyShape.NameThenArguments, v11.Shape);
        Assert.Equal("[TOOL_CALLS]f[ARGS]{\"a\": \"ü\"}[TOOL_CALLS]g[ARGS]{}", v11.Render([("f", ToolCallAssert.Obj("{\"a\":\"ü\"}"), null), ("g", [], null)]));

        var functionary = ToolCallFormats.Get(ToolCallFormat.FunctionaryV32).Syntax!;
        Assert.Equal("f\n{}>>>g\n{\"x\": [1, 2]}", functionary.Render([("f", [], null), ("g", ToolCallAssert.Obj("{\"x\":[1,2]}"), null)]));

        var deepseek = ToolCallFormats.Get(ToolCallFormat.DeepSeekR1).Syntax!;
        Assert.Equal("<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            deepseek.Render([("f", [], null)]));
    }

    [Fact]
    public void RegistryNamesRoundTrip()
    {
        Assert.Equal(Enum.GetValues<ToolCallFormat>().Length, ToolCallFormats.All.Count);
        foreach (var info in ToolCallFormats.All)
        {
            Assert.Same(info, ToolCallFormats.Get(info.Format));
            Assert.Equal(info.Format, ToolCallFormats.Parse(info.Name));
            Assert.Equal(info.Format, ToolCallFormats.Parse(info.Format.ToString().ToUpperInvariant()));
            Assert.Matches(new Regex("^[a-z0-9.-]+$"), info.Name);
            Assert.False(string.IsNullOrWhiteSpace(info.Description));
            Assert.Equal(info.Format == ToolCallFormat.ContentOnly, info.Syntax == null);
        }

        Assert.False(ToolCallFormats.TryParse("qwen-xml", out _));
        var e = Assert.Throws<ArgumentException>(() => ToolCallFormats.Parse("nope"));
        Assert.Contains("hermes", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ToolCallFormats.Get((ToolCallFormat)99));
    }

    [Fact]
    public void MessageJsonIsChatApiShaped()
    {
        var message = ToolCallParser.Parse("<think>plan</think>Sure.<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": 1}}</tool_call>", ToolCallFormat.Hermes);
        var json = message.ToMessageJson();
        Assert.Equal("assistant", (string)json["role"]!);
        Assert.Equal("Sure.", (string)json["content"]!);
        Assert.Equal("plan", (string)json["reasoning_content"]!);
        var call = json["tool_calls"]![0]!;
        Assert.Equal("call_0", (string)call["id"]!);
        Assert.Equal("function", (string)call["type"]!);
        Assert.Equal("f", (string)call["function"]!["name"]!);
        ToolCallAssert.Json("{\"a\": 1}", call["function"]!["arguments"]);
        Assert.Equal("{\"a\":1}", message.ToolCalls[0].ArgumentsJson);

        // The JSON is a copy: changing it leaves the parsed call alone.
        call["function"]!["arguments"]!["a"] = 2;
        Assert.Equal("{\"a\":1}", message.ToolCalls[0].ArgumentsJson);
    }

    [Fact]
    public void CustomIdPrefix()
    {
        var message = ToolCallParser.Parse("<tool_call>{\"name\": \"f\"}</tool_call><tool_call>{\"name\": \"g\"}</tool_call>", ToolCallFormat.Hermes,
            new ToolCallParseOptions { IdPrefix = "turn3_" });
        Assert.Equal(["turn3_0", "turn3_1"], message.ToolCalls.Select(c => c.Id));
    }

    [Fact]
    public void QwenCoderParametersAreTypedByTheToolSchema()
    {
        const string output = "<tool_call>\n<function=book>\n<parameter=city>\n42\n</parameter>\n<parameter=nights>\n3\n</parameter>\n<parameter=breakfast>\ntrue\n</parameter>\n<parameter=guests>\n[\"Ada\", \"Alan\"]\n</parameter>\n<parameter=note>\nline 1\nline 2\n</parameter>\n</function>\n</tool_call>";
        var tools = JsonNode.Parse("""
            [{"type": "function", "function": {"name": "book", "parameters": {"type": "object", "properties": {
              "city": {"type": "string"}, "nights": {"type": "integer"}, "breakfast": {"type": "boolean"},
              "guests": {"type": "array", "items": {"type": "string"}}, "note": {"type": ["string", "null"]}}}}}]
            """)!.AsArray();
        var typed = ToolCallParser.Parse(output, ToolCallFormat.Hermes, new ToolCallParseOptions { Tools = tools });
        ToolCallAssert.Clean(typed);
        ToolCallAssert.Calls(typed, ("book", """{"city": "42", "nights": 3, "breakfast": true, "guests": ["Ada", "Alan"], "note": "line 1\nline 2"}"""));

        var untyped = ToolCallParser.Parse(output, ToolCallFormat.Hermes);
        ToolCallAssert.Calls(untyped, ("book", """{"city": "42", "nights": "3", "breakfast": "true", "guests": "[\"Ada\", \"Alan\"]", "note": "line 1\nline 2"}"""));
    }

    [Fact]
    public void ReasoningCanBeLeftInContent()
    {
        var message = ToolCallParser.Parse("<think>x</think>y", ToolCallFormat.Hermes, new ToolCallParseOptions { ExtractReasoning = false });
        Assert.Null(message.Reasoning);
        Assert.Equal("<think>x</think>y", message.Content);
    }

    [Fact]
    public void ClosingThinkWithoutOpeningIsReasoning()
    {
        // DeepSeek R1's template opens <think> in the prompt; Parse copes even when the caller did not say so.
        var message = ToolCallParser.Parse("I should answer.\n</think>\n\nParis.", ToolCallFormat.DeepSeekR1);
        Assert.Equal("I should answer.", message.Reasoning);
        Assert.Equal("Paris.", message.Content);
    }

    [Fact]
    public void EmptyThinkBlockIsNoReasoning()
    {
        // Qwen 3 with thinking switched off writes an empty block.
        var message = ToolCallParser.Parse("<think>\n\n</think>\n\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>", ToolCallFormat.Hermes);
        Assert.Null(message.Reasoning);
        ToolCallAssert.Calls(message, ("f", "{}"));
    }
}
