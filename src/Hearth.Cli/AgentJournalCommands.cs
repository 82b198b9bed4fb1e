using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Agents;
using Hearth.Agents.Audit;
using Hearth.Agents.Journal;
using Hearth.Agents.State;

namespace Hearth.Cli;

/// <summary><c>hearth agent undo | recover | runs | log</c>: the journal and the audit log.</summary>
internal static class AgentJournalCommands
{
    public static Command Undo(TextWriter stdout)
    {
        var run = new Argument<string?>("run-id") { Description = "the run to undo (default: the latest run with changes)", Arity = ArgumentArity.ZeroOrOne };
        var common = new AgentCliSupport();
        var cmd = new Command("undo", "Undo a run's changes (newest first): moved files move back, overwritten and deleted content comes back from the trash.") { run };
        common.AddTo(cmd, changes: false);
        cmd.SetAction(r =>
        {
            using var state = AgentStateStore.Open(common.StateDirectory(r));
            var (runId, outcomes) = AgentMaintenance.Undo(state, r.GetValue(run));
            foreach (var o in outcomes.Where(o => o.Entry.Operation != JournalOperation.MakeDirectory || o.Outcome != "removed"))
                stdout.WriteLine($"{(o.Conflict ? "CONFLICT" : "undone")} {Describe(o.Entry)}: {o.Outcome}");
            int conflicts = outcomes.Count(o => o.Conflict);
            stdout.WriteLine(conflicts == 0 ? $"Run {runId} undone." : $"Run {runId} undone except {conflicts} change(s) to files changed since; they were left alone.");
            return conflicts == 0 ? 0 : 2;
        });
        return cmd;
    }

    public static Command Recover(TextWriter stdout)
    {
        var common = new AgentCliSupport();
        var cmd = new Command("recover", "Settle changes a crashed run left half-done (every agent command also does this when it starts).");
        common.AddTo(cmd, changes: false);
        cmd.SetAction(r =>
        {
            using var state = AgentStateStore.Open(common.StateDirectory(r));
            var outcomes = AgentMaintenance.RecoverAndAudit(state);
            foreach (var o in outcomes) stdout.WriteLine($"{(o.Conflict ? "CONFLICT" : "recovered")} {Describe(o.Entry)}: {o.Outcome}");
            stdout.WriteLine(outcomes.Count == 0 ? "Nothing to recover." : $"{outcomes.Count} change(s) settled.");
            return outcomes.Any(o => o.Conflict) ? 2 : 0;
        });
        return cmd;
    }

    public static Command Runs(TextWriter stdout)
    {
        var common = new AgentCliSupport();
        var cmd = new Command("runs", "List agent runs, newest first: id, start, changes, outcome, what.");
        common.AddTo(cmd, changes: false);
        cmd.SetAction(r =>
        {
            using var state = AgentStateStore.Open(common.StateDirectory(r));
            foreach (var run in state.Runs())
                stdout.WriteLine($"{run.RunId}\t{run.Started:yyyy-MM-dd HH:mm:ss}\t{run.Changes} changes\t{(run.DryRun ? "dry run, " : "")}{run.Outcome ?? "no end recorded (crashed?)"}\t{run.Description}");
            return 0;
        });
        return cmd;
    }

    public static Command Log(TextWriter stdout)
    {
        var run = new Argument<string?>("run-id") { Description = "only this run's rows", Arity = ArgumentArity.ZeroOrOne };
        var json = new Option<bool>("--json") { Description = "print JSON lines" };
        var verify = new Option<bool>("--verify") { Description = "check the audit log's hash chain first" };
        var common = new AgentCliSupport();
        var cmd = new Command("log", "Print the audit log: every tool call with its arguments, the policy's decision, the result and content hashes.") { run, json, verify };
        common.AddTo(cmd, changes: false);
        cmd.SetAction(r =>
        {
            using var state = AgentStateStore.Open(common.StateDirectory(r));
            if (r.GetValue(verify)) stdout.WriteLine($"audit log intact: {state.Audit.Verify()} rows");
            foreach (var e in state.Audit.Read(r.GetValue(run)))
            {
                if (r.GetValue(json))
                {
                    stdout.WriteLine(new JsonObject
                    {
                        ["id"] = e.Id, ["time"] = e.Time, ["run"] = e.RunId, ["actor"] = e.Actor, ["tool"] = e.Tool,
                        ["arguments"] = JsonNode.Parse(e.ArgumentsJson), ["decision"] = AuditLog.DecisionText(e.Decision), ["reason"] = e.Reason,
                        ["result"] = e.Result, ["sha256_before"] = e.HashBefore, ["sha256_after"] = e.HashAfter,
                    }.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                }
                else
                {
                    stdout.WriteLine($"{e.Id}\t{e.Time:yyyy-MM-dd HH:mm:ss}\t{e.RunId}\t{e.Actor}\t{e.Tool}\t{AuditLog.DecisionText(e.Decision)}\t{e.ArgumentsJson}\t{e.Reason}\t{e.Result}");
                }
            }

            return 0;
        });
        return cmd;
    }

    private static string Describe(JournalEntry e) =>
        $"{ChangeJournal.OperationText(e.Operation)} {e.Path}{(e.Target != null ? " -> " + e.Target : "")}";
}
