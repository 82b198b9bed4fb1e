namespace Hearth.Sensors;

/// <summary>The label the rules gave one reading (or one clock tick).</summary>
/// <param name="Timestamp">The reading's timestamp (or the tick's time).</param>
/// <param name="Label">The label: the first active rule's in policy order, else the policy's default label.</param>
/// <param name="Rule">The rule that decided the label; null for the default label.</param>
/// <param name="ActiveRules">Every rule active after this reading, in policy order.</param>
/// <param name="Inputs">The signal values this reading carried (signal name → value).</param>
/// <param name="LatencyTicks">How long the evaluation took, in <see cref="System.Diagnostics.Stopwatch"/> ticks. The only
/// part of a decision that is not a pure function of the readings and the policy.</param>
/// <param name="Alert">The alert this decision raised, if any.</param>
public sealed record Decision(
    DateTimeOffset Timestamp,
    string Label,
    string? Rule,
    IReadOnlyList<string> ActiveRules,
    IReadOnlyDictionary<string, double> Inputs,
    long LatencyTicks,
    Alert? Alert);

/// <summary>A change of the alerted label, raised once the new label has persisted for its action's debounce time.</summary>
/// <param name="Timestamp">When it was raised (a reading timestamp).</param>
/// <param name="From">The previous alerted label (the default label at the start).</param>
/// <param name="To">The new label.</param>
/// <param name="Rule">The rule behind the new label; null when it is the default label.</param>
/// <param name="Since">When the new label was first decided (earlier than <paramref name="Timestamp"/> when debounced).</param>
/// <param name="Severity">The new label's severity.</param>
/// <param name="Sinks">Where the alert goes.</param>
public sealed record Alert(DateTimeOffset Timestamp, string From, string To, string? Rule, DateTimeOffset Since, AlertSeverity Severity, IReadOnlyList<string> Sinks);
