namespace Hearth.Chat;

/// <summary>
/// Chat formats for models whose GGUF carries no <c>tokenizer.chat_template</c>, written as Jinja like any other
/// template. They present plain conversations (text content, or a list of text parts); they refuse tools and tool
/// calls rather than drop them, since each model family's tool format differs.
/// </summary>
internal static class BuiltInChatTemplates
{
    // Shared preamble: text of a message's content (a string, none, or a list of {"type": "text", "text": ...} parts),
    // and refusal of what these formats cannot present.
    private const string Common = """
        {%- macro text_of(message) -%}
        {%- set content = message['content'] -%}
        {%- if content is string -%}
        {{- content -}}
        {%- elif content is none or content is undefined -%}
        {%- elif content is iterable and content is not mapping -%}
        {%- for part in content -%}
        {%- if part is mapping and part['type'] == 'text' -%}
        {{- part['text'] -}}
        {%- else -%}
        {{- raise_exception('This chat template only presents text content.') -}}
        {%- endif -%}
        {%- endfor -%}
        {%- else -%}
        {{- raise_exception('Message content must be a string or a list of text parts.') -}}
        {%- endif -%}
        {%- endmacro -%}
        {%- if tools is defined and tools -%}
        {{- raise_exception('This built-in chat template cannot present tools; the model needs its own chat template for tool calling.') -}}
        {%- endif -%}
        {%- for message in messages -%}
        {%- if message['tool_calls'] is defined and message['tool_calls'] -%}
        {{- raise_exception('This built-in chat template cannot present tool calls; the model needs its own chat template for tool calling.') -}}
        {%- endif -%}
        {%- endfor -%}

        """;

    /// <summary>ChatML (Qwen, many fine-tunes): <c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c> per message.</summary>
    public const string ChatML = Common + """
        {%- for message in messages -%}
        {{- '<|im_start|>' + message['role'] + '\n' + text_of(message) + '<|im_end|>\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<|im_start|>assistant\n' -}}
        {%- endif -%}
        """;

    /// <summary>Llama 3: BOS, then <c>&lt;|start_header_id|&gt;role&lt;|end_header_id|&gt;\n\ncontent&lt;|eot_id|&gt;</c> with trimmed content.</summary>
    public const string Llama3 = Common + """
        {{- bos_token -}}
        {%- for message in messages -%}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + text_of(message) | trim + '<|eot_id|>' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {%- endif -%}
        """;

    /// <summary>Phi-3 / Phi-3.5: <c>&lt;|role|&gt;\ncontent&lt;|end|&gt;\n</c>; an empty system message is left out; EOS ends a prompt without a generation prompt.</summary>
    public const string Phi3 = Common + """
        {%- for message in messages -%}
        {%- if message['role'] not in ['system', 'user', 'assistant'] -%}
        {{- raise_exception('The Phi-3 format has only system, user and assistant roles.') -}}
        {%- endif -%}
        {%- set text = text_of(message) -%}
        {%- if message['role'] != 'system' or text -%}
        {{- '<|' + message['role'] + '|>\n' + text + '<|end|>\n' -}}
        {%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<|assistant|>\n' -}}
        {%- else -%}
        {{- eos_token -}}
        {%- endif -%}
        """;

    /// <summary>
    /// Gemma 2 / 3: BOS, then <c>&lt;start_of_turn&gt;user|model\ncontent&lt;end_of_turn&gt;\n</c> with trimmed content; roles
    /// must alternate starting with the user; a leading system message is prefixed to the first user turn (as Gemma 3 does).
    /// </summary>
    public const string Gemma = Common + """
        {{- bos_token -}}
        {%- if messages and messages[0]['role'] == 'system' -%}
        {%- set first_user_prefix = text_of(messages[0]) + '\n\n' -%}
        {%- set loop_messages = messages[1:] -%}
        {%- else -%}
        {%- set first_user_prefix = '' -%}
        {%- set loop_messages = messages -%}
        {%- endif -%}
        {%- for message in loop_messages -%}
        {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') -}}
        {%- endif -%}
        {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
        {{- '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + text_of(message) | trim + '<end_of_turn>\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
        {{- '<start_of_turn>model\n' -}}
        {%- endif -%}
        """;

    public static readonly IReadOnlyDictionary<string, string> ByName = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["chatml"] = ChatML,
        ["llama3"] = Llama3,
        ["phi3"] = Phi3,
        ["gemma"] = Gemma,
    };
}
