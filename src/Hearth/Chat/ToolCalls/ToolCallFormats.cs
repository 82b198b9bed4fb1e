namespace Hearth.Chat.ToolCalls;

/// <summary>What Hearth knows about one tool-call format.</summary>
public sealed class ToolCallFormatInfo
{
    internal ToolCallFormatInfo(ToolCallFormat format, string name, string description, ToolCallSyntax? syntax,
        IReadOnlyList<(string Open, string Close)> reasoningTags, IReadOnlyList<string> contentMarkers, IReadOnlyList<Trigger> triggers)
    {
        Format = format;
        Name = name;
        Description = description;
        Syntax = syntax;
        ReasoningTags = reasoningTags;
        ContentMarkers = contentMarkers;
        StreamTriggers = triggers;
    }

    /// <summary>The format.</summary>
    public ToolCallFormat Format { get; }

    /// <summary>The short name used in configuration and logs (<c>hermes</c>, <c>llama3-json</c>, …).</summary>
    public string Name { get; }

    /// <summary>One line saying which models use it and what a call looks like.</summary>
    public string Description { get; }

    /// <summary>The literal call syntax for constrained generation; null for <see cref="ToolCallFormat.ContentOnly"/>.</summary>
    public ToolCallSyntax? Syntax { get; }

    /// <summary>The (opening, closing) tags of reasoning blocks, tried in order.</summary>
    public IReadOnlyList<(string Open, string Close)> ReasoningTags { get; }

    /// <summary>Format markers dropped wherever they appear in content (end-of-turn tokens included).</summary>
    internal IReadOnlyList<string> ContentMarkers { get; }

    /// <summary>What begins a call, or is skipped, in content (see <see cref="Trigger"/>).</summary>
    internal IReadOnlyList<Trigger> StreamTriggers { get; }

    /// <summary>The first trigger result at <paramref name="i"/> that matches or skips; otherwise Partial if any is partial.</summary>
    internal TriggerResult Check(ReadOnlySpan<char> text, int i, bool atStart)
    {
        bool partial = false;
        foreach (var trigger in StreamTriggers)
        {
            var r = trigger.Check(text, i, atStart);
            if (r.Kind is TriggerKind.CallStart or TriggerKind.Skip) return r;
            partial |= r.Kind == TriggerKind.Partial;
        }

        return partial ? TriggerResult.Partial : TriggerResult.None;
    }
}

/// <summary>The registry of tool-call formats: names, descriptions, syntax, and lookup by name.</summary>
public static class ToolCallFormats
{
    /// <summary>
    /// End-of-turn and end-of-text tokens of the supported families. A generation loop normally stops on them without
    /// emitting their text; when one does reach the output it is dropped from content and reasoning.
    /// </summary>
    public static IReadOnlyList<string> EndOfTurnTokens { get; } =
    [
        "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>", "<|end|>", "<|endoftext|>",
        "<|END_OF_TURN_TOKEN|>", "<｜end▁of▁sentence｜>", "<end_of_turn>",
    ];

    internal static readonly string[] DeepSeekCallsBegin =
        ["<｜tool▁calls▁begin｜>", "<｜tool_calls_begin｜>", "<｜tool calls begin｜>", "<｜tool\\_calls\\_begin｜>", "<｜tool▁calls｜>"];

    internal const string DeepSeekCallBegin = "<｜tool▁call▁begin｜>";

    private static readonly (string, string)[] s_think = [("<think>", "</think>")];

    private static readonly ToolCallFormatInfo[] s_all = Build();

    /// <summary>Every format, in enum order.</summary>
    public static IReadOnlyList<ToolCallFormatInfo> All => s_all;

    /// <summary>The description of a format.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a defined <see cref="ToolCallFormat"/>.</exception>
    public static ToolCallFormatInfo Get(ToolCallFormat format) =>
        (int)format >= 0 && (int)format < s_all.Length ? s_all[(int)format] : throw new ArgumentOutOfRangeException(nameof(format), format, "not a tool-call format");

    /// <summary>The format with this <see cref="ToolCallFormatInfo.Name"/> (case-insensitive; the enum member name also works).</summary>
    public static bool TryParse(string name, out ToolCallFormat format)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var info in s_all)
        {
            if (string.Equals(info.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(info.Format.ToString(), name, StringComparison.OrdinalIgnoreCase))
            {
                format = info.Format;
                return true;
            }
        }

        format = default;
        return false;
    }

    /// <summary>The format with this name.</summary>
    /// <exception cref="ArgumentException">No format has that name; the message lists the names.</exception>
    public static ToolCallFormat Parse(string name) => TryParse(name, out var format)
        ? format
        : throw new ArgumentException($"no tool-call format '{name}'; there are {string.Join(", ", s_all.Select(f => f.Name))}", nameof(name));

    private static ToolCallFormatInfo[] Build()
    {
        var endTokens = EndOfTurnTokens.ToArray();
        Trigger[] EndSkips() => endTokens.Select(t => (Trigger)new LiteralTrigger(t, TriggerKind.Skip)).ToArray();
        Trigger[] Calls(params string[] literals) => literals.Select(t => (Trigger)new LiteralTrigger(t, TriggerKind.CallStart)).ToArray();

        var all = new ToolCallFormatInfo[Enum.GetValues<ToolCallFormat>().Length];
        void Add(ToolCallFormat format, string name, string description, ToolCallSyntax? syntax, Trigger[] triggers,
            (string, string)[]? reasoning = null, string[]? markers = null)
        {
            var allMarkers = (markers ?? []).Concat(endTokens).ToArray();
            var allTriggers = triggers.Concat((markers ?? []).Select(m => (Trigger)new LiteralTrigger(m, TriggerKind.Skip))).Concat(EndSkips()).ToArray();
            all[(int)format] = new ToolCallFormatInfo(format, name, description, syntax, reasoning ?? s_think, allMarkers, allTriggers);
        }

        Add(ToolCallFormat.ContentOnly, "content-only", "no tool calls: the whole output is content (reasoning still separated)", null, []);

        Add(ToolCallFormat.Generic, "generic",
            "a model without native tool calls answering in JSON: {\"name\": ..., \"arguments\": {...}} (or an array, {\"tool_calls\": [...]}, {\"response\": ...})",
            new ToolCallSyntax(ToolCallFormat.Generic) { SupportsParallelCalls = false, CallMayOpenOutput = true },
            [StartAnyJsonTrigger.Instance]);

        Add(ToolCallFormat.Hermes, "hermes",
            "Hermes 2/3 Pro, Qwen 2.5, Qwen 3: <tool_call>\\n{\"name\": ..., \"arguments\": {...}}\\n</tool_call>",
            new ToolCallSyntax(ToolCallFormat.Hermes) { CallPrefix = "<tool_call>\n", CallSuffix = "\n</tool_call>", CallSeparator = "\n", Triggers = ["<tool_call>"] },
            [.. Calls("<tool_call>", "<function=", "<function name=\""), StartJsonCallTrigger.Instance]);

        Add(ToolCallFormat.Llama3Json, "llama3-json",
            "Llama 3.1/3.2/3.3: {\"name\": ..., \"parameters\": {...}}; built-in tools as <|python_tag|>name.call(key=\"value\")",
            new ToolCallSyntax(ToolCallFormat.Llama3Json)
            {
                ArgumentsKey = "parameters", KeyOrder = ["name", "parameters"], SupportsParallelCalls = false, CallSeparator = "; ", CallMayOpenOutput = true,
            },
            [.. Calls("<|python_tag|>"), StartJsonCallTrigger.Instance]);

        Add(ToolCallFormat.Phi4Mini, "phi4-mini",
            "Phi-4-mini: <|tool_call|>[{\"name\": ..., \"arguments\": {...}}]<|/tool_call|> (also functools[...])",
            new ToolCallSyntax(ToolCallFormat.Phi4Mini)
            {
                Prefix = "<|tool_call|>[", Suffix = "]<|/tool_call|>", CallSeparator = ", ", ArrayWrapped = true, Triggers = ["<|tool_call|>", "functools["],
            },
            Calls("<|tool_call|>", "functools["));

        Add(ToolCallFormat.Mistral, "mistral",
            "Mistral Nemo, Mistral 7B v0.3: [TOOL_CALLS][{\"name\": ..., \"arguments\": {...}, \"id\": \"abc123xyz\"}]",
            new ToolCallSyntax(ToolCallFormat.Mistral)
            {
                Prefix = "[TOOL_CALLS][", Suffix = "]", CallSeparator = ", ", ArrayWrapped = true, IdKey = "id", IdPattern = "^[a-zA-Z0-9]{9}$",
                KeyOrder = ["name", "arguments", "id"], Triggers = ["[TOOL_CALLS]"],
            },
            Calls("[TOOL_CALLS]"));

        Add(ToolCallFormat.MistralV11, "mistral-v11",
            "Mistral Small 3.1+, Magistral, Devstral: [TOOL_CALLS]name[ARGS]{...}, once per call",
            new ToolCallSyntax(ToolCallFormat.MistralV11)
            {
                CallPrefix = "[TOOL_CALLS]", Shape = ToolCallBodyShape.NameThenArguments, NameArgumentsSeparator = "[ARGS]", Triggers = ["[TOOL_CALLS]"],
            },
            Calls("[TOOL_CALLS]"));

        Add(ToolCallFormat.FunctionaryV32, "functionary-v3.2",
            "Functionary v3.2: after the prompt's >>>, all\\ntext is content and name\\n{...} a call; parts separated by >>>",
            new ToolCallSyntax(ToolCallFormat.FunctionaryV32)
            {
                Shape = ToolCallBodyShape.NameThenArguments, NameArgumentsSeparator = "\n", CallSeparator = ">>>", Triggers = [">>>"], CallMayOpenOutput = true,
            },
            [FunctionaryTrigger.Instance]);

        Add(ToolCallFormat.CommandR7B, "command-r7b",
            "Command R7B: <|START_THINKING|>plan<|END_THINKING|><|START_ACTION|>[{\"tool_call_id\": \"0\", \"tool_name\": ..., \"parameters\": {...}}]<|END_ACTION|>",
            new ToolCallSyntax(ToolCallFormat.CommandR7B)
            {
                Prefix = "<|START_ACTION|>[\n    ", Suffix = "\n]<|END_ACTION|>", CallSeparator = ",\n    ", ArrayWrapped = true,
                NameKey = "tool_name", ArgumentsKey = "parameters", IdKey = "tool_call_id", IdPattern = "^[0-9]{1,10}$",
                KeyOrder = ["tool_call_id", "tool_name", "parameters"], Triggers = ["<|START_ACTION|>"],
            },
            Calls("<|START_ACTION|>"),
            reasoning: [("<|START_THINKING|>", "<|END_THINKING|>"), ("<think>", "</think>")],
            markers: ["<|START_RESPONSE|>", "<|END_RESPONSE|>"]);

        Add(ToolCallFormat.DeepSeekR1, "deepseek-r1",
            "DeepSeek R1: <think>...</think> then <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>name\\n```json\\n{...}\\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
            new ToolCallSyntax(ToolCallFormat.DeepSeekR1)
            {
                Prefix = "<｜tool▁calls▁begin｜>", Suffix = "<｜tool▁calls▁end｜>", CallPrefix = DeepSeekCallBegin + "function<｜tool▁sep｜>",
                CallSuffix = "\n```<｜tool▁call▁end｜>", CallSeparator = "\n", Shape = ToolCallBodyShape.NameThenArguments,
                NameArgumentsSeparator = "\n```json\n", Triggers = [.. DeepSeekCallsBegin, DeepSeekCallBegin],
            },
            Calls([.. DeepSeekCallsBegin, DeepSeekCallBegin]));

        return all;
    }
}
