namespace Hearth.Sensors.Slm;

/// <summary>
/// Runs a policy's small-language-model checks. The answer is always one of the check's labels: decoding is constrained
/// to them, and a check that runs past its latency budget (or fails) returns its fail-safe label.
/// </summary>
public interface ISlmClassifier
{
    /// <summary>Runs one check on a rendered input text. Never throws for a slow or failing model: that gives the
    /// fail-safe label with <see cref="SlmCheckResult.TimedOut"/> set. Throws only when <paramref name="cancel"/> fires.</summary>
    Task<SlmCheckResult> ClassifyAsync(SlmCheckSpec check, string input, CancellationToken cancel);
}

/// <summary>The outcome of one check.</summary>
/// <param name="Label">One of the check's labels.</param>
/// <param name="Explanation">A short plain-words explanation, when the check asks for one and there was time; else null.</param>
/// <param name="ModelOutput">The raw text the model produced (empty on timeout).</param>
/// <param name="Latency">How long the check took.</param>
/// <param name="TimedOut">True when the fail-safe label was used.</param>
public sealed record SlmCheckResult(string Label, string? Explanation, string ModelOutput, TimeSpan Latency, bool TimedOut);
