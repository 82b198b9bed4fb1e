using Hearth.Generation;
using Hearth.Models;
using Hearth.Serving;

namespace Hearth.Tests.Serving;

/// <summary>A request's cancellation token may outlive the scheduler it was given to.</summary>
public sealed class SchedulerCancellationTests
{
    [Fact]
    public async Task CancellingAfterTheSchedulerIsDisposedDoesNotThrow()
    {
        using var model = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 1, Context = 64 });
        using var cancellation = new CancellationTokenSource();
        var scheduler = new SequenceScheduler(model, new SchedulerOptions { Parallel = 1, Context = 64 });
        var handle = scheduler.Submit(new SequenceRequest
        {
            Prompt = model.Tokenizer.Encode("Once"),
            Options = new GenerationOptions { MaxTokens = 3, Sampling = Hearth.Sampling.SamplerOptions.Greedy },
        }, cancellation.Token);
        await foreach (var _ in handle.Tokens.ReadAllAsync()) { }
        Assert.Equal(FinishReason.Length, (await handle.Completion).FinishReason);
        scheduler.Dispose();
        cancellation.Cancel(); // a server cancels a request's token when its client goes away, perhaps after the model was unloaded
    }
}
