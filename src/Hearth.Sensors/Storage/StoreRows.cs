namespace Hearth.Sensors.Storage;

/// <summary>Row counts of the store's four tables (all rows, or the rows not yet synced).</summary>
public readonly record struct StoreCounts(long Readings, long Decisions, long Alerts, long Quarantine)
{
    /// <summary>The sum over the four tables.</summary>
    public long Total => Readings + Decisions + Alerts + Quarantine;

    /// <summary>Table-wise sum.</summary>
    public static StoreCounts operator +(StoreCounts a, StoreCounts b) =>
        new(a.Readings + b.Readings, a.Decisions + b.Decisions, a.Alerts + b.Alerts, a.Quarantine + b.Quarantine);

    /// <summary>Table-wise difference.</summary>
    public static StoreCounts operator -(StoreCounts a, StoreCounts b) =>
        new(a.Readings - b.Readings, a.Decisions - b.Decisions, a.Alerts - b.Alerts, a.Quarantine - b.Quarantine);
}

/// <summary>A position in each table's insertion order (its <c>seq</c>): the sync has sent every row at or before it.
/// Sequence numbers start at 1 and are never reused, even after retention deletes rows.</summary>
public readonly record struct SyncCursor(long Readings, long Decisions, long Alerts, long Quarantine);

/// <summary>Whether a decision came from the rules or from a small-language-model check.</summary>
public enum DecisionKind
{
    /// <summary>A rule decision (of a reading, or of a clock tick).</summary>
    Rule,
    /// <summary>A small-language-model check.</summary>
    Model,
}

/// <summary>A stored payload.</summary>
/// <param name="Seq">Insertion order.</param>
/// <param name="Key">The idempotency key.</param>
/// <param name="Source">Where it came from.</param>
/// <param name="ReceivedAt">When the monitor received it.</param>
/// <param name="Timestamp">The reading's own timestamp; null when it was quarantined.</param>
/// <param name="Payload">The payload text.</param>
public sealed record ReadingRow(long Seq, string Key, string Source, DateTimeOffset ReceivedAt, DateTimeOffset? Timestamp, string Payload);

/// <summary>A stored decision: a rule decision (its key is the reading's key, or the tick's key) or a model check's
/// result (its key is <see cref="ModelDecisionRecord.Key"/>).</summary>
/// <param name="Seq">Insertion order.</param>
/// <param name="Key">The idempotency key.</param>
/// <param name="ReadingKey">The payload it belongs to; null for a clock tick.</param>
/// <param name="Kind">Rule or model.</param>
/// <param name="Rule">The deciding rule (rule decisions; null for the default label).</param>
/// <param name="Check">The check's name (model decisions).</param>
/// <param name="Model">The model's name (model decisions).</param>
/// <param name="Label">The label decided.</param>
/// <param name="ActiveRulesJson">A JSON array of the rules active after the reading (rule decisions); null for model decisions.</param>
/// <param name="InputsJson">A JSON object: the signal values (rule decisions; a non-finite value is the string <c>"NaN"</c>,
/// <c>"Infinity"</c> or <c>"-Infinity"</c>), or <c>{"text": input}</c> (model decisions).</param>
/// <param name="LatencyMicroseconds">How long the evaluation or the check took.</param>
/// <param name="ModelOutput">What the model produced (model decisions); null for rule decisions.</param>
/// <param name="TimedOut">Whether the fail-safe label was used (model decisions); null for rule decisions.</param>
/// <param name="DecidedAt">The decision's timestamp (a reading's or tick's time; when a check finished).</param>
public sealed record DecisionRow(
    long Seq, string Key, string? ReadingKey, DecisionKind Kind, string? Rule, string? Check, string? Model, string Label, string? ActiveRulesJson,
    string InputsJson, double LatencyMicroseconds, string? ModelOutput, bool? TimedOut, DateTimeOffset DecidedAt);

/// <summary>A stored alert. Its key is the key of the decision that raised it (a decision raises at most one).</summary>
/// <param name="Seq">Insertion order.</param>
/// <param name="Key">The raising decision's key.</param>
/// <param name="From">The previous alerted label.</param>
/// <param name="To">The new label.</param>
/// <param name="Rule">The rule behind the new label; null for the default label.</param>
/// <param name="Severity"><c>info</c>, <c>warning</c> or <c>critical</c>.</param>
/// <param name="Since">When the new label was first decided.</param>
/// <param name="RaisedAt">When the alert was raised.</param>
/// <param name="SinksJson">A JSON array of sink names.</param>
public sealed record AlertRow(long Seq, string Key, string From, string To, string? Rule, string Severity, DateTimeOffset Since, DateTimeOffset RaisedAt, string SinksJson);

/// <summary>A stored quarantine. Its key is the payload's key.</summary>
/// <param name="Seq">Insertion order.</param>
/// <param name="Key">The payload's key.</param>
/// <param name="Position">The payload's position in its stream.</param>
/// <param name="Reason">The reason's snake_case name (see <see cref="MonitorFormat.Reason"/>).</param>
/// <param name="Detail">What exactly was wrong.</param>
/// <param name="Excerpt">The start of the payload.</param>
public sealed record QuarantineRow(long Seq, string Key, long Position, string Reason, string Detail, string Excerpt);

/// <summary>Rows read for one sync round, each table in insertion order, and the cursor that marks them all sent.</summary>
public sealed record StoreBatch(
    IReadOnlyList<ReadingRow> Readings, IReadOnlyList<DecisionRow> Decisions, IReadOnlyList<AlertRow> Alerts, IReadOnlyList<QuarantineRow> Quarantine,
    SyncCursor End)
{
    /// <summary>How many rows of each table the batch holds.</summary>
    public StoreCounts Counts => new(Readings.Count, Decisions.Count, Alerts.Count, Quarantine.Count);

    /// <summary>True when the batch holds no rows.</summary>
    public bool IsEmpty => Counts.Total == 0;
}

/// <summary>Text made safe for PostgreSQL and JSON: a NUL character (which PostgreSQL's <c>text</c> and <c>jsonb</c>
/// cannot hold) and a lone UTF-16 surrogate (which is not UTF-8 text) become U+FFFD.</summary>
internal static class StoreText
{
    public static string Clean(string text)
    {
        int i = 0;
        while (i < text.Length && !NeedsReplacement(text, i)) i++;
        if (i == text.Length) return text;
        var chars = text.ToCharArray();
        for (; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
            else if (chars[i] == '\0' || char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return new string(chars);
    }

    public static string? CleanOrNull(string? text) => text is null ? null : Clean(text);

    private static bool NeedsReplacement(string s, int i)
    {
        char c = s[i];
        if (c == '\0') return true;
        if (char.IsHighSurrogate(c)) return i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]);
        return char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(s[i - 1]));
    }
}
