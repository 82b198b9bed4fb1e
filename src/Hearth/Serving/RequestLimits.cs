using Hearth.Models;

namespace Hearth.Serving;

/// <summary>
/// A field of a request is invalid. <see cref="Parameter"/> names the field as the wire spells it (such as
/// <c>max_tokens</c> or <c>num_predict</c>), so a server can report it back.
/// </summary>
public sealed class InvalidRequestException(string parameter, string message) : HearthException(message)
{
    /// <summary>The offending field, as the request spells it.</summary>
    public string Parameter { get; } = parameter;
}

/// <summary>
/// The most a single request may ask of a server: prompt tokens, generated tokens, and (for <see cref="Resolve"/>) the
/// largest context.
/// </summary>
public sealed record RequestLimits
{
    /// <summary>Most prompt tokens a request may have.</summary>
    public int MaxPromptTokens { get; init; } = 32768;

    /// <summary>Most tokens a request may generate, and the number it gets when it names none.</summary>
    public int MaxTokens { get; init; } = 4096;

    /// <summary>Largest context (prompt + output) of one request, usually the scheduler's; 0 when not known.</summary>
    public int Context { get; init; }

    /// <summary>The token limit of a request: <paramref name="requested"/>, or <see cref="MaxTokens"/> when it is null.</summary>
    /// <param name="requested">What the request asked for; null when it did not say.</param>
    /// <param name="parameter">The field's name on the wire, for the error.</param>
    /// <exception cref="InvalidRequestException">The value is below 1 or above <see cref="MaxTokens"/>.</exception>
    public int ResolveMaxTokens(long? requested, string parameter)
    {
        if (requested is not long n) return MaxTokens;
        if (n < 1) throw new InvalidRequestException(parameter, $"{parameter} must be at least 1 (got {n})");
        if (n > MaxTokens) throw new InvalidRequestException(parameter, $"{parameter} {n} is above this server's limit of {MaxTokens}");
        return (int)n;
    }

    /// <summary>Checks the length of a tokenized prompt.</summary>
    /// <exception cref="InvalidRequestException">The prompt has more than <see cref="MaxPromptTokens"/> tokens.</exception>
    public void CheckPromptTokens(int tokens, string parameter)
    {
        if (tokens > MaxPromptTokens)
            throw new InvalidRequestException(parameter, $"the prompt ({parameter}) has {tokens} tokens, above this server's limit of {MaxPromptTokens}");
    }

    /// <summary>
    /// The token budget of a request with <paramref name="promptTokens"/> prompt tokens, for APIs that cap instead of
    /// refusing (Ollama's <c>num_predict</c>, <c>num_ctx</c>). <paramref name="maxTokens"/> −1 asks for as many as
    /// allowed, a positive number for at most that many (capped at <see cref="MaxTokens"/>); <paramref name="context"/>
    /// 0 asks for the whole <see cref="Context"/>, a positive number for at most that.
    /// </summary>
    /// <returns>The tokens the request may generate and the positions it may fill.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A limit is out of range, or <paramref name="maxTokens"/> is 0 or
    /// below −1, or <paramref name="context"/> is negative.</exception>
    /// <exception cref="InvalidRequestException">The prompt has more than <see cref="MaxPromptTokens"/> tokens.</exception>
    /// <exception cref="ContextOverflowException">The prompt leaves no room in the context for a single output token.</exception>
    public (int MaxTokens, int Context) Resolve(int promptTokens, int maxTokens = -1, int context = 0, string parameter = "prompt")
    {
        if (MaxPromptTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxPromptTokens), $"the prompt limit {MaxPromptTokens} must be ≥ 1");
        if (MaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(MaxTokens), $"the output limit {MaxTokens} must be ≥ 1");
        if (Context < 2) throw new ArgumentOutOfRangeException(nameof(Context), $"the context limit {Context} must be ≥ 2");
        ArgumentOutOfRangeException.ThrowIfNegative(promptTokens);
        if (maxTokens == 0 || maxTokens < -1) throw new ArgumentOutOfRangeException(nameof(maxTokens), $"the token limit {maxTokens} must be positive (or −1 for the server's limit)");
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), $"the context {context} must be positive (or 0 for the server's)");
        CheckPromptTokens(promptTokens, parameter);
        int ctx = context > 0 ? Math.Min(context, Context) : Context;
        if (promptTokens >= ctx) throw new ContextOverflowException(0, promptTokens, ctx);
        int max = maxTokens > 0 ? Math.Min(maxTokens, MaxTokens) : MaxTokens;
        return (max, ctx);
    }
}
