using Hearth.Generation;
using Hearth.Models;
using Hearth.Sampling;
using Hearth.Serving;
using Hearth.Tests.Generation;

namespace Hearth.Tests.Serving;

/// <summary>The scheduler on the trained stories model: same answers alone or in company, limits, cancellation, queue.</summary>
public sealed class SequenceSchedulerTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public SequenceSchedulerTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    private static async Task<(List<int> Tokens, string Text, GenerationStats Stats)> Collect(SequenceHandle handle)
    {
        var tokens = new List<int>();
        var text = new System.Text.StringBuilder();
        await foreach (var t in handle.Tokens.ReadAllAsync())
        {
            if (t.Token >= 0) tokens.Add(t.Token);
            text.Append(t.Text);
        }

        return (tokens, text.ToString(), await handle.Completion);
    }

    private SequenceRequest Request(string prompt, ulong seed, int max = 40) => new()
    {
        Prompt = _model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: false),
        Options = new GenerationOptions { MaxTokens = max, Sampling = new SamplerOptions { Seed = seed, Temperature = 0.9f } },
    };

    [Fact]
    public async Task ConcurrentRequestsGiveWhatEachGetsFromTheSingleSequenceGenerator()
    {
        string[] prompts = ["Once upon a time", "The little dog", "Lily and Tom went to the park. They", "A big red ball"];
        var expected = prompts.Select((p, i) =>
        {
            var gen = new TextGenerator(_model);
            var text = string.Concat(gen.Generate(p, Request(p, (ulong)i + 7).Options));
            return (Tokens: gen.GeneratedTokens.ToList(), Text: text);
        }).ToArray();

        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 3, PrefillChunk = 4 });
        var handles = prompts.Select((p, i) => scheduler.Submit(Request(p, (ulong)i + 7))).ToArray();
        var results = await Task.WhenAll(handles.Select(Collect));
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(expected[i].Tokens, results[i].Tokens);
            Assert.Equal(expected[i].Text, results[i].Text);
            Assert.Equal(FinishReason.Length, results[i].Stats.FinishReason);
            Assert.Equal(40, results[i].Stats.GeneratedTokens);
        }

        var counters = scheduler.Counters;
        Assert.Equal(4, counters.Requests);
        Assert.Equal(160, counters.GeneratedTokens);
        Assert.True(scheduler.Idle);
    }

    /// <summary>Allows every token and cancels a source when it has seen a given number (on the scheduler's thread).</summary>
    private sealed class CancelAfter(CancellationTokenSource cts, int tokens) : ITokenConstraint
    {
        private int _seen;

        public void ComputeMask(Span<bool> allowed) => allowed.Fill(true);

        public void Accept(int token)
        {
            if (++_seen == tokens) cts.Cancel();
        }

        public bool IsComplete => true;

        public bool MustStop => false;
    }

    [Fact]
    public async Task CancellationStopsAtTheNextTokenAndFreesTheSlot()
    {
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1, MaxQueue = 1 });
        using var cts = new CancellationTokenSource();
        var options = new GenerationOptions { MaxTokens = -1, IgnoreEndOfGeneration = true, Sampling = new SamplerOptions { Seed = 1 }, Constraint = new CancelAfter(cts, 5) };
        var handle = scheduler.Submit(Request("Once upon a time", 1) with { Options = options, Context = 500 }, cts.Token);
        var result = await Collect(handle);
        Assert.Equal(FinishReason.Cancelled, result.Stats.FinishReason);
        Assert.Equal(5, result.Stats.GeneratedTokens);
        Assert.Equal(5, result.Tokens.Count);
        Assert.Equal(1, scheduler.Counters.Cancelled);
        // The slot is free again: another request runs to completion.
        var next = await Collect(scheduler.Submit(Request("The cat", 2, max: 5)));
        Assert.Equal(5, next.Tokens.Count);
    }

    [Fact]
    public async Task AFullQueueIsRefusedAndWaitingRequestsCanBeCancelled()
    {
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1, MaxQueue = 1 });
        var endless = new GenerationOptions { MaxTokens = -1, IgnoreEndOfGeneration = true, Sampling = SamplerOptions.Greedy };
        using var running = new CancellationTokenSource();
        using var waiting = new CancellationTokenSource();
        var first = scheduler.Submit(Request("A", 1) with { Options = endless, Context = 512 }, running.Token);
        await first.Tokens.ReadAsync(); // it occupies the only slot
        var second = scheduler.Submit(Request("B", 1), waiting.Token);
        Assert.Throws<SchedulerBusyException>(() => scheduler.Submit(Request("C", 1)));
        Assert.Equal(1, scheduler.Counters.Rejected);
        waiting.Cancel();
        Assert.Equal(FinishReason.Cancelled, (await second.Completion).FinishReason);
        running.Cancel();
        Assert.Equal(FinishReason.Cancelled, (await first.Completion).FinishReason);
    }

    [Fact]
    public void PromptsThatDoNotFitAreRefusedUpFront()
    {
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1, Context = 8 });
        Assert.Throws<ContextOverflowException>(() => scheduler.Submit(new SequenceRequest { Prompt = Enumerable.Repeat(1, 8).ToArray(), Options = new GenerationOptions() }));
        Assert.Throws<ArgumentOutOfRangeException>(() => scheduler.Submit(new SequenceRequest { Prompt = [1, 99999], Options = new GenerationOptions() }));
        Assert.Throws<ArgumentException>(() => scheduler.Submit(new SequenceRequest { Prompt = [], Options = new GenerationOptions() }));
    }

    [Fact]
    public async Task LogprobsMatchAnIndependentSoftmaxOfTheLogits()
    {
        using var scheduler = new SequenceScheduler(_model, new SchedulerOptions { Parallel = 1 });
        var prompt = _model.Tokenizer.Encode("Once upon a time", addSpecial: true, parseSpecial: false);
        var handle = scheduler.Submit(new SequenceRequest { Prompt = prompt, Options = new GenerationOptions { MaxTokens = 1, Sampling = SamplerOptions.Greedy }, TopLogprobs = 3 });
        var first = await handle.Tokens.ReadAsync();

        var logits = _model.EvaluateAll(prompt).AsSpan((prompt.Length - 1) * _model.Transformer.VocabSize).ToArray();
        double max = logits.Max();
        double logZ = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ToArray();
        Assert.Equal(order[0], first.Token);
        Assert.Equal(logits[order[0]] - logZ, first.Logprob, 4);
        Assert.Equal(order.Take(3), first.Top!.Select(t => t.Token));
        for (int i = 0; i < 3; i++) Assert.Equal(logits[order[i]] - logZ, first.Top![i].Logprob, 4);
    }

    [Fact]
    public void TheStateEstimateIsWhatTheSchedulerAllocates()
    {
        var options = new SchedulerOptions { Parallel = 3, Context = 100, PrefillChunk = 16, CacheType = KvCacheType.F16 };
        using var scheduler = new SequenceScheduler(_model, options);
        Assert.Equal(SequenceScheduler.EstimateStateBytes(_model, options), scheduler.StateBytes);
    }
}
