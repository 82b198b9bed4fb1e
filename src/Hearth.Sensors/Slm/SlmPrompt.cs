using System.Text.Json.Nodes;
using Hearth.Chat;
using Hearth.Grammar;
using Hearth.Models;

namespace Hearth.Sensors.Slm;

/// <summary>
/// The text a model is given for a check. With a chat template (the model's own <c>tokenizer.chat_template</c>): one
/// user turn holding the input and the label instruction, then the assistant's turn, which must be exactly a label. Without
/// one (a base model): the same text followed by <c>Answer:</c>, and the label comes after a space, as a base model would
/// continue such a line.
/// </summary>
internal sealed class SlmPrompt
{
    /// <summary>What a base model's explanation follows, after its label.</summary>
    public const string RawReasonCue = "\nReason:";

    /// <summary>The user's turn that asks a chat model for its explanation.</summary>
    public const string ChatReasonRequest = "Why? Explain in one or two short sentences of plain words.";

    private readonly ChatTemplate? _template;
    private readonly string _instruction;

    private SlmPrompt(ChatTemplate? template, SlmCheckSpec check, string input)
    {
        _template = template;
        _instruction = Instruction(check, input);
        Prefix = template == null ? " " : "";
        Choices = new ChoiceSet(check.Labels.Select(l => Prefix + l).ToArray());
        LabelPrompt = template == null ? _instruction + "\nAnswer:" : Render([("user", _instruction)]);
    }

    /// <summary>The text before the label.</summary>
    public string LabelPrompt { get; }

    /// <summary>What the generated label text starts with before the label itself (a space for base models).</summary>
    public string Prefix { get; }

    /// <summary>The allowed label texts, each with <see cref="Prefix"/>, in the check's label order.</summary>
    public ChoiceSet Choices { get; }

    /// <summary>The one allowed label text that starts with <paramref name="text"/>, or null while several do (or none).
    /// Once only one is left the grammar forces the rest of it, so decoding can stop there.</summary>
    public string? Determined(string text)
    {
        string? only = null;
        foreach (var choice in Choices.Choices)
        {
            if (!choice.StartsWith(text, StringComparison.Ordinal)) continue;
            if (only != null) return null;
            only = choice;
        }

        return only;
    }

    /// <summary>True when the prompt went through a chat template.</summary>
    public bool Chat => _template != null;

    /// <summary>Builds the prompt for a check on a model (<paramref name="template"/> null for a base model).</summary>
    public static SlmPrompt For(ChatTemplate? template, SlmCheckSpec check, string input) => new(template, check, input);

    /// <summary>The prompt of the check's constant part: its prompt template's text before the first placeholder stands in
    /// for the input. Every prompt rendered from the template starts with the same text up to where the first placeholder's
    /// value goes, so its tokens share a prefix with this prompt's (all but the boundary tokens, where tokenization may
    /// differ).</summary>
    public static SlmPrompt ForHead(ChatTemplate? template, SlmCheckSpec check) =>
        new(template, check, SlmPromptTemplate.TryParse(check.Prompt, out _, out _)?.Head ?? "");

    /// <summary>The chat template a check uses on a model: its own, or null when it ships none (then the prompt is raw).</summary>
    /// <exception cref="TemplateSyntaxException">The model's template is outside the supported Jinja subset.</exception>
    public static ChatTemplate? TemplateOf(LanguageModel model) =>
        model.File.GetString("tokenizer.chat_template") != null ? ChatTemplate.ForModel(model.File) : null;

    /// <summary>The instruction: the input, then the labels to choose from.</summary>
    public static string Instruction(SlmCheckSpec check, string input) =>
        input.TrimEnd() + "\n\nAnswer with exactly one of these labels: " + string.Join(" / ", check.Labels) + ".";

    /// <summary>The text before the explanation, given the label text the model produced (with its prefix).</summary>
    public string ExplanationPrompt(string labelOutput) => _template == null
        ? LabelPrompt + labelOutput + RawReasonCue
        : Render([("user", _instruction), ("assistant", labelOutput), ("user", ChatReasonRequest)]);

    /// <summary>Where a base model's explanation ends: the end of its line. A chat model ends its turn itself.</summary>
    public IReadOnlyList<string> ExplanationStop => _template == null ? ["\n"] : [];

    /// <summary>The tokens of <see cref="LabelPrompt"/> (see <see cref="Encode"/>).</summary>
    public int[] LabelTokens(LanguageModel model) => Encode(model, LabelPrompt);

    /// <summary>The prompt's tokens. Raw prompts get the model's BOS/EOS as its metadata asks and never parse special-token
    /// text; rendered chat prompts parse the template's special tokens and get BOS only when the model wants one and the
    /// template did not print it.</summary>
    public int[] Encode(LanguageModel model, string text)
    {
        var tokenizer = model.Tokenizer;
        if (_template == null) return tokenizer.Encode(text, addSpecial: true, parseSpecial: false);
        var tokens = tokenizer.Encode(text, addSpecial: false, parseSpecial: true);
        if (tokenizer.AddBos && tokenizer.BosId is int bos && (tokens.Length == 0 || tokens[0] != bos)) tokens = [bos, .. tokens];
        return tokens;
    }

    private string Render((string Role, string Content)[] turns)
    {
        var messages = new JsonArray();
        foreach (var (role, content) in turns) messages.Add(new JsonObject { ["role"] = role, ["content"] = content });
        // A fixed date: templates that print today's date would otherwise make the prompt depend on the wall clock.
        return _template!.Render(new ChatTemplateInput { Messages = messages, AddGenerationPrompt = true, Now = new DateTime(2026, 1, 1) });
    }
}
