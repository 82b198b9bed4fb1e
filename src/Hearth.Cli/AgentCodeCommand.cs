using System.CommandLine;
using Hearth.Agents;
using Hearth.Agents.Code;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth agent code REPO --task "..."</c>: a model edits a repository through unified diffs; each edit is checked
/// (applies, C# parses), written through the policy-backed workspace, checked with the build/test command, and reverted
/// when that fails. The behaviour lives in <see cref="CodeEditSession"/>.
/// </summary>
internal static class AgentCodeCommand
{
    /// <summary>Opens the workspace the session's every file and process operation goes through.</summary>
    /// <param name="repository">The repository's full path.</param>
    /// <param name="policyFile">The <c>--policy</c> file, or null for the default policy.</param>
    /// <param name="check">The <c>--test</c> command (the policy's allow-list must let it run), or null.</param>
    internal delegate IAgentWorkspace WorkspaceOpener(string repository, string? policyFile, CommandSpec? check);

    /// <param name="openWorkspace">Opens the workspace; by default the agent runtime's policy-backed one.</param>
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr, WorkspaceOpener? openWorkspace = null)
    {
        var repo = new Argument<string>("repo") { Description = "the repository (directory) to edit" };
        var task = new Option<string>("--task") { Description = "what to change; files it names are shown to the model", Required = true };
        var model = new Option<string?>("--model", "-m") { Description = "GGUF model file, or a model in the store" };
        var template = new Option<string?>("--template") { Description = "chat template file with tool calls (default: the model's own)" };
        var policy = new Option<string?>("--policy") { Description = "permission policy file (roots, operations, command allow-list)" };
        var test = new Option<string?>("--test") { Description = "build/test command run after each edit, e.g. \"dotnet test\"; the edit is reverted when it fails" };
        var dryRun = new Option<bool>("--dry-run") { Description = "print the first edit that applies and parses; write nothing, run nothing" };
        var maxSteps = new Option<int>("--max-steps") { Description = "most model calls", DefaultValueFactory = _ => 12 };
        var timeout = new Option<int>("--timeout") { Description = "seconds the --test command may run", DefaultValueFactory = _ => 600 };
        var n = new Option<int>("-n", "--n-predict") { Description = "most tokens per model answer", DefaultValueFactory = _ => 2048 };
        var sampling = new SamplingArguments();
        var cmd = new Command("code", "Edit a repository: the model proposes unified diffs; each is checked (applies, C# parses), written, tested with --test, and reverted when the test fails.")
        {
            repo, task, model, template, policy, test, dryRun, maxSteps, timeout, n,
        };
        sampling.AddTo(cmd);
        cmd.SetAction(async (r, cancel) =>
        {
            if (r.GetValue(model) is not { } modelName)
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
            IAgentWorkspace workspace;
            try
            {
                workspace = (openWorkspace ?? OpenPolicyWorkspace)(repository, r.GetValue(policy), check);
            }
            catch (Exception e) when (e is NotSupportedException or IOException or ArgumentException)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 2;
            }

            using var lm = LanguageModel.Load(ModelPaths.Resolve(modelName), new ModelLoadOptions { Context = r.GetValue(sampling.Context), Threads = r.GetValue(sampling.Threads) });
            var chatTemplate = r.GetValue(template) is { } path ? ChatTemplate.Parse(File.ReadAllText(path)) : null;
            using var client = new HearthChatClient(lm, chatTemplate, new GrammarChatConstraints());
            var s = sampling.Read(r);
            var options = new CodeEditOptions
            {
                Repository = repository,
                Task = r.GetValue(task)!,
                Check = check,
                CheckTimeout = TimeSpan.FromSeconds(r.GetValue(timeout)),
                MaxSteps = r.GetValue(maxSteps),
                DryRun = r.GetValue(dryRun),
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
            var session = new CodeEditSession(client, workspace, options) { AttemptMade = a => stderr.WriteLine(Describe(a)) };
            CodeEditResult result;
            try
            {
                result = await session.RunAsync(cancel);
            }
            catch (EditRevertException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 3;
            }

            var steps = result.Steps == 1 ? "1 step" : $"{result.Steps} steps";
            stdout.WriteLine(result.Outcome switch
            {
                CodeEditOutcome.Finished => $"finished after {steps}",
                CodeEditOutcome.Stopped => $"the model stopped after {steps} without calling finish",
                CodeEditOutcome.StepBudgetExhausted => $"the step budget ({steps}) ran out",
                _ => $"dry run: an edit that applies and parses, after {steps} (nothing was written)",
            });
            foreach (var kept in result.KeptEdits) stdout.WriteLine($"kept (step {kept.Step}): {string.Join(", ", kept.Files)}");
            if (result.Outcome == CodeEditOutcome.Proposed) stdout.Write(result.Attempts[^1].Diff.TrimEnd('\n') + "\n");
            if (!string.IsNullOrWhiteSpace(result.Summary)) stdout.WriteLine($"summary: {result.Summary}");
            return result.KeptEdits.Any() || result.Outcome == CodeEditOutcome.Proposed ? 0 : 1;
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

    /// <summary>
    /// The agent runtime's policy-backed workspace (permission policy, approvals, audit log, journal). It is built on the
    /// agents branch; until it is merged here, the command stops with this message rather than touching files directly.
    /// </summary>
    private static IAgentWorkspace OpenPolicyWorkspace(string repository, string? policyFile, CommandSpec? check) =>
        throw new NotSupportedException("hearth agent code needs the policy-backed agent workspace, which this build does not have yet");
}
