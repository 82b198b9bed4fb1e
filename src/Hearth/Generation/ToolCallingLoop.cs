using Microsoft.Extensions.AI;

namespace Hearth.Generation;

/// <summary>Why a tool-calling loop ended.</summary>
public enum ToolLoopOutcome
{
    /// <summary>The model answered without calling a tool.</summary>
    Answered,

    /// <summary>The step budget ran out while the model was still calling tools.</summary>
    StepBudgetExhausted,

    /// <summary>The time budget (<see cref="ToolCallingLoop.TimeBudget"/>) ran out; the step in flight was cancelled.</summary>
    TimeBudgetExhausted,
}

/// <summary>One call the model made and what it was answered.</summary>
/// <param name="Call">The call.</param>
/// <param name="Result">The result handed back to the model.</param>
/// <param name="Invoked">False when the function never ran: unknown name, arguments that failed validation, or refused.</param>
public sealed record ToolCallRecord(FunctionCallContent Call, FunctionResultContent Result, bool Invoked);

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
    /// The longest a run may take, or null for no limit. When it runs out, the model call or function in flight is
    /// cancelled and the run ends with <see cref="ToolLoopOutcome.TimeBudgetExhausted"/> (not an exception).
    /// </summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>Called after every call the model made (run or not) with the result handed back, e.g. to audit it.</summary>
    public Action<ToolCallRecord>? CallCompleted { get; init; }

    /// <summary>
    /// Runs the loop on <paramref name="history"/>, which receives every assistant and tool message. The first step may
    /// force a call (<paramref name="firstToolMode"/>); later steps let the model choose.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<ToolLoopResult> RunAsync(IList<ChatMessage> history, ChatOptions? options = null, ChatToolMode? firstToolMode = null, CancellationToken cancellationToken = default)
    {
        if (TimeBudget is not { } budget) return await RunStepsAsync(history, options, firstToolMode, new List<ChatMessage>(), cancellationToken).ConfigureAwait(false);
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(budget);
        var added = new List<ChatMessage>();
        try
        {
            return await RunStepsAsync(history, options, firstToolMode, added, timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && timer.IsCancellationRequested)
        {
            var last = added.LastOrDefault(m => m.Role == ChatRole.Assistant);
            return new ToolLoopResult(last != null ? new ChatResponse(last) : new ChatResponse(), added, added.Count(m => m.Role == ChatRole.Assistant), ToolLoopOutcome.TimeBudgetExhausted);
        }
    }

    private async Task<ToolLoopResult> RunStepsAsync(IList<ChatMessage> history, ChatOptions? options, ChatToolMode? firstToolMode, List<ChatMessage> added, CancellationToken cancellationToken)
    {
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
            foreach (var call in calls)
            {
                var (result, invoked) = await InvokeAsync(call, cancellationToken).ConfigureAwait(false);
                CallCompleted?.Invoke(new ToolCallRecord(call, result, invoked));
                results.Add(result);
            }

            var toolMessage = new ChatMessage(ChatRole.Tool, results);
            history.Add(toolMessage);
            added.Add(toolMessage);
        }

        return new ToolLoopResult(response!, added, MaxSteps, ToolLoopOutcome.StepBudgetExhausted);
    }

    private async Task<(FunctionResultContent Result, bool Invoked)> InvokeAsync(FunctionCallContent call, CancellationToken cancellationToken)
    {
        if (call.Exception != null) return (new FunctionResultContent(call.CallId, $"error: {call.Exception.Message}"), false);
        if (!_functions.TryGetValue(call.Name, out var function)) return (new FunctionResultContent(call.CallId, $"error: there is no function named '{call.Name}'"), false);
        if (Approve != null && !Approve(call)) return (new FunctionResultContent(call.CallId, $"error: the call to '{call.Name}' was not approved"), false);
        try
        {
            var result = await function.InvokeAsync(new AIFunctionArguments(call.Arguments), cancellationToken).ConfigureAwait(false);
            return (new FunctionResultContent(call.CallId, result), true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (new FunctionResultContent(call.CallId, $"error: {e.Message}") { Exception = e }, true);
        }
    }
}
