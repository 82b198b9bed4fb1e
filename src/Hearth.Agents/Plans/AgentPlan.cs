using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Agents.Approval;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Plans;

/// <summary>What a plan step does.</summary>
public enum PlanStepKind
{
    /// <summary>Move or rename a file (<see cref="PlanStep.Path"/> to <see cref="PlanStep.To"/>).</summary>
    Move,

    /// <summary>Copy a file to a new path (the original stays).</summary>
    Copy,

    /// <summary>Write text to a file (create or overwrite).</summary>
    Write,

    /// <summary>Delete a file.</summary>
    Delete,
}

/// <summary>One step of a plan.</summary>
/// <param name="Kind">What it does.</param>
/// <param name="Path">The file it acts on (for a move or copy, the source).</param>
/// <param name="To">For a move or copy, the target; otherwise null.</param>
/// <param name="Text">For a write, the text; otherwise null.</param>
/// <param name="Reason">Why (shown with the plan), or null.</param>
public sealed record PlanStep(PlanStepKind Kind, string Path, string? To = null, string? Text = null, string? Reason = null)
{
    public override string ToString() => Kind switch
    {
        PlanStepKind.Move => $"move   {Path} -> {To}",
        PlanStepKind.Copy => $"copy   {Path} -> {To}",
        PlanStepKind.Write => $"write  {Path} ({Encoding.UTF8.GetByteCount(Text ?? "")} bytes)",
        _ => $"delete {Path}",
    } + (Reason != null ? $"   # {Reason}" : "");
}

/// <summary>How one step went.</summary>
/// <param name="Index">Its position (1-based).</param>
/// <param name="Step">The step.</param>
/// <param name="Ok">True when it was done (or planned, in a dry run).</param>
/// <param name="Message">"done", "planned", or why it failed.</param>
public sealed record PlanStepResult(int Index, PlanStep Step, bool Ok, string Message);

/// <summary>
/// A batch of file changes to apply under a policy: proposed by the organizer (or written by hand) and shown in full
/// before anything runs. JSON form: <c>{"summary": "...", "steps": [{"op": "move", "path": "a", "to": "b", "reason":
/// "..."}, {"op": "copy", ...}, {"op": "write", "path": "p", "text": "..."}, {"op": "delete", "path": "p"}]}</c>.
/// </summary>
public sealed record AgentPlan(string Summary, IReadOnlyList<PlanStep> Steps)
{
    /// <summary>Most steps a plan file may hold.</summary>
    public const int MaxSteps = 100_000;

    /// <summary>The plan as JSON (the form <see cref="Parse"/> reads).</summary>
    public string ToJson()
    {
        var steps = new JsonArray();
        foreach (var s in Steps)
        {
            var o = new JsonObject { ["op"] = s.Kind.ToString().ToLowerInvariant(), ["path"] = s.Path };
            if (s.To != null) o["to"] = s.To;
            if (s.Text != null) o["text"] = s.Text;
            if (s.Reason != null) o["reason"] = s.Reason;
            steps.Add(o);
        }

        return new JsonObject { ["summary"] = Summary, ["steps"] = steps }.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads a plan from JSON.</summary>
    /// <exception cref="FormatException">It is not a plan; the message names the step and the problem.</exception>
    public static AgentPlan Parse(string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new FormatException($"the plan is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject obj || obj["steps"] is not JsonArray array) throw new FormatException("a plan is a JSON object with a 'steps' array");
        if (array.Count > MaxSteps) throw new FormatException($"the plan has {array.Count} steps; at most {MaxSteps} are allowed");
        var steps = new List<PlanStep>();
        for (int i = 0; i < array.Count; i++)
        {
            string where = $"step {i + 1}";
            if (array[i] is not JsonObject s) throw new FormatException($"{where} is not an object");
            string? Str(string key) => s[key] is JsonValue v && v.TryGetValue(out string? text) ? text : null;
            string Need(string key) => Str(key) is { Length: > 0 } v ? v : throw new FormatException($"{where} needs a '{key}' text");
            var kind = Str("op") switch
            {
                "move" => PlanStepKind.Move,
                "copy" => PlanStepKind.Copy,
                "write" => PlanStepKind.Write,
                "delete" => PlanStepKind.Delete,
                var other => throw new FormatException($"{where}: unknown op '{other}' (use move, copy, write or delete)"),
            };
            steps.Add(kind switch
            {
                PlanStepKind.Move or PlanStepKind.Copy => new PlanStep(kind, Need("path"), Need("to"), null, Str("reason")),
                PlanStepKind.Write => new PlanStep(kind, Need("path"), null, Str("text") ?? throw new FormatException($"{where} needs a 'text'"), Str("reason")),
                _ => new PlanStep(kind, Need("path"), null, null, Str("reason")),
            });
        }

        return new AgentPlan(obj["summary"] is JsonValue sv && sv.TryGetValue(out string? summary) ? summary : "apply a plan", steps);
    }
}

/// <summary>Applies a plan through a <see cref="PolicyWorkspace"/>: the whole plan is approved at once, then each step
/// runs under the policy (journalled and audited); a failed step is reported and the rest go on.</summary>
public static class PlanRunner
{
    /// <summary>
    /// Asks approval for the plan's "ask" actions in one request, then runs every step in order. Returns null when the
    /// plan was not approved (nothing ran), else one result per step.
    /// </summary>
    /// <param name="workspace">The run to apply it in (a dry-run workspace only plans).</param>
    /// <param name="plan">The plan.</param>
    /// <param name="progress">Told after each step (the CLI prints it).</param>
    /// <param name="cancel">Stops before the next step.</param>
    public static async Task<IReadOnlyList<PlanStepResult>?> ApplyAsync(PolicyWorkspace workspace, AgentPlan plan, IProgress<PlanStepResult>? progress = null,
        CancellationToken cancel = default)
    {
        if (!await workspace.RequestApprovalAsync(plan.Summary, [.. plan.Steps.Select(s => ToAction(workspace, s))], cancel).ConfigureAwait(false)) return null;
        var results = new List<PlanStepResult>();
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            cancel.ThrowIfCancellationRequested();
            var step = plan.Steps[i];
            PlanStepResult result;
            try
            {
                await RunAsync(workspace, step, cancel).ConfigureAwait(false);
                result = new PlanStepResult(i + 1, step, true, workspace.DryRun ? "planned" : "done");
            }
            catch (Exception e) when (e is PermissionDeniedException or IOException or UnauthorizedAccessException)
            {
                result = new PlanStepResult(i + 1, step, false, e.Message);
            }

            results.Add(result);
            progress?.Report(result);
        }

        return results;
    }

    private static async Task RunAsync(PolicyWorkspace ws, PlanStep step, CancellationToken cancel)
    {
        switch (step.Kind)
        {
            case PlanStepKind.Move:
                await ws.MoveAsync(step.Path, step.To!, cancel).ConfigureAwait(false);
                break;
            case PlanStepKind.Copy:
                if (KindOf(ws, step.To!) != FileKind.Missing) throw new IOException($"'{step.To}' already exists; a copy never replaces a file");
                var bytes = await ws.ReadFileAsync(step.Path, cancel).ConfigureAwait(false);
                await ws.WriteFileAsync(step.To!, bytes, cancel).ConfigureAwait(false);
                break;
            case PlanStepKind.Write:
                await ws.WriteFileAsync(step.Path, Encoding.UTF8.GetBytes(step.Text ?? ""), cancel).ConfigureAwait(false);
                break;
            case PlanStepKind.Delete:
                await ws.DeleteAsync(step.Path, cancel).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>The action a step will ask the policy for.</summary>
    public static PlannedAction ToAction(PolicyWorkspace ws, PlanStep step) => step.Kind switch
    {
        PlanStepKind.Move => new PlannedAction(AgentOperation.Move, step.Path, step.To),
        PlanStepKind.Copy => new PlannedAction(AgentOperation.Create, step.To!, null, $"copy of {step.Path}"),
        PlanStepKind.Write => new PlannedAction(KindOf(ws, step.Path) == FileKind.File ? AgentOperation.Overwrite : AgentOperation.Create, step.Path, null,
            $"{Encoding.UTF8.GetByteCount(step.Text ?? "")} bytes"),
        _ => new PlannedAction(AgentOperation.Delete, step.Path),
    };

    private static FileKind KindOf(PolicyWorkspace ws, string path)
    {
        try
        {
            return ws.Paths.Resolve(path, PathAccess.Write).Kind;
        }
        catch (PermissionDeniedException)
        {
            return FileKind.Missing;
        }
    }
}
