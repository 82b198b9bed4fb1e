namespace Hearth.Chat.ToolCalls;

/// <summary>
/// How a model writes tool calls into its output text. Each value names one model family's syntax; the parser for it
/// also separates <c>&lt;think&gt;…&lt;/think&gt;</c> reasoning. See <see cref="ToolCallFormats"/> for names, syntax and
/// detection, and <see cref="ToolCallParser"/> for parsing.
/// </summary>
public enum ToolCallFormat
{
    /// <summary>No tool calls: the output is content (reasoning is still separated). Use when no tools were offered.</summary>
    ContentOnly,

    /// <summary>
    /// A model with no native syntax that was told to answer in JSON: the whole output is
    /// <c>{"name": ..., "arguments": {...}}</c>, an array of those, <c>{"tool_call": {...}}</c>,
    /// <c>{"tool_calls": [...]}</c> or <c>{"response": "text"}</c> (optionally in a <c>```json</c> fence).
    /// </summary>
    Generic,

    /// <summary>
    /// Hermes 2/3 Pro, Qwen 2.5, Qwen 3: <c>&lt;tool_call&gt;\n{"name": ..., "arguments": {...}}\n&lt;/tool_call&gt;</c>, one or
    /// several, with content around them; also <c>&lt;function=name&gt;{...}&lt;/function&gt;</c>, the Qwen3-Coder XML body
    /// (<c>&lt;function=name&gt;&lt;parameter=key&gt;value&lt;/parameter&gt;&lt;/function&gt;</c>) and a bare call object opening the output.
    /// </summary>
    Hermes,

    /// <summary>
    /// Llama 3.1 / 3.2 / 3.3: the output is <c>{"name": ..., "parameters": {...}}</c> (or <c>"arguments"</c>), several separated by
    /// <c>;</c>; built-in tools as <c>&lt;|python_tag|&gt;name.call(key="value")</c>, <c>&lt;|python_tag|&gt;{...}</c>, or raw code after
    /// <c>&lt;|python_tag|&gt;</c> (a <c>code_interpreter</c> call); ends with <c>&lt;|eom_id|&gt;</c> or <c>&lt;|eot_id|&gt;</c>.
    /// </summary>
    Llama3Json,

    /// <summary>Phi-4-mini: <c>&lt;|tool_call|&gt;[{"name": ..., "arguments": {...}}]&lt;|/tool_call|&gt;</c>; also <c>functools[...]</c>.</summary>
    Phi4Mini,

    /// <summary>Mistral Nemo / 7B v0.3 (tokenizer before v11): <c>[TOOL_CALLS][{"name": ..., "arguments": {...}, "id": "abc123xyz"}]</c>.</summary>
    Mistral,

    /// <summary>
    /// Mistral Small 3.1+, Magistral, Devstral (tokenizer v11+): <c>[TOOL_CALLS]name[ARGS]{...}</c>, repeated per call; an
    /// optional <c>[CALL_ID]id</c> before <c>[ARGS]</c>. Its parser also accepts the older array form, and vice versa.
    /// </summary>
    MistralV11,

    /// <summary>
    /// Functionary v3.2: the prompt ends with <c>&gt;&gt;&gt;</c> and the output is a sequence of <c>recipient\nbody</c> parts
    /// separated by <c>&gt;&gt;&gt;</c>: <c>all\ntext</c> is content, <c>fname\n{...}</c> a call, <c>python\ncode</c> raw code.
    /// </summary>
    FunctionaryV32,

    /// <summary>
    /// Command R7B: <c>&lt;|START_THINKING|&gt;plan&lt;|END_THINKING|&gt;&lt;|START_ACTION|&gt;[{"tool_call_id": "0", "tool_name": ...,
    /// "parameters": {...}}]&lt;|END_ACTION|&gt;</c>, or <c>&lt;|START_RESPONSE|&gt;text&lt;|END_RESPONSE|&gt;</c>. The plan is the reasoning.
    /// </summary>
    CommandR7B,

    /// <summary>
    /// DeepSeek R1 (and its distills): <c>&lt;think&gt;…&lt;/think&gt;</c> then
    /// <c>&lt;｜tool▁calls▁begin｜&gt;&lt;｜tool▁call▁begin｜&gt;function&lt;｜tool▁sep｜&gt;name\n```json\n{...}\n```&lt;｜tool▁call▁end｜&gt;…&lt;｜tool▁calls▁end｜&gt;</c>;
    /// also the V3.1 body <c>name&lt;｜tool▁sep｜&gt;{...}</c>.
    /// </summary>
    DeepSeekR1,
}
