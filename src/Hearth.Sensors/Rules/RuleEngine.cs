using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Sensors;

/// <summary>
/// Labels readings with a policy's rules. Deterministic: the decisions and alerts are a pure function of the policy and
/// the sequence of readings (and ticks); time comes only from their timestamps, never from the wall clock. Not thread-safe:
/// one engine per stream.
/// </summary>
/// <remarks>
/// Per rule: a threshold rule's statistic is computed from the signal (the value, the rate of change per second against
/// the signal's previous reading, or the mean/max/min/population standard deviation of a window); a missing rule triggers
/// for a reading from the signal's source that lacks the signal; a stale rule triggers when the signal's last reading is
/// more than <c>stale_seconds</c> before the reading or tick being evaluated (counting from the first reading or tick the
/// engine saw when the signal never came). A rule with nothing to evaluate (no value, a window not yet full, no previous
/// reading for a rate) keeps its state. Hysteresis and alert debounce are described on <see cref="RuleSpec"/> and
/// <see cref="ActionSpec"/>.
/// </remarks>
public sealed class RuleEngine
{
    private readonly MonitorPolicy _policy;
    private readonly RuleState[] _rules;
    private readonly SignalState[] _signals;
    private readonly Dictionary<string, int> _signalIndex;
    private DateTimeOffset? _start;
    private string _alerted;
    private string? _pending;
    private DateTimeOffset _pendingSince;

    /// <summary>Creates an engine with fresh state for a policy.</summary>
    public RuleEngine(MonitorPolicy policy)
    {
        _policy = policy;
        _signals = policy.Signals.Select(s => new SignalState(s)).ToArray();
        _signalIndex = policy.Signals.Select((s, i) => (s.Name, i)).ToDictionary(p => p.Name, p => p.i);
        _rules = policy.Rules.Select(r => new RuleState(r, _signalIndex[r.Signal])).ToArray();
        _alerted = policy.DefaultLabel;
    }

    /// <summary>The label alerts were last raised for (the default label at the start).</summary>
    public string AlertedLabel => _alerted;

    /// <summary>Sets <see cref="AlertedLabel"/> as a restarted monitor found it in its store (the newest stored alert's
    /// label), so a label that was already alerted is not alerted again and a change from it is. Any text is accepted,
    /// even a label the policy no longer produces (the next decision then alerts the change away from it). Only the
    /// alerted label is restored: rule activity, hysteresis runs and windows start afresh.</summary>
    /// <exception cref="InvalidOperationException">The engine has already evaluated a reading or tick.</exception>
    public void RestoreAlertedLabel(string label)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        if (_start != null) throw new InvalidOperationException("The alerted label can only be restored before the first reading or tick.");
        _alerted = label;
    }

    /// <summary>Evaluates every rule for one reading.</summary>
    public Decision Evaluate(Reading reading)
    {
        long t0 = Stopwatch.GetTimestamp();
        var now = reading.Timestamp;
        _start ??= now;
        var inputs = new Dictionary<string, double>(_signals.Length);
        for (int i = 0; i < _signals.Length; i++)
        {
            var s = _signals[i];
            s.Applies = s.Spec.Source == null || s.Spec.Source == reading.Source;
            s.Present = false;
            if (s.Applies && reading.Fields[s.Spec.Field] is JsonValue v && TryNumber(v, out var value))
            {
                s.Value = value;
                s.Present = true;
                inputs[s.Spec.Name] = s.Value;
            }
        }

        foreach (var rule in _rules) Step(rule, now, tick: false);
        foreach (var s in _signals)
        {
            if (!s.Present) continue;
            s.PreviousValue = s.Value;
            s.PreviousTime = now;
            s.LastSeen = now;
        }

        return Decide(now, inputs, t0);
    }

    /// <summary>Evaluates the stale rules at <paramref name="now"/> without a reading (an injected clock tick); other rules keep their state.</summary>
    public Decision Tick(DateTimeOffset now)
    {
        long t0 = Stopwatch.GetTimestamp();
        _start ??= now;
        foreach (var s in _signals) s.Applies = s.Present = false;
        foreach (var rule in _rules)
            if (rule.Spec.Kind == RuleKind.Stale) Step(rule, now, tick: true);
        return Decide(now, new Dictionary<string, double>(), t0);
    }

    private void Step(RuleState rule, DateTimeOffset now, bool tick)
    {
        var spec = rule.Spec;
        var s = _signals[rule.Signal];
        bool? triggered, normal;
        switch (spec.Kind)
        {
            case RuleKind.Missing:
                if (tick || !s.Applies) return;
                triggered = !s.Present;
                normal = s.Present;
                break;
            case RuleKind.Stale:
                var last = s.Present ? now : s.LastSeen ?? _start!.Value;
                triggered = (now - last).TotalSeconds > spec.StaleSeconds;
                normal = !triggered;
                break;
            default:
                if (!s.Present) return;
                if (Statistic(rule, s, now) is not { } x) return;
                triggered = spec.Above ? x > spec.Threshold : x < spec.Threshold;
                normal = spec.Above ? x <= spec.Clear : x >= spec.Clear;
                break;
        }

        if (!rule.Active)
        {
            if (triggered == true)
            {
                rule.Active = true;
                rule.NormalRun = 0;
            }

            return;
        }

        if (triggered == true || normal != true)
        {
            rule.NormalRun = 0;
            return;
        }

        if (++rule.NormalRun >= spec.ClearAfter) rule.Active = false;
    }

    private static double? Statistic(RuleState rule, SignalState s, DateTimeOffset now)
    {
        var spec = rule.Spec;
        switch (spec.Statistic)
        {
            case RuleStatistic.Value:
                return s.Value;
            case RuleStatistic.Rate:
                if (s.PreviousTime is not { } prev) return null;
                double dt = (now - prev).TotalSeconds;
                return dt > 0 ? (s.Value - s.PreviousValue) / dt : null;
        }

        var window = rule.Window!;
        window.Enqueue((now, s.Value));
        if (spec.WindowReadings is { } n)
        {
            while (window.Count > n) window.Dequeue();
            if (window.Count < n) return null;
        }
        else
        {
            // The window holds readings with timestamps in (now - N s, now].
            var from = now - TimeSpan.FromSeconds(spec.WindowSeconds!.Value);
            while (window.Count > 0 && window.Peek().Time <= from) window.Dequeue();
        }

        // Computed afresh over the window each time: exact and order-independent, unlike running sums that drift.
        double sum = 0, max = double.NegativeInfinity, min = double.PositiveInfinity;
        foreach (var (_, v) in window)
        {
            sum += v;
            max = Math.Max(max, v);
            min = Math.Min(min, v);
        }

        double mean = sum / window.Count;
        switch (spec.Statistic)
        {
            case RuleStatistic.Mean: return mean;
            case RuleStatistic.Max: return max;
            case RuleStatistic.Min: return min;
        }

        double squares = 0;
        foreach (var (_, v) in window) squares += (v - mean) * (v - mean);
        return Math.Sqrt(squares / window.Count);
    }

    private Decision Decide(DateTimeOffset now, Dictionary<string, double> inputs, long t0)
    {
        List<string>? active = null;
        RuleState? first = null;
        foreach (var r in _rules)
        {
            if (!r.Active) continue;
            first ??= r;
            (active ??= []).Add(r.Spec.Name);
        }

        var label = first?.Spec.Label ?? _policy.DefaultLabel;
        Alert? alert = null;
        if (label == _alerted)
        {
            _pending = null;
        }
        else
        {
            if (_pending != label)
            {
                _pending = label;
                _pendingSince = now;
            }

            var action = _policy.ActionFor(label);
            if ((now - _pendingSince).TotalSeconds >= action.DebounceSeconds)
            {
                alert = new Alert(now, _alerted, label, first?.Spec.Name, _pendingSince, action.Severity, action.Sinks);
                _alerted = label;
                _pending = null;
            }
        }

        return new Decision(now, label, first?.Spec.Name, (IReadOnlyList<string>?)active ?? [], inputs, Stopwatch.GetTimestamp() - t0, alert);
    }

    // A value parsed from JSON converts to double directly; one built in code (new JsonObject { ["t"] = 81 }) keeps its CLR type.
    private static bool TryNumber(JsonValue v, out double value)
    {
        if (v.GetValueKind() != JsonValueKind.Number)
        {
            value = 0;
            return false;
        }

        if (v.TryGetValue(out value)) return true;
        if (v.TryGetValue(out long l)) value = l;
        else if (v.TryGetValue(out int i)) value = i;
        else if (v.TryGetValue(out float f)) value = f;
        else if (v.TryGetValue(out decimal m)) value = (double)m;
        else if (v.TryGetValue(out ulong u)) value = u;
        else return false;
        return double.IsFinite(value);
    }

    private sealed class SignalState(SignalSpec spec)
    {
        public SignalSpec Spec { get; } = spec;
        public bool Applies;
        public bool Present;
        public double Value;
        public double PreviousValue;
        public DateTimeOffset? PreviousTime;
        public DateTimeOffset? LastSeen;
    }

    private sealed class RuleState(RuleSpec spec, int signal)
    {
        public RuleSpec Spec { get; } = spec;
        public int Signal { get; } = signal;
        public bool Active;
        public int NormalRun;
        public Queue<(DateTimeOffset Time, double Value)>? Window { get; } =
            spec.WindowReadings != null || spec.WindowSeconds != null ? new() : null;
    }
}
