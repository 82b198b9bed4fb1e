using System.Text;
using System.Text.Json.Nodes;
using DocumentFormat.OpenXml.Spreadsheet;
using Hearth.Agents.Documents;
using Hearth.Generation;
using Hearth.Grammar;
using Hearth.Models;
using Hearth.Tests;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// The real engine in the loop: stories260K (a tiny story model that knows nothing of invoices) behind
/// <see cref="HearthChatClient"/> with schema-constrained decoding. Its values are nonsense, but every answer must be
/// JSON valid under the schema that lands in the sheet with the cell types of the fields: the plumbing works.
/// </summary>
public sealed class StoriesExtractionTests : IClassFixture<StoriesExtractionTests.ModelFixture>, IDisposable
{
    /// <summary>The invoice fields, with lengths bounded so a model that never stops talking still ends its strings.</summary>
    public const string BoundedSchema = """
        {
          "type": "object",
          "properties": {
            "invoice_number": {"type": "string", "maxLength": 16},
            "date": {"type": "string", "format": "date"},
            "amount": {"type": "integer", "minimum": 0, "maximum": 1000000},
            "name": {"type": "string", "maxLength": 24},
            "paid": {"type": "boolean"}
          },
          "required": ["invoice_number", "date", "amount", "name", "paid"]
        }
        """;

    public sealed class ModelFixture : IDisposable
    {
        public LanguageModel Model { get; } = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 2 });

        public void Dispose() => Model.Dispose();
    }

    private readonly LanguageModel _model;
    private readonly string _root = TestDocuments.Scratch();

    public StoriesExtractionTests(ModelFixture fixture) => _model = fixture.Model;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private HearthChatClient Client() => new(_model, constraints: new GrammarChatConstraints());

    /// <summary>A run on the real policy-backed workspace, under the policy <c>hearth agent extract</c> derives.</summary>
    private TestRun Run() => new(state => ExtractionPolicy.For(_root, Path.Combine(_root, "out.xlsx"), state));

    [Fact]
    public async Task ConstrainedAnswersOfARealModelAreSchemaValidRowsWithTypedCells()
    {
        File.WriteAllText(Path.Combine(_root, "ja.txt"), string.Join("\n", TestDocuments.JapaneseInvoice));
        File.WriteAllBytes(Path.Combine(_root, "ne.docx"), TestDocuments.Docx(TestDocuments.NepaliInvoice));
        var scan = TestDocuments.RenderTiff(Path.Combine(_root, ".render"), TestDocuments.JapaneseInvoice, TestDocuments.JapaneseFont);
        Directory.Delete(Path.Combine(_root, ".render"), recursive: true);
        File.WriteAllBytes(Path.Combine(_root, "scan.tif"), scan);

        var schema = ExtractionSchema.Parse(BoundedSchema);
        var outcomes = new List<DocumentOutcome>();
        using var run = Run();
        var job = new DocumentExtractionJob(run.Workspace, Client(), schema);
        var report = await job.RunAsync(".", "out.xlsx", outcomes.Add);

        Assert.Empty(report.Failures);
        Assert.Equal(["ja.txt", "ne.docx", "scan.tif"], report.Rows.Select(r => r.SourceFile));
        foreach (var outcome in outcomes)
        {
            // The validator is called here on the raw answer, apart from the job's own check.
            Assert.Empty(JsonSchemaValidator.Validate(JsonNode.Parse(outcome.Fields!.Json), JsonNode.Parse(BoundedSchema)!));
        }

        // Each answer's values, read from the raw JSON here, are in the cells of its row with the cell type of their field.
        using var book = new WorkbookReader(File.ReadAllBytes(Path.Combine(_root, "out.xlsx")));
        var rows = book.Rows("Data").ToDictionary(r => r["source_file"].Value);
        Assert.Equal(3, rows.Count);
        foreach (var outcome in outcomes)
        {
            var answer = JsonNode.Parse(outcome.Fields!.Json)!;
            var row = rows[outcome.SourceFile];
            Assert.Equal(CellValues.SharedString, row["invoice_number"].Type);
            Assert.Equal(answer["invoice_number"]!.GetValue<string>(), row["invoice_number"].Value);
            Assert.Equal(answer["name"]!.GetValue<string>(), row["name"].Value);
            Assert.Equal(CellValues.Number, row["amount"].Type);
            Assert.Equal(answer["amount"]!.GetValue<long>(), row["amount"].Number);
            Assert.Equal(CellValues.Boolean, row["paid"].Type);
            Assert.Equal(answer["paid"]!.GetValue<bool>() ? "1" : "0", row["paid"].Value);
            var date = DateTime.ParseExact(answer["date"]!.GetValue<string>(), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            if (date >= new DateTime(1900, 3, 1))
            {
                Assert.Equal("yyyy-mm-dd", row["date"].NumberFormat);
                Assert.Equal(date, DateTime.FromOADate(row["date"].Number));
            }
            else
            {
                // Excel's serials are wrong before 1900-03-01; such dates are kept as their ISO text.
                Assert.Equal(answer["date"]!.GetValue<string>(), row["date"].Value);
            }
        }
    }

    [Fact]
    public async Task WithARealModelADeleteAllFilesDocumentStillOnlyReadsAndWrites()
    {
        File.WriteAllText(Path.Combine(_root, "evil.txt"), PromptInjectionTests.Injection);
        File.WriteAllText(Path.Combine(_root, "other.txt"), "keep me");
        using var run = Run();
        var job = new DocumentExtractionJob(run.Workspace, Client(), ExtractionSchema.Parse(BoundedSchema));
        var report = await job.RunAsync(".", "out.xlsx");

        Assert.Equal(["evil.txt", "other.txt"], report.Rows.Select(r => r.SourceFile));
        Assert.Equal(["list_files", "read_file", "read_file", "write_file"], run.Audit.Select(e => e.Tool));
        Assert.True(File.Exists(Path.Combine(_root, "other.txt")));
    }

    [Fact]
    public async Task AnAnswerCutShortByTheTokenLimitIsAFailureNotARow()
    {
        File.WriteAllText(Path.Combine(_root, "a.txt"), "請求書番号: INV-1");
        var options = new DocumentExtractionOptions { Fields = new FieldFillingOptions { MaxOutputTokens = 3 } };
        using var run = Run();
        var job = new DocumentExtractionJob(run.Workspace, Client(), ExtractionSchema.Parse(BoundedSchema), options);
        var report = await job.RunAsync(".", "out.xlsx");
        var failure = Assert.Single(report.Failures);
        Assert.Contains("cut short", failure.Reason);
    }

    [Fact]
    public async Task ATextTooLongForTheContextIsCutToFitAndSaysSo()
    {
        // stories260K has a 2048-token context; Japanese costs about three byte tokens per character.
        File.WriteAllText(Path.Combine(_root, "long.txt"), string.Concat(Enumerable.Repeat(string.Join("\n", TestDocuments.JapaneseInvoice) + "\n", 60)));
        var outcomes = new List<DocumentOutcome>();
        using var run = Run();
        var job = new DocumentExtractionJob(run.Workspace, Client(), ExtractionSchema.Parse(BoundedSchema));
        var report = await job.RunAsync(".", "out.xlsx", outcomes.Add);
        Assert.Empty(report.Failures);
        var cut = outcomes.Single().Fields!.TextCutTo;
        Assert.NotNull(cut);
        Assert.InRange(cut.Value, 1, Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(_root, "long.txt"))).Length - 1);
    }
}
