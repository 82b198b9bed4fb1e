using System.Text.Json.Nodes;
using Hearth.Sensors.Slm;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests;

/// <summary>Text signals, SLM check triggers and prompts in policies: loading, validation, parsing readings, triggering.</summary>
public sealed class SlmPolicyTests
{
    private const string Anomaly = "ANOMALY DETECTED";

    /// <summary>The seed scenario's signals and rules, with a text signal for operator notes.</summary>
    internal const string SeedWithNote = """
        signals:
          temperature: { unit: C }
          vibration: { unit: g }
          note: { type: text, max_bytes: 200 }
        rules:
          - { name: hot, signal: temperature, above: 80, label: ANOMALY DETECTED }
          - { name: shaking, signal: vibration, above: 0.04, label: ANOMALY DETECTED }
        default_label: NORMAL

        """;

    /// <summary>The seed scenario with an explain check and a note check (the same policy the README shows).</summary>
    internal const string SeedWithChecks = SeedWithNote + """
        slm_checks:
          - name: explain_alert
            on_labels: [ANOMALY DETECTED]
            alerts_only: true
            prompt: "Machine readings at {time}: {signals}. Rule '{rule}' raised {label}. Is the machine at risk?"
            labels: [AT RISK, NOT AT RISK]
            explain: true
            explain_max_tokens: 40
            model: qwen2.5:0.5b
            latency_budget_ms: 3000
            on_timeout: AT RISK
          - name: operator_note
            text: note
            prompt: "An operator wrote: {text}\nTemperature is {temperature} C. Does the note report a problem?"
            labels: [PROBLEM, NO PROBLEM]
            model: qwen2.5:0.5b
            latency_budget_ms: 1500
            on_timeout: PROBLEM
        """;

    private const string Head = "signals:\n  t: { unit: C }\n  note: { type: text }\nrules:\n  - { name: hot, signal: t, above: 80, label: HOT }\n";

    private static void AssertRefused(string yaml, int line, int column, string phrase)
    {
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(yaml, "bad.yaml"));
        Assert.Contains(phrase, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
        Assert.StartsWith($"bad.yaml:{line}:{column}: ", e.Message);
    }

    private static Reading At(double second, JsonObject fields, string source = "test") =>
        new(source, Readings.Start.AddSeconds(second), fields);

    [Fact]
    public void TheSeedStyleExampleLoads()
    {
        var policy = PolicyLoader.Parse(SeedWithChecks, "example.yaml");
        Assert.Equal(new SignalSpec("note", "", null, "note") { Kind = SignalKind.Text, MaxBytes = 200 }, policy.Signals[2]);
        Assert.Equal(SignalKind.Number, policy.Signals[0].Kind);
        var explain = policy.SlmChecks[0];
        Assert.Equal(("explain_alert", true, 40, true, null), (explain.Name, explain.Explain, explain.ExplainMaxTokens, explain.AlertsOnly, explain.Text));
        Assert.Equal([Anomaly], explain.OnLabels);
        Assert.Equal(["AT RISK", "NOT AT RISK"], explain.Labels);
        var note = policy.SlmChecks[1];
        Assert.Equal(("note", false, SlmCheckSpec.DefaultExplainMaxTokens, 1500, "PROBLEM"), (note.Text, note.Explain, note.ExplainMaxTokens, note.LatencyBudgetMs, note.OnTimeout));
        Assert.Empty(note.OnLabels);
        // The seed policy itself is unchanged.
        Assert.Equal(2, PolicyLoader.Seed.Signals.Count);
    }

    [Fact]
    public void TheReadmeShowsTheSameExample()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        const string marker = "<!-- slm-policy-example -->\n```yaml\n";
        int start = readme.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md lacks the slm policy example");
        start += marker.Length;
        var yaml = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Equal(SeedWithChecks.ReplaceLineEndings("\n").TrimEnd(), yaml.ReplaceLineEndings("\n").TrimEnd());
    }

    [Theory]
    // Each case: the policy text after Head (5 lines), the expected line and column, and a phrase the message must contain.
    [InlineData("rules2: 1\n", 6, 1, "unknown key 'rules2'")]
    [InlineData("slm_checks:\n  - { prompt: \"Reading {tempreture}\", labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 24, "unknown placeholder {tempreture}")]
    [InlineData("slm_checks:\n  - { prompt: \"x {{ok}} {label} {nope}\", labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 33, "unknown placeholder {nope}")]
    [InlineData("slm_checks:\n  - prompt: |\n      First line {label}\n      Second {text} line\n    labels: [A, B]\n    model: m\n    latency_budget_ms: 10\n    on_timeout: A\n", 9, 14, "uses {text} but the check has no 'text: SIGNAL'")]
    [InlineData("slm_checks:\n  - { prompt: \"unclosed {label\", labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 25, "a '{' without its '}'")]
    [InlineData("slm_checks:\n  - { prompt: \"stray } brace\", labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 22, "a '}' without its '{'")]
    [InlineData("slm_checks:\n  - { prompt: p, text: t, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 24, "'text: t' must name a text signal (declared: note)")]
    [InlineData("slm_checks:\n  - { prompt: p, text: memo, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 24, "must name a text signal")]
    [InlineData("slm_checks:\n  - { prompt: p, on_labels: [HOTT], labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 30, "on_labels 'HOTT' is no rule's label")]
    [InlineData("slm_checks:\n  - { prompt: p, on_labels: [], labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 29, "'on_labels' is empty")]
    [InlineData("slm_checks:\n  - { prompt: p, alerts_only: true, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 31, "'alerts_only' needs 'on_labels'")]
    [InlineData("slm_checks:\n  - { prompt: p, explain: yes, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 27, "explain must be true or false")]
    [InlineData("slm_checks:\n  - { prompt: p, explain_max_tokens: 5, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 38, "needs 'explain: true'")]
    [InlineData("slm_checks:\n  - { prompt: p, explain: true, explain_max_tokens: 0, labels: [A, B], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 53, "explain_max_tokens must be a whole number from 1 to 1024")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, \" A\"], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 30, "starts or ends with white space")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, A], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 30, "label 'A' is listed twice")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 26, "at least two labels")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, \"\"], model: m, latency_budget_ms: 10, on_timeout: A }\n", 7, 30, "a label must be a non-empty text value")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, B], model: m, latency_budget_ms: 0, on_timeout: A }\n", 7, 63, "latency_budget_ms must be a whole number from 1")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, B], model: \"\", latency_budget_ms: 5, on_timeout: A }\n", 7, 41, "model must be a non-empty text value")]
    [InlineData("slm_checks:\n  - { prompt: p, labels: [A, B], latency_budget_ms: 5, on_timeout: A }\n", 7, 5, "missing required key 'model'")]
    [InlineData("slm_checks:\n  - { name: c, prompt: p, labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }\n  - { name: c, prompt: p, labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }\n", 8, 5, "'c' is used twice")]
    public void InvalidChecksNameTheLine(string tail, int line, int column, string phrase) => AssertRefused(Head + tail, line, column, phrase);

    [Theory]
    [InlineData("signals:\n  t: { unit: C }\n  note: { type: text }\nrules:\n  - { signal: note, above: 1, label: A }\n", 5, 15, "signal 'note' is text; rules compare numbers")]
    [InlineData("signals:\n  t: { unit: C }\n  note: { type: text }\nrules:\n  - { signal: note, missing: true, label: A }\n", 5, 15, "signal 'note' is text")]
    [InlineData("signals:\n  t: { unit: C, type: words }\nrules:\n  - { signal: t, above: 1, label: A }\n", 2, 23, "unknown type 'words' (use number or text)")]
    [InlineData("signals:\n  t: { type: number }\nrules:\n  - { signal: t, above: 1, label: A }\n", 2, 6, "missing required key 'unit'")]
    [InlineData("signals:\n  t: { unit: C, max_bytes: 10 }\nrules:\n  - { signal: t, above: 1, label: A }\n", 2, 28, "'max_bytes' applies to text signals only")]
    [InlineData("signals:\n  t: { unit: C }\n  n: { type: text, max_bytes: 0 }\nrules:\n  - { signal: t, above: 1, label: A }\n", 3, 31, "max_bytes must be a whole number from 1")]
    [InlineData("signals:\n  t: { unit: C, source: a, field: v }\n  n: { type: text, source: b, field: v }\nrules:\n  - { signal: t, above: 1, label: A }\n", 2, 3, "field 'v' is text in one signal and a number in another")]
    public void TextSignalsAreValidated(string yaml, int line, int column, string phrase) => AssertRefused(yaml, line, column, phrase);

    [Fact]
    public void TheParserAcceptsTextOnlyForTextSignals()
    {
        var policy = PolicyLoader.Parse(Head.Replace("note: { type: text }", "note: { type: text, max_bytes: 5 }"), "p.yaml");
        var parser = new ReadingParser(policy);
        var r = parser.Parse("{\"ts\": 1, \"t\": 70, \"note\": \"éé\"}", "test", 1).Reading!;   // 4 UTF-8 bytes
        Assert.Equal("éé", (string?)r.Fields["note"]);
        Assert.Equal(70, new RuleEngine(policy).Evaluate(r).Inputs["t"]);
        Assert.Null(parser.Parse("{\"ts\": 1, \"note\": null}", "test", 2).Quarantined);

        var q = parser.Parse("{\"ts\": 1, \"note\": \"ééé\"}", "test", 3).Quarantined!;   // 6 bytes
        Assert.Equal(QuarantineReason.TooLarge, q.Reason);
        Assert.Contains("text signal field 'note' is 6 bytes, over its limit of 5", q.Detail);
        Assert.Equal(QuarantineReason.WrongType, parser.Parse("{\"ts\": 1, \"note\": 5}", "test", 4).Quarantined!.Reason);
        Assert.Contains("not text", parser.Parse("{\"ts\": 1, \"note\": [\"a\"]}", "test", 5).Quarantined!.Detail);
        Assert.Equal(QuarantineReason.WrongType, parser.Parse("{\"ts\": 1, \"t\": \"hot\"}", "test", 6).Quarantined!.Reason);
    }

    [Fact]
    public void TheDefaultTextLimitApplies()
    {
        var parser = new ReadingParser(PolicyLoader.Parse(Head, "p.yaml"));
        var fits = new string('a', SignalSpec.DefaultTextMaxBytes);
        Assert.Null(parser.Parse($"{{\"ts\": 1, \"note\": \"{fits}\"}}", "test", 1).Quarantined);
        Assert.Equal(QuarantineReason.TooLarge, parser.Parse($"{{\"ts\": 1, \"note\": \"{fits}a\"}}", "test", 2).Quarantined!.Reason);
    }

    [Fact]
    public void AlertChecksRunOnAlertsAndNoteChecksOnNotes()
    {
        var policy = PolicyLoader.Parse(SeedWithChecks, "example.yaml");
        var engine = new RuleEngine(policy);
        (string[] Names, string[] Inputs) Run(Reading r)
        {
            var requests = SlmTriggers.For(policy, r, engine.Evaluate(r));
            return (requests.Select(q => q.Check.Name).ToArray(), requests.Select(q => q.Input).ToArray());
        }

        Assert.Empty(Run(At(0, new() { ["temperature"] = 70, ["vibration"] = 0.01 })).Names);
        var alert = Run(At(1, new() { ["temperature"] = 85.5, ["vibration"] = 0.01 }));
        Assert.Equal(["explain_alert"], alert.Names);
        Assert.Equal("Machine readings at 2026-03-01T12:00:01.000Z: temperature=85.5 C, vibration=0.01 g. Rule 'hot' raised ANOMALY DETECTED. Is the machine at risk?",
            alert.Inputs[0]);
        // Still anomalous, but no new alert: alerts_only keeps the check quiet.
        Assert.Empty(Run(At(2, new() { ["temperature"] = 86, ["vibration"] = 0.01 })).Names);
        var both = Run(At(3, new() { ["temperature"] = 70, ["vibration"] = 0.01, ["note"] = "Grinding noise {loud}" }));
        Assert.Equal(["operator_note"], both.Names);
        Assert.Equal("An operator wrote: Grinding noise {loud}\nTemperature is 70 C. Does the note report a problem?", both.Inputs[0]);
        Assert.Empty(Run(At(4, new() { ["temperature"] = 70, ["note"] = "   " })).Names);
        var noTemperature = Run(At(5, new() { ["note"] = "checked" }));
        Assert.Equal("An operator wrote: checked\nTemperature is (missing) C. Does the note report a problem?", noTemperature.Inputs[0]);
        // A new alert and a note at once: both checks, in policy order.
        Assert.Equal(["explain_alert", "operator_note"], Run(At(6, new() { ["temperature"] = 70, ["vibration"] = 0.05, ["note"] = "shaking" })).Names);
    }

    [Fact]
    public void TriggersCombineAndAChecksWithoutTriggersRunsAlways()
    {
        var policy = PolicyLoader.Parse(Head + """
            slm_checks:
              - { name: every, prompt: "{rule}/{label}/{t}/{note}/{source}/{{braces}}", labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }
              - { name: hot_note, text: note, on_labels: [HOT], prompt: "{text}", labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }
              - { name: normal, on_labels: [NORMAL], prompt: "{signals}", labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }
            """, "p.yaml");
        var engine = new RuleEngine(policy);
        IReadOnlyList<SlmCheckRequest> Run(Reading r) => SlmTriggers.For(policy, r, engine.Evaluate(r));

        var quiet = Run(At(0, new() { ["t"] = 20 }, "line1"));
        Assert.Equal(["every", "normal"], quiet.Select(q => q.Check.Name));
        Assert.Equal("none/NORMAL/20/(missing)/line1/{braces}", quiet[0].Input);
        Assert.Equal("t=20 C", quiet[1].Input);
        Assert.Equal(["every"], Run(At(1, new() { ["t"] = 90 })).Select(q => q.Check.Name));           // HOT but no note
        Assert.Equal(["every", "normal"], Run(At(2, new() { ["t"] = 20, ["note"] = "x" })).Select(q => q.Check.Name)); // note but not HOT
        var hot = Run(At(3, new() { ["t"] = 90, ["note"] = "smoke" }));
        Assert.Equal(["every", "hot_note"], hot.Select(q => q.Check.Name));
        Assert.Equal("hot/HOT/90/smoke/test/{braces}", hot[0].Input);
        Assert.Equal("smoke", hot[1].Input);
    }

    [Fact]
    public void ATextSignalFromOneSourceIsNotReadFromAnother()
    {
        var policy = PolicyLoader.Parse(Head.Replace("note: { type: text }", "note: { type: text, source: desk }") +
            "slm_checks:\n  - { text: note, prompt: \"{text}\", labels: [A, B], model: m, latency_budget_ms: 5, on_timeout: A }\n", "p.yaml");
        var engine = new RuleEngine(policy);
        Assert.Single(SlmTriggers.For(policy, At(0, new() { ["note"] = "hello" }, "desk"), engine.Evaluate(At(0, new(), "desk"))));
        Assert.Empty(SlmTriggers.For(policy, At(1, new() { ["note"] = "hello" }, "line1"), engine.Evaluate(At(1, new(), "line1"))));
    }

    [Fact]
    public void ChecksBuiltInCodeWithBadPromptsAreRefusedWhenRendered()
    {
        var policy = PolicyLoader.Seed;
        var r = At(0, new() { ["temperature"] = 1 });
        var d = new RuleEngine(policy).Evaluate(r);
        var check = new SlmCheckSpec("c", "{nope}", ["A", "B"], "m", 5, "A");
        Assert.Contains("unknown placeholder {nope}", Assert.Throws<ArgumentException>(() => SlmTriggers.Render(policy, check, r, d)).Message);
        Assert.Contains("'{' without", Assert.Throws<ArgumentException>(() => SlmTriggers.Render(policy, check with { Prompt = "{x" }, r, d)).Message);
        Assert.Contains("{text}", Assert.Throws<ArgumentException>(() => SlmTriggers.Render(policy, check with { Prompt = "{text}" }, r, d)).Message);
    }

    [Fact]
    public void AResultBecomesAStoreRecordKeyedByReadingAndCheck()
    {
        var check = new SlmCheckSpec("explain_alert", "p", ["AT RISK", "NOT AT RISK"], "qwen2.5:0.5b", 3000, "AT RISK");
        var result = new SlmCheckResult("NOT AT RISK", "It cooled down.", " NOT AT RISK\n It cooled down.", TimeSpan.FromMilliseconds(812), TimedOut: false);
        var at = new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
        var key = ReadingKeys.For("sim/line1", "{\"ts\":1}"u8);
        Assert.Equal(new ModelDecisionRecord($"{key}/explain_alert", key, "explain_alert", "qwen2.5:0.5b", "the input", "NOT AT RISK",
            " NOT AT RISK\n It cooled down.", TimeSpan.FromMilliseconds(812), false, at), result.ToRecord(key, check, "the input", at));
        var timedOut = new SlmCheckResult("AT RISK", null, "", TimeSpan.FromSeconds(3), TimedOut: true).ToRecord(key, check, "x", at);
        Assert.Equal(("AT RISK", "", true), (timedOut.Label, timedOut.ModelOutput, timedOut.TimedOut));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hearth.sln"))) return dir.FullName;
        }

        throw new DirectoryNotFoundException("the repository root (Hearth.sln) is not above the test binaries");
    }
}
