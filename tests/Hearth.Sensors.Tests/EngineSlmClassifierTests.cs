using Hearth.Gguf;
using Hearth.Sampling;
using Hearth.Sensors.Slm;

namespace Hearth.Sensors.Tests;

/// <summary>The engine-backed SLM classifier on the real trained model stories260K.gguf.</summary>
public sealed class EngineSlmClassifierTests : StoriesSlmTest
{
    private static SlmCheckSpec Check(string[] labels, int budgetMs = 600_000, string? onTimeout = null) =>
        new("test", "unused: the input is given directly", labels, s_model, budgetMs, onTimeout ?? labels[0]);

    private string Expected(string input, string[] labels) =>
        GreedyReference.Constrained(Reference, Reference.Tokenizer.Encode(RawPrompt(input, labels), addSpecial: true), labels.Select(l => " " + l).ToArray());

    private static IEnumerable<string> Inputs(int count)
    {
        string[] words = ["the", "machine", "is", "hot", "Lily", "saw", "a", "big", "dog", "vibration", "0.07", "g", "ok", "température", "温度", "🙂", "\n", "{", "}", "\"", "NORMAL", "ANOMALY"];
        var rng = new SeededRandom(11);
        yield return "";
        yield return "Temperature is 91.5 C and vibration is 0.012 g. The rule says ANOMALY DETECTED.";
        for (int i = 2; i < count; i++)
        {
            int n = 1 + (int)(rng.NextDouble() * 40);
            yield return string.Join(" ", Enumerable.Range(0, n).Select(_ => words[(int)(rng.NextDouble() * words.Length)]));
        }
    }

    [Theory]
    [InlineData("ANOMALY DETECTED|NORMAL")]             // the seed labels: one has a space
    [InlineData("ANOMALY|ANOMALY DETECTED|NORMAL")]     // a label that is a prefix of another
    [InlineData("no|not sure|nominal|yes")]             // shared prefixes, short labels
    [InlineData("ÜBERHITZT|正常|過熱 🔥")]                // non-ASCII: only byte tokens can spell them
    [InlineData("happy|sad|big|dog|cat")]               // words of the model's stories: the answer depends on the input
    [InlineData("a|b|c|d|e|f|g")]                       // one-character labels
    public async Task EveryAnswerIsADeclaredLabelAndTheIndependentGreedyChoice(string labelList)
    {
        var labels = labelList.Split('|');
        using var classifier = new EngineSlmClassifier();
        var seen = new HashSet<string>();
        foreach (var input in Inputs(16))
        {
            var r = await classifier.ClassifyAsync(Check(labels), input, CancellationToken.None);
            Assert.False(r.TimedOut, $"input '{input}' timed out");
            Assert.Contains(r.Label, labels);
            var expected = Expected(input, labels);
            Assert.Equal(expected, r.ModelOutput);
            Assert.Equal(expected[1..], r.Label);
            Assert.Null(r.Explanation);
            seen.Add(r.Label);
        }

        Assert.Equal(16, classifier.Latencies()["test"].Checks);
        // These labels are story words the model knows: different inputs get different answers, so the checks above
        // compare real choices, not one answer the model always gives.
        if (labelList.StartsWith("happy", StringComparison.Ordinal)) Assert.True(seen.Count > 1, string.Join(", ", seen));
    }

    [Fact]
    public async Task LabelsThatNeedSeveralTokensAreSpelledOutUnderTheGrammar()
    {
        // The check is only meaningful if the labels do not fit one token of this small vocabulary.
        string[] labels = ["SENSOR GLITCH", "REAL OVERHEATING EVENT"];
        Assert.All(labels, l => Assert.True(Reference.Tokenizer.Encode(" " + l, addSpecial: false).Length > 2));
        using var classifier = new EngineSlmClassifier();
        var r = await classifier.ClassifyAsync(Check(labels), "The thermometer jumped from 60 to 300 and back within one second.", CancellationToken.None);
        Assert.Equal(Expected("The thermometer jumped from 60 to 300 and back within one second.", labels)[1..], r.Label);
    }

    [Fact]
    public async Task ChatModelsGetTheirTemplateAndAnswerWithTheBareLabel()
    {
        // stories260K with Qwen2.5's chat template: the prompt goes through the template, and the label has no leading space.
        var path = WithQwenTemplate(s_model);

        string[] labels = ["ANOMALY DETECTED", "NORMAL"];
        const string input = "Vibration is 0.09 g.";
        // The ChatML layout Qwen2.5's template produces for one user turn with no system turn (its default system prompt).
        var prompt = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            + input + "\n\nAnswer with exactly one of these labels: ANOMALY DETECTED / NORMAL.<|im_end|>\n<|im_start|>assistant\n";
        var tokens = Reference.Tokenizer.Encode(prompt, addSpecial: false, parseSpecial: true);
        if (Reference.Tokenizer.AddBos && Reference.Tokenizer.BosId is int bos && tokens[0] != bos) tokens = [bos, .. tokens];
        var expected = GreedyReference.Constrained(Reference, tokens, labels);

        using var classifier = new EngineSlmClassifier();
        var r = await classifier.ClassifyAsync(Check(labels) with { Model = path }, input, CancellationToken.None);
        Assert.False(r.TimedOut);
        Assert.Equal(expected, r.ModelOutput);
        Assert.Equal(expected, r.Label);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(9)]
    public async Task TheExplanationIsTheGreedyContinuationCappedAtItsTokens(int cap)
    {
        string[] labels = ["ANOMALY DETECTED", "NORMAL"];
        const string input = "Once upon a time the machine was very hot";
        var check = Check(labels) with { Explain = true, ExplainMaxTokens = cap };
        using var classifier = new EngineSlmClassifier();
        var r = await classifier.ClassifyAsync(check, input, CancellationToken.None);
        Assert.False(r.TimedOut);

        var labelOutput = Expected(input, labels);
        var prompt = RawPrompt(input, labels) + labelOutput + "\nReason:";
        var (text, tokens) = GreedyReference.Free(Reference, Reference.Tokenizer.Encode(prompt, addSpecial: true), cap, "\n");
        Assert.Equal(cap, tokens); // the cap, not an end token or a line end, is what ended it
        Assert.Equal(text.Trim(), r.Explanation);
        Assert.Equal(labelOutput[1..], r.Label);
        Assert.StartsWith(labelOutput + "\n", r.ModelOutput);
    }

    [Fact]
    public async Task ABudgetTooSmallToFinishGivesTheFailSafeLabel()
    {
        // A test double of a clock: every reading of it is 1 ms after the previous one, and its timers never fire, so the
        // budget runs out at a known point in the check rather than when the machine happens to be slow.
        string[] labels = ["ANOMALY DETECTED", "NORMAL"];
        var check = Check(labels, budgetMs: 2, onTimeout: "ANOMALY DETECTED");
        using (var classifier = new EngineSlmClassifier(new EngineSlmOptions { Time = new SteppingClock(TimeSpan.FromMilliseconds(1)) }))
        {
            classifier.Load(s_model);
            var r = await classifier.ClassifyAsync(check, "Everything is calm and NORMAL.", CancellationToken.None);
            Assert.Equal(("ANOMALY DETECTED", true, "", null), (r.Label, r.TimedOut, r.ModelOutput, r.Explanation));
            Assert.Equal(new SlmCheckLatency(1, 1, r.Latency, r.Latency), classifier.Latencies()["test"] with { P50 = r.Latency, P99 = r.Latency });
        }

        // The same clock with room in the budget: the model's own answer.
        using (var classifier = new EngineSlmClassifier(new EngineSlmOptions { Time = new SteppingClock(TimeSpan.FromMilliseconds(1)) }))
        {
            var r = await classifier.ClassifyAsync(check with { LatencyBudgetMs = 1_000_000 }, "Everything is calm and NORMAL.", CancellationToken.None);
            Assert.False(r.TimedOut);
            Assert.Equal(Expected("Everything is calm and NORMAL.", labels)[1..], r.Label);
        }
    }

    [Fact]
    public async Task AModelCallThatOverrunsTheBudgetIsNotWaitedFor()
    {
        // The model load blocks until the test releases it: a model call provably slower than any budget.
        using var entered = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var options = new EngineSlmOptions
        {
            ResolveModel = name =>
            {
                entered.Set();
                release.Wait();
                return name;
            },
        };
        string[] labels = ["FAULT", "NO FAULT"];
        using var classifier = new EngineSlmClassifier(options);
        var r = await classifier.ClassifyAsync(Check(labels, budgetMs: 1, onTimeout: "FAULT"), "Bearing noise.", CancellationToken.None);
        Assert.True(entered.IsSet);
        Assert.Equal(("FAULT", true, ""), (r.Label, r.TimedOut, r.ModelOutput));

        // A second check waits for the model behind the first: it fails safe too, within its own budget.
        var queued = await classifier.ClassifyAsync(Check(labels, budgetMs: 1, onTimeout: "NO FAULT"), "x", CancellationToken.None);
        Assert.Equal(("NO FAULT", true), (queued.Label, queued.TimedOut));

        // Once the slow call finishes the model is loaded and usable.
        release.Set();
        var ok = await classifier.ClassifyAsync(Check(labels), "Bearing noise.", CancellationToken.None);
        Assert.False(ok.TimedOut);
        Assert.Equal(Expected("Bearing noise.", labels)[1..], ok.Label);
        Assert.Equal((3L, 2L), (classifier.Latencies()["test"].Checks, classifier.Latencies()["test"].TimedOut));
    }

    [Fact]
    public async Task AModelThatFailsGivesTheFailSafeLabelNeverAnException()
    {
        var garbage = Path.Combine(Path.GetTempPath(), $"hearth-slm-bad-{Guid.NewGuid():N}.gguf");
        Temp.Add(garbage);
        File.WriteAllBytes(garbage, "GGUF this is not a model"u8.ToArray());
        using var classifier = new EngineSlmClassifier();
        string[] labels = ["PROBLEM", "NO PROBLEM"];
        var r = await classifier.ClassifyAsync(Check(labels, onTimeout: "PROBLEM") with { Model = garbage }, "note", CancellationToken.None);
        Assert.Equal(("PROBLEM", true), (r.Label, r.TimedOut));
        var missing = await classifier.ClassifyAsync(Check(labels) with { Model = "/nonexistent/model.gguf" }, "note", CancellationToken.None);
        Assert.True(missing.TimedOut);

        // A prompt longer than the context fails safe too.
        using var small = new EngineSlmClassifier(new EngineSlmOptions { Context = 32 });
        var tooLong = await small.ClassifyAsync(Check(labels, onTimeout: "NO PROBLEM"), string.Join(" ", Enumerable.Repeat("word", 100)), CancellationToken.None);
        Assert.Equal(("NO PROBLEM", true), (tooLong.Label, tooLong.TimedOut));

        // Loading eagerly reports the problem instead.
        Assert.Throws<GgufFormatException>(() => classifier.Load(garbage));
        Assert.Throws<FileNotFoundException>(() => classifier.Load("/nonexistent/model.gguf"));
    }

    [Fact]
    public async Task TheCallersCancellationIsAnExceptionNotALabel()
    {
        using var classifier = new EngineSlmClassifier();
        var check = Check(["A", "B"]);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => classifier.ClassifyAsync(check, "x", new CancellationToken(canceled: true)));

        using var release = new ManualResetEventSlim();
        using var blocked = new EngineSlmClassifier(new EngineSlmOptions { ResolveModel = n => { release.Wait(); return n; } });
        using var cts = new CancellationTokenSource();
        var pending = blocked.ClassifyAsync(check, "x", cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        release.Set();
    }

    [Fact]
    public async Task ConcurrentChecksGetTheSameAnswersAsOneAtATime()
    {
        string[] labels = ["ANOMALY", "ANOMALY DETECTED", "NORMAL"];
        var inputs = Inputs(12).ToArray();
        using var classifier = new EngineSlmClassifier();
        var sequential = new List<SlmCheckResult>();
        foreach (var input in inputs) sequential.Add(await classifier.ClassifyAsync(Check(labels), input, CancellationToken.None));
        var concurrent = await Task.WhenAll(inputs.Select(input => Task.Run(() => classifier.ClassifyAsync(Check(labels), input, CancellationToken.None))));
        Assert.Equal(sequential.Select(r => (r.Label, r.ModelOutput, r.TimedOut)), concurrent.Select(r => (r.Label, r.ModelOutput, r.TimedOut)));
        var stats = classifier.Latencies()["test"];
        Assert.Equal((24L, 0L), (stats.Checks, stats.TimedOut));
        Assert.True(stats.P99 >= stats.P50);
    }

    [Fact]
    public async Task APolicyCheckRunsEndToEndAndBecomesARecord()
    {
        var policy = PolicyLoader.Parse(SlmPolicyTests.SeedWithChecks.Replace("qwen2.5:0.5b", s_model).Replace("latency_budget_ms: 3000", "latency_budget_ms: 600000"), "example.yaml");
        var reading = new Reading("sim/line1", Readings.Start, new() { ["temperature"] = 92.5, ["vibration"] = 0.01 });
        var decision = new RuleEngine(policy).Evaluate(reading);
        var request = Assert.Single(SlmTriggers.For(policy, reading, decision));
        using var classifier = new EngineSlmClassifier();
        var result = await classifier.ClassifyAsync(request.Check, request.Input, CancellationToken.None);
        Assert.Contains(result.Label, request.Check.Labels);
        Assert.NotNull(result.Explanation);
        var record = result.ToRecord("k1", request.Check, request.Input, Readings.Start);
        Assert.Equal(("k1/explain_alert", s_model, request.Input, result.Label, result.ModelOutput), (record.Key, record.Model, record.Input, record.Label, record.ModelOutput));
    }
}
