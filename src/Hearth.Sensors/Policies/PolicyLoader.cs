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

    private static readonly string[] s_topKeys = ["signals", "rules", "slm_checks", "actions", "default_label", "max_reading_bytes", "sources", "sinks"];
    private static readonly string[] s_signalKeys = ["unit", "source", "field"];
    private static readonly string[] s_ruleKeys =
        ["name", "signal", "label", "above", "below", "clear", "clear_after", "stat", "window_seconds", "window_readings", "missing", "stale_seconds"];
    private static readonly string[] s_slmKeys = ["name", "prompt", "labels", "model", "latency_budget_ms", "on_timeout"];
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
        foreach (var (key, value) in ctx.Mapping(signalsNode, "'signals' (signal name → { unit, source, field })").Children)
        {
            var name = ctx.Text(key, "a signal name");
            var where = $"signal '{name}'";
            var m = ctx.Mapping(value, where);
            ctx.CheckKeys(m, s_signalKeys, where);
            signals.Add(new SignalSpec(name, ctx.Text(ctx.Required(m, "unit", where), "unit"),
                ctx.Optional(m, "source") is { } src ? ctx.Text(src, "source") : null,
                ctx.Optional(m, "field") is { } f ? ctx.Text(f, "field") : name));
        }

        if (signals.Count == 0) throw ctx.Error(signalsNode, "'signals' is empty; declare at least one signal");
        foreach (var dup in signals.GroupBy(s => (s.Source, s.Field)).Where(g => g.Count() > 1))
            throw ctx.Error(signalsNode, $"signals {string.Join(", ", dup.Select(s => $"'{s.Name}'"))} read the same field '{dup.Key.Field}'");

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
            for (int i = 0; i < seq.Children.Count; i++) slmChecks.Add(ParseSlmCheck(ctx, seq.Children[i], i));
            foreach (var (check, node) in slmChecks.Zip(seq.Children).GroupBy(p => p.First.Name).Where(g => g.Count() > 1).Select(g => g.Last()))
                throw ctx.Error(node, $"slm check name '{check.Name}' is used twice");
        }

        var sources = ctx.Optional(root, "sources") is { } sourcesNode ? ParseSources(ctx, sourcesNode, baseDirectory) : [];
        var sinks = ctx.Optional(root, "sinks") is { } sinksNode ? ParseSinks(ctx, sinksNode, baseDirectory) : null;
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
            Sources = sources, Sinks = sinks,
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

    private static SlmCheckSpec ParseSlmCheck(Context ctx, YamlNode node, int index)
    {
        var where = $"slm_checks[{index}]";
        var m = ctx.Mapping(node, where);
        ctx.CheckKeys(m, s_slmKeys, where);
        var name = ctx.Optional(m, "name") is { } n ? ctx.Text(n, "name") : $"check{index + 1}";
        var labelsNode = ctx.Sequence(ctx.Required(m, "labels", where), "'labels'");
        var labels = labelsNode.Children.Select(l => ctx.Text(l, "a label")).ToList();
        if (labels.Count < 2) throw ctx.Error(labelsNode, $"{where}: 'labels' needs at least two labels to choose between");
        for (int i = 0; i < labels.Count; i++)
            if (labels.IndexOf(labels[i]) != i) throw ctx.Error(labelsNode.Children[i], $"{where}: label '{labels[i]}' is listed twice");
        var timeoutNode = ctx.Required(m, "on_timeout", where);
        var onTimeout = ctx.Text(timeoutNode, "on_timeout");
        if (!labels.Contains(onTimeout))
            throw ctx.Error(timeoutNode, $"{where}: on_timeout '{onTimeout}' is not one of its labels ({string.Join(", ", labels)})");
        return new SlmCheckSpec(name, ctx.Text(ctx.Required(m, "prompt", where), "prompt"), labels, ctx.Text(ctx.Required(m, "model", where), "model"),
            ctx.Int(ctx.Required(m, "latency_budget_ms", where), "latency_budget_ms", 1, 3_600_000), onTimeout);
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
    private sealed class Context(string file)
    {
        public PolicyException Error(YamlNode node, string problem) => new(file, (int)node.Start.Line, (int)node.Start.Column, problem);

        public YamlMappingNode Mapping(YamlNode node, string what) =>
            node as YamlMappingNode ?? throw Error(node, $"{what} must be a mapping (key: value lines)");

        public YamlSequenceNode Sequence(YamlNode node, string what) =>
            node as YamlSequenceNode ?? throw Error(node, $"{what} must be a list ('- item' lines or [a, b])");

        public void CheckKeys(YamlMappingNode m, string[] allowed, string where)
        {
            foreach (var key in m.Children.Keys)
            {
                var k = Text(key, "a key");
                if (!allowed.Contains(k)) throw Error(key, $"{where}: unknown key '{k}' (allowed: {string.Join(", ", allowed)})");
            }
        }

        public YamlNode? Optional(YamlMappingNode m, string key) => m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        public YamlNode Required(YamlMappingNode m, string key, string where) =>
            Optional(m, key) ?? throw Error(m, $"{where}: missing required key '{key}'");

        public string Text(YamlNode node, string what) => node is YamlScalarNode { Value: { Length: > 0 } v }
            ? v
            : throw Error(node, $"{what} must be a non-empty text value");

        public double Number(YamlNode node, string what, bool positive = false)
        {
            var text = Text(node, what);
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                throw Error(node, $"{what} must be a number, not '{text}'");
            if (positive && v <= 0) throw Error(node, $"{what} must be greater than 0, not {text}");
            return v;
        }

        public int Int(YamlNode node, string what, int min, int max)
        {
            var text = Text(node, what);
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
                throw Error(node, $"{what} must be a whole number from {min} to {max}, not '{text}'");
            return v;
        }

        public bool Bool(YamlNode node, string what) => Text(node, what) switch
        {
            "true" => true, "false" => false,
            var t => throw Error(node, $"{what} must be true or false, not '{t}'"),
        };
    }
}
