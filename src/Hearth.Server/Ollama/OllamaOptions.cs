using Hearth.Sampling;

namespace Hearth.Server.Ollama;

/// <summary>
/// The <c>options</c> object of <c>/api/generate</c> and <c>/api/chat</c> mapped onto Hearth's sampler and limits.
/// Absent settings take <see cref="SamplerOptions"/>' defaults. Options Hearth has no use for (<c>num_gpu</c>,
/// <c>num_thread</c>, <c>mirostat</c>, ...) are ignored, as Ollama ignores options its runner does not know.
/// </summary>
internal sealed record OllamaOptions
{
    public const int MaxStopStrings = 16;

    public const int MaxStopLength = 512;

    public SamplerOptions Sampling { get; init; } = new();

    /// <summary>Most tokens to generate; −1 is the server's limit.</summary>
    public int MaxTokens { get; init; } = -1;

    /// <summary>Positions the request may fill; 0 is the server's context.</summary>
    public int Context { get; init; }

    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <exception cref="OllamaRequestException">An option has the wrong type or is out of range (the message names it).</exception>
    public static OllamaOptions Read(OllamaJson body)
    {
        if (body.Object("options") is not { } o) return new OllamaOptions();
        var defaults = new SamplerOptions();
        long? seed = o.Integer("seed", long.MinValue, long.MaxValue);
        // num_predict: −1 generates without a limit of its own and −2 until the context is full; both get the server's limit.
        long? predict = o.Integer("num_predict", -2, int.MaxValue);
        if (predict == 0) throw o.Bad("num_predict", "must be positive, or -1 for no limit");
        var sampling = new SamplerOptions
        {
            Temperature = (float)(o.Number("temperature", 0, 100) ?? defaults.Temperature),
            TopK = (int)(o.Integer("top_k", 0, int.MaxValue) ?? defaults.TopK),
            TopP = (float)(o.Number("top_p", 0, 1) ?? defaults.TopP),
            MinP = (float)(o.Number("min_p", 0, 1) ?? defaults.MinP),
            RepeatPenalty = (float)(o.Number("repeat_penalty", 1e-3, 100) ?? defaults.RepeatPenalty),
            PenaltyLastN = (int)(o.Integer("repeat_last_n", -1, int.MaxValue) ?? defaults.PenaltyLastN),
            PresencePenalty = (float)(o.Number("presence_penalty", -100, 100) ?? defaults.PresencePenalty),
            FrequencyPenalty = (float)(o.Number("frequency_penalty", -100, 100) ?? defaults.FrequencyPenalty),
            // Ollama's seed −1 (its default) means "random".
            Seed = seed is long s && s >= 0 ? (ulong)s : null,
        };
        return new OllamaOptions
        {
            Sampling = sampling,
            MaxTokens = predict is long p && p > 0 ? (int)p : -1,
            Context = (int)(o.Integer("num_ctx", 1, int.MaxValue) ?? 0),
            Stop = o.Strings("stop", MaxStopStrings, MaxStopLength, nonEmpty: true) ?? [],
        };
    }
}
