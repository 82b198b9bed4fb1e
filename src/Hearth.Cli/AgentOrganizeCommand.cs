using System.CommandLine;
using Hearth.Agents.Documents;
using Hearth.Agents.Organizer;
using Hearth.Agents.Plans;
using Hearth.Agents.Policy;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth agent organize DIR --instructions "..."</c>: sort a folder's files under the policy. The organizer reads
/// text from plain text and Markdown, and through the documents extractor from Word files, PDFs and images (OCR).
/// </summary>
internal static class AgentOrganizeCommand
{
    /// <param name="stdin">Answers to approval prompts.</param>
    /// <param name="stdout">The plan and the results.</param>
    /// <param name="stderr">Approval prompts and recovery notes.</param>
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var dir = new Argument<string>("dir") { Description = "the folder whose files to organize (its files, not its subfolders)" };
        var instructions = new Option<string>("--instructions", "-i")
        {
            Description = "what to do, e.g. \"invoices by year, keep originals\" (rules: CATEGORY by year, by type, date prefix, keep originals)",
            Required = true,
        };
        var model = new Option<string?>("--model") { Description = "a GGUF model that proposes the plan as constrained JSON (the rules still hold); default: the rules alone" };
        var template = new Option<string?>("--template") { Description = "chat template file for --model" };
        var planOut = new Option<string?>("--plan-out") { Description = "also write the plan as JSON here (apply it later with 'hearth agent apply')" };
        var lang = new Option<string>("--lang") { Description = "Tesseract OCR languages for images and scanned PDFs, '+'-separated", DefaultValueFactory = _ => new DocumentTextOptions().OcrLanguages };
        var common = new AgentCliSupport();
        var cmd = new Command("organize", "Propose folders and names for a folder's files and apply them under the policy (without --policy: the folder is the one read-write root, moves are asked for).")
        {
            dir, instructions, model, template, planOut, lang,
        };
        common.AddTo(cmd, changes: true);
        cmd.SetAction(async (r, cancel) =>
        {
            var folder = r.GetValue(dir)!;
            var documents = new DocumentFileTextExtractor(new DocumentTextOptions { OcrLanguages = r.GetValue(lang)! });
            var policy = common.LoadPolicy(r, () => AgentPolicy.ForDirectory(folder));
            using var ws = common.Open(r, policy, "organize", $"organize {folder}", stdin, stderr);
            var organizer = new FileOrganizer(ws, [documents, new PlainTextExtractor()]);
            OrganizeProposal proposal;
            if (r.GetValue(model) is { } modelPath)
            {
                using var lm = LanguageModel.Load(ModelPaths.Resolve(modelPath));
                var chatTemplate = r.GetValue(template) is { } t ? ChatTemplate.Parse(File.ReadAllText(t)) : null;
                using var client = new HearthChatClient(lm, chatTemplate, new GrammarChatConstraints());
                proposal = await organizer.ProposeAsync(Path.GetFullPath(folder), r.GetValue(instructions)!, client,
                    new ChatOptions { Temperature = 0, MaxOutputTokens = 2048 }, cancel);
            }
            else
            {
                proposal = await organizer.ProposeAsync(Path.GetFullPath(folder), r.GetValue(instructions)!, cancel: cancel);
            }

            stdout.WriteLine($"Plan ({proposal.Files.Count} files read; run {ws.RunId}{(ws.DryRun ? ", dry run" : "")}): {proposal.Plan.Summary}");
            foreach (var rule in proposal.Rules.Describe()) stdout.WriteLine($"  rule: {rule}");
            foreach (var step in proposal.Plan.Steps) stdout.WriteLine($"  {step}");
            foreach (var note in proposal.Notes) stdout.WriteLine($"  note: {note}");
            if (r.GetValue(planOut) is { } planFile) await File.WriteAllTextAsync(planFile, proposal.Plan.ToJson(), cancel);
            if (proposal.Plan.Steps.Count == 0)
            {
                ws.Complete("nothing to do");
                stdout.WriteLine("Nothing to do.");
                return 0;
            }

            return await AgentCliSupport.ApplyAndReportAsync(ws, proposal.Plan, (w, _, progress, c) => organizer.ApplyAsync(proposal, progress, c), stdout, cancel);
        });
        return cmd;
    }
}

/// <summary><c>hearth agent apply PLAN.json</c>: apply a saved plan under the policy.</summary>
internal static class AgentApplyCommand
{
    private const long MaxPlanBytes = 64L << 20;

    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var planFile = new Argument<string>("plan") { Description = "a plan file (JSON, as written by 'organize --plan-out')" };
        var common = new AgentCliSupport();
        var cmd = new Command("apply", "Apply a plan of moves, copies, writes and deletes under the policy; the whole plan is shown and approved at once.") { planFile };
        common.AddTo(cmd, changes: true);
        cmd.SetAction(async (r, cancel) =>
        {
            var path = r.GetValue(planFile)!;
            if (new FileInfo(path).Length > MaxPlanBytes) throw new ArgumentException($"{path} is over {MaxPlanBytes >> 20} MiB; that is not a plan");
            var plan = AgentPlan.Parse(await File.ReadAllTextAsync(path, cancel));
            var policy = common.LoadPolicy(r);
            using var ws = common.Open(r, policy, "apply", $"apply {r.GetValue(planFile)}", stdin, stderr);
            stdout.WriteLine($"Plan (run {ws.RunId}{(ws.DryRun ? ", dry run" : "")}): {plan.Summary}, {plan.Steps.Count} steps");
            return await AgentCliSupport.ApplyAndReportAsync(ws, plan, (w, p, progress, c) => PlanRunner.ApplyAsync(w, p, progress, c), stdout, cancel);
        });
        return cmd;
    }
}
