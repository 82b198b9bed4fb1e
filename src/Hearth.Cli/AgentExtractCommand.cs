using System.CommandLine;
using Hearth.Agents;
using Hearth.Agents.Documents;
using Hearth.Generation;
using Hearth.Models;

namespace Hearth.Cli;

/// <summary>
/// <c>hearth agent extract DIR --schema fields.json --out sheet.xlsx --model MODEL</c>: documents to Excel, one row per
/// document, its fields filled by the model under the schema's constrained decoding.
/// </summary>
internal static class AgentExtractCommand
{
    /// <summary>Largest fields.json read.</summary>
    private const long MaxSchemaBytes = 1024 * 1024;

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var directory = new Argument<string>("dir") { Description = "folder of documents (.txt .md .docx .pdf .png .jpg .tif)" };
        var schema = new Option<string>("--schema") { Description = "JSON Schema of the fields to extract (one column each)", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "the .xlsx workbook to write", Required = true };
        var model = new Option<string>("--model", "-m") { Description = "GGUF model file or stored model that fills the fields", Required = true };
        var lang = new Option<string>("--lang") { Description = "Tesseract OCR languages, '+'-separated", DefaultValueFactory = _ => new DocumentTextOptions().OcrLanguages };
        var policy = new Option<string?>("--policy") { Description = "permission policy file (needs the agent runtime; without it the job may only read DIR and write --out)" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "most tokens of one document's answer", DefaultValueFactory = _ => new FieldFillingOptions().MaxOutputTokens };
        var context = new Option<int>("--ctx", "-c") { Description = "context size in tokens (0 = the model's, at most 4096)" };
        var threads = new Option<int>("--threads", "-t") { Description = "threads (0 = all cores)" };
        var cmd = new Command("extract", "Documents to Excel: fill a schema's fields from each document (text, Word, PDF, scans, images via OCR), one row per document.")
        {
            directory, schema, output, model, lang, policy, maxTokens, context, threads,
        };
        cmd.SetAction(async (r, cancel) =>
        {
            var fields = LoadSchema(r.GetValue(schema)!);
            var dir = r.GetValue(directory)!;
            var outPath = r.GetValue(output)!;
            if (!outPath.EndsWith(".xlsx", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"--out {outPath}: the workbook's name must end in .xlsx");
            var workspace = OpenWorkspace(dir, outPath, r.GetValue(policy));
            var options = new DocumentExtractionOptions
            {
                Text = new DocumentTextOptions { OcrLanguages = r.GetValue(lang)! },
                Fields = new FieldFillingOptions { MaxOutputTokens = r.GetValue(maxTokens) },
            };
            using var lm = LanguageModel.Load(ModelPaths.Resolve(r.GetValue(model)!), new ModelLoadOptions { Context = r.GetValue(context), Threads = r.GetValue(threads) });
            using var client = new HearthChatClient(lm, constraints: new GrammarChatConstraints());
            var job = new DocumentExtractionJob(workspace, client, fields, options);
            ExtractionReport report;
            try
            {
                report = await job.RunAsync(".", outPath, outcome =>
                {
                    if (outcome.Failure is { } f) stderr.WriteLine($"failed {f.SourceFile} ({f.Stage}): {f.Reason}");
                    else stdout.WriteLine($"ok     {outcome.SourceFile}{(outcome.Fields?.TextCutTo is int cut ? $" (only the first {cut:N0} characters reached the model)" : "")}");
                }, cancel);
            }
            catch (PermissionDeniedException e)
            {
                stderr.WriteLine($"error: {e.Message}");
                return 1;
            }

            foreach (var skipped in report.Skipped) stderr.WriteLine($"skipped {skipped} (not a document type read)");
            stdout.WriteLine($"{report.Rows.Count} row(s), {report.Failures.Count} failed, {report.Skipped.Count} skipped: {Path.GetFullPath(outPath)}");
            return 0;
        });
        return cmd;
    }

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

    /// <summary>
    /// The workspace every document read and the workbook write go through. Until the agent runtime's policy-backed
    /// workspace is part of this build, the job gets the narrowest one: list and read under DIR, write --out, nothing else.
    /// </summary>
    private static IAgentWorkspace OpenWorkspace(string directory, string output, string? policy)
    {
        if (policy != null) throw new ArgumentException("--policy: permission policy files need the agent runtime, which this build does not include yet; leave it out to run with read access to DIR and write access to --out only");
        return new ExtractionFolderWorkspace(directory, output);
    }
}
