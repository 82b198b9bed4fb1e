using System.Globalization;
using System.Text.Json.Nodes;
using Hearth.Chat;
using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>
/// Round trips through the real chat templates in <c>shared/templates</c>: an assistant turn with tool calls is rendered
/// by the model's own template, the part the model would have generated is cut out, and parsing it with the format
/// detected from the template must give back the same calls (and content, and plan). Where the template writes calls
/// exactly as <see cref="ToolCallSyntax.Render(IReadOnlyList{ParsedToolCall})"/> does, the two texts must be identical,
/// which pins the syntax a constrained grammar will be built from to what the model was trained on.
/// </summary>
public sealed class RoundTripTests
{
    private static readonly (string Name, string Arguments)[] s_two =
    [
        ("get_reading", """{"sensor": "press-3/temp", "unit": "celsius"}"""),
        ("move_file", """{"source": "a/ü ü.txt", "destination": "b/日本 \"quoted\".txt", "options": {"overwrite": true, "modes": [1, 2, {"deep": null}]}}"""),
    ];

    private sealed record Rendered(ChatTemplate Template, string AssistantPart, ToolCallFormat Format);

    /// <summary>
    /// Renders the shared tool_round_trip conversation up to the user's question, then again with an assistant turn, and
    /// returns what the assistant generated: the text after the generation prompt, up to (not including) its end of turn.
    /// </summary>
    private static Rendered Render(string file, JsonObject assistant, IReadOnlyDictionary<string, JsonNode?>? variables = null, string? assistantHeader = null)
    {
        var spec = JsonNode.Parse(File.ReadAllText(TestData.Path("templates", file + ".json")))!;
        var source = File.ReadAllText(TestData.Path("templates", file + ".jinja"));
        var template = ChatTemplate.Parse(source);
        var c = spec["cases"]!.AsArray().Single(x => (string)x!["case"]! == "tool_round_trip")!;
        var before = new JsonArray(c["messages"]!.AsArray().Take(2).Select(m => m!.DeepClone()).ToArray());
        var after = (JsonArray)before.DeepClone();
        after.Add(assistant);
        string eos = (string)spec["eos_token"]!;

        ChatTemplateInput Input(JsonArray messages, bool generationPrompt) => new()
        {
            Messages = (JsonArray)messages.DeepClone(),
            Tools = c["tools"]!.DeepClone().AsArray(),
            AddGenerationPrompt = generationPrompt,
            BosToken = (string)spec["bos_token"]!,
            EosToken = eos,
            Now = DateTime.Parse((string)spec["strftime_now_date"]!, CultureInfo.InvariantCulture),
            Variables = variables,
        };

        string prompt = template.Render(Input(before, true));
        string full = template.Render(Input(after, false));
        string part;
        if (assistantHeader == null)
        {
            Assert.StartsWith(prompt, full, StringComparison.Ordinal);
            part = full[prompt.Length..];
        }
        else
        {
            // The generation prompt differs from the header the template writes for a past turn (DeepSeek R1 opens
            // <think> in the prompt); cut after the last assistant header instead.
            part = full[(full.LastIndexOf(assistantHeader, StringComparison.Ordinal) + assistantHeader.Length)..];
        }

        int stop = -1;
        foreach (var token in new[] { eos, "<|eom_id|>", "<|eot_id|>" })
        {
            int at = part.IndexOf(token, StringComparison.Ordinal);
            if (at >= 0 && (stop < 0 || at < stop)) stop = at;
        }

        if (stop >= 0) part = part[..stop];
        var format = ToolCallFormatDetector.FromTemplate(source);
        Assert.NotNull(format);
        return new Rendered(template, part, format.Value);
    }

    private static JsonObject Assistant(string? content, (string Name, string Arguments)[] calls, bool argumentsAsText = false, string? plan = null)
    {
        var list = new JsonArray();
        for (int i = 0; i < calls.Length; i++)
        {
            var arguments = JsonNode.Parse(calls[i].Arguments)!;
            list.Add(new JsonObject
            {
                ["id"] = "call_" + i,
                ["type"] = "function",
                ["function"] = new JsonObject
                {
                    ["name"] = calls[i].Name,
                    // Functionary and DeepSeek's templates concatenate the arguments as text, so they need a string.
                    ["arguments"] = argumentsAsText ? JsonValue.Create(Python(arguments)) : arguments,
                },
            });
        }

        var message = new JsonObject { ["role"] = "assistant", ["content"] = content, ["tool_calls"] = list };
        if (plan != null) message["tool_plan"] = plan;
        return message;
    }

    /// <summary>JSON as the templates' tojson writes it.</summary>
    private static string Python(JsonNode node) => JsonText.ToPythonStyle(node);

    private static ParsedAssistantMessage ParseBack(Rendered rendered, params (string Name, string Arguments)[] calls)
    {
        var message = ToolCallParser.Parse(rendered.AssistantPart, rendered.Format);
        ToolCallAssert.Clean(message);
        ToolCallAssert.Calls(message, calls);
        ToolCallAssert.Streams(rendered.AssistantPart, rendered.Format, ToolCallAssert.Chunks(rendered.AssistantPart, 3));
        return message;
    }

    private static string SyntaxText(ToolCallFormat format, (string Name, string Arguments)[] calls) =>
        ToolCallFormats.Get(format).Syntax!.Render(calls.Select(c => (c.Name, ToolCallAssert.Obj(c.Arguments), (string?)null)).ToList());

    [Fact]
    public void HermesTwoProTwoCalls()
    {
        var rendered = Render("NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use", Assistant("", s_two));
        Assert.Equal(ToolCallFormat.Hermes, rendered.Format);
        var message = ParseBack(rendered, s_two);
        Assert.Equal("", message.Content);
        Assert.Equal(SyntaxText(ToolCallFormat.Hermes, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void QwenContentAndTwoCalls()
    {
        var rendered = Render("Qwen-Qwen2.5-7B-Instruct", Assistant("Let me check both.", s_two));
        Assert.Equal(ToolCallFormat.Hermes, rendered.Format);
        var message = ParseBack(rendered, s_two);
        Assert.Equal("Let me check both.", message.Content);
        Assert.Equal("Let me check both.\n" + SyntaxText(ToolCallFormat.Hermes, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void QwenMessageJsonRendersBackToTheSameText()
    {
        // Parse the rendered turn, turn the result into a chat message, render that: the same text comes out.
        var rendered = Render("Qwen-Qwen2.5-7B-Instruct", Assistant("Let me check both.", s_two));
        var message = ToolCallParser.Parse(rendered.AssistantPart, rendered.Format);
        var again = Render("Qwen-Qwen2.5-7B-Instruct", message.ToMessageJson());
        Assert.Equal(rendered.AssistantPart, again.AssistantPart);
    }

    [Theory]
    [InlineData("meta-llama-Llama-3.1-8B-Instruct")]
    [InlineData("meta-llama-Llama-3.2-3B-Instruct")]
    public void LlamaSingleJsonCall(string file)
    {
        var call = s_two[1..];
        var rendered = Render(file, Assistant(null, call));
        Assert.Equal(ToolCallFormat.Llama3Json, rendered.Format);
        ParseBack(rendered, call);
        Assert.Equal(SyntaxText(ToolCallFormat.Llama3Json, call), rendered.AssistantPart);
    }

    [Fact]
    public void LlamaBuiltinToolCall()
    {
        var builtins = new Dictionary<string, JsonNode?> { ["builtin_tools"] = new JsonArray("brave_search", "wolfram_alpha") };
        (string, string)[] call = [("brave_search", """{"query": "weather in Zürich, today"}""")];
        var rendered = Render("meta-llama-Llama-3.1-8B-Instruct", Assistant(null, call), builtins);
        Assert.Equal("<|python_tag|>brave_search.call(query=\"weather in Zürich, today\")", rendered.AssistantPart);
        ParseBack(rendered, call);
    }

    [Fact]
    public void FunctionaryContentAndTwoCalls()
    {
        var rendered = Render("meetkai-functionary-medium-v3.2", Assistant("Let me check.", s_two, argumentsAsText: true));
        Assert.Equal(ToolCallFormat.FunctionaryV32, rendered.Format);
        var message = ParseBack(rendered, s_two);
        Assert.Equal("Let me check.", message.Content);
        Assert.Equal("all\nLet me check.>>>" + SyntaxText(ToolCallFormat.FunctionaryV32, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void FunctionaryCallsOnly()
    {
        var rendered = Render("meetkai-functionary-medium-v3.2", Assistant(null, s_two, argumentsAsText: true));
        ParseBack(rendered, s_two);
        Assert.Equal(SyntaxText(ToolCallFormat.FunctionaryV32, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void CommandR7BPlanAndTwoCalls()
    {
        const string plan = "I will read the sensor, then move the file.";
        var rendered = Render("CohereForAI-c4ai-command-r7b-12-2024-tool_use", Assistant(null, s_two, plan: plan));
        Assert.Equal(ToolCallFormat.CommandR7B, rendered.Format);
        var message = ParseBack(rendered, s_two);
        Assert.Equal(plan, message.Reasoning);
        Assert.Equal(["0", "1"], message.ToolCalls.Select(c => c.Id));
        Assert.Equal("<|START_THINKING|>" + plan + "<|END_THINKING|>" + SyntaxText(ToolCallFormat.CommandR7B, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void DeepSeekR1TwoCalls()
    {
        var rendered = Render("deepseek-ai-DeepSeek-R1-Distill-Llama-8B", Assistant(null, s_two, argumentsAsText: true), assistantHeader: "<｜Assistant｜>");
        Assert.Equal(ToolCallFormat.DeepSeekR1, rendered.Format);
        ParseBack(rendered, s_two);
        Assert.Equal(SyntaxText(ToolCallFormat.DeepSeekR1, s_two), rendered.AssistantPart);
    }

    [Fact]
    public void DeepSeekR1SingleCallWithoutClosingToken()
    {
        // The template never closes the block after a single call; the parser does not need it.
        var rendered = Render("deepseek-ai-DeepSeek-R1-Distill-Llama-8B", Assistant(null, s_two[..1], argumentsAsText: true), assistantHeader: "<｜Assistant｜>");
        Assert.DoesNotContain("<｜tool▁calls▁end｜>", rendered.AssistantPart);
        ParseBack(rendered, s_two[..1]);
    }

    [Fact]
    public void DeepSeekPromptOpensReasoning()
    {
        var spec = JsonNode.Parse(File.ReadAllText(TestData.Path("templates", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.json")))!;
        var c = spec["cases"]!.AsArray().Single(x => (string)x!["case"]! == "tools")!;
        var template = ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja")));
        var prompt = template.Render(new ChatTemplateInput { Messages = c["messages"]!.DeepClone().AsArray(), Tools = c["tools"]!.DeepClone().AsArray() });
        Assert.True(ToolCallParser.PromptOpensReasoning(prompt));
        Assert.False(ToolCallParser.PromptOpensReasoning("<|im_start|>assistant\n"));
    }
}
