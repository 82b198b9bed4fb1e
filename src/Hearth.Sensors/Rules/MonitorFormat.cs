using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Sources;
using Hearth.Sensors.Storage;

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
        var inputs = Numbers(d.Inputs);
        return new JsonObject
        {
            ["type"] = "decision", ["ts"] = Time(d.Timestamp), ["label"] = d.Label, ["rule"] = d.Rule,
            ["active"] = new JsonArray(d.ActiveRules.Select(r => (JsonNode?)r).ToArray()), ["inputs"] = inputs,
        }.ToJsonString(s_json);
    }

    /// <summary>One JSON line for an alert (<c>"type":"alert"</c>).</summary>
    public static string ToJson(Alert a) => AlertObject(a).ToJsonString(s_json);

    private static JsonObject AlertObject(Alert a) => new()
    {
        ["type"] = "alert", ["ts"] = Time(a.Timestamp), ["from"] = a.From, ["to"] = a.To, ["rule"] = a.Rule, ["since"] = Time(a.Since),
        ["severity"] = Severity(a.Severity), ["sinks"] = new JsonArray(a.Sinks.Select(s => (JsonNode?)s).ToArray()),
    };

    /// <summary>What sinks send for an alert: <see cref="ToJson(Alert)"/>'s fields plus <c>source</c>, <c>key</c> (the
    /// reading's store key; null for clock ticks), <c>inputs</c> (the reading's signal values) and <c>signals</c> (each
    /// signal's label). A model check's result gives <see cref="ToJson(ModelCheckNotice)"/>, a state-only event
    /// <see cref="StateJson"/>.</summary>
    public static string ToJson(SinkEvent e)
    {
        if (e.Check is { } check) return ToJson(check);
        if (e.Alert == null) return StateJson(e);
        var o = AlertObject(e.Alert);
        o["source"] = e.Source;
        o["key"] = e.ReadingKey;
        o["inputs"] = Numbers(e.Decision?.Inputs ?? new Dictionary<string, double>());
        o["signals"] = Texts(e.SignalLabels);
        return o.ToJsonString(s_json);
    }

    /// <summary>One JSON line for a model check's result (<c>"type":"check"</c>): <c>ts</c> (when it finished), <c>check</c>,
    /// <c>label</c>, <c>rule_label</c> (the rules' label, which the check does not change), <c>timed_out</c>,
    /// <c>explanation</c>, <c>model</c>, <c>severity</c>, <c>sinks</c>, <c>source</c> and <c>key</c> (the reading's store key).</summary>
    public static string ToJson(ModelCheckNotice c) => new JsonObject
    {
        ["type"] = "check", ["ts"] = Time(c.DecidedAt), ["check"] = c.Check, ["label"] = c.Label, ["rule_label"] = c.RuleLabel,
        ["timed_out"] = c.TimedOut, ["explanation"] = c.Explanation, ["model"] = c.Model, ["severity"] = Severity(c.Severity),
        ["sinks"] = new JsonArray(c.Sinks.Select(s => (JsonNode?)s).ToArray()), ["source"] = c.Source, ["key"] = c.ReadingKey,
    }.ToJsonString(s_json);

    /// <summary>One text line for a model check's result.</summary>
    public static string ToText(ModelCheckNotice c) =>
        $"{Time(c.DecidedAt)}  CHECK {c.Check}: {c.Label}{(c.TimedOut ? " (fail-safe)" : "")}  rules={c.RuleLabel}  severity={Severity(c.Severity)}"
        + (c.Sinks.Count > 0 ? $"  sinks={string.Join(",", c.Sinks)}" : "") + (c.Explanation is { Length: > 0 } x ? $"  -- {x}" : "");

    /// <summary>The retained state message: <c>{"type":"state","label":...,"since":...,"rule":...,"signals":{...}}</c>;
    /// <c>since</c> and <c>rule</c> come from the alert that set the label (null at start-up).</summary>
    public static string StateJson(SinkEvent e) => new JsonObject
    {
        ["type"] = "state", ["label"] = e.Label, ["since"] = e.Alert is { } a ? Time(a.Timestamp) : null, ["rule"] = e.Alert?.Rule,
        ["signals"] = Texts(e.SignalLabels),
    }.ToJsonString(s_json);

    /// <summary>The live statistics as one JSON line (<c>"type":"stats"</c>, with <c>"final":true</c> for the last one a
    /// monitor prints); latencies in microseconds (SLM checks in milliseconds).</summary>
    public static string ToJson(MonitorLiveStats s, bool final = false)
    {
        var o = JsonNode.Parse(ToJson(s.Rules))!.AsObject();
        o["type"] = "stats";
        if (final) o["final"] = true;
        o.Remove("rules_readings_per_second");
        o["uptime_s"] = Math.Round(s.Uptime.TotalSeconds, 3);
        o["readings_per_second"] = Math.Round(s.ReadingsPerSecond, 1);
        o["duplicates"] = s.Duplicates;
        o["not_stored"] = s.NotStored;
        o["ticks"] = s.Ticks;
        o["pipeline_latency_p50_us"] = Math.Round(s.PipelineLatencyP50.TotalMicroseconds, 1);
        o["pipeline_latency_p99_us"] = Math.Round(s.PipelineLatencyP99.TotalMicroseconds, 1);
        o["slm"] = new JsonObject
        {
            ["checks"] = s.ModelChecks, ["timed_out"] = s.ModelChecksTimedOut, ["skipped"] = s.ModelChecksSkipped, ["queued"] = s.ModelChecksQueued,
            ["decisions"] = Numbers(s.ModelDecisions),
            ["latency_p50_ms"] = Math.Round(s.SlmLatencyP50.TotalMilliseconds, 3), ["latency_p99_ms"] = Math.Round(s.SlmLatencyP99.TotalMilliseconds, 3),
        };
        o["queue_depth"] = s.QueueDepth;
        o["store"] = new JsonObject { ["failures"] = s.StoreFailures, ["last_error"] = s.StoreError, ["backlog"] = s.StoreBacklog };
        o["sync"] = s.Sync is { } sync ? SyncJson(sync) : null;
        o["errors"] = s.Errors;
        o["last_error"] = s.LastError;
        var sinks = new JsonObject();
        foreach (var k in s.Sinks)
        {
            sinks[k.Name] = new JsonObject
            {
                ["kind"] = k.Kind, ["delivered"] = k.Delivered, ["retried"] = k.Retried, ["failed"] = k.Failed, ["dropped"] = k.Dropped, ["queued"] = k.Queued,
                ["latency_p50_us"] = Math.Round(k.LatencyP50.TotalMicroseconds, 1), ["latency_p99_us"] = Math.Round(k.LatencyP99.TotalMicroseconds, 1),
                ["recent_failures"] = new JsonArray(k.RecentFailures.Select(f => (JsonNode?)new JsonObject
                {
                    ["at"] = Time(f.At), ["alert"] = f.Alert, ["attempts"] = f.Attempts, ["error"] = f.Error,
                }).ToArray()),
            };
        }

        o["sinks"] = sinks;
        o["sources"] = Sources(s.Sources);
        return o.ToJsonString(s_json);
    }

    /// <summary>The live statistics as a few text lines.</summary>
    public static string ToText(MonitorLiveStats s)
    {
        var text = ToText(s.Rules, null);
        var lines = new List<string>
        {
            string.Create(s_inv, $"uptime: {s.Uptime.TotalSeconds:F0} s; {s.ReadingsPerSecond:F1} readings/s recently; {s.Duplicates} duplicates skipped; queue {s.QueueDepth}"),
            string.Create(s_inv, $"pipeline latency: p50 {s.PipelineLatencyP50.TotalMicroseconds:F0} us, p99 {s.PipelineLatencyP99.TotalMicroseconds:F0} us"),
        };
        if (s.ModelChecks > 0 || s.ModelChecksQueued > 0)
        {
            lines.Add(string.Create(s_inv,
                $"slm checks: {s.ModelChecks} ({s.ModelChecksTimedOut} fail-safe, {s.ModelChecksSkipped} skipped, {s.ModelChecksQueued} queued), p50 {s.SlmLatencyP50.TotalMilliseconds:F1} ms, p99 {s.SlmLatencyP99.TotalMilliseconds:F1} ms"));
        }
        if (s.StoreFailures > 0 || s.NotStored > 0 || s.StoreBacklog != null)
            lines.Add($"store: {s.StoreFailures} failed writes (retried), {s.NotStored} not stored{(s.StoreBacklog is { } b ? $", {b} waiting to sync" : "")}");
        if (s.Sync is { } sync)
            lines.Add($"sync to {sync.Target}: {(sync.Connected ? "connected" : "not connected")}, {sync.Pending.Total} rows waiting"
                + (sync.LastError != null ? $"; last error: {sync.LastError}" : ""));
        if (s.Errors > 0) lines.Add($"errors: {s.Errors} payloads failed to be handled; last: {s.LastError}");
        foreach (var k in s.Sinks)
            lines.Add($"sink {k.Name} ({k.Kind}): {k.Delivered} delivered, {k.Failed} failed, {k.Dropped} dropped, {k.Queued} queued");
        return text + string.Join("\n", lines) + "\n";
    }

    /// <summary>The health report as JSON: <c>status</c> (<c>ok</c> or <c>unhealthy</c>), uptime, sources, last reading age,
    /// queue depth, store state, the PostgreSQL sync (null without one) and problems.</summary>
    public static string ToJson(MonitorHealth h) => new JsonObject
    {
        ["status"] = h.Healthy ? "ok" : "unhealthy", ["uptime_s"] = Math.Round(h.Uptime.TotalSeconds, 3), ["sources"] = Sources(h.Sources),
        ["last_reading_age_s"] = h.LastReadingAge is { } age ? Math.Round(age.TotalSeconds, 3) : null, ["queue_depth"] = h.QueueDepth, ["store"] = h.Store,
        ["sync"] = h.Sync is { } sync ? SyncJson(sync) : null,
        ["problems"] = new JsonArray(h.Problems.Select(p => (JsonNode?)p).ToArray()),
    }.ToJsonString(s_json);

    /// <summary>A sync's state: <c>target</c> (no password), <c>connected</c>, <c>pending</c> (rows per table and
    /// <c>total</c>), <c>last_success</c>, <c>last_attempt</c>, <c>last_error</c>, <c>consecutive_failures</c>,
    /// <c>rows_sent</c> and <c>rows_already_present</c>.</summary>
    private static JsonObject SyncJson(PostgresSyncStatus s) => new()
    {
        ["target"] = s.Target, ["connected"] = s.Connected,
        ["pending"] = new JsonObject
        {
            ["readings"] = s.Pending.Readings, ["decisions"] = s.Pending.Decisions, ["alerts"] = s.Pending.Alerts, ["quarantine"] = s.Pending.Quarantine,
            ["total"] = s.Pending.Total,
        },
        ["last_success"] = s.LastSuccess is { } ok ? Time(ok) : null, ["last_attempt"] = s.LastAttempt is { } at ? Time(at) : null,
        ["last_error"] = s.LastError, ["consecutive_failures"] = s.ConsecutiveFailures, ["rows_sent"] = s.RowsSent,
        ["rows_already_present"] = s.RowsAlreadyPresent,
    };

    /// <summary>An ingest request's answer as JSON: accepted, quarantined, duplicates, not_stored and reasons.</summary>
    public static string ToJson(IngestResult r) => new JsonObject
    {
        ["accepted"] = r.Accepted, ["quarantined"] = r.Quarantined, ["duplicates"] = r.Duplicates, ["not_stored"] = r.NotStored,
        ["reasons"] = Numbers(r.Reasons.ToDictionary(p => p.Key, p => (long)p.Value)),
    }.ToJsonString(s_json);

    private static JsonObject Sources(IReadOnlyList<SourceStatus> sources)
    {
        var o = new JsonObject();
        foreach (var s in sources)
        {
            o[s.Name] = new JsonObject
            {
                ["kind"] = s.Kind, ["state"] = s.State.ToString().ToLowerInvariant(), ["connected"] = s.State == SourceState.Connected,
                ["since"] = Time(s.Since), ["payloads"] = s.Payloads, ["last_error"] = s.LastError,
            };
        }

        return o;
    }

    private static JsonObject Numbers<T>(IEnumerable<KeyValuePair<string, T>> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values) o[k] = JsonValue.Create(v);
        return o;
    }

    private static JsonObject Texts(IReadOnlyDictionary<string, string> values)
    {
        var o = new JsonObject();
        foreach (var (k, v) in values) o[k] = v;
        return o;
    }

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
        var quarantined = Numbers(s.Quarantined.Select(p => KeyValuePair.Create(Reason(p.Key), p.Value)));
        var decisions = Numbers(s.Decisions);
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
