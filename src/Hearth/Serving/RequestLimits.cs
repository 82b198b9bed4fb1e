using Hearth.Models;

namespace Hearth.Serving;

/// <summary>
/// What one request to a server may ask for: the longest prompt, the most tokens to generate, and the largest context.
/// <see cref="Resolve"/> turns what a request asked for into the budget it gets, refusing what does not fit.
/// </summary>
public sealed record RequestLimits
{
    /// <summary>Most prompt tokens a request may have (≥ 1).</summary>
    public int MaxPromptTokens { get; init; } = 32768;

    /// <summary>Most tokens a request may generate (≥ 1); also what a request that names no limit gets.</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Largest context (prompt + output) of one request, usually the scheduler's context (≥ 2).</summary>
    public required int Context { get; init; }

    /// <summary>
    /// The token budget of a request with <paramref name="promptTokens"/> prompt tokens. <paramref name="maxTokens"/>
    /// −1 asks for as many as allowed, a positive number for at most that many (capped at <see cref="MaxTokens"/>);
    /// <paramref name="context"/> 0 asks for the whole <see cref="Context"/>, a positive number for at most that.
    /// </summary>
    /// <returns>The tokens the request may generate and the positions it may fill.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range, or <paramref name="maxTokens"/> is 0 or
    /// below −1, or <paramref name="context"/> is negative.</exception>
    /// <exception cref="PromptTooLongException">The prompt has more than <see cref="MaxPromptTokens"/> tokens.</exception>
    /// <exception cref="ContextOverflowException">The prompt leaves no room in the context for a single output token.</exception>
    public (int MaxTokens, int Context) Resolve(int promptTokens, int maxTokens = -1, int context = 0)
    {
        if (MaxPromptTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxPromptTokens), $"the prompt limit {MaxPromptTokens} must be ≥ 1");
        if (MaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokens), $"the output limit {MaxTokens} must be ≥ 1");
        if (Context < 2) throw new ArgumentOutOfRangeException(nameof(Context), $"the context limit {Context} must be ≥ 2");
        ArgumentOutOfRangeException.ThrowIfNegative(promptTokens);
        if (maxTokens == 0 || maxTokens < -1) throw new ArgumentOutOfRangeException(nameof(maxTokens), $"the token limit {maxTokens} must be positive (or −1 for the server's limit)");
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), $"the context {context} must be positive (or 0 for the server's)");
        if (promptTokens > MaxPromptTokens) throw new PromptTooLongException(promptTokens, MaxPromptTokens);
        int ctx = context > 0 ? Math.Min(context, Context) : Context;
        if (promptTokens >= ctx) throw new ContextOverflowException(0, promptTokens, ctx);
        int max = maxTokens > 0 ? Math.Min(maxTokens, MaxTokens) : MaxTokens;
        return (max, ctx);
    }
}

/// <summary>A prompt has more tokens than the server accepts in one request.</summary>
public sealed class PromptTooLongException(int tokens, int limit)
    : HearthException($"the prompt has {tokens} tokens; at most {limit} are accepted")
{
    /// <summary>Tokens in the prompt.</summary>
    public int Tokens { get; } = tokens;

    /// <summary>The most a prompt may have.</summary>
    public int Limit { get; } = limit;
}
