using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests;

/// <summary>
/// TEST DOUBLE standing in for an instruction-tuned model, which cannot run here: each call answers with the next
/// scripted message (tool calls or text; the last one repeats) and records what it was sent and with which options.
/// It never looks at the policy: whatever it "decides" must be stopped by the runtime.
/// </summary>
internal sealed class ScriptedChatClientDouble(params ChatMessage[] script) : IChatClient
{
    private int _next;

    /// <summary>The messages of each call, in order.</summary>
    public List<List<ChatMessage>> Seen { get; } = [];

    /// <summary>The options of each call.</summary>
    public List<ChatOptions?> Options { get; } = [];

    /// <summary>A message calling one tool.</summary>
    public static ChatMessage Call(string name, params (string Key, object? Value)[] args) =>
        new(ChatRole.Assistant, [new FunctionCallContent(Guid.NewGuid().ToString("N")[..9], name, args.ToDictionary(a => a.Key, a => a.Value))]);

    /// <summary>A message calling several tools at once.</summary>
    public static ChatMessage Calls(params ChatMessage[] calls) => new(ChatRole.Assistant, [.. calls.SelectMany(c => c.Contents)]);

    /// <summary>A text answer.</summary>
    public static ChatMessage Say(string text) => new(ChatRole.Assistant, text);

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Seen.Add(messages.ToList());
        Options.Add(options);
        return Task.FromResult(new ChatResponse(script[Math.Min(_next++, script.Length - 1)]));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("the scripted double answers whole responses only");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
