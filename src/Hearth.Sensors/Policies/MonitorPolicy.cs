namespace Hearth.Sensors;

/// <summary>
/// A validated monitor policy: the signals a reading may carry, the rules that label readings, the small-language-model
/// checks that run beside them, and what to do for each label. Build one with <see cref="PolicyLoader"/>.
/// </summary>
public sealed record MonitorPolicy
{
    /// <summary>The declared signals, in file order.</summary>
    public required IReadOnlyList<SignalSpec> Signals { get; init; }

    /// <summary>The rules, in file order; when several are active the first one's label wins.</summary>
    public required IReadOnlyList<RuleSpec> Rules { get; init; }

    /// <summary>The label of a reading no rule is active for (<c>default_label</c>, default <c>NORMAL</c>).</summary>
    public string DefaultLabel { get; init; } = "NORMAL";

    /// <summary>Readings larger than this many UTF-8 bytes are quarantined unread (<c>max_reading_bytes</c>, default 64 KiB).</summary>
    public int MaxReadingBytes { get; init; } = 64 * 1024;

    /// <summary>The small-language-model checks (<c>slm_checks</c>).</summary>
    public IReadOnlyList<SlmCheckSpec> SlmChecks { get; init; } = [];

    /// <summary>What happens when a label is raised, by label (<c>actions</c>).</summary>
    public IReadOnlyDictionary<string, ActionSpec> Actions { get; init; } = new Dictionary<string, ActionSpec>();

    /// <summary>Where the live monitor reads payloads (<c>sources</c>), in file order; empty when the policy declares none.</summary>
    public IReadOnlyList<SourceSpec> Sources { get; init; } = [];

    /// <summary>Where alerts can go (<c>sinks</c>), in file order; null when the policy has no <c>sinks</c> section (the
    /// live monitor then prints every alert to standard output).</summary>
    public IReadOnlyList<SinkSpec>? Sinks { get; init; }

    /// <summary>Where the live monitor keeps readings, decisions and alerts (<c>store</c>); null when the policy has no
    /// <c>store</c> section.</summary>
    public StoreSpec? Store { get; init; }

    /// <summary>The signal with this name, or null.</summary>
    public SignalSpec? FindSignal(string name) => Signals.FirstOrDefault(s => s.Name == name);

    /// <summary>The action for a label, or the default (no sinks, severity info, no debounce) when the policy names none.</summary>
    public ActionSpec ActionFor(string label) => Actions.TryGetValue(label, out var a) ? a : ActionSpec.Default;
}

/// <summary>A signal readings carry: its name, unit, and optionally the source it comes from and its JSON field.</summary>
/// <param name="Name">The signal's name, used by rules and by SLM check prompts.</param>
/// <param name="Unit">Its unit (free text: <c>C</c>, <c>g</c>, <c>bar</c>); empty for text signals that give none.</param>
/// <param name="Source">When set, only readings from this source (an MQTT topic, or a reading's <c>source</c> field) carry it.</param>
/// <param name="Field">The reading's JSON field holding the value; the name when not given.</param>
public sealed record SignalSpec(string Name, string Unit, string? Source, string Field)
{
    /// <summary>What the signal carries (<c>type: number</c>, the default, or <c>type: text</c>).</summary>
    public SignalKind Kind { get; init; } = SignalKind.Number;

    /// <summary>For text signals: the longest value accepted, in UTF-8 bytes (<c>max_bytes</c>, default
    /// <see cref="DefaultTextMaxBytes"/>); a reading with a longer value is quarantined as <see cref="QuarantineReason.TooLarge"/>.</summary>
    public int MaxBytes { get; init; } = DefaultTextMaxBytes;

    /// <summary>The default <see cref="MaxBytes"/> of a text signal: room for an operator note or a log line, small
    /// enough to fit a small model's context with the rest of a check's prompt.</summary>
    public const int DefaultTextMaxBytes = 1024;
}

/// <summary>What a signal carries.</summary>
public enum SignalKind
{
    /// <summary>A number (JSON number); rules can use it.</summary>
    Number,
    /// <summary>Free text (a JSON string: an operator note, a log line); only SLM checks read it, rules cannot.</summary>
    Text,
}

/// <summary>What a rule computes from its signal before comparing it with a threshold.</summary>
public enum RuleStatistic
{
    /// <summary>The reading's value itself.</summary>
    Value,
    /// <summary>Change per second against the previous reading of the signal.</summary>
    Rate,
    /// <summary>Mean over the window.</summary>
    Mean,
    /// <summary>Maximum over the window.</summary>
    Max,
    /// <summary>Minimum over the window.</summary>
    Min,
    /// <summary>Population standard deviation over the window (divides by n).</summary>
    StdDev,
}

/// <summary>What a rule detects.</summary>
public enum RuleKind
{
    /// <summary>A statistic above (<c>above</c>) or below (<c>below</c>) a threshold.</summary>
    Threshold,
    /// <summary>A reading that should carry the signal does not (<c>missing: true</c>).</summary>
    Missing,
    /// <summary>No reading of the signal for more than <c>stale_seconds</c>.</summary>
    Stale,
}

/// <summary>One rule. Semantics: a threshold rule triggers when the statistic is strictly past its threshold
/// (<c>&gt; above</c> or <c>&lt; below</c>); once active it counts a reading as normal only when the statistic is back
/// past the clear threshold (<c>&lt;= clear</c> for above rules, <c>&gt;= clear</c> for below rules; the trigger threshold
/// when no <c>clear</c> is given), and clears after <see cref="ClearAfter"/> consecutive normal readings.</summary>
public sealed record RuleSpec
{
    /// <summary>The rule's unique name (<c>rule1</c>, <c>rule2</c>, ... when not given).</summary>
    public required string Name { get; init; }

    /// <summary>The signal it watches.</summary>
    public required string Signal { get; init; }

    /// <summary>The label readings get while it is active.</summary>
    public required string Label { get; init; }

    /// <summary>What it detects.</summary>
    public required RuleKind Kind { get; init; }

    /// <summary>For threshold rules: what is compared.</summary>
    public RuleStatistic Statistic { get; init; } = RuleStatistic.Value;

    /// <summary>For threshold rules: true for <c>above</c>, false for <c>below</c>.</summary>
    public bool Above { get; init; }

    /// <summary>For threshold rules: the trigger threshold.</summary>
    public double Threshold { get; init; }

    /// <summary>For threshold rules: the clear threshold (hysteresis); equals <see cref="Threshold"/> when not given.</summary>
    public double Clear { get; init; }

    /// <summary>Consecutive normal readings needed to clear an active rule (at least 1).</summary>
    public int ClearAfter { get; init; } = 1;

    /// <summary>For window statistics: the window length in seconds (readings with timestamps in (now − N s, now]).</summary>
    public double? WindowSeconds { get; init; }

    /// <summary>For window statistics: the window length in readings; evaluated once the window is full.</summary>
    public int? WindowReadings { get; init; }

    /// <summary>For stale rules: seconds without a reading of the signal after which it is stale.</summary>
    public double StaleSeconds { get; init; }
}

/// <summary>
/// A small-language-model check: when it runs (<see cref="Text"/>, <see cref="OnLabels"/>), the prompt template it
/// renders, the labels the model must choose between, and what happens when it is too slow. The deterministic rules
/// always decide the reading's label; a check only adds its own label (and optionally an explanation) beside it.
/// </summary>
/// <param name="Name">The check's name (unique in the policy).</param>
/// <param name="Prompt">The prompt template: text with placeholders (see <see cref="Slm.SlmTriggers"/>).</param>
/// <param name="Labels">The labels the model chooses between: at least two, distinct, non-empty, without leading or
/// trailing white space. The answer is always exactly one of them.</param>
/// <param name="Model">The model: a GGUF file path, or a store name such as <c>qwen2.5:0.5b</c>.</param>
/// <param name="LatencyBudgetMs">How long the check may take, in milliseconds (at least 1).</param>
/// <param name="OnTimeout">The fail-safe label used when the budget runs out or the model fails; one of <paramref name="Labels"/>.</param>
public sealed record SlmCheckSpec(string Name, string Prompt, IReadOnlyList<string> Labels, string Model, int LatencyBudgetMs, string OnTimeout)
{
    /// <summary>The default <see cref="ExplainMaxTokens"/>.</summary>
    public const int DefaultExplainMaxTokens = 48;

    /// <summary>When set (<c>text: SIGNAL</c>), the check runs only on readings carrying a non-blank value of this text
    /// signal, and <c>{text}</c> in the prompt is that value.</summary>
    public string? Text { get; init; }

    /// <summary>When not empty (<c>on_labels: [...]</c>), the check runs only when the rules' decision for the reading has
    /// one of these labels. When both this and <see cref="Text"/> are given, both must hold; when neither is, the check
    /// runs on every evaluated reading.</summary>
    public IReadOnlyList<string> OnLabels { get; init; } = Array.Empty<string>();

    /// <summary>With <see cref="OnLabels"/>: run only when the decision raised an alert to one of those labels
    /// (<c>alerts_only: true</c>), not on every reading that has the label.</summary>
    public bool AlertsOnly { get; init; }

    /// <summary>Ask the model for a plain-words explanation after the label (<c>explain: true</c>).</summary>
    public bool Explain { get; init; }

    /// <summary>The most tokens the explanation may have (<c>explain_max_tokens</c>, 1 to 1024).</summary>
    public int ExplainMaxTokens { get; init; } = DefaultExplainMaxTokens;
}

/// <summary>What to do when a label is raised.</summary>
/// <param name="Sinks">Where alerts go: names of the policy's sinks (checked against its <c>sinks</c> section when it has one).</param>
/// <param name="Severity">How serious the label is.</param>
/// <param name="DebounceSeconds">How long a new label must persist (by reading timestamps) before an alert is raised.</param>
public sealed record ActionSpec(IReadOnlyList<string> Sinks, AlertSeverity Severity, double DebounceSeconds)
{
    /// <summary>No sinks, severity info, no debounce.</summary>
    public static ActionSpec Default { get; } = new([], AlertSeverity.Info, 0);
}

/// <summary>How serious an alert is.</summary>
public enum AlertSeverity
{
    /// <summary>Informational.</summary>
    Info,
    /// <summary>Needs attention.</summary>
    Warning,
    /// <summary>Needs attention now.</summary>
    Critical,
}
