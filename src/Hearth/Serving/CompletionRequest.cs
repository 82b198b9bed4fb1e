using System.Text.Json.Nodes;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Sampling;

namespace Hearth.Serving;

/// <summary>How the fields of a completion request are spelled on the wire, so errors can name them.</summary>
public sealed record CompletionFields
{
    /// <summary>OpenAI's <c>/v1/completions</c> names.</summary>
    public static CompletionFields OpenAI { get; } = new();

    /// <summary>Ollama's <c>/api/generate</c> names.</summary>
    public static CompletionFields Ollama { get; } = new()
    {
        MaxTokens = "num_predict",
        Stop = "stop",
        Format = "format",
        Temperature = "temperature",
        TopP = "top_p",
        TopLogprobs = "top_logprobs",
    };

    public string Prompt { get; init; } = "prompt";

    public string MaxTokens { get; init; } = "max_tokens";

    public string Stop { get; init; } = "stop";

    public string Format { get; init; } = "response_format";

    public string Temperature { get; init; } = "temperature";

    public string TopP { get; init; } = "top_p";

    public string TopK { get; init; } = "top_k";

    public string MinP { get; init; } = "min_p";

    public string RepeatPenalty { get; init; } = "repeat_penalty";

    public string RepeatLastN { get; init; } = "repeat_last_n";

    public string TopLogprobs { get; init; } = "logprobs";
}

/// <summary>
/// A raw-prompt completion (OpenAI's <c>/v1/completions</c>, Ollama's <c>/api/generate</c> with <c>raw</c>): the prompt
/// is tokenized as it is, with no chat template. <see cref="Prepare"/> turns it into a <see cref="SequenceRequest"/>
/// for a <see cref="SequenceScheduler"/>, refusing anything invalid before a token is generated.
/// </summary>
public sealed record CompletionRequest
{
    /// <summary>The prompt text; give it or <see cref="PromptTokens"/>.</summary>
    public string? Prompt { get; init; }

    /// <summary>The prompt as token ids (used as they are: no BOS is added).</summary>
    public IReadOnlyList<int>? PromptTokens { get; init; }

    /// <summary>Add BOS (and EOS) to <see cref="Prompt"/> as the model's metadata asks.</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Recognise control-token text (such as <c>&lt;|im_start|&gt;</c>) in <see cref="Prompt"/>.</summary>
    public bool ParseSpecialTokens { get; init; }

    /// <summary>Most tokens to generate; null gives the limits' default. Checked against <see cref="RequestLimits.MaxTokens"/>.</summary>
    public long? MaxTokens { get; init; }

    public SamplerOptions Sampling { get; init; } = new();

    /// <summary>Texts that end generation (not included in the output).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Report the log-probability of each token.</summary>
    public bool Logprobs { get; init; }

    /// <summary>Also report this many alternatives per token (0..20).</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Constrain the output to JSON valid against this JSON Schema.</summary>
    public JsonNode? JsonSchema { get; init; }

    /// <summary>Constrain the output to a JSON object (any); ignored when <see cref="JsonSchema"/> is given.</summary>
    public bool JsonObject { get; init; }

    /// <summary>The wire names of the fields, for errors.</summary>
    public CompletionFields Fields { get; init; } = CompletionFields.OpenAI;

    /// <summary>
    /// Tokenizes the prompt, checks it and the options against <paramref name="limits"/> and the model, and compiles any
    /// JSON constraint. The request's context is the prompt plus its token limit, at most <paramref name="context"/>.
    /// </summary>
    /// <exception cref="InvalidRequestException">A field is invalid or over a limit; the exception names it.</exception>
    /// <exception cref="ContextOverflowException">The prompt alone fills <paramref name="context"/>.</exception>
    public SequenceRequest Prepare(LanguageModel model, int context, RequestLimits limits)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(limits);
        int[] prompt;
        if (PromptTokens != null)
        {
            if (Prompt != null) throw new InvalidRequestException(Fields.Prompt, "give the prompt as text or as tokens, not both");
            prompt = [.. PromptTokens];
            int vocab = model.Transformer.VocabSize;
            foreach (var t in prompt)
            {
                if ((uint)t >= (uint)vocab) throw new InvalidRequestException(Fields.Prompt, $"token id {t} is outside the model's vocabulary (0..{vocab - 1})");
            }
        }
        else
        {
            if (Prompt == null) throw new InvalidRequestException(Fields.Prompt, $"{Fields.Prompt} is required");
            prompt = model.Tokenizer.Encode(Prompt, AddSpecialTokens, ParseSpecialTokens);
        }

        if (prompt.Length == 0) throw new InvalidRequestException(Fields.Prompt, $"{Fields.Prompt} is empty (it has no tokens)");
        limits.CheckPromptTokens(prompt.Length, Fields.Prompt);
        int maxTokens = limits.ResolveMaxTokens(MaxTokens, Fields.MaxTokens);
        if (Stop.Any(string.IsNullOrEmpty)) throw new InvalidRequestException(Fields.Stop, $"{Fields.Stop}: a stop string is empty");
        if (TopLogprobs is < 0 or > 20) throw new InvalidRequestException(Fields.TopLogprobs, $"{Fields.TopLogprobs} {TopLogprobs} must be within 0..20");
        try
        {
            Sampling.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new InvalidRequestException(SamplingField(e.ParamName), e.Message.Split(" (Parameter", 2)[0]);
        }

        if (context <= 0) context = model.Context;
        int sequenceContext = (int)Math.Min(context, (long)prompt.Length + maxTokens);
        if (prompt.Length >= sequenceContext) throw new ContextOverflowException(0, prompt.Length, context);

        ITokenConstraint? constraint = null;
        if (JsonSchema != null || JsonObject)
        {
            try
            {
                var grammar = JsonSchema != null ? JsonSchemaGrammar.FromSchema(JsonSchema) : JsonSchemaGrammar.AnyJsonObject;
                constraint = new GrammarConstraint(grammar, model.TokenVocabulary);
            }
            catch (GrammarException e)
            {
                throw new InvalidRequestException(Fields.Format, $"{Fields.Format}: the JSON schema cannot be used: {e.Message}");
            }
        }

        return new SequenceRequest
        {
            Prompt = prompt,
            Context = sequenceContext,
            Logprobs = Logprobs || TopLogprobs > 0,
            TopLogprobs = TopLogprobs,
            Options = new GenerationOptions
            {
                MaxTokens = maxTokens,
                Stop = [.. Stop],
                Sampling = Sampling,
                Constraint = constraint,
            },
        };
    }

    /// <summary>Prepares the request and submits it to <paramref name="scheduler"/> (whose context bounds it).</summary>
    /// <exception cref="InvalidRequestException">A field is invalid or over a limit.</exception>
    /// <exception cref="ContextOverflowException">The prompt alone fills the context.</exception>
    /// <exception cref="SchedulerBusyException">The scheduler's queue is full.</exception>
    public SequenceHandle Submit(SequenceScheduler scheduler, RequestLimits limits, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(scheduler);
        return scheduler.Submit(Prepare(scheduler.Model, scheduler.Context, limits), cancellation);
    }

    private string SamplingField(string? name) => name switch
    {
        nameof(SamplerOptions.Temperature) => Fields.Temperature,
        nameof(SamplerOptions.TopP) => Fields.TopP,
        nameof(SamplerOptions.TopK) => Fields.TopK,
        nameof(SamplerOptions.MinP) => Fields.MinP,
        nameof(SamplerOptions.RepeatPenalty) => Fields.RepeatPenalty,
        nameof(SamplerOptions.PenaltyLastN) => Fields.RepeatLastN,
        _ => name ?? "options",
    };
}
