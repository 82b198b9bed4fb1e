using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Hearth.Agents.Journal;
using Hearth.Agents.Plans;
using Hearth.Agents.State;

namespace Hearth.Agents.Tests;

/// <summary>
/// A child <c>hearth agent apply</c> process is killed with SIGKILL in the middle of a batch of moves, overwrites,
/// deletes and copies: at an exact phase of an exact change (the CLI's crash drill), and at a moment chosen from
/// outside. Afterwards recovery leaves the tree exactly as after the last completed change or the next one, no
/// content is lost, and undo brings back the original tree exactly.
/// </summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Files in/f00.txt ... and a plan cycling move, overwrite, delete, copy over them, then one new file.</summary>
    private SortedSet<string> _originalDirectories = [];

    private (Dictionary<string, string> Files, AgentPlan Plan) Batch(int count)
    {
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        var steps = new List<PlanStep>();
        for (int i = 0; i < count; i++)
        {
            var name = $"in/f{i:D3}.txt";
            files[name] = $"original content of file {i}\n" + new string((char)('a' + (i % 26)), 100 + i);
            _box.Write(name, files[name]);
            steps.Add((i % 4) switch
            {
                0 => new PlanStep(PlanStepKind.Move, name, $"out/f{i:D3}.txt"),
                1 => new PlanStep(PlanStepKind.Write, name, null, $"rewritten {i}"),
                2 => new PlanStep(PlanStepKind.Delete, name),
                _ => new PlanStep(PlanStepKind.Copy, name, $"copies/f{i:D3}.txt"),
            });
        }

        steps.Add(new PlanStep(PlanStepKind.Write, "new/created.txt", null, "made by the batch"));
        _originalDirectories = Sandbox.Directories(_box.Root);
        return (files, new AgentPlan("crash drill", steps));
    }

    /// <summary>The tree (path → SHA-256) after the first <paramref name="count"/> steps, worked out in memory.</summary>
    private static SortedDictionary<string, string> Expected(Dictionary<string, string> files, AgentPlan plan, int count)
    {
        var state = new Dictionary<string, string>(files, StringComparer.Ordinal);
        foreach (var s in plan.Steps.Take(count))
        {
            switch (s.Kind)
            {
                case PlanStepKind.Move:
                    state[s.To!] = state[s.Path];
                    state.Remove(s.Path);
                    break;
                case PlanStepKind.Copy:
                    state[s.To!] = state[s.Path];
                    break;
                case PlanStepKind.Write:
                    state[s.Path] = s.Text!;
                    break;
                default:
                    state.Remove(s.Path);
                    break;
            }
        }

        return new SortedDictionary<string, string>(state.ToDictionary(p => p.Key, p => Sha(p.Value)), StringComparer.Ordinal);
    }

    private string WritePolicyAndPlan(AgentPlan plan)
    {
        File.WriteAllText(Path.Combine(_box.Dir, "policy.yaml"),
            "roots:\n  - path: root\n    access: read-write\noperations:\n  create: auto\n  move: auto\n  overwrite: auto\n  delete: auto\nstate: state\n");
        var planFile = Path.Combine(_box.Dir, "plan.json");
        File.WriteAllText(planFile, plan.ToJson());
        return planFile;
    }

    private Process StartApply(string planFile, params (string Name, string Value)[] env)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Hearth.Cli.dll"), "agent", "apply", planFile, "--policy", Path.Combine(_box.Dir, "policy.yaml"), "--yes" })
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in env) psi.Environment[name] = value;
        return Process.Start(psi)!;
    }

    /// <summary>After the crash: recovery, the tree as after <paramref name="done"/> or <paramref name="done"/>+1 steps, no content lost, and undo back to the start.</summary>
    private void RecoverAndUndo(Dictionary<string, string> files, AgentPlan plan, int done)
    {
        var original = Expected(files, plan, 0);
        using var state = AgentStateStore.Open(_box.State);
        var pending = state.Journal.Entries().Where(e => e.State == JournalState.Pending && e.Operation != JournalOperation.MakeDirectory).ToList();
        Assert.True(pending.Count <= 1, $"{pending.Count} pending changes");

        var outcomes = AgentMaintenance.RecoverAndAudit(state);
        Assert.DoesNotContain(outcomes, o => o.Conflict);
        Assert.DoesNotContain(state.Journal.Entries(), e => e.State == JournalState.Pending);
        var tree = Sandbox.Tree(_box.Root);
        Assert.True(tree.SequenceEqual(Expected(files, plan, done)) || tree.SequenceEqual(Expected(files, plan, done + 1)),
            $"after {done} steps the tree is neither the state before nor after step {done + 1}:\n{string.Join("\n", tree.Select(p => p.Key))}");
        Assert.DoesNotContain(tree.Keys, k => k.EndsWith(".tmp", StringComparison.Ordinal));

        // No content is lost: every original file's content is in the tree or in the trash.
        var everywhere = tree.Values.Concat(Sandbox.Tree(Path.Combine(_box.State, "trash")).Values).ToHashSet();
        Assert.All(original, f => Assert.Contains(f.Value, everywhere));

        var (_, undone) = AgentMaintenance.Undo(state);
        Assert.DoesNotContain(undone, o => o.Conflict);
        Assert.Equal(original, Sandbox.Tree(_box.Root));
        Assert.Equal(_originalDirectories, Sandbox.Directories(_box.Root));
    }

    [Theory]
    [InlineData(1, "journalled")] // move: intent durable, nothing moved
    [InlineData(1, "acted")] // move done, not yet marked
    [InlineData(2, "journalled")] // overwrite: old content in the trash, intent durable
    [InlineData(2, "temp")] // overwrite: new content in a temporary file beside the target
    [InlineData(2, "acted")] // overwrite renamed into place
    [InlineData(3, "journalled")] // delete: content in the trash, file still there
    [InlineData(3, "acted")] // delete done
    [InlineData(4, "temp")] // copy: the new file half made
    [InlineData(4, "acted")]
    [InlineData(6, "temp")]
    [InlineData(9, "acted")]
    public async Task KilledAtAnExactPhaseOfAChangeRecoversAndUndoes(int step, string phase)
    {
        var (files, plan) = Batch(12);
        var planFile = WritePolicyAndPlan(plan);
        using var child = StartApply(planFile, ("HEARTH_AGENT_FAULT", $"kill:{step}:{phase}"));
        var output = await child.StandardOutput.ReadToEndAsync();
        await child.WaitForExitAsync();
        Assert.Equal(137, child.ExitCode); // 128 + SIGKILL
        if (step > 1) Assert.Contains($"done {step - 1}/{plan.Steps.Count}", output);
        Assert.DoesNotContain($"done {step}/", output);
        RecoverAndUndo(files, plan, step - 1);
    }

    [Fact]
    public async Task KilledFromOutsideMidBatchRecoversAndUndoes()
    {
        var (files, plan) = Batch(160);
        var planFile = WritePolicyAndPlan(plan);
        using var child = StartApply(planFile, ("HEARTH_AGENT_STEP_DELAY_MS", "15"));
        string? line;
        while ((line = await child.StandardOutput.ReadLineAsync()) != null && !line.StartsWith("done 12/", StringComparison.Ordinal))
        {
        }

        Assert.NotNull(line);
        child.Kill(); // SIGKILL, at whatever instant the child has reached
        await child.WaitForExitAsync();
        Assert.Equal(137, child.ExitCode);

        int done;
        using (var state = AgentStateStore.Open(_box.State))
        {
            done = state.Journal.Entries().Count(e => e.State == JournalState.Done && e.Operation != JournalOperation.MakeDirectory);
        }

        Assert.InRange(done, 12, plan.Steps.Count - 1); // killed in the middle of the batch
        RecoverAndUndo(files, plan, done);
    }

    [Fact]
    public async Task TheNextAgentCommandRecoversByItself()
    {
        var (files, plan) = Batch(8);
        var planFile = WritePolicyAndPlan(plan);
        using (var child = StartApply(planFile, ("HEARTH_AGENT_FAULT", "kill:2:temp")))
        {
            await child.WaitForExitAsync();
            Assert.Equal(137, child.ExitCode);
        }

        var (code, stdout, stderr) = Hearth.Tests.Cli.Run("agent", "recover", "--state", _box.State);
        Assert.Equal(0, code);
        Assert.Contains("rolled back", stdout);
        Assert.Equal(Expected(files, plan, 1), Sandbox.Tree(_box.Root));
        Assert.Equal(0, Hearth.Tests.Cli.Run("agent", "undo", "--state", _box.State).Code);
        Assert.Equal(Expected(files, plan, 0), Sandbox.Tree(_box.Root));
        Assert.Empty(stderr);
    }
}
