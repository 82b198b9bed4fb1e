using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Tests.Generation;

/// <summary>IChatClient over the trained stories model: streaming and non-streaming agree, options are honoured.</summary>
public sealed class ChatClientTests : IClassFixture<StoriesGenerationTests.ModelFixture>
{
    private readonly LanguageModel _model;

    public ChatClientTests(StoriesGenerationTests.ModelFixture fixture) => _model = fixture.Model;

    private static ChatOptions Options(int max = 24) => new() { Temperature = 0.9f, TopK = 40, TopP = 0.95f, Seed = 7, MaxOutputTokens = max };

    [Fact]
    public async Task StreamingAndNonStreamingGiveTheSameTextAndUsage()
    {
        IChatClient client = new HearthChatClient(_model);
        ChatMessage[] messages = [new(ChatRole.User, "Tell me a story about a cat.")];
        var response = await client.GetResponseAsync(messages, Options());
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(messages, Options())) updates.Add(u);

        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        Assert.True(updates.Count > 2, "text arrives in several updates");
        Assert.Equal(24, response.Usage!.OutputTokenCount);
        Assert.True(response.Usage.InputTokenCount > 5);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
    }

    [Fact]
    public async Task SeedMakesAnswersRepeatable()
    {
        IChatClient client = new HearthChatClient(_model);
        ChatMessage[] messages = [new(ChatRole.User, "Once upon a time")];
        var a = await client.GetResponseAsync(messages, Options());
        var b = await client.GetResponseAsync(messages, Options());
        var c = await client.GetResponseAsync(messages, new ChatOptions { Temperature = 0.9f, Seed = 8, MaxOutputTokens = 24 });
        Assert.Equal(a.Text, b.Text);
        Assert.NotEqual(a.Text, c.Text);
    }

    [Fact]
    public async Task ConcurrentCallsGiveTheSameAnswersAsSequentialOnes()
    {
        IChatClient client = new HearthChatClient(_model);
        var prompts = new[] { "The dog", "The little girl", "A big red ball", "Lily and Tom" };
        var sequential = new List<string>();
        foreach (var p in prompts) sequential.Add((await client.GetResponseAsync([new(ChatRole.User, p)], Options(16))).Text);
        var parallel = await Task.WhenAll(prompts.Select(p => client.GetResponseAsync([new(ChatRole.User, p)], Options(16))));
        Assert.Equal(sequential, parallel.Select(r => r.Text));
    }

    [Fact]
    public async Task StopSequencesEndTheAnswer()
    {
        IChatClient client = new HearthChatClient(_model);
        var free = await client.GetResponseAsync([new(ChatRole.User, "Hi")], Options(40));
        var words = free.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(words.Length > 4);
        var stop = words[3];
        var stopped = await client.GetResponseAsync([new(ChatRole.User, "Hi")], new ChatOptions
        {
            Temperature = 0.9f, TopK = 40, TopP = 0.95f, Seed = 7, MaxOutputTokens = 40, StopSequences = [stop],
        });
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task JsonResponseFormatWithoutAConstraintFactoryIsRefusedBeforeGenerating()
    {
        IChatClient client = new HearthChatClient(_model);
        await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync([new(ChatRole.User, "x")], new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
    }

    [Fact]
    public async Task APreparedRequestStreamsTheSameAsTheMessages()
    {
        var client = new HearthChatClient(_model);
        ChatMessage[] messages = [new(ChatRole.User, "Tell me a story about a dog.")];
        var prepared = client.Prepare(messages, Options());
        Assert.Equal(24, prepared.Options.MaxTokens);
        var fromPrepared = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(prepared, Options())) fromPrepared.Add(u);
        var fromMessages = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync(messages, Options())) fromMessages.Add(u);
        Assert.Equal(string.Concat(fromMessages.Select(u => u.Text)), string.Concat(fromPrepared.Select(u => u.Text)));
        var usage = fromPrepared.SelectMany(u => u.Contents).OfType<UsageContent>().Single();
        Assert.Equal(prepared.Prompt.Length, usage.Details.InputTokenCount);
    }
}
