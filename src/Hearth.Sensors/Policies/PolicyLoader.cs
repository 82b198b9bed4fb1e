using System.Globalization;
using System.Reflection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Hearth.Sensors;

/// <summary>
/// Reads and validates monitor policy files (YAML). Every error is a <see cref="PolicyException"/> naming the line and
/// column; unknown keys are errors, so a typo never silently disables a rule.
/// </summary>
public static partial class PolicyLoader
{
    /// <summary>The name that selects the built-in seed policy (<see cref="Seed"/>).</summary>
    public const string SeedName = "seed";

    private static readonly string[] s_topKeys = ["signals", "rules", "slm_checks", "actions", "default_label", "max_reading_bytes", "sources", "sinks", "store"];
    private static readonly string[] s_signalKeys = ["unit", "source", "field", "type", "max_bytes"];
    private static readonly string[] s_ruleKeys =
        ["name", "signal", "label", "above", "below", "clear", "clear_after", "stat", "window_seconds", "window_readings", "missing", "stale_seconds"];
    private static readonly string[] s_slmKeys =
        ["name", "prompt", "labels", "model", "latency_budget_ms", "on_timeout", "text", "on_labels", "alerts_only", "explain", "explain_max_tokens"];
    private static readonly string[] s_actionKeys = ["sinks", "severity", "debounce_seconds"];

    /// <summary>The built-in seed policy: temperature above 80 or vibration above 0.04 → <c>ANOMALY DETECTED</c>, else <c>NORMAL</c>.</summary>
    public static MonitorPolicy Seed => Parse(SeedText, "seed.yaml");

    /// <summary>The text of the built-in seed policy.</summary>
    public static string SeedText
    {
        get
        {
            using var stream = typeof(PolicyLoader).Assembly.GetManifestResourceStream("Hearth.Sensors.Policies.seed.yaml")
                ?? throw new InvalidOperationException("the seed policy resource is missing from Hearth.Sensors");
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
    }

    /// <summary>Loads a policy file, or the built-in seed policy when <paramref name="path"/> is <c>seed</c> and no such file exists.</summary>
    /// <exception cref="PolicyException">The file is not a valid policy.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static MonitorPolicy Load(string path)
    {
        if (path == SeedName && !File.Exists(path)) return Seed;
        if (!File.Exists(path)) throw new FileNotFoundException($"policy file '{path}' does not exist (give a YAML policy file, or 'seed' for the built-in one)", path);
        return Parse(File.ReadAllText(path), Path.GetFileName(path), Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses policy text; <paramref name="fileName"/> is used in error messages. Relative file paths in
    /// <c>sources</c> and <c>sinks</c> are made absolute against <paramref name="baseDirectory"/> when it is given (and
    /// left as written, relative to the working directory, when not).</summary>
    /// <exception cref="PolicyException">The text is not a valid policy.</exception>
    public static MonitorPolicy Parse(string yaml, string fileName = "policy.yaml", string? baseDirectory = null)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new PolicyException(fileName, (int)e.Start.Line, (int)e.Start.Column, "YAML syntax error: " + e.Message, e);
        }

        var ctx = new Context(fileName);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            throw new PolicyException(fileName, 1, 1, "the policy is empty; it needs at least 'signals' and 'rules'");
        if (stream.Documents.Count > 1) throw ctx.Error(stream.Documents[1].RootNode, "a policy file holds one YAML document");
        var root = ctx.Mapping(stream.Documents[0].RootNode, "the policy");
        ctx.CheckKeys(root, s_topKeys, "the policy");

        var signalsNode = ctx.Required(root, "signals", "the policy");
        var signals = new List<SignalSpec>();
        foreach (var (key, value) in ctx.Mapping(signalsNode, "'signals' (signal name → { unit, source, field, type })").Children)
            signals.Add(ParseSignal(ctx, key, value));

        if (signals.Count == 0) throw ctx.Error(signalsNode, "'signals' is empty; declare at least one signal");
        foreach (var dup in signals.GroupBy(s => (s.Source, s.Field)).Where(g => g.Count() > 1))
            throw ctx.Error(signalsNode, $"signals {string.Join(", ", dup.Select(s => $"'{s.Name}'"))} read the same field '{dup.Key.Field}'");
        foreach (var mixed in signals.GroupBy(s => s.Field).Where(g => g.Select(s => s.Kind).Distinct().Count() > 1))
            throw ctx.Error(signalsNode, $"field '{mixed.Key}' is text in one signal and a number in another ({string.Join(", ", mixed.Select(s => $"'{s.Name}'"))}); give them different fields");

        var defaultLabel = ctx.Optional(root, "default_label") is { } dl ? ctx.Text(dl, "default_label") : "NORMAL";
        int maxBytes = ctx.Optional(root, "max_reading_bytes") is { } mb ? ctx.Int(mb, "max_reading_bytes", 2, 64 << 20) : 64 * 1024;

        var rulesNode = ctx.Required(root, "rules", "the policy");
        var rules = new List<RuleSpec>();
        var rulesSeq = ctx.Sequence(rulesNode, "'rules'");
        for (int i = 0; i < rulesSeq.Children.Count; i++)
            rules.Add(ParseRule(ctx, rulesSeq.Children[i], i, signals));
        if (rules.Count == 0) throw ctx.Error(rulesNode, "'rules' is empty; give at least one rule");

        var slmChecks = new List<SlmCheckSpec>();
        if (ctx.Optional(root, "slm_checks") is { } slmNode)
        {
            var seq = ctx.Sequence(slmNode, "'slm_checks'");
            var ruleLabels = new HashSet<string>(rules.Select(r => r.Label)) { defaultLabel };
            for (int i = 0; i < seq.Children.Count; i++) slmChecks.Add(ParseSlmCheck(ctx, seq.Children[i], i, signals, ruleLabels, yaml, fileName));
            foreach (var (check, node) in slmChecks.Zip(seq.Children).GroupBy(p => p.First.Name).Where(g => g.Count() > 1).Select(g => g.Last()))
                throw ctx.Error(node, $"slm check name '{check.Name}' is used twice");
        }

        var sources = ctx.Optional(root, "sources") is { } sourcesNode ? ParseSources(ctx, sourcesNode, baseDirectory) : [];
        var sinks = ctx.Optional(root, "sinks") is { } sinksNode ? ParseSinks(ctx, sinksNode, baseDirectory) : null;
        var store = ctx.Optional(root, "store") is { } storeNode ? ParseStore(ctx, storeNode, baseDirectory) : null;
        var known = new HashSet<string>(rules.Select(r => r.Label).Concat(slmChecks.SelectMany(c => c.Labels))) { defaultLabel };
        var actions = new Dictionary<string, ActionSpec>();
        if (ctx.Optional(root, "actions") is { } actionsNode)
        {
            foreach (var (key, value) in ctx.Mapping(actionsNode, "'actions' (label → { sinks, severity, debounce_seconds })").Children)
            {
                var label = ctx.Text(key, "a label");
                if (!known.Contains(label))
                    throw ctx.Error(key, $"action for label '{label}', which no rule, slm check or default_label produces (labels: {string.Join(", ", known.Order(StringComparer.Ordinal))})");
                actions[label] = ParseAction(ctx, value, label, sinks);
            }
        }

        return new MonitorPolicy
        {
            Signals = signals, Rules = rules, DefaultLabel = defaultLabel, MaxReadingBytes = maxBytes, SlmChecks = slmChecks, Actions = actions,
            Sources = sources, Sinks = sinks, Store = store,
        };
    }

    private static RuleSpec ParseRule(Context ctx, YamlNode node, int index, List<SignalSpec> signals)
    {
        var where = $"rules[{index}]";
        var m = ctx.Mapping(node, where);
        ctx.CheckKeys(m, s_ruleKeys, where);
        var name = ctx.Optional(m, "name") is { } n ? ctx.Text(n, "name") : $"rule{index + 1}";
        where = $"rule '{name}'";
        var signalNode = ctx.Required(m, "signal", where);
        var signal = ctx.Text(signalNode, "signal");
        if (!signals.Any(s => s.Name == signal))
            throw ctx.Error(signalNode, $"{where}: unknown signal '{signal}' (declared: {string.Join(", ", signals.Select(s => s.Name))})");
        if (signals.First(s => s.Name == signal).Kind == SignalKind.Text)
            throw ctx.Error(signalNode, $"{where}: signal '{signal}' is text; rules compare numbers (an slm check with 'text: {signal}' reads text signals)");
        var label = ctx.Text(ctx.Required(m, "label", where), "label");

        var above = ctx.Optional(m, "above");
        var below = ctx.Optional(m, "below");
        var missing = ctx.Optional(m, "missing");
        var stale = ctx.Optional(m, "stale_seconds");
        var kinds = new[] { above, below, missing, stale }.Count(x => x != null);
        if (kinds != 1)
            throw ctx.Error(m, $"{where}: give exactly one of 'above', 'below', 'missing: true' or 'stale_seconds' (found {kinds})");

        int clearAfter = ctx.Optional(m, "clear_after") is { } ca ? ctx.Int(ca, "clear_after", 1, 1_000_000) : 1;
        var clearNode = ctx.Optional(m, "clear");
        var statNode = ctx.Optional(m, "stat");
        var winS = ctx.Optional(m, "window_seconds");
        var winN = ctx.Optional(m, "window_readings");
        var rule = new RuleSpec { Name = name, Signal = signal, Label = label, Kind = RuleKind.Threshold, ClearAfter = clearAfter };

        if (missing != null || stale != null)
        {
            foreach (var extra in new[] { clearNode, statNode, winS, winN }.Where(x => x != null))
                throw ctx.Error(extra!, $"{where}: 'clear', 'stat' and windows apply to 'above'/'below' rules only");
            if (missing != null)
            {
                if (!ctx.Bool(missing, "missing")) throw ctx.Error(missing, $"{where}: 'missing' can only be true (leave it out otherwise)");
                return rule with { Kind = RuleKind.Missing };
            }

            return rule with { Kind = RuleKind.Stale, StaleSeconds = ctx.Number(stale!, "stale_seconds", positive: true) };
        }

        bool isAbove = above != null;
        double threshold = ctx.Number((above ?? below)!, isAbove ? "above" : "below");
        double clear = threshold;
        if (clearNode != null)
        {
            clear = ctx.Number(clearNode, "clear");
            if (isAbove ? clear > threshold : clear < threshold)
                throw ctx.Error(clearNode, $"{where}: 'clear' ({Show(clear)}) must be {(isAbove ? "at or below 'above'" : "at or above 'below'")} ({Show(threshold)}) so the alert can clear");
        }

        var stat = RuleStatistic.Value;
        if (statNode != null)
        {
            var text = ctx.Text(statNode, "stat");
            stat = text switch
            {
                "value" => RuleStatistic.Value, "rate" => RuleStatistic.Rate, "mean" => RuleStatistic.Mean, "max" => RuleStatistic.Max,
                "min" => RuleStatistic.Min, "stddev" => RuleStatistic.StdDev,
                _ => throw ctx.Error(statNode, $"{where}: unknown stat '{text}' (use value, rate, mean, max, min or stddev)"),
            };
        }

        bool windowed = stat is RuleStatistic.Mean or RuleStatistic.Max or RuleStatistic.Min or RuleStatistic.StdDev;
        if (winS != null && winN != null) throw ctx.Error(winN, $"{where}: give 'window_seconds' or 'window_readings', not both");
        if (windowed && winS == null && winN == null)
            throw ctx.Error(statNode!, $"{where}: stat '{ctx.Text(statNode!, "stat")}' needs 'window_seconds: N' or 'window_readings: N'");
        if (!windowed && (winS ?? winN) is { } w) throw ctx.Error(w, $"{where}: a window needs stat mean, max, min or stddev");

        return rule with
        {
            Statistic = stat, Above = isAbove, Threshold = threshold, Clear = clear,
            WindowSeconds = winS != null ? ctx.Number(winS, "window_seconds", positive: true) : null,
            WindowReadings = winN != null ? ctx.Int(winN, "window_readings", 1, 1_000_000) : null,
        };
    }

    private static SignalSpec ParseSignal(Context ctx, YamlNode key, YamlNode value)
    {
        var name = ctx.Text(key, "a signal name");
        var where = $"signal '{name}'";
        var m = ctx.Mapping(value, where);
        ctx.CheckKeys(m, s_signalKeys, where);
        var kind = SignalKind.Number;
        if (ctx.Optional(m, "type") is { } typeNode)
        {
            var type = ctx.Text(typeNode, "type");
            kind = type switch
            {
                "number" => SignalKind.Number, "text" => SignalKind.Text,
                _ => throw ctx.Error(typeNode, $"{where}: unknown type '{type}' (use number or text)"),
            };
        }

        var unitNode = ctx.Optional(m, "unit");
        if (unitNode == null && kind == SignalKind.Number) throw ctx.Error(m, $"{where}: missing required key 'unit'");
        var maxBytesNode = ctx.Optional(m, "max_bytes");
        if (maxBytesNode != null && kind != SignalKind.Text) throw ctx.Error(maxBytesNode, $"{where}: 'max_bytes' applies to text signals only");
        return new SignalSpec(name, unitNode != null ? ctx.Text(unitNode, "unit") : "",
            ctx.Optional(m, "source") is { } src ? ctx.Text(src, "source") : null,
            ctx.Optional(m, "field") is { } f ? ctx.Text(f, "field") : name)
        {
            Kind = kind,
            MaxBytes = maxBytesNode != null ? ctx.Int(maxBytesNode, "max_bytes", 1, 64 << 20) : SignalSpec.DefaultTextMaxBytes,
        };
    }

    private static SlmCheckSpec ParseSlmCheck(
        Context ctx, YamlNode node, int index, List<SignalSpec> signals, HashSet<string> ruleLabels, string yaml, string fileName)
    {
        var where = $"slm_checks[{index}]";
        var m = ctx.Mapping(node, where);
        ctx.CheckKeys(m, s_slmKeys, where);
        var name = ctx.Optional(m, "name") is { } n ? ctx.Text(n, "name") : $"check{index + 1}";
        where = $"slm check '{name}'";
        var labelsNode = ctx.Sequence(ctx.Required(m, "labels", where), "'labels'");
        var labels = labelsNode.Children.Select(l => ctx.Text(l, "a label")).ToList();
        if (labels.Count < 2) throw ctx.Error(labelsNode, $"{where}: 'labels' needs at least two labels to choose between");
        for (int i = 0; i < labels.Count; i++)
        {
            if (labels.IndexOf(labels[i]) != i) throw ctx.Error(labelsNode.Children[i], $"{where}: label '{labels[i]}' is listed twice");
            if (labels[i].Trim() != labels[i]) throw ctx.Error(labelsNode.Children[i], $"{where}: label '{labels[i]}' starts or ends with white space");
        }

        var timeoutNode = ctx.Required(m, "on_timeout", where);
        var onTimeout = ctx.Text(timeoutNode, "on_timeout");
        if (!labels.Contains(onTimeout))
            throw ctx.Error(timeoutNode, $"{where}: on_timeout '{onTimeout}' is not one of its labels ({string.Join(", ", labels)})");

        string? text = null;
        if (ctx.Optional(m, "text") is { } textNode)
        {
            text = ctx.Text(textNode, "text");
            var signal = signals.FirstOrDefault(s => s.Name == text);
            if (signal?.Kind != SignalKind.Text)
            {
                var textSignals = signals.Where(s => s.Kind == SignalKind.Text).Select(s => s.Name).ToList();
                throw ctx.Error(textNode, $"{where}: 'text: {text}' must name a text signal ({(textSignals.Count > 0 ? "declared: " + string.Join(", ", textSignals) : "declare one with 'type: text'")})");
            }
        }

        IReadOnlyList<string> onLabels = Array.Empty<string>();
        if (ctx.Optional(m, "on_labels") is { } onLabelsNode)
        {
            var seq = ctx.Sequence(onLabelsNode, "'on_labels'");
            if (seq.Children.Count == 0) throw ctx.Error(seq, $"{where}: 'on_labels' is empty; leave it out to run on every reading");
            foreach (var l in seq.Children)
            {
                var label = ctx.Text(l, "a label");
                if (!ruleLabels.Contains(label))
                    throw ctx.Error(l, $"{where}: on_labels '{label}' is no rule's label nor the default_label, so the check would never run (labels: {string.Join(", ", ruleLabels.Order(StringComparer.Ordinal))})");
            }

            onLabels = seq.Children.Select(l => ctx.Text(l, "a label")).Distinct().ToArray();
        }

        var alertsOnlyNode = ctx.Optional(m, "alerts_only");
        bool alertsOnly = alertsOnlyNode != null && ctx.Bool(alertsOnlyNode, "alerts_only");
        if (alertsOnly && onLabels.Count == 0) throw ctx.Error(alertsOnlyNode!, $"{where}: 'alerts_only' needs 'on_labels' (the labels whose alerts run the check)");
        bool explain = ctx.Optional(m, "explain") is { } explainNode && ctx.Bool(explainNode, "explain");
        var maxTokensNode = ctx.Optional(m, "explain_max_tokens");
        if (maxTokensNode != null && !explain) throw ctx.Error(maxTokensNode, $"{where}: 'explain_max_tokens' needs 'explain: true'");

        var promptNode = ctx.Required(m, "prompt", where);
        var prompt = ctx.Text(promptNode, "prompt");
        CheckPrompt((YamlScalarNode)promptNode, prompt, text, signals, where, yaml, fileName);

        return new SlmCheckSpec(name, prompt, labels, ctx.Text(ctx.Required(m, "model", where), "model"),
            ctx.Int(ctx.Required(m, "latency_budget_ms", where), "latency_budget_ms", 1, 3_600_000), onTimeout)
        {
            Text = text, OnLabels = onLabels, AlertsOnly = alertsOnly, Explain = explain,
            ExplainMaxTokens = maxTokensNode != null ? ctx.Int(maxTokensNode, "explain_max_tokens", 1, 1024) : SlmCheckSpec.DefaultExplainMaxTokens,
        };
    }

    /// <summary>Every placeholder of a prompt must be one rendering can fill: an error names the placeholder's own line.</summary>
    private static void CheckPrompt(YamlScalarNode node, string prompt, string? text, List<SignalSpec> signals, string where, string yaml, string fileName)
    {
        if (Slm.SlmPromptTemplate.TryParse(prompt, out int errorOffset, out var error) is not { } template)
            throw PromptError(node, prompt, errorOffset, prompt.Substring(errorOffset, 1), $"{where}: prompt: {error}", yaml, fileName);
        foreach (var (placeholder, offset) in template.Placeholders)
        {
            var token = prompt[offset..(prompt.IndexOf('}', offset) + 1)];
            if (placeholder == Slm.SlmPromptTemplate.Text && text == null)
                throw PromptError(node, prompt, offset, token, $"{where}: prompt uses {{text}} but the check has no 'text: SIGNAL'", yaml, fileName);
            if (!Slm.SlmPromptTemplate.Reserved.Contains(placeholder) && !signals.Any(s => s.Name == placeholder))
            {
                throw PromptError(node, prompt, offset, token,
                    $"{where}: prompt has an unknown placeholder {token} (use {string.Join(", ", Slm.SlmPromptTemplate.Reserved.Concat(signals.Select(s => s.Name)).Select(p => "{" + p + "}"))}; '{{{{' for a literal brace)",
                    yaml, fileName);
            }
        }
    }

    // A scalar's value and its source text differ (quotes, escapes, folded lines), so the placeholder is found in the
    // source itself: the same occurrence of the same text after the scalar's start. Failing that, the scalar's start.
    private static PolicyException PromptError(YamlScalarNode node, string value, int offset, string token, string problem, string yaml, string fileName)
    {
        int occurrence = 0;
        for (int at = value.IndexOf(token, StringComparison.Ordinal); at >= 0 && at < offset; at = value.IndexOf(token, at + 1, StringComparison.Ordinal))
            occurrence++;
        int index = (int)Math.Min(node.Start.Index, yaml.Length);
        for (int k = 0; k <= occurrence && index >= 0; k++)
        {
            index = yaml.IndexOf(token, k == 0 ? index : index + 1, StringComparison.Ordinal);
        }

        if (index < 0 || index > node.End.Index) return new PolicyException(fileName, (int)node.Start.Line, (int)node.Start.Column, problem);
        int lineStart = index == 0 ? 0 : yaml.LastIndexOf('\n', index - 1) + 1;
        int line = 1 + yaml.AsSpan(0, index).Count('\n');
        return new PolicyException(fileName, line, index - lineStart + 1, problem);
    }

    private static ActionSpec ParseAction(Context ctx, YamlNode node, string label, IReadOnlyList<SinkSpec>? declared)
    {
        var where = $"action for '{label}'";
        var m = ctx.Mapping(node, where);
        ctx.CheckKeys(m, s_actionKeys, where);
        var sinks = new List<string>();
        foreach (var x in ctx.Optional(m, "sinks") is { } s ? ctx.Sequence(s, "'sinks'").Children : [])
        {
            var name = ctx.Text(x, "a sink");
            // Without a 'sinks' section the names are only labels (replay prints them); with one, each must be declared.
            if (declared != null && !declared.Any(d => d.Name == name))
                throw ctx.Error(x, $"{where}: unknown sink '{name}' (declared sinks: {(declared.Count > 0 ? string.Join(", ", declared.Select(d => d.Name)) : "none")})");
            sinks.Add(name);
        }

        var severity = AlertSeverity.Info;
        if (ctx.Optional(m, "severity") is { } sev)
        {
            var text = ctx.Text(sev, "severity");
            severity = text switch
            {
                "info" => AlertSeverity.Info, "warning" => AlertSeverity.Warning, "critical" => AlertSeverity.Critical,
                _ => throw ctx.Error(sev, $"{where}: unknown severity '{text}' (use info, warning or critical)"),
            };
        }

        double debounce = ctx.Optional(m, "debounce_seconds") is { } d ? ctx.Number(d, "debounce_seconds", positive: false) : 0;
        if (debounce < 0) throw ctx.Error(m, $"{where}: debounce_seconds must not be negative");
        return new ActionSpec(sinks, severity, debounce);
    }

    private static string Show(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Typed access to YAML nodes that throws located errors.</summary>
    private sealed class Context(string file) : YamlPolicyReader<PolicyException>
    {
        public override PolicyException Error(YamlNode node, string problem) => new(file, (int)node.Start.Line, (int)node.Start.Column, problem);
    }
}
