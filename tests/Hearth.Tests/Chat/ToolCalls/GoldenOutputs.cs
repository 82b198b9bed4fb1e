using Hearth.Chat.ToolCalls;

namespace Hearth.Tests.Chat.ToolCalls;

/// <summary>One model output and what parsing it must give.</summary>
public sealed record GoldenOutput(
    string Name,
    ToolCallFormat Format,
    string Output,
    string Content,
    string? Reasoning,
    (string Name, string Arguments, string? Id)[] Calls,
    bool ReasoningStartedInPrompt = false)
{
    public override string ToString() => Name;
}

/// <summary>
/// Well-formed outputs in every format, written the way the models write them (per their chat templates, model cards
/// and the reference parsers of llama.cpp and vLLM): single and several calls, text around them, reasoning, unicode and
/// nested arguments, end-of-turn tokens.
/// </summary>
public static class GoldenOutputs
{
    private const string Weather = """{"city": "Paris", "unit": "celsius"}""";
    private const string Unicode = """{"city": "Zürich", "note": "日本語 — “quoted” 🌧️", "emoji": "\ud83d\ude00", "escaped": "tab\there\nnewline \"q\" back\\slash"}""";
    private const string Nested = """{"filter": {"range": {"from": 1, "to": [1, 2.5, {"x": null}]}, "tags": ["a", "b"]}, "flags": [true, false], "limit": -3e2}""";

    public static IReadOnlyList<GoldenOutput> All { get; } =
    [
        // ---- Hermes / Qwen 2.5 / Qwen 3
        new("hermes-single", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + Weather + "}\n</tool_call>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("hermes-two-with-text", ToolCallFormat.Hermes,
            "Let me check both cities.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + Weather + "}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\"}}\n</tool_call>",
            "Let me check both cities.", null, [("get_weather", Weather, "call_0"), ("get_time", """{"tz": "Europe/Paris"}""", "call_1")]),
        new("hermes-text-after-and-im_end", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + Weather + "}\n</tool_call>\nI will report back once I have it.<|im_end|>\n",
            "I will report back once I have it.", null, [("get_weather", Weather, "call_0")]),
        new("qwen3-reasoning", ToolCallFormat.Hermes,
            "<think>\nThe user wants the weather in Paris. I should call get_weather.\n</think>\n\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + Weather + "}\n</tool_call>",
            "", "The user wants the weather in Paris. I should call get_weather.", [("get_weather", Weather, "call_0")]),
        new("qwen3-reasoning-then-answer", ToolCallFormat.Hermes,
            "<think>\nSimple question.\n</think>\n\nParis is the capital of France.",
            "Paris is the capital of France.", "Simple question.", []),
        new("hermes-unicode", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"annotate\", \"arguments\": " + Unicode + "}\n</tool_call>",
            "", null, [("annotate", Unicode, "call_0")]),
        new("hermes-nested", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"search\", \"arguments\": " + Nested + "}\n</tool_call>",
            "", null, [("search", Nested, "call_0")]),
        new("hermes-no-arguments", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"now\"}\n</tool_call>",
            "", null, [("now", "{}", "call_0")]),
        new("hermes-arguments-as-json-string", ToolCallFormat.Hermes,
            "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}\n</tool_call>",
            "", null, [("get_weather", """{"city": "Paris"}""", "call_0")]),
        new("hermes-function-tag", ToolCallFormat.Hermes,
            "<function=get_weather>{\"city\": \"Paris\", \"unit\": \"celsius\"}</function>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("qwen3-coder-xml", ToolCallFormat.Hermes,
            "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("hermes-bare-json", ToolCallFormat.Hermes,
            "{\"name\": \"get_weather\", \"arguments\": " + Weather + "}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("hermes-plain-text", ToolCallFormat.Hermes,
            "The weather in Paris is mild; 3 < 4 and <b>bold</b> stays.",
            "The weather in Paris is mild; 3 < 4 and <b>bold</b> stays.", null, []),
        new("hermes-json-answer-is-content", ToolCallFormat.Hermes,
            "{\"name\": \"Ada\", \"born\": 1815}",
            "{\"name\": \"Ada\", \"born\": 1815}", null, []),

        // ---- Llama 3.x
        new("llama3-json", ToolCallFormat.Llama3Json,
            "{\"name\": \"get_weather\", \"parameters\": " + Weather + "}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("llama3-json-eot", ToolCallFormat.Llama3Json,
            "{\"name\": \"get_weather\", \"parameters\": " + Weather + "}<|eot_id|>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("llama3-arguments-key", ToolCallFormat.Llama3Json,
            "{\"name\": \"get_weather\", \"arguments\": " + Weather + "}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("llama3-typed", ToolCallFormat.Llama3Json,
            "{\"type\": \"function\", \"name\": \"get_weather\", \"parameters\": " + Weather + "}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("llama3-two-semicolon", ToolCallFormat.Llama3Json,
            "{\"name\": \"get_weather\", \"parameters\": " + Weather + "}; {\"name\": \"get_time\", \"parameters\": {\"tz\": \"Europe/Paris\"}}",
            "", null, [("get_weather", Weather, "call_0"), ("get_time", """{"tz": "Europe/Paris"}""", "call_1")]),
        new("llama3-unicode-nested", ToolCallFormat.Llama3Json,
            "{\"name\": \"search\", \"parameters\": " + Nested + "}",
            "", null, [("search", Nested, "call_0")]),
        new("llama3-builtin", ToolCallFormat.Llama3Json,
            "<|python_tag|>brave_search.call(query=\"weather in Zürich today\")<|eom_id|>",
            "", null, [("brave_search", """{"query": "weather in Zürich today"}""", "call_0")]),
        new("llama3-builtin-several-args", ToolCallFormat.Llama3Json,
            "<|python_tag|>wolfram_alpha.call(query=\"integrate x^2\", format='short \\'x\\'', n=3, exact=True)",
            "", null, [("wolfram_alpha", """{"query": "integrate x^2", "format": "short 'x'", "n": 3, "exact": true}""", "call_0")]),
        new("llama3-python-tag-json", ToolCallFormat.Llama3Json,
            "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": " + Weather + "}<|eom_id|>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("llama3-code-interpreter", ToolCallFormat.Llama3Json,
            "<|python_tag|>import math\nprint(math.sqrt(2))<|eom_id|>",
            "", null, [("code_interpreter", """{"code": "import math\nprint(math.sqrt(2))"}""", "call_0")]),
        new("llama3-text-then-builtin", ToolCallFormat.Llama3Json,
            "Let me search for that.\n\n<|python_tag|>brave_search.call(query=\"Paris\")",
            "Let me search for that.", null, [("brave_search", """{"query": "Paris"}""", "call_0")]),
        new("llama3-plain", ToolCallFormat.Llama3Json,
            "Paris is sunny today.<|eot_id|>",
            "Paris is sunny today.", null, []),

        // ---- Phi-4-mini
        new("phi4-single", ToolCallFormat.Phi4Mini,
            "<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " + Weather + "}]<|/tool_call|>",
            "", null, [("get_weather", Weather, "call_0")]),
        new("phi4-two-with-text", ToolCallFormat.Phi4Mini,
            "I'll look both up.<|tool_call|>[{\"name\": \"get_weather\", \"arguments\": " + Weather + "}, {\"name\": \"search\", \"arguments\": " + Nested + "}]<|/tool_call|><|end|>",
            "I'll look both up.", null, [("get_weather", Weather, "call_0"), ("search", Nested, "call_1")]),
        new("phi4-object", ToolCallFormat.Phi4Mini,
            "<|tool_call|>{\"name\": \"annotate\", \"arguments\": " + Unicode + "}<|/tool_call|>",
            "", null, [("annotate", Unicode, "call_0")]),
        new("phi4-functools", ToolCallFormat.Phi4Mini,
            "functools[{\"name\": \"get_weather\", \"arguments\": " + Weather + "}]",
            "", null, [("get_weather", Weather, "call_0")]),

        // ---- Mistral
        new("mistral-nemo", ToolCallFormat.Mistral,
            "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " + Weather + ", \"id\": \"abc123xyz\"}]",
            "", null, [("get_weather", Weather, "abc123xyz")]),
        new("mistral-two-one-id", ToolCallFormat.Mistral,
            "Checking.[TOOL_CALLS] [{\"name\": \"get_weather\", \"arguments\": " + Weather + "}, {\"name\": \"annotate\", \"arguments\": " + Unicode + ", \"id\": \"Zx9Yw8Vu7\"}]",
            "Checking.", null, [("get_weather", Weather, "call00000"), ("annotate", Unicode, "Zx9Yw8Vu7")]),
        new("mistral-v11", ToolCallFormat.MistralV11,
            "[TOOL_CALLS]get_weather[ARGS]" + Weather,
            "", null, [("get_weather", Weather, "call00000")]),
        new("mistral-v11-two", ToolCallFormat.MistralV11,
            "[TOOL_CALLS]get_weather[ARGS]" + Weather + "[TOOL_CALLS]search[ARGS]" + Nested,
            "", null, [("get_weather", Weather, "call00000"), ("search", Nested, "call00001")]),
        new("mistral-v11-call-id", ToolCallFormat.MistralV11,
            "Sure.[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]" + Weather,
            "Sure.", null, [("get_weather", Weather, "a1b2c3d4e")]),
        new("mistral-v11-no-args-token", ToolCallFormat.MistralV11,
            "[TOOL_CALLS]get_weather" + Weather,
            "", null, [("get_weather", Weather, "call00000")]),
        new("mistral-v11-reads-nemo-array", ToolCallFormat.MistralV11,
            "[TOOL_CALLS][{\"name\": \"get_weather\", \"arguments\": " + Weather + ", \"id\": \"abc123xyz\"}]",
            "", null, [("get_weather", Weather, "abc123xyz")]),

        // ---- Functionary v3.2 (the prompt ends with ">>>")
        new("functionary-content", ToolCallFormat.FunctionaryV32,
            "all\nThe weather in Paris is mild.<|eot_id|>",
            "The weather in Paris is mild.", null, []),
        new("functionary-call", ToolCallFormat.FunctionaryV32,
            "get_weather\n" + Weather,
            "", null, [("get_weather", Weather, "call_0")]),
        new("functionary-content-then-calls", ToolCallFormat.FunctionaryV32,
            "all\nLet me check.>>>get_weather\n" + Weather + ">>>search\n" + Nested,
            "Let me check.", null, [("get_weather", Weather, "call_0"), ("search", Nested, "call_1")]),
        new("functionary-leading-marker", ToolCallFormat.FunctionaryV32,
            ">>>all\nHi!>>>annotate\n" + Unicode,
            "Hi!", null, [("annotate", Unicode, "call_0")]),
        new("functionary-python", ToolCallFormat.FunctionaryV32,
            "python\nimport math\nprint(math.pi)",
            "", null, [("python", """{"code": "import math\nprint(math.pi)"}""", "call_0")]),
        new("functionary-repl-prompt-is-content", ToolCallFormat.FunctionaryV32,
            "all\nIn the REPL type:\n>>> print(1)\nand press enter.",
            "In the REPL type:\n>>> print(1)\nand press enter.", null, []),
        new("functionary-no-recipient", ToolCallFormat.FunctionaryV32,
            "Hello there\nHow can I help?",
            "Hello there\nHow can I help?", null, []),

        // ---- Command R7B
        new("command-r7b-action", ToolCallFormat.CommandR7B,
            "<|START_THINKING|>I will look up the weather in Paris.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": " + Weather + "}\n]<|END_ACTION|><|END_OF_TURN_TOKEN|>",
            "", "I will look up the weather in Paris.", [("get_weather", Weather, "0")]),
        new("command-r7b-two", ToolCallFormat.CommandR7B,
            "<|START_THINKING|>Two lookups.<|END_THINKING|><|START_ACTION|>[\n    {\"tool_call_id\": \"0\", \"tool_name\": \"get_weather\", \"parameters\": " + Weather + "},\n    {\"tool_call_id\": \"1\", \"tool_name\": \"search\", \"parameters\": " + Nested + "}\n]<|END_ACTION|>",
            "", "Two lookups.", [("get_weather", Weather, "0"), ("search", Nested, "1")]),
        new("command-r7b-response", ToolCallFormat.CommandR7B,
            "<|START_THINKING|>Easy.<|END_THINKING|><|START_RESPONSE|>It is 21 °C in Paris.<|END_RESPONSE|><|END_OF_TURN_TOKEN|>",
            "It is 21 °C in Paris.", "Easy.", []),

        // ---- DeepSeek R1
        new("deepseek-r1-call", ToolCallFormat.DeepSeekR1,
            "<think>\nI need the weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n" + Weather + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>",
            "", "I need the weather.", [("get_weather", Weather, "call_0")]),
        new("deepseek-r1-two", ToolCallFormat.DeepSeekR1,
            "<think>Two.</think>Checking.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n" + Weather + "\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>annotate\n```json\n" + Unicode + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            "Checking.", "Two.", [("get_weather", Weather, "call_0"), ("annotate", Unicode, "call_1")]),
        new("deepseek-r1-prompt-opened-think", ToolCallFormat.DeepSeekR1,
            "I need the weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n" + Weather + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            "", "I need the weather.", [("get_weather", Weather, "call_0")], ReasoningStartedInPrompt: true),
        new("deepseek-v3-body", ToolCallFormat.DeepSeekR1,
            "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>" + Nested + "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            "", null, [("search", Nested, "call_0")]),
        new("deepseek-r1-answer", ToolCallFormat.DeepSeekR1,
            "<think>\nNo tool needed.\n</think>\n\nParis is in France.",
            "Paris is in France.", "No tool needed.", []),

        // ---- Generic
        new("generic-call", ToolCallFormat.Generic,
            "{\"name\": \"get_weather\", \"arguments\": " + Weather + "}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("generic-tool-call", ToolCallFormat.Generic,
            "{\"tool_call\": {\"name\": \"get_weather\", \"arguments\": " + Weather + "}}",
            "", null, [("get_weather", Weather, "call_0")]),
        new("generic-tool-calls", ToolCallFormat.Generic,
            "{\"tool_calls\": [{\"name\": \"get_weather\", \"arguments\": " + Weather + ", \"id\": \"w1\"}, {\"name\": \"annotate\", \"arguments\": " + Unicode + "}]}",
            "", null, [("get_weather", Weather, "w1"), ("annotate", Unicode, "call_1")]),
        new("generic-array", ToolCallFormat.Generic,
            "[{\"name\": \"get_weather\", \"arguments\": " + Weather + "}, {\"name\": \"search\", \"parameters\": " + Nested + "}]",
            "", null, [("get_weather", Weather, "call_0"), ("search", Nested, "call_1")]),
        new("generic-fenced", ToolCallFormat.Generic,
            "```json\n{\"name\": \"get_weather\", \"arguments\": " + Weather + "}\n```",
            "", null, [("get_weather", Weather, "call_0")]),
        new("generic-response", ToolCallFormat.Generic,
            "{\"response\": \"It is 21 °C in Paris.\"}",
            "It is 21 °C in Paris.", null, []),
        new("generic-plain", ToolCallFormat.Generic,
            "It is 21 °C in Paris.",
            "It is 21 °C in Paris.", null, []),
        new("generic-json-answer", ToolCallFormat.Generic,
            "{\"temperature\": 21}",
            "{\"temperature\": 21}", null, []),

        // ---- Content only
        new("content-only-ignores-markers", ToolCallFormat.ContentOnly,
            "<think>hmm</think>Use <tool_call> tags like this.",
            "Use <tool_call> tags like this.", "hmm", []),
    ];

    /// <summary>The case names, as theory data (names serialize, so each case is its own test).</summary>
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in All) data.Add(c.Name);
        return data;
    }

    public static GoldenOutput Get(string name) => All.Single(c => c.Name == name);
}
