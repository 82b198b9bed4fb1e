using Hearth.Sampling;
using Hearth.Sensors.Slm;

namespace Hearth.Sensors.Tests;

/// <summary>
/// Prompt caching in <see cref="EngineSlmClassifier"/> on the real trained model stories260K.gguf: every result must be
/// exactly what the uncached path (<see cref="EngineSlmOptions.CachedPrefixes"/> 0) gives, while fewer tokens are processed.
/// </summary>
public sealed class SlmPromptCacheTests : StoriesSlmTest
{
    // Checks with constant heads of several lengths (none at all; the whole prompt), label sets with shared prefixes and
    // non-ASCII text, some asking for an explanation.
    private static SlmCheckSpec[] Checks(string model) =>
    [
        new("note", "An operator wrote: {text}\nDoes the note report a problem?", ["PROBLEM", "NO PROBLEM"], model, 600_000, "PROBLEM") { Explain = true, ExplainMaxTokens = 7 },
        new("alert", "Machine readings at {time}: {signals}. Rule '{rule}' raised {label}. Is the machine at risk?", ["AT RISK", "NOT AT RISK", "AT"], model, 600_000, "AT RISK"),
        new("story", "{text}", ["happy", "sad", "big", "dog", "cat"], model, 600_000, "happy") { Explain = true, ExplainMaxTokens = 5 },
        new("fixed", "Once upon a time there was a machine. Was it hot?", ["ÜBERHITZT", "正常", "過熱 🔥"], model, 600_000, "正常"),
    ];

    // Checks picked at random, their placeholders filled with random words: what a monitor's stream of readings gives.
    private static List<(SlmCheckSpec Check, string Input)> Stream(string model, int count, ulong seed)
    {
        string[] words = ["the", "machine", "is", "hot", "Lily", "saw", "a", "big", "dog", "vibration=0.07 g", "temperature=91.5 C", "ok", "température", "温度", "🙂", "NORMAL", "ANOMALY"];
        var rng = new SeededRandom(seed);
        var checks = Checks(model);
        var stream = new List<(SlmCheckSpec, string)>();
        for (int i = 0; i < count; i++)
        {
            var check = checks[(int)(rng.NextDouble() * checks.Length)];
            var template = SlmPromptTemplate.TryParse(check.Prompt, out _, out _)!;
            var input = template.Render(_ => string.Join(" ", Enumerable.Range(0, 1 + (int)(rng.NextDouble() * 8)).Select(_ => words[(int)(rng.NextDouble() * words.Length)])));
            stream.Add((check, input));
        }

        return stream;
    }

    // The prompt's tokens as the documented formats give them, written out here: raw, or Qwen2.5's ChatML with its default
    // system turn.
    private int[] Tokens(string input, IEnumerable<string> labels, bool chat)
    {
        var tok = Reference.Tokenizer;
        if (!chat) return tok.Encode(RawPrompt(input, labels), addSpecial: true);
        var text = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            + input.TrimEnd() + "\n\nAnswer with exactly one of these labels: " + string.Join(" / ", labels) + ".<|im_end|>\n<|im_start|>assistant\n";
        var tokens = tok.Encode(text, addSpecial: false, parseSpecial: true);
        return tok.AddBos && tok.BosId is int bos && tokens[0] != bos ? [bos, .. tokens] : tokens;
    }

    private static int Common(int[] a, int[] b)
    {
        int n = 0;
        while (n < a.Length && n < b.Length && a[n] == b[n]) n++;
        return n;
    }

    [Theory]
    [InlineData(false, 8)]
    [InlineData(true, 8)]
    [InlineData(false, 1)] // one prefix for four checks: they evict each other
    [InlineData(true, 2)]
    public async Task CachedChecksGiveExactlyTheUncachedResults(bool chat, int cachedPrefixes)
    {
        var model = chat ? WithQwenTemplate(s_model) : s_model;
        using var uncached = new EngineSlmClassifier(new EngineSlmOptions { CachedPrefixes = 0 });
        using var cached = new EngineSlmClassifier(new EngineSlmOptions { CachedPrefixes = cachedPrefixes });
        var stream = Stream(model, 48, seed: chat ? 3UL : 4UL);
        var explained = 0;
        foreach (var (check, input) in stream)
        {
            var expected = await uncached.ClassifyAsync(check, input, CancellationToken.None);
            var actual = await cached.ClassifyAsync(check, input, CancellationToken.None);
            Assert.False(expected.TimedOut);
            Assert.Equal((expected.Label, expected.Explanation, expected.ModelOutput, expected.TimedOut), (actual.Label, actual.Explanation, actual.ModelOutput, actual.TimedOut));
            if (actual.Explanation is { Length: > 0 }) explained++;
        }

        Assert.True(explained > 0, "no check produced an explanation: the explanation pass was not compared");
        var off = uncached.PromptCache()[model];
        var on = cached.PromptCache()[model];
        Assert.Equal((0L, 0, 0L), (off.ReusedTokens, off.Prefixes, off.PrefixBytes));
        // The same passes over the same prompts, only fewer of their tokens processed.
        Assert.Equal(off.PromptTokens, on.PromptTokens);
        Assert.InRange(on.Prefixes, 1, cachedPrefixes);
        Assert.True(on.PrefixBytes > 0);

        if (cachedPrefixes < Checks(model).Length) return;
        // With room for every check's prefix, each label pass after a check's first reuses at least the tokens that its
        // prompt and the check's first prompt share with the check's constant part (its template's text before the first
        // placeholder), counted here from the documented prompt formats.
        long atLeast = 0;
        var first = new Dictionary<string, int>();
        foreach (var (check, input) in stream)
        {
            var head = SlmPromptTemplate.TryParse(check.Prompt, out _, out _)!.Head;
            var prompt = Tokens(input, check.Labels, chat);
            var constant = Tokens(head, check.Labels, chat);
            int shared = Common(prompt, constant);
            if (first.TryGetValue(check.Name, out int firstShared)) atLeast += Math.Min(Math.Min(shared, firstShared), prompt.Length - 1);
            else first[check.Name] = shared;
        }

        Assert.True(atLeast > 2 * stream.Count, $"the constant parts share only {atLeast} tokens: the test would show little");
        Assert.True(on.ReusedTokens >= atLeast, $"{on.ReusedTokens} tokens reused, at least {atLeast} expected");
    }

    [Fact]
    public async Task TheExplanationContinuesFromTheLabelPassInsteadOfTheWholePrompt()
    {
        string[] labels = ["ANOMALY DETECTED", "NORMAL"];
        const string input = "Once upon a time the machine was very hot";
        var check = new SlmCheckSpec("explain", "{text}", labels, s_model, 600_000, "ANOMALY DETECTED") { Explain = true, ExplainMaxTokens = 6 };
        using var classifier = new EngineSlmClassifier();
        var r = await classifier.ClassifyAsync(check, input, CancellationToken.None);
        Assert.False(r.TimedOut);
        Assert.NotNull(r.Explanation);

        // The explanation's prompt is the label's prompt, the label text and the reason cue (the documented raw format).
        var labelOutput = r.ModelOutput[..r.ModelOutput.IndexOf('\n', StringComparison.Ordinal)];
        var labelPrompt = Tokens(input, labels, chat: false);
        var explanationPrompt = Reference.Tokenizer.Encode(RawPrompt(input, labels) + labelOutput + "\nReason:", addSpecial: true);
        int shared = Common(labelPrompt, explanationPrompt);
        Assert.True(shared > labelPrompt.Length / 2);
        var stats = classifier.PromptCache()[s_model];
        Assert.Equal(labelPrompt.Length + explanationPrompt.Length, stats.PromptTokens);
        // A fresh classifier has nothing to reuse for the label pass: what it reused, the explanation pass did.
        Assert.True(stats.ReusedTokens >= shared, $"{stats.ReusedTokens} tokens reused, the explanation shares {shared} with the label's prompt");
    }

    [Fact]
    public async Task AChecksThatRanOutOfBudgetLeavesTheCacheConsistent()
    {
        // A test double of a clock (each reading 1 ms after the previous, timers never fire): a 1 ms budget runs out at the
        // first label token, after the prompt was processed; a 3 ms one during the explanation of a check that asks for one.
        var clock = new SteppingClock(TimeSpan.FromMilliseconds(1));
        using var uncached = new EngineSlmClassifier(new EngineSlmOptions { CachedPrefixes = 0 });
        using var cached = new EngineSlmClassifier(new EngineSlmOptions { Time = clock });
        cached.Load(s_model);
        var stream = Stream(s_model, 16, seed: 9);
        int timedOut = 0;
        for (int i = 0; i < stream.Count; i++)
        {
            var (check, input) = stream[i];
            if (i % 3 == 1)
            {
                var late = await cached.ClassifyAsync(check with { LatencyBudgetMs = i % 2 == 0 ? 3 : 1 }, input, CancellationToken.None);
                if (late.TimedOut) timedOut++;
                continue;
            }

            var expected = await uncached.ClassifyAsync(check, input, CancellationToken.None);
            var actual = await cached.ClassifyAsync(check, input, CancellationToken.None);
            Assert.Equal((expected.Label, expected.Explanation, expected.ModelOutput, expected.TimedOut), (actual.Label, actual.Explanation, actual.ModelOutput, actual.TimedOut));
        }

        Assert.True(timedOut > 0);
        Assert.True(cached.PromptCache()[s_model].ReusedTokens > 0);
    }

    [Fact]
    public void ANegativeNumberOfPrefixesIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EngineSlmClassifier(new EngineSlmOptions { CachedPrefixes = -1 }));
}
