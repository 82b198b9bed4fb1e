using Hearth.Chat.Templates;
using Hearth.Gguf;

namespace Hearth.Chat;

/// <summary>
/// A parsed chat template: the Jinja program a model ships (in its GGUF's <c>tokenizer.chat_template</c>) that turns a
/// conversation into prompt text. Rendering follows Python's Jinja2 as chat tooling configures it: <c>trim_blocks</c>
/// and <c>lstrip_blocks</c> on, <c>break</c>/<c>continue</c> enabled, Jinja2's default <c>Undefined</c>,
/// <c>raise_exception(message)</c>, <c>strftime_now(format)</c>, and a <c>tojson</c> that keeps key order and non-ASCII text.
/// A construct outside the supported subset is an error naming it and its line, never silently different text.
/// A template is immutable and may be rendered concurrently.
/// </summary>
public sealed class ChatTemplate
{
    private readonly List<Stmt> _body;

    private ChatTemplate(string source, List<Stmt> body, string name, string bosToken, string eosToken)
    {
        Source = source;
        _body = body;
        Name = name;
        BosToken = bosToken;
        EosToken = eosToken;
    }

    /// <summary>The Jinja source.</summary>
    public string Source { get; }

    /// <summary>Where the template came from: a built-in name (<c>chatml</c>, <c>llama3</c>, <c>phi3</c>, <c>gemma</c>), <c>tokenizer.chat_template</c>, or <c>custom</c>.</summary>
    public string Name { get; }

    /// <summary>The <c>bos_token</c> a render uses when the input gives none ("" unless set by <see cref="ForModel"/> or <see cref="WithTokens"/>).</summary>
    public string BosToken { get; }

    /// <summary>The <c>eos_token</c> a render uses when the input gives none.</summary>
    public string EosToken { get; }

    /// <summary>The names of the built-in templates, for <see cref="BuiltIn"/>.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = ["chatml", "llama3", "phi3", "gemma"];

    /// <summary>Parses template source.</summary>
    /// <exception cref="TemplateSyntaxException">The text is not valid Jinja, or uses an unknown or unsupported tag, filter or test; the message names the line.</exception>
    public static ChatTemplate Parse(string source) => Parse(source, "custom");

    private static ChatTemplate Parse(string source, string name)
    {
        ArgumentNullException.ThrowIfNull(source);
        List<Stmt> body;
        try
        {
            body = Parser.Parse(source);
        }
        catch (PyException e)
        {
            throw new TemplateSyntaxException(0, e.Message);
        }

        return new ChatTemplate(source, body, name, "", "");
    }

    /// <summary>The same template with different default BOS and EOS token texts.</summary>
    public ChatTemplate WithTokens(string bosToken, string eosToken) =>
        new(Source, _body, Name, bosToken ?? throw new ArgumentNullException(nameof(bosToken)), eosToken ?? throw new ArgumentNullException(nameof(eosToken)));

    /// <summary>A built-in template by name (case-insensitive): <c>chatml</c>, <c>llama3</c>, <c>phi3</c> or <c>gemma</c>.</summary>
    /// <exception cref="ArgumentException">No built-in template has that name.</exception>
    public static ChatTemplate BuiltIn(string name)
    {
        if (!BuiltInChatTemplates.ByName.TryGetValue(name, out var source))
            throw new ArgumentException($"no built-in chat template '{name}'; there are {string.Join(", ", BuiltInNames)}", nameof(name));
        return Parse(source, name.ToLowerInvariant());
    }

    /// <summary>
    /// The chat template of a model: its <c>tokenizer.chat_template</c> (or the named variant
    /// <c>tokenizer.chat_template.{variant}</c>, such as <c>tool_use</c>), or when it has none a built-in chosen by
    /// architecture (llama → Llama 3 if the vocabulary has <c>&lt;|start_header_id|&gt;</c>, else ChatML; phi3 → Phi-3;
    /// gemma, gemma2, gemma3 → Gemma; anything else, Qwen included → ChatML). The BOS and EOS token texts come from
    /// <c>tokenizer.ggml.tokens</c> at <c>tokenizer.ggml.bos_token_id</c> / <c>eos_token_id</c> ("" when absent).
    /// </summary>
    /// <exception cref="TemplateSyntaxException">The model's template is outside the supported Jinja subset.</exception>
    /// <exception cref="ModelFormatException">The tokenizer metadata is malformed (a token id outside the vocabulary).</exception>
    /// <exception cref="ArgumentException">A named <paramref name="variant"/> is not in the file.</exception>
    public static ChatTemplate ForModel(GgufFile gguf, string? variant = null)
    {
        ArgumentNullException.ThrowIfNull(gguf);
        var tokens = gguf.GetArray<string>("tokenizer.ggml.tokens");
        string bos = TokenText(gguf, "tokenizer.ggml.bos_token_id", tokens);
        string eos = TokenText(gguf, "tokenizer.ggml.eos_token_id", tokens);
        string key = variant == null ? "tokenizer.chat_template" : $"tokenizer.chat_template.{variant}";
        var source = gguf.GetString(key);
        if (source == null && variant != null) throw new ArgumentException($"{gguf.Path}: the model has no '{key}'", nameof(variant));
        var template = source != null
            ? Parse(source, key)
            : BuiltIn(FallbackName(gguf.GetString("general.architecture"), tokens));
        return template.WithTokens(bos, eos);
    }

    /// <summary>The built-in template for a model without its own, by architecture and vocabulary.</summary>
    internal static string FallbackName(string? architecture, IReadOnlyList<string>? vocabulary) => architecture switch
    {
        "llama" => vocabulary != null && vocabulary.Contains("<|start_header_id|>") ? "llama3" : "chatml",
        "phi3" => "phi3",
        "gemma" or "gemma2" or "gemma3" => "gemma",
        _ => "chatml",
    };

    private static string TokenText(GgufFile gguf, string key, string[]? tokens)
    {
        var id = gguf.GetInteger(key);
        if (id == null || tokens == null) return "";
        if (id < 0 || id >= tokens.Length) throw new ModelFormatException($"{gguf.Path}: {key} = {id} is outside the vocabulary of {tokens.Length} tokens");
        return tokens[(int)id];
    }

    /// <summary>Renders the conversation to prompt text.</summary>
    /// <exception cref="TemplateRaisedException">The template refused the input with <c>raise_exception</c>; the message is the template's.</exception>
    /// <exception cref="TemplateException">Rendering failed (a type error, an undefined value used, an unsupported method); the message names the line.</exception>
    /// <exception cref="ChatInputException">The input JSON is nested too deeply.</exception>
    /// <exception cref="ArgumentException">A reserved name was given in <see cref="ChatTemplateInput.Variables"/>.</exception>
    public string Render(ChatTemplateInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var variables = new List<KeyValuePair<string, object?>>();
        try
        {
            variables.Add(new("messages", PyJson.FromNode(input.Messages)));
            if (input.Tools != null) variables.Add(new("tools", PyJson.FromNode(input.Tools)));
            variables.Add(new("add_generation_prompt", input.AddGenerationPrompt));
            variables.Add(new("bos_token", input.BosToken ?? BosToken));
            variables.Add(new("eos_token", input.EosToken ?? EosToken));
            if (input.Variables != null)
            {
                foreach (var (name, value) in input.Variables)
                {
                    ChatTemplateInput.CheckVariableName(name);
                    variables.Add(new(name, PyJson.FromNode(value)));
                }
            }
        }
        catch (ArgumentException e) when (e.ParamName == null)
        {
            throw new ChatInputException(e.Message);
        }

        try
        {
            return Renderer.Render(_body, variables, input.Now ?? DateTime.Now);
        }
        catch (PyException e)
        {
            throw new TemplateException(0, e.Message);
        }
    }
}
