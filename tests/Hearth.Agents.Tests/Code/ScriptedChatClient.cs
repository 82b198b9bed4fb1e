using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// Test double standing in for an instruction-tuned model (none can run here): each call answers with the next scripted
/// step, which sees the conversation so far (to check what the session reported) and returns the assistant's message.
/// Past the end of the script it answers with text. It records every conversation and options it was sent.
/// </summary>
internal sealed class ScriptedChatClient(params Func<IReadOnlyList<ChatMessage>, ChatMessage>[] steps) : IChatClient
{
    private int _next;

    public List<IReadOnlyList<ChatMessage>> Seen { get; } = [];

    public List<ChatOptions?> Options { get; } = [];

    /// <summary>A step that calls one tool with string arguments.</summary>
    public static Func<IReadOnlyList<ChatMessage>, ChatMessage> Call(string tool, params (string Name, string Value)[] arguments) => _ => CallMessage(tool, arguments);

    public static ChatMessage CallMessage(string tool, params (string Name, string Value)[] arguments) =>
        new(ChatRole.Assistant, [new FunctionCallContent($"call{Guid.NewGuid():N}"[..13], tool, arguments.ToDictionary(a => a.Name, a => (object?)a.Value))]);

    /// <summary>The text of the last tool result the session sent.</summary>
    public static string LastToolResult(IReadOnlyList<ChatMessage> history) =>
        history.Last(m => m.Role == ChatRole.Tool).Contents.OfType<FunctionResultContent>().Last().Result?.ToString() ?? "";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var seen = messages.ToList();
        Seen.Add(seen);
        Options.Add(options);
        var reply = _next < steps.Length ? steps[_next](seen) : new ChatMessage(ChatRole.Assistant, "done");
        _next++;
        return Task.FromResult(new ChatResponse(reply));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
