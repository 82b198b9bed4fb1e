using Hearth.Agents.Policy;

namespace Hearth.Agents.Approval;

/// <summary>One action of a plan, as shown to whoever approves it.</summary>
/// <param name="Operation">What it does.</param>
/// <param name="Path">The path it acts on (as shown: relative to the first root, or full).</param>
/// <param name="Target">For a move, where the file goes; otherwise null.</param>
/// <param name="Detail">More to show (a command line, a content size), or null.</param>
public sealed record PlannedAction(AgentOperation Operation, string Path, string? Target = null, string? Detail = null)
{
    /// <summary>One line: <c>move  a.txt -> b/a.txt</c>.</summary>
    public override string ToString()
    {
        var verb = Operation.ToString().ToLowerInvariant();
        var text = Target != null ? $"{verb,-9} {Path} -> {Target}" : $"{verb,-9} {Path}";
        return Detail != null ? $"{text}  ({Detail})" : text;
    }
}

/// <summary>What an agent asks to be approved: one or more actions, and why.</summary>
/// <param name="RunId">The run asking.</param>
/// <param name="Summary">A sentence saying what the actions are for.</param>
/// <param name="Actions">The actions needing approval (those the policy lets run without asking are not here).</param>
public sealed record ApprovalRequest(string RunId, string Summary, IReadOnlyList<PlannedAction> Actions);

/// <summary>The answer to an <see cref="ApprovalRequest"/>.</summary>
public enum ApprovalDecision
{
    /// <summary>No: nothing in the request runs.</summary>
    Deny,

    /// <summary>Yes, for these actions only.</summary>
    Approve,

    /// <summary>Yes, and approve every later action of the same operations for the rest of this session.</summary>
    Always,
}

/// <summary>
/// Decides on actions whose policy mode is "ask". The CLI asks a person (<see cref="ConsoleApprovalProvider"/>);
/// tests answer programmatically; <see cref="FixedApprovalProvider"/> answers the same every time.
/// </summary>
public interface IApprovalProvider
{
    /// <summary>Asks for approval of every action in <paramref name="request"/> at once.</summary>
    Task<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancel = default);
}

/// <summary>Answers every request the same way (<c>--yes</c> approves everything; a server without a person denies).</summary>
public sealed class FixedApprovalProvider(ApprovalDecision answer) : IApprovalProvider
{
    /// <summary>Approves everything.</summary>
    public static FixedApprovalProvider ApproveAll { get; } = new(ApprovalDecision.Approve);

    /// <summary>Denies everything.</summary>
    public static FixedApprovalProvider DenyAll { get; } = new(ApprovalDecision.Deny);

    public Task<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancel = default) => Task.FromResult(answer);
}

/// <summary>
/// Asks a person: prints the plan and reads an answer line: <c>y</c>/<c>yes</c> approves, <c>n</c>/<c>no</c> or the
/// end of input denies, <c>a</c>/<c>always</c> approves these operations for the rest of the session. Anything else
/// asks again, at most three times, then denies.
/// </summary>
public sealed class ConsoleApprovalProvider(TextReader input, TextWriter output) : IApprovalProvider
{
    public async Task<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancel = default)
    {
        await output.WriteLineAsync($"The agent asks to {request.Summary} ({request.Actions.Count} action{(request.Actions.Count == 1 ? "" : "s")}):").ConfigureAwait(false);
        foreach (var a in request.Actions) await output.WriteLineAsync("  " + a).ConfigureAwait(false);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            await output.WriteAsync("Allow? [y]es / [n]o / [a]lways: ").ConfigureAwait(false);
            await output.FlushAsync(cancel).ConfigureAwait(false);
            var line = await input.ReadLineAsync(cancel).ConfigureAwait(false);
            if (line == null)
            {
                await output.WriteLineAsync().ConfigureAwait(false);
                return ApprovalDecision.Deny;
            }

            switch (line.Trim().ToLowerInvariant())
            {
                case "y" or "yes": return ApprovalDecision.Approve;
                case "n" or "no": return ApprovalDecision.Deny;
                case "a" or "always": return ApprovalDecision.Always;
            }

            await output.WriteLineAsync($"Please answer y, n or a (not '{line.Trim()}').").ConfigureAwait(false);
        }

        return ApprovalDecision.Deny;
    }
}
