using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests;

/// <summary>
/// TEST DOUBLE standing in for an instruction-tuned model, which cannot run here: each call answers with the next
/// scripted step, and the last step repeats (with no steps at all it answers the text "done"). A step is a fixed message
/// (tool calls or text) or a function of the conversation so far (to look at what the agent reported, or to answer from
/// the prompt). It records what it was sent and with which options. It never looks at the policy: whatever it
/// "decides" must be stopped by the runtime.
/// </summary>
internal sealed class ScriptedChatClientDouble : IChatClient
{
    private readonly Func<IReadOnlyList<ChatMessage>, ChatMessage>[] _steps;
    private readonly object _lock = new();
    private int _next;

    public ScriptedChatClientDouble()
        : this(Array.Empty<Func<IReadOnlyList<ChatMessage>, ChatMessage>>())
    {
    }

    /// <summary>Fixed answers, in order.</summary>
    public ScriptedChatClientDouble(params ChatMessage[] script)
        : this([.. script.Select(m => (Func<IReadOnlyList<ChatMessage>, ChatMessage>)(_ => m))])
    {
    }

    /// <summary>Answers computed from the conversation, in order.</summary>
    public ScriptedChatClientDouble(params Func<IReadOnlyList<ChatMessage>, ChatMessage>[] steps) => _steps = steps;

    /// <summary>The messages of each call, in order.</summary>
    public List<IReadOnlyList<ChatMessage>> Seen { get; } = [];

    /// <summary>The options of each call.</summary>
    public List<ChatOptions?> Options { get; } = [];

    /// <summary>A message calling one tool.</summary>
    public static ChatMessage Call(string name, params (string Key, object? Value)[] args) =>
        new(ChatRole.Assistant, [new FunctionCallContent(Guid.NewGuid().ToString("N")[..9], name, args.ToDictionary(a => a.Key, a => a.Value))]);

    /// <summary>A message calling several tools at once.</summary>
    public static ChatMessage Calls(params ChatMessage[] calls) => new(ChatRole.Assistant, [.. calls.SelectMany(c => c.Contents)]);

    /// <summary>A text answer.</summary>
    public static ChatMessage Say(string text) => new(ChatRole.Assistant, text);

    /// <summary>The text of the last tool result in a conversation.</summary>
    public static string LastToolResult(IReadOnlyList<ChatMessage> history) =>
        history.Last(m => m.Role == ChatRole.Tool).Contents.OfType<FunctionResultContent>().Last().Result?.ToString() ?? "";

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var seen = messages.ToList();
        Func<IReadOnlyList<ChatMessage>, ChatMessage>? step;
        lock (_lock)
        {
            Seen.Add(seen);
            Options.Add(options);
            step = _steps.Length == 0 ? null : _steps[Math.Min(_next++, _steps.Length - 1)];
        }

        return Task.FromResult(new ChatResponse(step?.Invoke(seen) ?? Say("done")));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("the scripted double answers whole responses only");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
