using System.CommandLine;
using Hearth.Agents;
using Hearth.Agents.Documents;
using Hearth.Agents.Approval;
using Hearth.Agents.Policy;
using Hearth.Generation;
using Hearth.Models;
using Microsoft.Extensions.AI;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth agent extract DIR --schema fields.json --out sheet.xlsx --model MODEL</c>: documents to Excel, one row per
/// document, its fields filled by the model under the schema's constrained decoding. Every read and the workbook's
/// write go through the policy-backed workspace: checked, audited, and (the write) undoable with
/// <c>hearth agent undo</c>. Without <c>--policy</c> the job runs under <see cref="ExtractionPolicy.For"/>: DIR
/// read-only, the workbook's folder writable, an existing workbook replaced only when approved.
/// </summary>
internal static class AgentExtractCommand
{
    /// <summary>Largest fields.json read.</summary>
    private const long MaxSchemaBytes = 1024 * 1024;

    /// <param name="stdin">Answers to approval prompts.</param>
    /// <param name="stdout">The plan, one line per document, the summary.</param>
    /// <param name="stderr">Approval prompts, failed and skipped documents, recovery notes.</param>
    /// <param name="openModel">Loads the model named by <c>--model</c> as a chat client (tests pass a scripted double);
    /// by default the engine with schema-constrained decoding.</param>
    public static Command Create(TextReader stdin, TextWriter stdout, TextWriter stderr, Func<ParseResult, IChatClient>? openModel = null)
    {
        var directory = new Argument<string>("dir") { Description = "folder of documents (.txt .md .docx .pdf .png .jpg .tif)" };
        var schema = new Option<string>("--schema") { Description = "JSON Schema of the fields to extract (one column each)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "the .xlsx workbook to write", Required = true };
        var model = new Option<string>("--model", "-m") { Description = "GGUF model file or stored model that fills the fields", Required = true };
        var lang = new Option<string>("--lang") { Description = "Tesseract OCR languages, '+'-separated", DefaultValueFactory = _ => new DocumentTextOptions().OcrLanguages };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most tokens of one document's answer", DefaultValueFactory = _ => new FieldFillingOptions().MaxOutputTokens };
        var context = new Option<int>("--ctx", "-c") { Description = "context size in tokens (0 = the model's, at most 4096)" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var common = new AgentCliSupport();
        var cmd = new Command("extract", "Documents to Excel: fill a schema's fields from each document (text, Word, PDF, scans, images via OCR), one row per document. " +
            "Without --policy: DIR is read-only, the workbook's folder writable, an existing workbook is replaced only when approved.")
        {
            directory, schema, output, model, lang, maxTokens, context, threads,
        };
        common.AddTo(cmd, changes: true);
        cmd.SetAction(async (r, cancel) =>
        {
            var fields = LoadSchema(r.GetValue(schema)!);
            var dir = r.GetValue(directory)!;
            var outPath = Path.GetFullPath(r.GetValue(output)!);
            if (!outPath.EndsWith(".xlsx", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--out {outPath}: the workbook's name must end in .xlsx");
            var options = new DocumentExtractionOptions
            {
                Text = new DocumentTextOptions { OcrLanguages = r.GetValue(lang)! },
                Fields = new FieldFillingOptions { MaxOutputTokens = r.GetValue(maxTokens) },
            };
            options.Text.Validate();
            var policy = common.LoadPolicy(r, () => ExtractionPolicy.For(dir, outPath));
            // Relative paths resolve against the policy's first root; DIR is named in full so a policy file works too.
            var source = Path.GetFullPath(dir);
            using var ws = common.Open(r, policy, "extract", $"extract {dir} -> {outPath}", stdin, stderr);

            // The plan: which documents are read, which files are skipped, and the one write.
            var plan = await DocumentExtractionJob.ScanAsync(ws, source, options.Recursive, cancel);
            var (documents, skipped) = (plan.Documents, plan.Skipped);
            var write = new PlannedAction(File.Exists(outPath) ? AgentOperation.Overwrite : AgentOperation.Create, ws.Paths.Display(outPath), null, "the workbook");
            stdout.WriteLine($"Plan (run {ws.RunId}{(ws.DryRun ? ", dry run" : "")}): read {documents.Count} document(s), skip {skipped.Count}, then {write}");
            foreach (var d in documents) stdout.WriteLine($"  read   {d}");
            foreach (var s in skipped) stdout.WriteLine($"  skip   {s} (not a document type read)");
            if (!ws.DryRun && ws.Check(write) is { } refusal)
            {
                // A workbook the policy never lets be written: say so (audited) before the model spends time on it.
                ws.Complete("refused: the workbook may not be written");
                stderr.WriteLine($"error: {refusal}; nothing was changed");
                return 2;
            }

            if (ws.DryRun)
            {
                // Checked and audited as "dry-run"; nothing is written. The model is not loaded.
                await ws.WriteFileAsync(outPath, ReadOnlyMemory<byte>.Empty, cancel);
                ws.Complete("planned");
                stdout.WriteLine($"Dry run {ws.RunId}: {documents.Count} document(s) would be read and {Path.GetFileName(outPath)} written; nothing was changed.");
                return 0;
            }

            if (!await ws.RequestApprovalAsync($"extract {documents.Count} document(s) to {write.Path}", [write], cancel))
            {
                ws.Complete("not approved");
                stdout.WriteLine("Not approved: nothing was changed.");
                return 2;
            }

            using var client = (openModel ?? OpenModel(model, context, threads))(r);
            var job = new DocumentExtractionJob(ws, client, fields, options);
            ExtractionReport report;
            try
            {
                report = await job.RunAsync(plan, outPath, outcome =>
                {
                    if (outcome.Failure is { } f) stderr.WriteLine($"failed {f.SourceFile} ({f.Stage}): {f.Reason}");
                    else stdout.WriteLine($"ok     {outcome.SourceFile}{(outcome.Fields?.TextCutTo is int cut ? $" (only the first {cut:N0} characters reached the model)" : "")}");
                }, cancel);
            }
            catch (PermissionDeniedException e)
            {
                ws.Complete("refused");
                stderr.WriteLine($"error: {e.Message}");
                return 1;
            }

            ws.Complete($"{report.Rows.Count} rows, {report.Failures.Count} failed");
            foreach (var s in report.Skipped) stderr.WriteLine($"skipped {s} (not a document type read)");
            stdout.WriteLine($"{report.Rows.Count} row(s), {report.Failures.Count} failed, {report.Skipped.Count} skipped: {outPath}");
            stdout.WriteLine($"Undo with: hearth agent undo {ws.RunId}");
            return 0;
        });
        return cmd;
    }

    /// <summary>The engine behind <c>--model</c>, with schema-constrained decoding.</summary>
    private static Func<ParseResult, IChatClient> OpenModel(Option<string> model, Option<int> context, Option<int> threads) => r =>
    {
        var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(context), Threads = r.GetValue(threads) });
        return new OwningChatClient(new HearthChatClient(lm, constraints: new GrammarChatConstraints()), lm);
    };

    private static ExtractionSchema LoadSchema(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"--schema {path}: no such file", path);
        if (info.Length > MaxSchemaBytes) throw new ArgumentException($"--schema {path}: {info.Length:N0} bytes, over the limit of {MaxSchemaBytes:N0}");
        try
        {
            return ExtractionSchema.Parse(File.ReadAllText(path));
        }
        catch (ExtractionSchemaException e)
        {
            throw new ArgumentException($"--schema {path}: {e.Message}", e);
        }
    }
}
