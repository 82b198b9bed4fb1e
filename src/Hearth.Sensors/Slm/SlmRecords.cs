using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Slm;

/// <summary>Turns check results into the store's records.</summary>
public static class SlmRecords
{
    /// <summary>The store record of one check's result: keyed <c>{readingKey}/{check name}</c>, so the same check on the
    /// same payload is stored once.</summary>
    /// <param name="result">The check's result.</param>
    /// <param name="readingKey">The key of the payload that triggered it (see <see cref="ReadingKeys"/>).</param>
    /// <param name="check">The check.</param>
    /// <param name="input">The rendered prompt the check was given.</param>
    /// <param name="decidedAt">When the check finished (wall clock).</param>
    public static ModelDecisionRecord ToRecord(this SlmCheckResult result, string readingKey, SlmCheckSpec check, string input, DateTimeOffset decidedAt)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(readingKey);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(input);
        return new ModelDecisionRecord(PendingCheck.KeyFor(readingKey, check.Name), readingKey, check.Name, check.Model, input, result.Label, result.ModelOutput,
            result.Latency, result.TimedOut, decidedAt);
    }
}
