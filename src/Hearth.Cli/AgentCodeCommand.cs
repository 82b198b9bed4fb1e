using System.CommandLine;
using Hearth.Agents.Code;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth agent code REPO --task "..."</c>: a model edits a repository through unified diffs; each edit is checked
/// (applies, C# parses), written through the policy-backed workspace (checked, audited, journalled), checked with the
/// <c>--test</c> command, and taken back when that fails. A kept edit is undone with <c>hearth agent undo RUN_ID</c>.
/// Without <c>--policy</c> the run is under <see cref="CodeEditPolicy.For"/>: REPO read-write, writes automatic, moves
/// and deletes asked for, and only the exact <c>--test</c> command may run. The behaviour lives in
/// <see cref="CodeEditSession"/>.
/// </summary>
internal static class AgentCodeCommand
{
    /// <param name="stdin">Answers to approval prompts.</param>
    /// <param name="stdout">The outcome, the kept edits, the undo hint.</param>
    /// <param name="stderr">One line per edit attempt, approval prompts, recovery notes.</param>
    /// <param name="openModel">Loads the model named by <c>--model</c> as a chat client (tests pass a scripted double);
    /// by default the engine with constrained tool-call decoding.</param>
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr, Func<ParseResult, IChatClient>? openModel = null)
    {
        var repo = new Argument<string>("repo") { Description = "the repository (directory) to edit" };
        var task = new Option<string>("--task") { Description = "what to change; files it names are shown to the model", Required = true };
        var model = new Option<string?>("--model", "-m") { Description = "GGUF model file, or a model in the store" };
        var template = new Option<string?>("--template") { Description = "chat template file with tool calls (default: the model's own)" };
        var test = new Option<string?>("--test") { Description = "build/test command run after each edit, e.g. \"dotnet test\"; the edit is taken back when it fails (without --policy it is the one command allowed to run)" };
        var maxSteps = new Option<int>("--max-steps") { Description = "most model calls", DefaultValueFactory = _ => 12 };
        var timeout = new Option<int>("--timeout") { Description = "seconds the --test command may run (a policy file's max_command_seconds caps it)", DefaultValueFactory = _ => 600 };
        var n = new Option<int>("-n", "--n-predict") { Description = "most tokens per model answer", DefaultValueFactory = _ => 2048 };
        var sampling = new SamplingArguments();
        var common = new AgentCliSupport();
        var cmd = new Command("code", "Edit a repository: the model proposes unified diffs; each is checked (applies, C# parses), written, tested with --test, and taken back when the test fails. " +
            "Without --policy: REPO is read-write, moves and deletes are asked for, only the --test command runs.")
        {
            repo, task, model, template, test, maxSteps, timeout, n,
        };
        sampling.AddTo(cmd);
        common.AddTo(cmd, changes: true);
        cmd.SetAction(async (r, cancel) =>
        {
            if (openModel == null && r.GetValue(model) == null)
            {
                stderr.WriteLine("error: --model is needed: a GGUF file or a stored model that can call tools (`hearth list` shows the store)");
                return 2;
            }

            var repository = Path.GetFullPath(r.GetValue(repo)!);
            if (!Directory.Exists(repository))
            {
                stderr.WriteLine($"error: {repository}: no such directory");
                return 2;
            }

            var check = r.GetValue(test) is { } line ? CommandSpec.Parse(line) : null;
            var checkTimeout = TimeSpan.FromSeconds(r.GetValue(timeout));
            var policy = common.LoadPolicy(r, () => CodeEditPolicy.For(repository, check, checkTimeout));
            using var ws = common.Open(r, policy, "code", $"code {repository}: {r.GetValue(task)}", stdin, stderr);
            // A check the policy never lets run would take back every edit: refuse it (audited) before the model loads.
            if (check != null && ws.CheckCommand(check.Program, check.Arguments, repository) is { } refusal)
            {
                ws.Complete("refused: --test is not allowed");
                stderr.WriteLine($"error: --test {check}: {refusal}; nothing was changed");
                return 2;
            }

            using var client = (openModel ?? OpenModel(model, template, sampling))(r);
            var s = sampling.Read(r);
            var options = new CodeEditOptions
            {
                Repository = repository,
                Task = r.GetValue(task)!,
                Check = check,
                CheckTimeout = checkTimeout,
                MaxSteps = r.GetValue(maxSteps),
                DryRun = ws.DryRun,
                // Every step must be a tool call: the grammar then makes even a small model's call well-formed.
                RequireToolCalls = true,
                ChatOptions = new ChatOptions
                {
                    Temperature = s.Temperature,
                    TopK = s.TopK,
                    TopP = s.TopP,
                    Seed = s.Seed is ulong seed ? unchecked((long)seed) : null,
                    MaxOutputTokens = r.GetValue(n),
                },
            };
            var session = new CodeEditSession(client, ws, options) { AttemptMade = a => stderr.WriteLine(Describe(a)) };
            CodeEditResult result;
            try
            {
                result = await session.RunAsync(cancel);
            }
            catch (EditRevertException e)
            {
                ws.Complete("a failed edit could not be taken back");
                stderr.WriteLine($"error: {e.Message}");
                stderr.WriteLine($"see 'hearth agent log {ws.RunId}'; 'hearth agent undo {ws.RunId}' takes back what the journal can");
                return 3;
            }

            var steps = result.Steps == 1 ? "1 step" : $"{result.Steps} steps";
            var kept = result.KeptEdits.ToList();
            ws.Complete($"{result.Outcome}, {kept.Count} edit(s) kept");
            stdout.WriteLine(result.Outcome switch
            {
                CodeEditOutcome.Finished => $"finished after {steps}",
                CodeEditOutcome.Stopped => $"the model stopped after {steps} without calling finish",
                CodeEditOutcome.StepBudgetExhausted => $"the step budget ({steps}) ran out",
                _ => $"dry run: an edit that applies and parses, after {steps} (nothing was written)",
            });
            foreach (var k in kept) stdout.WriteLine($"kept (step {k.Step}): {string.Join(", ", k.Files)}");
            if (result.Outcome == CodeEditOutcome.Proposed) stdout.Write(result.Attempts[^1].Diff.TrimEnd('\n') + "\n");
            if (!string.IsNullOrWhiteSpace(result.Summary)) stdout.WriteLine($"summary: {result.Summary}");
            if (kept.Count > 0) stdout.WriteLine($"Undo with: hearth agent undo {ws.RunId}");
            return kept.Count > 0 || result.Outcome == CodeEditOutcome.Proposed ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>One line per edit attempt, for stderr.</summary>
    internal static string Describe(EditAttempt a)
    {
        var files = a.Files.Count > 0 ? string.Join(", ", a.Files) : "(no file)";
        var first = a.Message.Split('\n')[0];
        return $"step {a.Step}: {a.Status.ToString().ToLowerInvariant()} {files}: {first}";
    }

    /// <summary>The engine behind <c>--model</c>, with the template's tool calls under constrained decoding.</summary>
    private static Func<ParseResult, IChatClient> OpenModel(Option<string?> model, Option<string?> template, SamplingArguments sampling) => r =>
    {
        var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(sampling.Context), Threads = r.GetValue(sampling.Threads) });
        try
        {
            var chatTemplate = r.GetValue(template) is { } path ? ChatTemplate.Parse(File.ReadAllText(path)) : null;
            return new OwningChatClient(new HearthChatClient(lm, chatTemplate, new GrammarChatConstraints()), lm);
        }
        catch
        {
            lm.Dispose();
            throw;
        }
    };
}
