using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Sensors;

/// <summary>Renders decisions, alerts, quarantines and statistics as text lines or JSON lines.</summary>
/// <remarks>Decision lines leave out the evaluation latency so that replaying the same file prints the same lines;
/// latency is in the summary.</remarks>
public static class MonitorFormat
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;
    private static readonly JsonSerializerOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One text line: timestamp, label, deciding rule, inputs.</summary>
    public static string ToText(Decision d) =>
        $"{Time(d.Timestamp)}  {d.Label}{(d.Rule != null ? $"  ({d.Rule})" : "")}  {string.Join(" ", d.Inputs.Select(p => $"{p.Key}={Num(p.Value)}"))}".TrimEnd();

    /// <summary>One text line for an alert.</summary>
    public static string ToText(Alert a) =>
        $"{Time(a.Timestamp)}  ALERT {a.From} -> {a.To}{(a.Rule != null ? $"  rule={a.Rule}" : "")}  severity={Severity(a.Severity)}"
        + (a.Sinks.Count > 0 ? $"  sinks={string.Join(",", a.Sinks)}" : "") + (a.Since != a.Timestamp ? $"  since={Time(a.Since)}" : "");

    /// <summary>One text line for a quarantined reading.</summary>
    public static string ToText(QuarantinedReading q) => $"quarantined #{q.Position}: {Reason(q.Reason)}: {q.Detail}";

    /// <summary>One JSON line for a decision (<c>"type":"decision"</c>).</summary>
    public static string ToJson(Decision d)
    {
        var inputs = new JsonObject();
        foreach (var (k, v) in d.Inputs) inputs[k] = v;
        return new JsonObject
        {
            ["type"] = "decision", ["ts"] = Time(d.Timestamp), ["label"] = d.Label, ["rule"] = d.Rule,
            ["active"] = new JsonArray(d.ActiveRules.Select(r => (JsonNode?)r).ToArray()), ["inputs"] = inputs,
        }.ToJsonString(s_json);
    }

    /// <summary>One JSON line for an alert (<c>"type":"alert"</c>).</summary>
    public static string ToJson(Alert a) => new JsonObject
    {
        ["type"] = "alert", ["ts"] = Time(a.Timestamp), ["from"] = a.From, ["to"] = a.To, ["rule"] = a.Rule, ["since"] = Time(a.Since),
        ["severity"] = Severity(a.Severity), ["sinks"] = new JsonArray(a.Sinks.Select(s => (JsonNode?)s).ToArray()),
    }.ToJsonString(s_json);

    /// <summary>One JSON line for a quarantined reading (<c>"type":"quarantine"</c>).</summary>
    public static string ToJson(QuarantinedReading q) => new JsonObject
    {
        ["type"] = "quarantine", ["position"] = q.Position, ["reason"] = Reason(q.Reason), ["detail"] = q.Detail, ["excerpt"] = q.Excerpt,
    }.ToJsonString(s_json);

    /// <summary>The summary as text lines; <paramref name="elapsed"/> is the whole run's wall time when known.</summary>
    public static string ToText(MonitorStats s, TimeSpan? elapsed = null)
    {
        var lines = new List<string>
        {
            $"readings: {s.Readings} ({s.Readings - s.QuarantinedTotal} evaluated, {s.QuarantinedTotal} quarantined"
                + (s.Quarantined.Count > 0 ? ": " + string.Join(", ", s.Quarantined.Select(p => $"{Reason(p.Key)} {p.Value}")) : "") + ")",
            "decisions: " + (s.Decisions.Count > 0 ? string.Join(", ", s.Decisions.Select(p => $"{p.Key} {p.Value}")) : "none"),
            $"alerts: {s.Alerts}",
            string.Create(s_inv, $"rule latency: p50 {s.LatencyP50.TotalMicroseconds:F2} us, p99 {s.LatencyP99.TotalMicroseconds:F2} us; rules alone {RulesRate(s):F0} readings/s"),
        };
        if (elapsed is { } e)
            lines.Add(string.Create(s_inv, $"elapsed: {e.TotalSeconds:F3} s ({(e.TotalSeconds > 0 ? s.Readings / e.TotalSeconds : 0):F0} readings/s end to end)"));
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>The summary as one JSON line (<c>"type":"summary"</c>).</summary>
    public static string ToJson(MonitorStats s, TimeSpan? elapsed = null)
    {
        var quarantined = new JsonObject();
        foreach (var (k, v) in s.Quarantined) quarantined[Reason(k)] = v;
        var decisions = new JsonObject();
        foreach (var (k, v) in s.Decisions) decisions[k] = v;
        var o = new JsonObject
        {
            ["type"] = "summary", ["readings"] = s.Readings, ["quarantined"] = quarantined, ["decisions"] = decisions, ["alerts"] = s.Alerts,
            ["latency_p50_us"] = Math.Round(s.LatencyP50.TotalMicroseconds, 3), ["latency_p99_us"] = Math.Round(s.LatencyP99.TotalMicroseconds, 3),
            ["rules_readings_per_second"] = Math.Round(RulesRate(s)),
        };
        if (elapsed is { } e) o["elapsed_s"] = Math.Round(e.TotalSeconds, 3);
        return o.ToJsonString(s_json);
    }

    /// <summary>A reason's snake_case name (<c>malformed_json</c>, <c>too_large</c>, ...).</summary>
    public static string Reason(QuarantineReason r) => r switch
    {
        QuarantineReason.MalformedJson => "malformed_json",
        QuarantineReason.NotAnObject => "not_an_object",
        QuarantineReason.TooLarge => "too_large",
        QuarantineReason.MissingTimestamp => "missing_timestamp",
        QuarantineReason.BadTimestamp => "bad_timestamp",
        QuarantineReason.WrongType => "wrong_type",
        QuarantineReason.UnknownSignal => "unknown_signal",
        QuarantineReason.UnknownSensor => "unknown_sensor",
        _ => r.ToString(),
    };

    private static double RulesRate(MonitorStats s) => s.RuleTime > TimeSpan.Zero ? (s.Readings - s.QuarantinedTotal) / s.RuleTime.TotalSeconds : 0;

    /// <summary>A severity's lowercase name (<c>info</c>, <c>warning</c>, <c>critical</c>).</summary>
    public static string Severity(AlertSeverity s) => s.ToString().ToLowerInvariant();

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", s_inv);

    private static string Num(double v) => v.ToString("R", s_inv);
}
