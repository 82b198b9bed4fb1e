using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hearth.Agents;
using Hearth.Agents.Approval;
using Hearth.Agents.Journal;
using Hearth.Agents.Plans;
using Hearth.Agents.Policy;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary>
/// What the <c>hearth agent</c> subcommands share: the <c>--policy</c>, <c>--state</c>, <c>--dry-run</c> and
/// <c>--yes</c> options, opening a <see cref="PolicyWorkspace"/> with console approval, and printing plans. Other
/// agent commands (extract, code) use it too: <c>var ws = AgentCliSupport.Open(r, options, ...)</c>.
/// </summary>
internal sealed class AgentCliSupport
{
    /// <summary>
    /// Crash drills for tests: <c>kill:K:PHASE</c> SIGKILLs this process when the K-th change reaches PHASE
    /// (journalled, temp or acted). Never set in normal use.
    /// </summary>
    public const string FaultVariable = "HEARTH_AGENT_FAULT";

    /// <summary>Milliseconds to wait at each phase of each change, while its journal entry is pending (crash drills that
    /// kill from outside need a slow batch).</summary>
    public const string StepDelayVariable = "HEARTH_AGENT_STEP_DELAY_MS";

    public Option<string?> Policy { get; } = new("--policy") { Description = "permission policy file (YAML); 'hearth agent policy' prints an example" };

    public Option<string?> State { get; } = new("--state") { Description = "agent state directory (audit log, journal, trash); default: the policy's, else $HEARTH_AGENT_STATE or ~/.local/state/hearth/agent" };

    public Option<bool> DryRun { get; } = new("--dry-run") { Description = "print the whole plan, check it against the policy, change nothing" };

    public Option<bool> Yes { get; } = new("--yes", "-y") { Description = "approve every action the policy says to ask about (denied ones stay denied)" };

    /// <summary>Adds the options to a command (<paramref name="changes"/>: also --dry-run and --yes).</summary>
    public void AddTo(Command command, bool changes)
    {
        command.Options.Add(Policy);
        command.Options.Add(State);
        if (!changes) return;
        command.Options.Add(DryRun);
        command.Options.Add(Yes);
    }

    /// <summary>
    /// The policy: the <c>--policy</c> file, or else (when <paramref name="derive"/> is given) the policy it derives
    /// from the command's arguments; <c>--state</c> overrides its state directory.
    /// </summary>
    /// <exception cref="ArgumentException">There is no <c>--policy</c> and nothing to derive one from.</exception>
    public AgentPolicy LoadPolicy(ParseResult r, Func<AgentPolicy>? derive = null)
    {
        AgentPolicy policy;
        if (r.GetValue(Policy) is { } file) policy = AgentPolicyLoader.Load(file);
        else if (derive != null) policy = derive();
        else throw new ArgumentException("give a policy file with --policy");
        return r.GetValue(State) is { } state ? policy with { StateDirectory = Path.GetFullPath(state) } : policy;
    }

    /// <summary>The state directory: <c>--state</c>, else the <c>--policy</c> file's, else the default.</summary>
    public string StateDirectory(ParseResult r) =>
        r.GetValue(State) is { } state ? Path.GetFullPath(state)
        : r.GetValue(Policy) is { } file ? AgentPolicyLoader.Load(file).StateDirectory
        : AgentPolicyLoader.DefaultStateDirectory();

    /// <summary>Opens a run: console approval (prompts on stderr, answers from stdin) unless --yes; crash drills from the environment.</summary>
    public PolicyWorkspace Open(ParseResult r, AgentPolicy policy, string actor, string description, TextReader stdin, TextWriter stderr)
    {
        IApprovalProvider approval = r.GetValue(Yes) ? FixedApprovalProvider.ApproveAll : new ConsoleApprovalProvider(stdin, stderr);
        var ws = PolicyWorkspace.Open(policy, new PolicyWorkspaceOptions { Approval = approval, DryRun = r.GetValue(DryRun), Actor = actor, Description = description });
        foreach (var o in ws.Recovered) stderr.WriteLine($"recovered after a crash: {ChangeJournal.OperationText(o.Entry.Operation)} {o.Entry.Path}: {o.Outcome}");
        InstallFaultInjection(ws);
        return ws;
    }

    /// <summary>Applies a plan, printing each step as it ends, and the summary. Returns the exit code: 0 all done, 2 not
    /// approved or some steps refused or failed.</summary>
    public static async Task<int> ApplyAndReportAsync(PolicyWorkspace ws, AgentPlan plan, Func<PolicyWorkspace, AgentPlan, IProgress<PlanStepResult>, CancellationToken, Task<IReadOnlyList<PlanStepResult>?>> apply,
        TextWriter stdout, CancellationToken cancel)
    {
        var progress = new SyncProgress(result =>
        {
            stdout.WriteLine($"{(result.Ok ? ws.DryRun ? "plan" : "done" : "FAIL")} {result.Index}/{plan.Steps.Count} {result.Step}{(result.Ok ? "" : ": " + result.Message)}");
            stdout.Flush();
        });
        var results = await apply(ws, plan, progress, cancel);
        if (results == null)
        {
            ws.Complete("not approved");
            stdout.WriteLine("Not approved: nothing was changed.");
            return 2;
        }

        int failed = results.Count(x => !x.Ok);
        ws.Complete(failed == 0 ? "completed" : $"completed, {failed} steps failed");
        if (ws.DryRun)
        {
            stdout.WriteLine($"Dry run {ws.RunId}: {results.Count - failed} steps would run, {failed} would fail; nothing was changed.");
        }
        else
        {
            stdout.WriteLine($"Run {ws.RunId}: {results.Count - failed} done, {failed} refused or failed.");
            if (results.Count > failed) stdout.WriteLine($"Undo with: hearth agent undo {ws.RunId}");
        }

        return failed == 0 ? 0 : 2;
    }

    private static void InstallFaultInjection(PolicyWorkspace ws)
    {
        int delay = int.TryParse(Environment.GetEnvironmentVariable(StepDelayVariable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? ms : 0;
        int index = -1;
        var phase = JournalPhase.Journalled;
        if (Environment.GetEnvironmentVariable(FaultVariable) is { Length: > 0 } spec)
        {
            var parts = spec.Split(':');
            if (parts.Length != 3 || parts[0] != "kill" || !int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out index)
                || !Enum.TryParse(parts[2] == "temp" ? "TempWritten" : parts[2], ignoreCase: true, out phase))
                throw new ArgumentException($"{FaultVariable}='{spec}': expected kill:K:journalled|temp|acted");
        }

        if (index < 0 && delay <= 0) return;
        ws.State.Journal.FaultInjection = step =>
        {
            if (step.Index == index && step.Phase == phase) Process.GetCurrentProcess().Kill(); // SIGKILL: no cleanup runs
            if (delay > 0) Thread.Sleep(delay);
        };
    }

    /// <summary>An <see cref="IProgress{T}"/> that reports on the caller's thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress(Action<PlanStepResult> report) : IProgress<PlanStepResult>
    {
        public void Report(PlanStepResult value) => report(value);
    }
}

/// <summary>A chat client that also disposes what it was built on (the loaded model) when it is disposed.</summary>
internal sealed class OwningChatClient(IChatClient inner, IDisposable owned) : DelegatingChatClient(inner)
{
    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) owned.Dispose();
    }
}
