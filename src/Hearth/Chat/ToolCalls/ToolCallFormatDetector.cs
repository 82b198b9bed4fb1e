using Hearth.Gguf;

namespace Hearth.Chat.ToolCalls;

/// <summary>
/// Works out which tool-call format a model uses: from the characteristic markers in its chat template, else from the
/// special tokens in its vocabulary, else from its architecture. Anything unrecognised gets
/// <see cref="ToolCallFormat.Generic"/> (the model is asked for JSON).
/// </summary>
public static class ToolCallFormatDetector
{
    /// <summary>
    /// The format a chat template's source implies, or null when it shows none of the known markers. Checked in this order
    /// (the order matters: a Hermes template may also mention <c>&lt;|start_header_id|&gt;</c>):
    /// <c>&lt;｜tool▁calls▁begin｜&gt;</c> → DeepSeek R1; <c>&lt;|START_ACTION|&gt;</c> → Command R7B; <c>&lt;tool_call&gt;</c> → Hermes;
    /// <c>&gt;&gt;&gt;all</c> → Functionary v3.2; <c>&lt;|tool_call|&gt;</c>, <c>functools[</c> or <c>&lt;|tool|&gt;</c> → Phi-4-mini;
    /// <c>[TOOL_CALLS]</c> → Mistral (v11 if the template also has <c>[ARGS]</c>); <c>&lt;|start_header_id|&gt;</c> with an
    /// <c>ipython</c> role or <c>&lt;|python_tag|&gt;</c> → Llama 3.x JSON.
    /// </summary>
    public static ToolCallFormat? FromTemplate(string? templateSource)
    {
        if (string.IsNullOrEmpty(templateSource)) return null;
        bool Has(string marker) => templateSource.Contains(marker, StringComparison.Ordinal);

        if (Has("<｜tool▁calls▁begin｜>")) return ToolCallFormat.DeepSeekR1;
        if (Has("<|START_ACTION|>")) return ToolCallFormat.CommandR7B;
        if (Has("<tool_call>")) return ToolCallFormat.Hermes;
        if (Has(">>>all")) return ToolCallFormat.FunctionaryV32;
        if (Has("<|tool_call|>") || Has("functools[") || (Has("<|tool|>") && Has("<|/tool|>"))) return ToolCallFormat.Phi4Mini;
        if (Has("[TOOL_CALLS]")) return Has("[ARGS]") ? ToolCallFormat.MistralV11 : ToolCallFormat.Mistral;
        if (Has("<|start_header_id|>") && (Has("ipython") || Has("<|python_tag|>"))) return ToolCallFormat.Llama3Json;
        return null;
    }

    /// <summary>
    /// The format implied by special tokens in the vocabulary (<c>tokenizer.ggml.tokens</c>), or null:
    /// <c>&lt;｜tool▁calls▁begin｜&gt;</c>, <c>&lt;|START_ACTION|&gt;</c>, <c>&lt;tool_call&gt;</c>, <c>&lt;|tool_call|&gt;</c>,
    /// <c>[TOOL_CALLS]</c> (with <c>[ARGS]</c>: v11), <c>&lt;|python_tag|&gt;</c>, in that order of precedence.
    /// </summary>
    public static ToolCallFormat? FromVocabulary(IEnumerable<string>? tokens)
    {
        if (tokens == null) return null;
        var wanted = new HashSet<string>(StringComparer.Ordinal)
        {
            "<｜tool▁calls▁begin｜>", "<|START_ACTION|>", "<tool_call>", "<|tool_call|>", "[TOOL_CALLS]", "[ARGS]", "<|python_tag|>",
        };
        var found = new HashSet<string>(StringComparer.Ordinal);
        foreach (var token in tokens)
        {
            if (token != null && wanted.Contains(token)) found.Add(token);
        }

        if (found.Contains("<｜tool▁calls▁begin｜>")) return ToolCallFormat.DeepSeekR1;
        if (found.Contains("<|START_ACTION|>")) return ToolCallFormat.CommandR7B;
        if (found.Contains("<tool_call>")) return ToolCallFormat.Hermes;
        if (found.Contains("<|tool_call|>")) return ToolCallFormat.Phi4Mini;
        if (found.Contains("[TOOL_CALLS]")) return found.Contains("[ARGS]") ? ToolCallFormat.MistralV11 : ToolCallFormat.Mistral;
        if (found.Contains("<|python_tag|>")) return ToolCallFormat.Llama3Json;
        return null;
    }

    /// <summary>
    /// The format implied by <c>general.architecture</c> alone, or null: the Qwen 2/3 families → Hermes, <c>cohere2</c> →
    /// Command R7B, <c>deepseek2</c>/<c>deepseek3</c> → DeepSeek R1.
    /// </summary>
    public static ToolCallFormat? FromArchitecture(string? architecture) => architecture switch
    {
        "qwen2" or "qwen2moe" or "qwen3" or "qwen3moe" => ToolCallFormat.Hermes,
        "cohere2" => ToolCallFormat.CommandR7B,
        "deepseek2" or "deepseek3" => ToolCallFormat.DeepSeekR1,
        _ => null,
    };

    /// <summary>
    /// The format for a model: its template's markers first, then its vocabulary, then its architecture, else
    /// <see cref="ToolCallFormat.Generic"/>. Any argument may be null.
    /// </summary>
    public static ToolCallFormat Detect(string? templateSource, IEnumerable<string>? vocabulary = null, string? architecture = null) =>
        FromTemplate(templateSource) ?? FromVocabulary(vocabulary) ?? FromArchitecture(architecture) ?? ToolCallFormat.Generic;

    /// <summary>
    /// The format of a GGUF model (as <see cref="ChatTemplate.ForModel"/> finds its template): from <c>tokenizer.chat_template.tool_use</c> (the variant rendered when tools are
    /// offered) or else <c>tokenizer.chat_template</c>, then <c>tokenizer.ggml.tokens</c>, then <c>general.architecture</c>.
    /// </summary>
    public static ToolCallFormat ForModel(GgufFile gguf)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        var template = FromTemplate(gguf.GetString("tokenizer.chat_template.tool_use")) ?? FromTemplate(gguf.GetString("tokenizer.chat_template"));
        return template
            ?? FromVocabulary(gguf.GetArray<string>("tokenizer.ggml.tokens"))
            ?? FromArchitecture(gguf.GetString("general.architecture"))
            ?? ToolCallFormat.Generic;
    }

    /// <summary>The format a parsed chat template implies (by <see cref="FromTemplate"/>), else Generic.</summary>
    public static ToolCallFormat ForTemplate(ChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(template);
        return FromTemplate(template.Source) ?? ToolCallFormat.Generic;
    }
}
