using Microsoft.Extensions.AI;

namespace Hearth.Agents.Documents;

/// <summary>Options of a documents-to-workbook job.</summary>
public sealed record DocumentExtractionOptions
{
    /// <summary>How documents become text (OCR languages, limits, helper programs).</summary>
    public DocumentTextOptions Text { get; init; } = new();

    /// <summary>How the model is asked for the fields.</summary>
    public FieldFillingOptions Fields { get; init; } = new();

    /// <summary>Whether documents in subfolders are included (default true).</summary>
    public bool Recursive { get; init; } = true;
}

/// <summary>What became of one document: a row, or a failure (exactly one of the two is set).</summary>
/// <param name="SourceFile">The file, as the workspace listed it.</param>
/// <param name="Text">Its text, when that was found.</param>
/// <param name="Row">Its row, when it gave one.</param>
/// <param name="Fields">The model's answer behind the row, when it gave one.</param>
/// <param name="Failure">Why it gave no row, when it did not.</param>
public sealed record DocumentOutcome(string SourceFile, DocumentText? Text, ExtractedRow? Row, FilledFields? Fields, FailedDocument? Failure);

/// <summary>What a job will read: its plan, from <see cref="DocumentExtractionJob.ScanAsync"/>.</summary>
/// <param name="Documents">The documents read, one row or failure each, in ordinal order of path (as the workspace listed them).</param>
/// <param name="Skipped">Files listed that are not of a type read (.xlsx, .json, ...).</param>
public sealed record ExtractionPlan(IReadOnlyList<string> Documents, IReadOnlyList<string> Skipped);

/// <summary>What a job did.</summary>
/// <param name="Rows">One per document that gave a row, in file order.</param>
/// <param name="Failures">One per document that gave none, in file order.</param>
/// <param name="Skipped">Files listed that are not of a type read (.xlsx, .json, ...): neither rows nor failures.</param>
/// <param name="OutputPath">Where the workbook was written.</param>
public sealed record ExtractionReport(IReadOnlyList<ExtractedRow> Rows, IReadOnlyList<FailedDocument> Failures, IReadOnlyList<string> Skipped, string OutputPath);

/// <summary>
/// Documents to Excel: lists a folder through an agent workspace, reads each supported document through it, takes its
/// text (<see cref="DocumentTextExtractor"/>), has the model fill the schema's fields (<see cref="DocumentFieldFiller"/>,
/// one request per document, no tools), and writes one workbook (<see cref="ExtractionWorkbook"/>) through the workspace.
/// Every file access is a workspace call, so the permission policy, approvals and audit log see each one; the only other
/// things run are the extractor's own helper programs on private copies. A document that fails is a row of the Failed
/// sheet with its reason; it never stops the job.
/// </summary>
public sealed class DocumentExtractionJob
{
    private readonly IAgentWorkspace _workspace;
    private readonly ExtractionSchema _schema;
    private readonly DocumentExtractionOptions _options;
    private readonly DocumentTextExtractor _extractor;
    private readonly DocumentFieldFiller _filler;

    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public DocumentExtractionJob(IAgentWorkspace workspace, IChatClient client, ExtractionSchema schema, DocumentExtractionOptions? options = null)
    {
        _workspace = workspace ?? throw new ArgumentNullException(nameof(workspace));
        _schema = schema ?? throw new ArgumentNullException(nameof(schema));
        _options = options ?? new DocumentExtractionOptions();
        _extractor = new DocumentTextExtractor(_options.Text);
        _filler = new DocumentFieldFiller(client, schema, _options.Fields);
    }

    /// <summary>
    /// Lists <paramref name="directory"/> through the workspace (checked and audited) and splits its files, in ordinal
    /// order of path, into the documents a job reads and the files it skips (types it does not read): a job's plan.
    /// </summary>
    /// <exception cref="PermissionDeniedException">The workspace refused to list the folder.</exception>
    public static async Task<ExtractionPlan> ScanAsync(IAgentWorkspace workspace, string directory, bool recursive, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        ArgumentNullException.ThrowIfNull(directory);
        var files = (await workspace.ListFilesAsync(directory, recursive, cancel).ConfigureAwait(false)).Order(StringComparer.Ordinal).ToList();
        return new ExtractionPlan([.. files.Where(DocumentTextExtractor.IsSupported)], [.. files.Where(f => !DocumentTextExtractor.IsSupported(f))]);
    }

    /// <summary>
    /// Extracts every supported document under <paramref name="directory"/> (in ordinal order of path, see
    /// <see cref="ScanAsync"/>) and writes the workbook to <paramref name="outputPath"/>. <paramref name="onDocument"/>
    /// hears of each document as it is done.
    /// </summary>
    /// <exception cref="PermissionDeniedException">The workspace refused to list the folder or to write the workbook.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; nothing was written.</exception>
    public async Task<ExtractionReport> RunAsync(string directory, string outputPath, Action<DocumentOutcome>? onDocument = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var plan = await ScanAsync(_workspace, directory, _options.Recursive, cancel).ConfigureAwait(false);
        return await RunAsync(plan, outputPath, onDocument, cancel).ConfigureAwait(false);
    }

    /// <summary>
    /// Extracts the documents of a plan (made by <see cref="ScanAsync"/> and shown to a person first), in its order, and
    /// writes the workbook to <paramref name="outputPath"/>. <paramref name="onDocument"/> hears of each document as it
    /// is done.
    /// </summary>
    /// <exception cref="PermissionDeniedException">The workspace refused to write the workbook.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired; nothing was written.</exception>
    public async Task<ExtractionReport> RunAsync(ExtractionPlan plan, string outputPath, Action<DocumentOutcome>? onDocument = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(outputPath);
        var rows = new List<ExtractedRow>();
        var failures = new List<FailedDocument>();
        foreach (var file in plan.Documents)
        {
            cancel.ThrowIfCancellationRequested();
            var outcome = await ExtractOneAsync(file, cancel).ConfigureAwait(false);
            if (outcome.Row != null) rows.Add(outcome.Row);
            if (outcome.Failure != null) failures.Add(outcome.Failure);
            onDocument?.Invoke(outcome);
        }

        var workbook = ExtractionWorkbook.Write(_schema, rows, failures);
        await _workspace.WriteFileAsync(outputPath, workbook, cancel).ConfigureAwait(false);
        return new ExtractionReport(rows, failures, plan.Skipped, outputPath);
    }

    /// <summary>One document, read through the workspace: its row, or why it has none.</summary>
    public async Task<DocumentOutcome> ExtractOneAsync(string file, CancellationToken cancel = default)
    {
        DocumentOutcome Failed(string stage, string reason, DocumentText? text = null) => new(file, text, null, null, new FailedDocument(file, stage, reason));

        byte[] bytes;
        try
        {
            bytes = await _workspace.ReadFileAsync(file, cancel).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PermissionDeniedException or IOException or UnauthorizedAccessException)
        {
            return Failed("read", e.Message);
        }

        DocumentText text;
        try
        {
            text = await _extractor.ExtractAsync(file, bytes, cancel).ConfigureAwait(false);
        }
        catch (DocumentException e)
        {
            return Failed("text", e.Message);
        }

        try
        {
            var fields = await _filler.FillAsync(file, text.Text, cancel).ConfigureAwait(false);
            return new DocumentOutcome(file, text, new ExtractedRow(file, fields.Values), fields, null);
        }
        catch (FieldExtractionException e)
        {
            return Failed("fields", e.Message, text);
        }
    }
}
