using System.Text;
using DocumentFormat.OpenXml.Spreadsheet;
using Hearth.Agents.Audit;
using Hearth.Agents.Documents;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// A folder of Japanese and Nepali invoices in every format (text, Markdown, Word, text PDF, scanned PDF, TIFF, PNG,
/// JPEG) and some bad files, run through the whole job: real pdftotext, pdftoppm and Tesseract, the model played by
/// <see cref="InvoiceModelScript"/>'s test double, files through the real policy-backed workspace under the policy
/// <c>hearth agent extract</c> derives, with reads asked for and a person (a rule) refusing one. The workbook is opened
/// again and each value checked against the text the documents were made from.
/// </summary>
public sealed class DocumentExtractionJobTests(DocumentExtractionJobTests.Run run) : IClassFixture<DocumentExtractionJobTests.Run>
{
    public static readonly string[] JapaneseFiles = ["ja/invoice.txt", "ja/invoice.docx", "ja/text.pdf", "ja/scan.pdf", "ja/page.png"];
    public static readonly string[] NepaliFiles = ["ne/invoice.md", "ne/invoice.docx", "ne/text.pdf", "ne/scan.tif", "ne/page.jpg"];

    /// <summary>Makes the folder and runs the job once for every test of the class.</summary>
    public sealed class Run : IAsyncLifetime
    {
        public string Root { get; } = TestDocuments.Scratch();

        internal TestRun Agent { get; private set; } = null!;

        internal ScriptedChatClientDouble Model { get; } = InvoiceModelScript.Model();

        public ExtractionReport Report { get; private set; } = null!;

        public List<DocumentOutcome> Outcomes { get; } = [];

        public byte[] Workbook { get; private set; } = [];

        public async Task InitializeAsync()
        {
            var scratch = Path.Combine(Root, ".render");
            var docs = Path.Combine(Root, "docs");
            void Put(string path, byte[] bytes)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(docs, path))!);
                File.WriteAllBytes(Path.Combine(docs, path), bytes);
            }

            string[] ja = TestDocuments.JapaneseInvoice, ne = TestDocuments.NepaliInvoice;
            Put("ja/invoice.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(string.Join("\r\n", [.. ja, "支払済: はい"]))]);
            Put("ja/invoice.docx", TestDocuments.Docx([ja[0]], ja[1..].Select(l => l.Split(": ")).ToList()));
            Put("ja/text.pdf", TestDocuments.TextPdf(ja));
            var jaScan = TestDocuments.ScannedPdf(TestDocuments.RenderTiff(scratch, ja, TestDocuments.JapaneseFont));
            Put("ja/scan.pdf", jaScan);
            Put("ja/page.png", TestDocuments.RenderPdf(scratch, jaScan, "png"));
            Put("ne/invoice.md", Encoding.UTF8.GetBytes("# " + string.Join("\n\n", [.. ne, "भुक्तानी: भएन"])));
            Put("ne/invoice.docx", TestDocuments.Docx(ne));
            Put("ne/text.pdf", TestDocuments.TextPdf(ne));
            var neScan = TestDocuments.RenderTiff(scratch, ne, TestDocuments.NepaliFont);
            Put("ne/scan.tif", neScan);
            Put("ne/page.jpg", TestDocuments.RenderPdf(scratch, TestDocuments.ScannedPdf(neScan), "jpeg"));
            Put("bad/corrupt.docx", TestDocuments.Docx(ja)[..300]);
            Put("bad/blank.png", TestDocuments.RenderPdf(scratch, TestDocuments.TextPdf(), "png"));
            Put("bad/empty.png", []);
            Put("bad/missing-name.txt", Encoding.UTF8.GetBytes(string.Join("\n", ja.Where(l => !l.StartsWith("氏名", StringComparison.Ordinal)))));
            Put("bad/secret.txt", Encoding.UTF8.GetBytes(string.Join("\n", ja)));
            Put("notes.json", Encoding.UTF8.GetBytes("{}"));
            Directory.Delete(scratch, recursive: true);

            // Reads are asked for, and the person at the prompt refuses bad/secret.txt.
            AgentPolicy Policy(string state)
            {
                var derived = ExtractionPolicy.For(docs, Path.Combine(docs, "out", "invoices.xlsx"), state);
                return derived with { Operations = new Dictionary<AgentOperation, ApprovalMode>(derived.Operations) { [AgentOperation.Read] = ApprovalMode.Ask } };
            }

            Agent = new TestRun(Policy, new RuleApprovalProvider(a => a.Path != "bad/secret.txt"));
            var job = new DocumentExtractionJob(Agent.Workspace, Model, ExtractionSchema.Parse(TestDocuments.InvoiceSchema));
            Report = await job.RunAsync(".", "out/invoices.xlsx", Outcomes.Add);
            Workbook = await File.ReadAllBytesAsync(Path.Combine(docs, "out", "invoices.xlsx"));
        }

        public Task DisposeAsync()
        {
            Agent.Dispose();
            Directory.Delete(Root, recursive: true);
            return Task.CompletedTask;
        }
    }

    private Dictionary<string, Dictionary<string, ReadCell>> DataRows()
    {
        using var book = new WorkbookReader(run.Workbook);
        return book.Rows("Data").ToDictionary(r => r["source_file"].Value);
    }

    [Fact]
    public void EveryGoodDocumentIsOneRowAndEveryBadOneAFailure()
    {
        Assert.Equal(JapaneseFiles.Concat(NepaliFiles).Order(StringComparer.Ordinal), DataRows().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["bad/blank.png", "bad/corrupt.docx", "bad/empty.png", "bad/missing-name.txt", "bad/secret.txt"], run.Report.Failures.Select(f => f.SourceFile));
        Assert.Equal(["notes.json"], run.Report.Skipped);
        Assert.Equal(run.Report.Rows.Count + run.Report.Failures.Count, run.Outcomes.Count);
    }

    [Theory]
    [MemberData(nameof(Japanese))]
    public void JapaneseValuesLandInTheirCellsWithTheirTypes(string file)
    {
        var row = DataRows()[file];
        Assert.Equal("INV-2024-0173", row["invoice_number"].Value);
        Assert.Equal(CellValues.SharedString, row["invoice_number"].Type);
        Assert.Equal(new DateTime(2024, 3, 15), DateTime.FromOADate(row["date"].Number));
        Assert.Equal("yyyy-mm-dd", row["date"].NumberFormat);
        Assert.Equal(CellValues.Number, row["amount"].Type);
        Assert.Equal(12345, row["amount"].Number);
        Assert.Equal(3, row["items"].Number);
        Assert.Equal("山田太郎", row["name"].Value);
    }

    [Theory]
    [MemberData(nameof(Nepali))]
    public void NepaliValuesLandInTheirCellsWithTheirTypes(string file)
    {
        var row = DataRows()[file];
        Assert.Equal("2081-0042", row["invoice_number"].Value);
        Assert.Equal(new DateTime(2024, 5, 20), DateTime.FromOADate(row["date"].Number));
        Assert.Equal(CellValues.Number, row["amount"].Type);
        Assert.Equal(7890.5, row["amount"].Number);
        Assert.Equal(4, row["items"].Number);
        Assert.Equal("राम बहादुर थापा", row["name"].Value);
    }

    public static TheoryData<string> Japanese => [.. JapaneseFiles];

    public static TheoryData<string> Nepali => [.. NepaliFiles];

    [Fact]
    public void BooleansAreBooleanCellsAndAbsentFieldsAreEmpty()
    {
        var rows = DataRows();
        Assert.Equal(CellValues.Boolean, rows["ja/invoice.txt"]["paid"].Type);
        Assert.Equal("1", rows["ja/invoice.txt"]["paid"].Value);
        Assert.Equal("0", rows["ne/invoice.md"]["paid"].Value);
        Assert.False(rows["ja/scan.pdf"].ContainsKey("paid"));
    }

    [Fact]
    public void TheTextCameFromTheExpectedReaders()
    {
        var sources = run.Outcomes.Where(o => o.Text != null).ToDictionary(o => o.SourceFile, o => o.Text!);
        Assert.Equal(TextSource.PlainText, sources["ja/invoice.txt"].Source);
        Assert.Equal(TextSource.Docx, sources["ne/invoice.docx"].Source);
        Assert.Equal(TextSource.PdfTextLayer, sources["ja/text.pdf"].Source);
        Assert.Equal(TextSource.PdfOcr, sources["ja/scan.pdf"].Source);
        Assert.Equal(TextSource.ImageOcr, sources["ne/page.jpg"].Source);
        Assert.Equal(["jpn", "eng"], sources["ja/page.png"].OcrLanguages);
        Assert.Equal(["nep"], sources["ne/scan.tif"].OcrLanguages);
    }

    [Fact]
    public void TheFailedSheetSaysWhyEachDocumentFailed()
    {
        using var book = new WorkbookReader(run.Workbook);
        var failed = book.Rows("Failed").ToDictionary(r => r["source_file"].Value, r => (Stage: r["stage"].Value, Reason: r["reason"].Value));
        Assert.Equal("text", failed["bad/corrupt.docx"].Stage);
        Assert.Contains("not a readable Word document", failed["bad/corrupt.docx"].Reason);
        Assert.Contains("OCR found no text", failed["bad/blank.png"].Reason);
        Assert.Contains("the file is empty", failed["bad/empty.png"].Reason);
        Assert.Equal("fields", failed["bad/missing-name.txt"].Stage);
        Assert.Contains("the required property 'name' is missing", failed["bad/missing-name.txt"].Reason);
        Assert.Equal("read", failed["bad/secret.txt"].Stage);
        Assert.Contains("read 'bad/secret.txt' was not approved", failed["bad/secret.txt"].Reason);
    }

    [Fact]
    public void FilesWereOnlyListedReadAndTheWorkbookWritten()
    {
        // Every operation is an audit row: the listing, one read per document (one refused), the workbook's write.
        var rows = run.Agent.Audit.ToList();
        Assert.Equal(("list_files", AuditDecision.Approved), (rows[0].Tool, rows[0].Decision));
        Assert.Equal(("write_file", AuditDecision.Allowed), (rows[^1].Tool, rows[^1].Decision));
        Assert.Contains("\"path\":\"out/invoices.xlsx\"", rows[^1].ArgumentsJson);
        Assert.All(rows[1..^1], r => Assert.Equal("read_file", r.Tool));
        Assert.Equal(run.Report.Rows.Count + run.Report.Failures.Count, rows.Count - 2);
        var refused = Assert.Single(rows, r => r.Decision == AuditDecision.Denied);
        Assert.Contains("\"path\":\"bad/secret.txt\"", refused.ArgumentsJson);
    }

    [Fact]
    public void EachDocumentWasOneRequestWithTheSchemaAndNoTools()
    {
        var requests = run.Model.Options.ToList();
        // Every document with text reached the model once: the good ones and the one missing a field.
        Assert.Equal(run.Report.Rows.Count + 1, requests.Count);
        Assert.All(requests, options =>
        {
            Assert.True(options!.Tools is null || options.Tools.Count == 0);
            Assert.IsType<Microsoft.Extensions.AI.NoneChatToolMode>(options.ToolMode);
            var format = Assert.IsType<Microsoft.Extensions.AI.ChatResponseFormatJson>(options.ResponseFormat);
            Assert.Contains("invoice_number", format.Schema!.Value.GetRawText());
        });
    }
}
