using Microsoft.Extensions.AI;

namespace Hearth.Generation;

/// <summary>Why a tool-calling loop ended.</summary>
public enum ToolLoopOutcome
{
    /// <summary>The model answered without calling a tool.</summary>
    Answered,

    /// <summary>The step budget ran out while the model was still calling tools.</summary>
    StepBudgetExhausted,
}

/// <summary>The final answer of a loop, every message it added, and how it ended.</summary>
public sealed record ToolLoopResult(ChatResponse FinalResponse, IReadOnlyList<ChatMessage> AddedMessages, int Steps, ToolLoopOutcome Outcome);

/// <summary>
/// A small tool-calling loop over any <see cref="IChatClient"/> (Hearth's engine or another): ask the model, run the
/// functions it calls, hand the results back, and repeat until it answers in text or the step budget is spent. A call to
/// an unknown function, with arguments that failed validation, or that throws, is reported back to the model as a tool
/// result, so one bad call does not end the conversation. Microsoft.Extensions.AI's own function-invoking client is
/// not available here; this is the loop Hearth's agents use.
/// </summary>
public sealed class ToolCallingLoop
{
    private readonly IChatClient _client;
    private readonly Dictionary<string, AIFunction> _functions;

    public ToolCallingLoop(IChatClient client, IEnumerable<AIFunction> functions, int maxSteps = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        _client = client;
        _functions = functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
        MaxSteps = maxSteps;
    }

    /// <summary>Most model calls per run.</summary>
    public int MaxSteps { get; }

    /// <summary>Called before each function runs; returning false refuses the call (the model is told so).</summary>
    public Func<FunctionCallContent, bool>? Approve { get; init; }

    /// <summary>
    /// Runs the loop on <paramref name="history"/>, which receives every assistant and tool message. The first step may
    /// force a call (<paramref name="firstToolMode"/>); later steps let the model choose.
    /// </summary>
    public async Task<ToolLoopResult> RunAsync(IList<ChatMessage> history, ChatOptions? options = null, ChatToolMode? firstToolMode = null, CancellationToken cancellationToken = default)
    {
        var added = new List<ChatMessage>();
        ChatResponse? response = null;
        for (int step = 1; step <= MaxSteps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stepOptions = options?.Clone() ?? new ChatOptions();
            stepOptions.Tools = [.. _functions.Values];
            stepOptions.ToolMode = step == 1 && firstToolMode != null ? firstToolMode : ChatToolMode.Auto;
            response = await _client.GetResponseAsync(history, stepOptions, cancellationToken).ConfigureAwait(false);
            foreach (var m in response.Messages)
            {
                history.Add(m);
                added.Add(m);
            }

            var calls = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (calls.Count == 0) return new ToolLoopResult(response, added, step, ToolLoopOutcome.Answered);

            var results = new List<AIContent>();
            foreach (var call in calls) results.Add(await InvokeAsync(call, cancellationToken).ConfigureAwait(false));
            var toolMessage = new ChatMessage(ChatRole.Tool, results);
            history.Add(toolMessage);
            added.Add(toolMessage);
        }

        return new ToolLoopResult(response!, added, MaxSteps, ToolLoopOutcome.StepBudgetExhausted);
    }

    private async Task<FunctionResultContent> InvokeAsync(FunctionCallContent call, CancellationToken cancellationToken)
    {
        if (call.Exception != null) return new FunctionResultContent(call.CallId, $"error: {call.Exception.Message}");
        if (!_functions.TryGetValue(call.Name, out var function)) return new FunctionResultContent(call.CallId, $"error: there is no function named '{call.Name}'");
        if (Approve != null && !Approve(call)) return new FunctionResultContent(call.CallId, $"error: the call to '{call.Name}' was not approved");
        try
        {
            var result = await function.InvokeAsync(new AIFunctionArguments(call.Arguments), cancellationToken).ConfigureAwait(false);
            return new FunctionResultContent(call.CallId, result);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new FunctionResultContent(call.CallId, $"error: {e.Message}") { Exception = e };
        }
    }
}
