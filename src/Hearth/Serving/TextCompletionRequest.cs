using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Serving;

/// <summary>What the text of a completion must be.</summary>
public enum TextCompletionFormat
{
    /// <summary>Free text.</summary>
    Text,

    /// <summary>Any JSON object.</summary>
    JsonObject,

    /// <summary>A JSON text valid under <see cref="TextCompletionRequest.JsonSchema"/>.</summary>
    JsonSchema,
}

/// <summary>
/// A text completion: a raw prompt (no chat template) that the model continues. <see cref="Prepare"/> tokenizes it,
/// applies the server's <see cref="RequestLimits"/> and builds the <see cref="SequenceRequest"/>, with a grammar when
/// the output must be JSON. Everything that can be refused is refused there, before any token is generated.
/// </summary>
public sealed record TextCompletionRequest
{
    /// <summary>The text to continue; must not be empty.</summary>
    public required string Prompt { get; init; }

    /// <summary>Most tokens to generate; −1 takes the limit's <see cref="RequestLimits.MaxTokens"/>.</summary>
    public int MaxTokens { get; init; } = -1;

    /// <summary>Positions prompt and output may fill; 0 takes the limit's <see cref="RequestLimits.Context"/>.</summary>
    public int Context { get; init; }

    /// <summary>Texts that end generation; the stop text itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    public SamplerOptions Sampling { get; init; } = new();

    public TextCompletionFormat Format { get; init; }

    /// <summary>The schema of <see cref="TextCompletionFormat.JsonSchema"/>.</summary>
    public JsonNode? JsonSchema { get; init; }

    /// <summary>Add BOS/EOS as the model's metadata asks.</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Recognise special-token text (such as <c>&lt;|im_start|&gt;</c>) in the prompt.</summary>
    public bool ParseSpecialTokens { get; init; } = true;

    /// <summary>The sequence request for <paramref name="model"/> under <paramref name="limits"/>.</summary>
    /// <exception cref="ArgumentException">The prompt is empty or has no tokens, a stop string is empty, a sampler
    /// setting or token count is out of range, or <see cref="TextCompletionFormat.JsonSchema"/> has no schema.</exception>
    /// <exception cref="PromptTooLongException">The prompt has more tokens than the limits allow.</exception>
    /// <exception cref="ContextOverflowException">The prompt fills the context.</exception>
    /// <exception cref="JsonSchemaException">The schema cannot be enforced (malformed, unsupported, or admits nothing).</exception>
    public SequenceRequest Prepare(LanguageModel model, RequestLimits limits)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(limits);
        if (string.IsNullOrEmpty(Prompt)) throw new ArgumentException("the prompt is empty", nameof(Prompt));
        var tokens = model.Tokenizer.Encode(Prompt, AddSpecialTokens, ParseSpecialTokens);
        if (tokens.Length == 0) throw new ArgumentException("the prompt has no tokens", nameof(Prompt));
        var (maxTokens, context) = limits.Resolve(tokens.Length, MaxTokens, Context);
        var grammar = Format switch
        {
            TextCompletionFormat.Text => null,
            TextCompletionFormat.JsonObject => JsonSchemaGrammar.AnyJsonObject,
            TextCompletionFormat.JsonSchema => JsonSchemaGrammar.FromSchema(JsonSchema ?? throw new ArgumentException("the JSON schema format needs a schema", nameof(JsonSchema))),
            _ => throw new ArgumentOutOfRangeException(nameof(Format), $"unknown format {Format}"),
        };
        var options = new GenerationOptions
        {
            MaxTokens = maxTokens,
            Stop = Stop,
            Sampling = Sampling,
            AddSpecialTokens = AddSpecialTokens,
            ParseSpecialTokens = ParseSpecialTokens,
            Constraint = grammar == null ? null : new GrammarConstraint(grammar, model.TokenVocabulary),
        };
        options.Validate();
        return new SequenceRequest { Prompt = tokens, Options = options, Context = context };
    }
}
