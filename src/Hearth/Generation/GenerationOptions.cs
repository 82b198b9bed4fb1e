using Hearth.Sampling;

namespace Hearth.Generation;

/// <summary>What one generation call may do and when it stops.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate; −1 runs until an end token, a stop string or the end of the context.</summary>
    public int MaxTokens { get; init; } = 256;

    /// <summary>Texts that end generation; the stop text itself is not returned.</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    public SamplerOptions Sampling { get; init; } = new();

    /// <summary>Add BOS/EOS to the prompt as the model's metadata asks.</summary>
    public bool AddSpecialTokens { get; init; } = true;

    /// <summary>Recognise special-token text (such as <c>&lt;|im_start|&gt;</c>) in the prompt.</summary>
    public bool ParseSpecialTokens { get; init; } = true;

    /// <summary>
    /// A fresh constraint for this generation (grammar, schema, choices); null generates freely. The output is complete
    /// only if the constraint is satisfied when generation ends; otherwise the finish reason is
    /// <see cref="FinishReason.Truncated"/>.
    /// </summary>
    public ITokenConstraint? Constraint { get; init; }

    /// <summary>Keep going past end-of-generation tokens (for benchmarks).</summary>
    public bool IgnoreEndOfGeneration { get; init; }

    /// <exception cref="ArgumentOutOfRangeException">A value is outside its meaningful range.</exception>
    public void Validate()
    {
        if (MaxTokens < -1) throw new ArgumentOutOfRangeException(nameof(MaxTokens), $"max tokens {MaxTokens} must be ≥ −1");
        if (Stop.Any(string.IsNullOrEmpty)) throw new ArgumentException("a stop string is empty", nameof(Stop));
        Sampling.Validate();
    }
}

/// <summary>Why generation ended.</summary>
public enum FinishReason
{
    /// <summary>Not finished yet.</summary>
    None,

    /// <summary>The model produced an end-of-generation token.</summary>
    EndOfGeneration,

    /// <summary>A stop string appeared.</summary>
    Stop,

    /// <summary>The token limit was reached.</summary>
    Length,

    /// <summary>The context is full.</summary>
    ContextFull,

    /// <summary>The caller cancelled.</summary>
    Cancelled,

    /// <summary>Generation ended (token limit or context) before the constraint was satisfied: the output is incomplete.</summary>
    Truncated,
}

/// <summary>Counts and timings of one generation.</summary>
public sealed record GenerationStats
{
    /// <summary>Tokens of the prompt, the reused ones included.</summary>
    public int PromptTokens { get; init; }

    /// <summary>Prompt tokens whose keys and values were already in the state (prompt caching, see
    /// <see cref="TextGenerator.ReusePrefix"/>) and so were not processed again.</summary>
    public int ReusedPromptTokens { get; init; }

    public int GeneratedTokens { get; init; }

    public TimeSpan PromptTime { get; init; }

    public TimeSpan GenerationTime { get; init; }

    /// <summary>Time to first token: from the start of the prompt pass until the first token was sampled (zero until then).</summary>
    public TimeSpan FirstTokenTime { get; init; }

    public FinishReason FinishReason { get; init; }

    /// <summary>Prompt processing speed: the tokens actually processed (not the reused ones) per second.</summary>
    public double PromptTokensPerSecond => PromptTime > TimeSpan.Zero ? (PromptTokens - ReusedPromptTokens) / PromptTime.TotalSeconds : 0;

    /// <summary>Generation speed; the first token comes from the prompt pass, so it counts the tokens after it.</summary>
    public double GeneratedTokensPerSecond => GenerationTime > TimeSpan.Zero ? Math.Max(GeneratedTokens - 1, 0) / GenerationTime.TotalSeconds : 0;
}
