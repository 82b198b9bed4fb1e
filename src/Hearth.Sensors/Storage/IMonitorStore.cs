namespace Hearth.Sensors.Storage;

/// <summary>
/// The monitor's durable record of everything it received and decided. Every write is idempotent on its key, so a
/// payload delivered twice (an MQTT QoS 1 redelivery after a crash, a replayed file) is stored once.
/// </summary>
/// <seealso cref="SqliteMonitorStore"/>
public interface IMonitorStore : IDisposable
{
    /// <summary>Stores one received payload together with its rule decision (and alert) or its quarantine, in one
    /// transaction. Returns false, storing nothing, when a record with the same <see cref="ReadingRecord.Key"/> exists.</summary>
    bool RecordReading(ReadingRecord record);

    /// <summary>Stores a decision that belongs to no payload (a stale-sensor tick). Returns false when its key exists.</summary>
    bool RecordTick(string key, Decision decision);

    /// <summary>Stores the result of a small-language-model check. Returns false when its key exists.</summary>
    bool RecordModelDecision(ModelDecisionRecord record);

    /// <summary>True when a payload with this key is already stored (so a redelivered payload can be skipped before
    /// it changes the rule engine's state).</summary>
    bool Contains(string readingKey);

    /// <summary>The label of the newest stored alert, to restore the alerted state after a restart; null when none.</summary>
    string? LastAlertedLabel();

    /// <summary>The model checks stored with their readings (<see cref="ReadingRecord.Checks"/>) whose results have not been
    /// recorded yet, oldest first: what a monitor killed before its checks finished still owes. Recording a check's result
    /// (<see cref="RecordModelDecision"/>, same key) removes it from this list.</summary>
    /// <remarks>The default, for a store that does not keep pending checks, is an empty list: such a store forgets the
    /// checks of a monitor that stops before they finish.</remarks>
    IReadOnlyList<PendingCheck> PendingChecks() => [];

    /// <summary>Forgets a pending check without a result (for example when its check is no longer in the policy). Does
    /// nothing when no pending check has this key, and by default.</summary>
    void DropPendingCheck(string key)
    {
    }
}

/// <summary>One received payload and what came of it: exactly one of <paramref name="Decision"/> and
/// <paramref name="Quarantined"/> is set.</summary>
/// <param name="Key">The idempotency key (see <see cref="ReadingKeys"/>).</param>
/// <param name="Source">Where it came from (an MQTT topic, a file name, <c>stdin</c>, <c>http</c>).</param>
/// <param name="ReceivedAt">When the monitor received it (wall clock).</param>
/// <param name="Payload">The payload as received (UTF-8 text; an oversized payload is truncated to its excerpt).</param>
/// <param name="Decision">The rule decision, with its alert if it raised one.</param>
/// <param name="Quarantined">Why it was set aside.</param>
public sealed record ReadingRecord(string Key, string Source, DateTimeOffset ReceivedAt, string Payload, Decision? Decision, QuarantinedReading? Quarantined)
{
    /// <summary>The model checks this reading's decision triggers, stored with it in the same transaction as pending
    /// (see <see cref="IMonitorStore.PendingChecks"/>) so that a kill before they finish cannot lose them. Empty by default,
    /// and ignored for a quarantined payload.</summary>
    public IReadOnlyList<PendingCheck> Checks { get; init; } = [];
}

/// <summary>A model check decided for a stored reading whose result is not stored yet.</summary>
/// <param name="Key">The key its result will be stored under (<see cref="ModelDecisionRecord.Key"/>: <c>{readingKey}/{check}</c>).</param>
/// <param name="ReadingKey">The payload that triggered it.</param>
/// <param name="Check">The check's name in the policy.</param>
/// <param name="Input">The rendered prompt the model is to be given.</param>
/// <param name="Source">The reading's source.</param>
/// <param name="RuleLabel">The rules' label for the reading.</param>
public sealed record PendingCheck(string Key, string ReadingKey, string Check, string Input, string Source, string RuleLabel)
{
    /// <summary>The key of a check's result on a payload: <c>{readingKey}/{check}</c>, so the same check on the same payload
    /// is stored once.</summary>
    public static string KeyFor(string readingKey, string check) => $"{readingKey}/{check}";
}

/// <summary>The result of one small-language-model check.</summary>
/// <param name="Key">The idempotency key: the reading key and the check name (<c>{readingKey}/{check}</c>).</param>
/// <param name="ReadingKey">The payload that triggered the check.</param>
/// <param name="Check">The check's name in the policy.</param>
/// <param name="Model">The model that ran it.</param>
/// <param name="Input">The text the model was given (the rendered prompt).</param>
/// <param name="Label">The label decided: one of the check's labels (the fail-safe label on timeout or error).</param>
/// <param name="ModelOutput">What the model produced (the label, and the explanation when one was asked for); empty on timeout.</param>
/// <param name="Latency">How long the check took.</param>
/// <param name="TimedOut">True when the latency budget ran out (or the model failed) and the fail-safe label was used.</param>
/// <param name="DecidedAt">When the check finished (wall clock).</param>
public sealed record ModelDecisionRecord(
    string Key, string ReadingKey, string Check, string Model, string Input, string Label, string ModelOutput, TimeSpan Latency, bool TimedOut,
    DateTimeOffset DecidedAt)
{
    /// <summary>True when the check never ran because the monitor's check queue was full: the fail-safe label stands, with
    /// <see cref="TimedOut"/> set, a zero <see cref="Latency"/> and no <see cref="ModelOutput"/> (that is also how the store
    /// keeps it). Such results are counted apart and left out of the check latency statistics.</summary>
    public bool Skipped { get; init; }
}

/// <summary>Idempotency keys for received payloads.</summary>
public static class ReadingKeys
{
    /// <summary>The key of a payload from a source: lowercase hex SHA-256 of the source, a newline, and the payload bytes.
    /// Readings carry their own timestamp, so the same bytes from the same source are the same reading.</summary>
    public static string For(string source, ReadOnlySpan<byte> payload)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes(source + "\n"));
        sha.AppendData(payload);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
