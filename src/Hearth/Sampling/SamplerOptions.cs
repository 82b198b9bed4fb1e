namespace Hearth.Sampling;

/// <summary>
/// Settings of the sampler chain, applied in llama.cpp's order: penalties → top-k → top-p → min-p → temperature →
/// draw. A temperature of 0 or less means greedy (arg-max after penalties).
/// </summary>
public sealed record SamplerOptions
{
    public float Temperature { get; init; } = 0.8f;

    /// <summary>Keep the k most likely tokens; 0 or less keeps all.</summary>
    public int TopK { get; init; } = 40;

    /// <summary>Keep the smallest set whose probability reaches p; 1 keeps all.</summary>
    public float TopP { get; init; } = 0.95f;

    /// <summary>Drop tokens less likely than min_p × the most likely one; 0 keeps all.</summary>
    public float MinP { get; init; } = 0.05f;

    /// <summary>Divides positive logits (multiplies negative ones) of recently seen tokens; 1 disables.</summary>
    public float RepeatPenalty { get; init; } = 1f;

    /// <summary>Subtracted once from the logit of every recently seen token.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>Subtracted from a recently seen token's logit once per occurrence.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>How many recent tokens the penalties look at (0 disables them, −1 means the whole context).</summary>
    public int PenaltyLastN { get; init; } = 64;

    /// <summary>Seed of the random draw; null picks one from the clock. The same seed gives the same text.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Greedy decoding: always the most likely token.</summary>
    public static SamplerOptions Greedy { get; } = new() { Temperature = 0f, TopK = 1, TopP = 1f, MinP = 0f };

    /// <exception cref="ArgumentOutOfRangeException">A value is outside its meaningful range.</exception>
    public void Validate()
    {
        if (float.IsNaN(Temperature) || Temperature < 0) throw new ArgumentOutOfRangeException(nameof(Temperature), $"temperature {Temperature} must be ≥ 0");
        if (float.IsNaN(TopP) || TopP is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(TopP), $"top-p {TopP} must be in [0, 1]");
        if (float.IsNaN(MinP) || MinP is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MinP), $"min-p {MinP} must be in [0, 1]");
        if (float.IsNaN(RepeatPenalty) || RepeatPenalty <= 0) throw new ArgumentOutOfRangeException(nameof(RepeatPenalty), $"repeat penalty {RepeatPenalty} must be > 0");
        if (PenaltyLastN < -1) throw new ArgumentOutOfRangeException(nameof(PenaltyLastN), $"penalty window {PenaltyLastN} must be ≥ −1");
    }
}
