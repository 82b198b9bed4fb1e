using System.Text.Json.Nodes;
using Hearth.Models;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Slm;
using Hearth.Sensors.Storage;
using Hearth.Tests;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>Small-language-model checks in the live monitor, on the real engine with the trained stories260K model: off
/// the decision loop, stored as model decisions beside the rules' decisions, sent to sinks, failing safe when their queue
/// is full, and never lost when the monitor stops before they finish.</summary>
public sealed class SlmMonitorTests : IDisposable
{
    internal static readonly string Model = TestData.Path("models", "stories260K.gguf");
    internal static readonly string[] Labels = ["hot", "cold"];
    private readonly LanguageModel _reference = LanguageModel.Load(Model);

    public void Dispose() => _reference.Dispose();

    /// <summary>The seed scenario with a text signal and a check that reads it. The labels are words this little story
    /// model's answers between depend on the text, so the tests compare real choices, not one answer it always gives.</summary>
    internal static string Policy(int budgetMs = 600_000, string extra = "") => SlmPolicyTests.SeedWithNote + $$"""
        slm_checks:
          - name: mood
            text: note
            prompt: "An operator wrote: {text}"
            labels: [hot, cold]
            model: "{{Model}}"
            latency_budget_ms: {{budgetMs}}
            on_timeout: hot
        actions:
          hot: { severity: warning }
        {{extra}}
        """;

    private static readonly string[] s_notes =
    [
        "Lily saw a big dog in the yard.", "The machine is hot and loud.", "Tom was sad because his toy broke.", "All calm on line one.",
        "The bird sang a happy song.", "Smoke near the motor!", "bearing noise", "She smiled at the sun.", "The pump cried all night.",
        "ok", "A little girl named Sue found a box.", "vibration 0.07 g, belt slipping",
    ];

    /// <summary>Simulated seed readings; every third carries an operator note, and one a blank note (which runs no check).</summary>
    internal static string[] LinesWithNotes(int count, int seed = 7)
    {
        var lines = SimulatedLines(count, (ulong)seed);
        for (int i = 0; i < lines.Length; i++)
        {
            if (i % 3 != 1) continue;
            var o = JsonNode.Parse(lines[i])!.AsObject();
            o["note"] = i == 4 ? "   " : s_notes[i / 3 % s_notes.Length] + (i > 36 ? $" ({i})" : "");
            lines[i] = o.ToJsonString();
        }

        return lines;
    }

    internal static string? Note(string line) => JsonNode.Parse(line)!["note"] is { } n && !string.IsNullOrWhiteSpace((string?)n) ? (string)n! : null;

    /// <summary>The check's label worked out independently: the documented prompt of a base model, decoded greedily over
    /// the labels by <see cref="GreedyReference"/>.</summary>
    private string Expected(string note)
    {
        var prompt = $"An operator wrote: {note}".TrimEnd() + "\n\nAnswer with exactly one of these labels: hot / cold.\nAnswer:";
        return GreedyReference.Constrained(_reference, _reference.Tokenizer.Encode(prompt, addSpecial: true), Labels.Select(l => " " + l).ToArray())[1..];
    }

    private static MonitorHost Host(string policy, IMonitorStore store, string[] lines, TextWriter? stdout = null, ISlmClassifier? classifier = null,
        int queue = 1000, TimeSpan? shutdown = null) =>
        MonitorHost.Create(PolicyLoader.Parse(policy + "\nsources:\n  in: { kind: stdin }\n"), store, new MonitorHostOptions
        {
            OpenStdin = () => Stream(lines), Stdout = stdout ?? TextWriter.Null, Json = true, Checks = new SlmCheckHookOptions { QueueCapacity = queue },
            Runner = new MonitorRunnerOptions { ShutdownTimeout = shutdown ?? TimeSpan.FromMinutes(5) },
        }, classifier);

    private static string Key(string line) => ReadingKeys.For("stdin", System.Text.Encoding.UTF8.GetBytes(line));

    [Fact]
    public async Task EachNoteGetsTheModelsLabelBesideTheRulesWhichItNeverChanges()
    {
        var lines = LinesWithNotes(120);
        using var store = new TempStore();
        var stdout = new LinesWriter();
        await using var host = Host(Policy(), store.Store, lines, stdout);
        var stats = await host.RunAsync(CancellationToken.None);

        // The rules decided exactly as without the model: labels and alerts from the thresholds alone.
        var expectedRules = lines.Select(SeedLabel).ToArray();
        Assert.Equal(expectedRules, store.Readings.Select(r => r.Label));
        Assert.Equal(Transitions(expectedRules), store.Readings.Where(r => r.AlertTo != null).Select(r => (r.AlertFrom!, r.AlertTo!)));

        // One model decision per non-blank note, keyed by its reading, with the model's own greedy choice.
        var noted = lines.Where(l => Note(l) != null).ToArray();
        Assert.Equal(39, noted.Length); // every third line, less the blank one
        var decisions = store.ModelDecisions.ToDictionary(d => d.ReadingKey);
        Assert.Equal(noted.Select(Key).Order(), decisions.Keys.Order());
        foreach (var line in noted)
        {
            var d = decisions[Key(line)];
            Assert.Equal((Key(line) + "/mood", "mood", Model, false), (d.Key, d.Check, d.Model, d.TimedOut));
            Assert.Equal($"An operator wrote: {Note(line)}", d.Input);
            Assert.Contains(d.Label, Labels);
            Assert.Equal(Expected(Note(line)!), d.Label);
            Assert.Equal(" " + d.Label, d.ModelOutput);
            Assert.True(d.LatencyMicroseconds > 0);
        }

        Assert.Equal(Labels.Order(), decisions.Values.Select(d => d.Label).Distinct().Order()); // both answers occur
        Assert.Empty(store.Store.PendingChecks());

        // Live statistics: every check counted by label, with latency percentiles.
        Assert.Equal(noted.Length, stats.ModelChecks);
        Assert.Equal(decisions.Values.GroupBy(d => d.Label).ToDictionary(g => g.Key, g => (long)g.Count()), stats.ModelDecisions);
        Assert.Equal((0L, 0L, 0), (stats.ModelChecksTimedOut, stats.ModelChecksSkipped, stats.ModelChecksQueued));
        Assert.True(stats.SlmLatencyP50 > TimeSpan.Zero && stats.SlmLatencyP99 >= stats.SlmLatencyP50);
        var json = JsonNode.Parse(MonitorFormat.ToJson(stats))!["slm"]!;
        Assert.Equal(noted.Length, (long)json["checks"]!);
        Assert.True((double)json["latency_p50_ms"]! > 0);

        // 'hot' has an action, 'cold' none: each hot answer (and only those) went to the sinks, beside the rules' alerts.
        var printed = stdout.Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
        var notices = printed.Where(o => (string?)o["type"] == "check").ToArray();
        Assert.Equal(decisions.Values.Where(d => d.Label == "hot").Select(d => d.ReadingKey).Order(), notices.Select(n => (string)n["key"]!).Order());
        var labelByKey = lines.ToDictionary(Key, SeedLabel);
        Assert.All(notices, n => Assert.Equal(("mood", "hot", "warning", false, labelByKey[(string)n["key"]!]),
            ((string)n["check"]!, (string)n["label"]!, (string)n["severity"]!, (bool)n["timed_out"]!, (string)n["rule_label"]!)));
        Assert.Equal(Transitions(expectedRules).Count, printed.Count(o => (string?)o["type"] == "alert"));
    }

    [Fact]
    public async Task HearthMonitorRunsTheChecksFailsSafeOnATinyBudgetAndOwesNoneAfterAKill9()
    {
        // hearth monitor as a user runs it, following a file of readings that all carry a note. 'mood' has all the time it
        // needs; 'rushed' has 1 ms, less than one forward pass over its prompt, so it always answers its fail-safe label.
        var dir = Directory.CreateTempSubdirectory("hearth-slm-cli-");
        try
        {
            var lines = SimulatedLines(60, seed: 31).Select((l, i) =>
            {
                var o = JsonNode.Parse(l)!.AsObject();
                o["note"] = s_notes[i % s_notes.Length] + $" ({i})";
                return o.ToJsonString();
            }).ToArray();
            var file = Path.Combine(dir.FullName, "readings.jsonl");
            File.WriteAllLines(file, lines);
            var db = Path.Combine(dir.FullName, "monitor.db");
            var policy = Path.Combine(dir.FullName, "notes.yaml");
            File.WriteAllText(policy, Policy() .Replace("slm_checks:", $$"""
                slm_checks:
                  - name: rushed
                    text: note
                    prompt: "{{string.Concat(Enumerable.Repeat("Read the whole shift log before you answer. ", 6))}}{text}"
                    labels: [ok, not ok]
                    model: "{{Model}}"
                    latency_budget_ms: 1
                    on_timeout: not ok
                """) + $"\nsources:\n  f: {{ kind: file, path: \"{file}\", poll_ms: 20 }}\n");
            string[] args = ["monitor", "--policy", policy, "--store", db, "--json", "--stats-every", "0.3"];
            static string FileKey(string line) => ReadingKeys.For("readings.jsonl", System.Text.Encoding.UTF8.GetBytes(line));
            long Pending() => TempStore.CountIn(db, "pending_checks");

            // First run: the rules keep up with the file, the model does not; killed with checks still owed.
            using (var first = new CliChild(args))
            {
                await first.StartedAsync();
                await EventuallyAsync(() => first.Process.HasExited || (TempStore.CountIn(db, "readings") == lines.Length
                    && TempStore.ModelDecisionsIn(db).Count(d => d.Check == "mood") >= 2 && Pending() > 0
                    && first.Json.Any(o => (string?)o["type"] == "stats" && (long)o["slm"]!["checks"]! > 0)),
                    "every reading stored, some checks done and in the live statistics, some owed", TimeSpan.FromMinutes(5));
                Assert.False(first.Process.HasExited, first.Errors);
                var live = first.Json.Last(o => (string?)o["type"] == "stats" && (long)o["slm"]!["checks"]! > 0)["slm"]!;
                Assert.True((double)live["latency_p50_ms"]! > 0 && (double)live["latency_p99_ms"]! >= (double)live["latency_p50_ms"]!);
                await first.KillAsync();
            }

            // Nothing fell in the gap: each noted reading has each check either done or still owed.
            var done = TempStore.ModelDecisionsIn(db).Select(d => d.Key).ToHashSet();
            var owed = TempStore.Query(db, "SELECT key FROM pending_checks", r => r.GetString(0)).ToHashSet();
            Assert.NotEmpty(owed);
            foreach (var key in lines.Select(FileKey))
                foreach (var check in new[] { "rushed", "mood" })
                    Assert.True(done.Contains($"{key}/{check}") ^ owed.Contains($"{key}/{check}"), $"{check} of {key}: done or owed, exactly one");

            // Second run: the file again (all duplicates), the owed checks first; then a graceful stop.
            using (var second = new CliChild(args))
            {
                await second.StartedAsync();
                await EventuallyAsync(() => second.Process.HasExited || (TempStore.ModelDecisionsIn(db).Count == 2 * lines.Length && Pending() == 0),
                    "the owed checks to be done", TimeSpan.FromMinutes(5));
                Assert.False(second.Process.HasExited, second.Errors);
                Signals.Send(second.Process.Id, Signals.SigTerm);
                Assert.True(await second.ExitAsync() == 0, second.Errors);
                var final = second.Json.Last(o => (bool?)o["final"] == true);
                Assert.Equal(lines.Length, (long)final["duplicates"]!);
                var slm = final["slm"]!;
                Assert.Equal(owed.Count, (long)slm["checks"]!);
                Assert.Equal(owed.Count(k => k.EndsWith("/rushed", StringComparison.Ordinal)), (long)slm["timed_out"]!);
                Assert.True((double)slm["latency_p50_ms"]! > 0 && (double)slm["latency_p99_ms"]! >= (double)slm["latency_p50_ms"]!);
            }

            var decisions = TempStore.ModelDecisionsIn(db);
            Assert.Equal(2 * lines.Length, decisions.Select(d => d.Key).Distinct().Count());
            Assert.All(decisions.Where(d => d.Check == "rushed"), d => Assert.Equal(("not ok", true, ""), (d.Label, d.TimedOut, d.ModelOutput)));
            var noteByKey = lines.ToDictionary(FileKey, l => Note(l)!);
            Assert.All(decisions.Where(d => d.Check == "mood"), d => Assert.Equal((false, Expected(noteByKey[d.ReadingKey])), (d.TimedOut, d.Label)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AFullCheckQueueFailsSafeAtOnceWithoutHoldingUpTheRules()
    {
        // The model cannot load until the test lets it: checks pile up behind the first one.
        using var release = new ManualResetEventSlim();
        using var classifier = new EngineSlmClassifier(new EngineSlmOptions
        {
            ResolveModel = name =>
            {
                release.Wait();
                return name;
            },
        });
        var lines = LinesWithNotes(60);
        var noted = lines.Where(l => Note(l) != null).ToArray();
        using var store = new TempStore();
        await using var host = Host(Policy(), store.Store, lines, classifier: classifier, queue: 1);
        var run = Start(host, CancellationToken.None);

        // Every reading is decided and stored while the model is stuck, and the checks that found the queue full are
        // already recorded with the fail-safe label.
        await EventuallyAsync(() => store.Count == lines.Length && store.ModelDecisions.Count >= noted.Length - 2, "the rules to go on and the skipped checks to be recorded");
        Assert.Equal(lines.Select(SeedLabel), store.Readings.Select(r => r.Label));
        release.Set();
        var stats = await run;

        var decisions = store.ModelDecisions;
        Assert.Equal(noted.Select(Key).Order(), decisions.Select(d => d.ReadingKey).Order());
        var skipped = decisions.Where(d => d.TimedOut && d.LatencyMicroseconds == 0).ToArray();
        Assert.InRange(skipped.Length, noted.Length - 2, noted.Length - 1); // the queue holds one; the worker holds at most one more
        Assert.All(skipped, d => Assert.Equal(("hot", ""), (d.Label, d.ModelOutput)));
        Assert.All(decisions.Except(skipped), d => Assert.Equal((false, Expected(Note(lines.First(l => Key(l) == d.ReadingKey))!)), (d.TimedOut, d.Label)));
        Assert.Equal((skipped.Length, skipped.Length), (stats.ModelChecksSkipped, stats.ModelChecksTimedOut));
        Assert.Empty(store.Store.PendingChecks());
    }

    [Fact]
    public async Task ChecksLeftUnfinishedAtAStopRunAtTheNextStart()
    {
        var dir = Directory.CreateTempSubdirectory("hearth-slm-resume-");
        try
        {
            var file = Path.Combine(dir.FullName, "readings.jsonl");
            var lines = LinesWithNotes(45);
            File.WriteAllLines(file, lines);
            var policy = Policy() + $"\nsources:\n  f: {{ kind: file, path: \"{file}\", poll_ms: 20 }}\n";
            var noted = lines.Where(l => Note(l) != null).ToArray();
            static string FileKey(string line) => ReadingKeys.For("readings.jsonl", System.Text.Encoding.UTF8.GetBytes(line));
            using var store = new TempStore();

            // First run: the model never becomes available, and the stop leaves no time to wait for it.
            using (var release = new ManualResetEventSlim())
            {
                var stuck = new EngineSlmClassifier(new EngineSlmOptions { ResolveModel = name => { release.Wait(); return name; } });
                await using (var first = MonitorHost.Create(PolicyLoader.Parse(policy), store.Store, new MonitorHostOptions
                {
                    Runner = new MonitorRunnerOptions { ShutdownTimeout = TimeSpan.Zero },
                }, stuck))
                {
                    using var stop = new CancellationTokenSource();
                    var run = Start(first, stop.Token);
                    await EventuallyAsync(() => store.Count == lines.Length, "every reading to be stored");
                    await stop.CancelAsync();
                    await run;
                }

                release.Set();
                stuck.Dispose();
            }

            Assert.Empty(store.ModelDecisions);
            var pending = store.Store.PendingChecks();
            Assert.Equal(noted.Select(FileKey), pending.Select(p => p.ReadingKey)); // every check owed, in reading order
            Assert.All(pending, p => Assert.Equal(("mood", p.ReadingKey + "/mood"), (p.Check, p.Key)));

            // Second run: the file is read again (every line a duplicate) and the owed checks run first.
            await using (var second = MonitorHost.Create(PolicyLoader.Parse(policy), store.Store, new MonitorHostOptions()))
            {
                using var stop = new CancellationTokenSource();
                var run = Start(second, stop.Token);
                await EventuallyAsync(() => store.ModelDecisions.Count == noted.Length, "the owed checks to be done", TimeSpan.FromMinutes(3));
                await stop.CancelAsync();
                var stats = await run;
                Assert.Equal(lines.Length, stats.Duplicates);
            }

            Assert.Empty(store.Store.PendingChecks());
            var byKey = store.ModelDecisions.ToDictionary(d => d.ReadingKey);
            Assert.All(noted, line => Assert.Equal(Expected(Note(line)!), byKey[FileKey(line)].Label));
            Assert.Equal(lines.Length, store.Count);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
