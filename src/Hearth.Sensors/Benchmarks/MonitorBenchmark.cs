using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Sensors.Slm;

namespace Hearth.Sensors;

/// <summary>Rules-only figures over a simulated feed.</summary>
/// <param name="Readings">Readings evaluated.</param>
/// <param name="Alerts">Alerts raised.</param>
/// <param name="RuleTime">Time spent in rule evaluation alone (the sum of every evaluation's latency).</param>
/// <param name="Elapsed">Wall time of the whole run, generating the simulated readings included.</param>
/// <param name="P50">Median evaluation latency (nearest rank, within 1/16).</param>
/// <param name="P99">99th-percentile evaluation latency (nearest rank, within 1/16).</param>
public sealed record RulesBenchmark(long Readings, long Alerts, TimeSpan RuleTime, TimeSpan Elapsed, TimeSpan P50, TimeSpan P99)
{
    /// <summary>Readings per second of rule evaluation alone.</summary>
    public double ReadingsPerSecond => RuleTime > TimeSpan.Zero ? Readings / RuleTime.TotalSeconds : 0;

    /// <summary>Readings per second end to end (feed generation and session bookkeeping included).</summary>
    public double EndToEndReadingsPerSecond => Elapsed > TimeSpan.Zero ? Readings / Elapsed.TotalSeconds : 0;
}

/// <summary>Small-language-model check figures.</summary>
/// <param name="Model">The model the checks ran on.</param>
/// <param name="LoadTime">Time to load it (and build its grammar vocabulary), before any check.</param>
/// <param name="Checks">Checks measured (one unmeasured warm-up check ran before them).</param>
/// <param name="TimedOut">Checks that used their fail-safe label.</param>
/// <param name="P50">Median check latency (nearest rank, within 1/16).</param>
/// <param name="P99">99th-percentile check latency (nearest rank, within 1/16).</param>
/// <param name="Mean">Mean check latency.</param>
/// <param name="Labels">How often each label was the answer.</param>
public sealed record SlmBenchmark(string Model, TimeSpan LoadTime, int Checks, int TimedOut, TimeSpan P50, TimeSpan P99, TimeSpan Mean,
    IReadOnlyDictionary<string, int> Labels)
{
    /// <summary>Prompt tokens of the measured checks' passes (label and explanation), reused ones included.</summary>
    public long PromptTokens { get; init; }

    /// <summary>Those of <see cref="PromptTokens"/> whose keys and values came from the prompt cache.</summary>
    public long ReusedPromptTokens { get; init; }
}

/// <summary>
/// The monitor benchmark (not a test: its figures depend on the machine). Rules: a policy's rules over the seeded
/// <see cref="SimulatedSensorFeed"/> (temperature and vibration readings). SLM checks: a policy's checks (or, when it has
/// none, <see cref="DefaultCheck"/>) run one after another on a model, with inputs rendered from the same feed.
/// </summary>
public static class MonitorBenchmark
{
    private static readonly string[] s_notes =
    [
        "Bearing on the main shaft sounds rough since the morning shift.",
        "Cleaned the intake filter, everything looks normal.",
        "Smell of burnt oil near the gearbox, please check.",
        "Routine inspection done, no remarks.",
        "Coolant pump restarted twice during the night.",
    ];

    /// <summary>The check benchmarked when a policy has none: the seed scenario's two labels, asked of a reading's values.</summary>
    public static SlmCheckSpec DefaultCheck(string model, int budgetMs) => new(
        "bench",
        "A machine reports {signals} at {time}. The rules say {label}. Is the machine in an anomalous state?",
        ["ANOMALY DETECTED", "NORMAL"], model, budgetMs, "ANOMALY DETECTED");

    /// <summary>Evaluates <paramref name="readings"/> simulated readings with the policy's rules.</summary>
    public static RulesBenchmark RunRules(MonitorPolicy policy, long readings, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfLessThan(readings, 1);
        var session = new MonitorSession(policy);
        var clock = Stopwatch.StartNew();
        foreach (var reading in SimulatedSensorFeed.Generate(readings, new SimulationOptions { Seed = seed })) session.Accept(reading);
        var elapsed = clock.Elapsed;
        var stats = session.Stats();
        return new RulesBenchmark(stats.Readings, stats.Alerts, stats.RuleTime, elapsed, stats.LatencyP50, stats.LatencyP99);
    }

    /// <summary>
    /// Loads <paramref name="model"/> into <paramref name="classifier"/>, runs one warm-up check, then
    /// <paramref name="checks"/> measured checks, cycling through the policy's checks (each with its model replaced by
    /// <paramref name="model"/>, and its budget by <paramref name="budgetMs"/> when given) or <see cref="DefaultCheck"/>.
    /// Inputs come from every 97th simulated reading (so anomalies are among them); text signals get sample operator notes.
    /// </summary>
    /// <exception cref="FileNotFoundException">The model is neither a file nor in the store.</exception>
    /// <exception cref="HearthException">The model cannot be loaded.</exception>
    public static async Task<SlmBenchmark> RunSlmAsync(MonitorPolicy policy, EngineSlmClassifier classifier, string model, int checks,
        int? budgetMs = null, bool explain = false, ulong seed = 1, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(checks, 1);
        if (budgetMs is < 1) throw new ArgumentOutOfRangeException(nameof(budgetMs), "the budget must be at least 1 ms");
        var specs = policy.SlmChecks.Count > 0
            ? policy.SlmChecks.Select(c => c with { Model = model, LatencyBudgetMs = budgetMs ?? c.LatencyBudgetMs, Explain = explain || c.Explain }).ToList()
            : [DefaultCheck(model, budgetMs ?? 60_000) with { Explain = explain }];

        var load = Stopwatch.StartNew();
        classifier.Load(model);
        var loadTime = load.Elapsed;

        var inputs = Inputs(policy, specs, checks + 1, seed).ToList();
        await classifier.ClassifyAsync(inputs[0].Check, inputs[0].Input, cancel).ConfigureAwait(false);
        var cacheBefore = classifier.PromptCache().GetValueOrDefault(model);
        var histogram = new LatencyHistogram();
        var labels = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int timedOut = 0;
        var total = TimeSpan.Zero;
        foreach (var (check, input) in inputs.Skip(1))
        {
            var r = await classifier.ClassifyAsync(check, input, cancel).ConfigureAwait(false);
            histogram.Add((long)(r.Latency.TotalSeconds * Stopwatch.Frequency));
            total += r.Latency;
            if (r.TimedOut) timedOut++;
            labels[r.Label] = labels.GetValueOrDefault(r.Label) + 1;
        }

        var cacheAfter = classifier.PromptCache().GetValueOrDefault(model);
        return new SlmBenchmark(model, loadTime, checks, timedOut, histogram.Percentile(0.50), histogram.Percentile(0.99), total / checks, labels)
        {
            PromptTokens = (cacheAfter?.PromptTokens ?? 0) - (cacheBefore?.PromptTokens ?? 0),
            ReusedPromptTokens = (cacheAfter?.ReusedTokens ?? 0) - (cacheBefore?.ReusedTokens ?? 0),
        };
    }

    /// <summary>The figures as text lines.</summary>
    public static string ToText(RulesBenchmark rules, SlmBenchmark? slm)
    {
        var inv = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(inv, $"rules: {rules.Readings} readings, {rules.Alerts} alerts; {rules.ReadingsPerSecond:F0} readings/s (rules alone), {rules.EndToEndReadingsPerSecond:F0} readings/s (with the simulated feed)"),
            string.Create(inv, $"rule latency: p50 {rules.P50.TotalMicroseconds:F2} us, p99 {rules.P99.TotalMicroseconds:F2} us"),
        };
        if (slm != null)
        {
            lines.Add(string.Create(inv, $"slm: {slm.Checks} checks on {slm.Model} (loaded in {slm.LoadTime.TotalMilliseconds:F0} ms); {slm.TimedOut} timed out"));
            lines.Add(string.Create(inv, $"slm latency: p50 {slm.P50.TotalMilliseconds:F1} ms, p99 {slm.P99.TotalMilliseconds:F1} ms, mean {slm.Mean.TotalMilliseconds:F1} ms"));
            lines.Add("slm labels: " + string.Join(", ", slm.Labels.Select(p => $"{p.Key} {p.Value}")));
            lines.Add(string.Create(inv, $"slm prompt tokens: {slm.PromptTokens}, {slm.ReusedPromptTokens} of them reused from the prompt cache"));
        }

        return string.Join("\n", lines) + "\n";
    }

    /// <summary>The figures as one JSON object (<c>"type":"bench"</c>).</summary>
    public static string ToJson(RulesBenchmark rules, SlmBenchmark? slm)
    {
        var o = new JsonObject
        {
            ["type"] = "bench",
            ["rules"] = new JsonObject
            {
                ["readings"] = rules.Readings, ["alerts"] = rules.Alerts, ["readings_per_second"] = Math.Round(rules.ReadingsPerSecond),
                ["end_to_end_readings_per_second"] = Math.Round(rules.EndToEndReadingsPerSecond),
                ["latency_p50_us"] = Math.Round(rules.P50.TotalMicroseconds, 3), ["latency_p99_us"] = Math.Round(rules.P99.TotalMicroseconds, 3),
            },
        };
        if (slm != null)
        {
            var labels = new JsonObject();
            foreach (var (k, v) in slm.Labels) labels[k] = v;
            o["slm"] = new JsonObject
            {
                ["model"] = slm.Model, ["load_ms"] = Math.Round(slm.LoadTime.TotalMilliseconds, 1), ["checks"] = slm.Checks, ["timed_out"] = slm.TimedOut,
                ["latency_p50_ms"] = Math.Round(slm.P50.TotalMilliseconds, 3), ["latency_p99_ms"] = Math.Round(slm.P99.TotalMilliseconds, 3),
                ["latency_mean_ms"] = Math.Round(slm.Mean.TotalMilliseconds, 3), ["labels"] = labels,
                ["prompt_tokens"] = slm.PromptTokens, ["reused_prompt_tokens"] = slm.ReusedPromptTokens,
            };
        }

        return o.ToJsonString(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    // Every 97th reading of the feed, with its decision, rendered for the checks in turn.
    private static IEnumerable<(SlmCheckSpec Check, string Input)> Inputs(MonitorPolicy policy, List<SlmCheckSpec> specs, int count, ulong seed)
    {
        var engine = new RuleEngine(policy);
        int i = 0;
        foreach (var reading in SimulatedSensorFeed.Generate(long.MaxValue, new SimulationOptions { Seed = seed, AnomalyRate = 0.02 }))
        {
            var decision = engine.Evaluate(reading);
            if (i++ % 97 != 0) continue;
            int n = (i - 1) / 97;
            if (n >= count) yield break;
            var spec = specs[n % specs.Count];
            foreach (var text in policy.Signals.Where(s => s.Kind == SignalKind.Text)) reading.Fields[text.Field] = s_notes[n % s_notes.Length];
            yield return (spec, SlmTriggers.Render(policy, spec, reading, decision));
        }
    }
}
