using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Hearth.Serving;

namespace Hearth.Server;

/// <summary>
/// The server's counters in Prometheus' text exposition format. Request counts are kept here; token and time totals
/// come from the schedulers' counters, folded in as deltas (after every request and at every scrape) so the totals
/// keep growing when a model is unloaded.
/// </summary>
public sealed class ServerMetrics
{
    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _requests = new();
    private readonly ConditionalWeakTable<SequenceScheduler, Box> _seen = new();
    private readonly object _gate = new();
    private long _promptTokens, _generatedTokens, _rejected, _cancelled;
    private double _promptSeconds, _generationSeconds;

    /// <summary>Counts one answered request (<paramref name="endpoint"/> is a route pattern, never a raw path).</summary>
    public void CountRequest(string endpoint, int status) => _requests.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);

    /// <summary>The number of requests answered so far for an endpoint and status.</summary>
    public long Requests(string endpoint, int status) => _requests.TryGetValue((endpoint, status), out var n) ? n : 0;

    /// <summary>Adds what <paramref name="scheduler"/> did since it was last observed to the totals.</summary>
    public void Observe(SequenceScheduler scheduler)
    {
        var now = scheduler.Counters;
        lock (_gate)
        {
            var box = _seen.GetOrCreateValue(scheduler);
            var before = box.Value;
            _promptTokens += now.PromptTokens - before.PromptTokens;
            _generatedTokens += now.GeneratedTokens - before.GeneratedTokens;
            _promptSeconds += now.PromptSeconds - before.PromptSeconds;
            _generationSeconds += now.GenerationSeconds - before.GenerationSeconds;
            _rejected += now.Rejected - before.Rejected;
            _cancelled += now.Cancelled - before.Cancelled;
            box.Value = now;
        }
    }

    /// <summary>The exposition text for the models loaded in <paramref name="host"/> and everything counted so far.</summary>
    public string Render(ModelHost host)
    {
        var loaded = host.Loaded;
        foreach (var m in loaded) Observe(m.Scheduler);
        var s = new StringBuilder();
        s.Append("# HELP hearth_requests_total HTTP requests answered, by route and status.\n# TYPE hearth_requests_total counter\n");
        foreach (var ((endpoint, status), n) in _requests.OrderBy(kv => kv.Key.Endpoint, StringComparer.Ordinal).ThenBy(kv => kv.Key.Status))
            s.Append(CultureInfo.InvariantCulture, $"hearth_requests_total{{endpoint=\"{Escape(endpoint)}\",status=\"{status}\"}} {n}\n");
        lock (_gate)
        {
            Counter(s, "hearth_prompt_tokens_total", "Prompt tokens evaluated.", _promptTokens);
            Counter(s, "hearth_generated_tokens_total", "Tokens generated.", _generatedTokens);
            Counter(s, "hearth_prompt_seconds_total", "Seconds spent evaluating prompts.", _promptSeconds);
            Counter(s, "hearth_generation_seconds_total", "Seconds spent in decode steps.", _generationSeconds);
            Counter(s, "hearth_rejected_requests_total", "Generations refused because a queue was full.", _rejected);
            Counter(s, "hearth_cancelled_requests_total", "Generations cancelled (mostly by clients that went away).", _cancelled);
        }

        Gauge(s, "hearth_queue_depth", "Requests waiting for a free sequence.", loaded, m => m.Scheduler.QueueDepth);
        Gauge(s, "hearth_active_sequences", "Sequences being generated.", loaded, m => m.Scheduler.Active);
        Gauge(s, "hearth_model_bytes", "Memory a loaded model holds: file plus KV caches and buffers.", loaded, m => m.Bytes);
        s.Append("# HELP hearth_model_loading Whether a model is being loaded.\n# TYPE hearth_model_loading gauge\n");
        s.Append(CultureInfo.InvariantCulture, $"hearth_model_loading {(host.IsLoading ? 1 : 0)}\n");
        return s.ToString();
    }

    private static void Counter(StringBuilder s, string name, string help, double value) =>
        s.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n");

    private static void Gauge(StringBuilder s, string name, string help, IReadOnlyList<LoadedModel> models, Func<LoadedModel, long> value)
    {
        s.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n");
        foreach (var m in models) s.Append(CultureInfo.InvariantCulture, $"{name}{{model=\"{Escape(m.Name)}\"}} {value(m)}\n");
    }

    /// <summary>Escapes a label value (backslash, quote, newline) as the exposition format requires.</summary>
    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Box
    {
        public SchedulerCounters Value;
    }
}
