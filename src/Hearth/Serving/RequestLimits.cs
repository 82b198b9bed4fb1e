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

/// <summary>The most a single request may ask of a server: prompt tokens and generated tokens.</summary>
public sealed record RequestLimits
{
    /// <summary>Most prompt tokens a request may have.</summary>
    public int MaxPromptTokens { get; init; } = 32768;

    /// <summary>Most tokens a request may generate, and the number it gets when it names none.</summary>
    public int MaxTokens { get; init; } = 4096;

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
}
