using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Spreadsheet;
using DocumentFormat.OpenXml.Validation;
using Hearth.Agents.Documents;

namespace Hearth.Agents.Tests.Documents;

/// <summary>The workbook written, opened again with OpenXml: sheets, header, typed cells, widths, frozen panes, validity.</summary>
public sealed class ExtractionWorkbookTests
{
    private const string AllKindsSchema = """
        {"type":"object","properties":{
          "text":{"type":"string"},"amount":{"type":"number"},"count":{"type":"integer"},"paid":{"type":"boolean"},
          "day":{"type":"string","format":"date"},"at":{"type":"string","format":"date-time"}}}
        """;

    private static readonly ExtractionSchema s_schema = ExtractionSchema.Parse(AllKindsSchema);

    private static ExtractedRow Row(string file, params (string Name, object? Value)[] values) =>
        new(file, values.ToDictionary(v => v.Name, v => v.Value));

    private static byte[] Sample() => ExtractionWorkbook.Write(s_schema,
    [
        Row("ja/請求書.txt", ("text", "山田太郎"), ("amount", 12345.5), ("count", 3L), ("paid", true), ("day", new DateOnly(2024, 3, 15)),
            ("at", new DateTime(2024, 3, 15, 13, 45, 30))),
        Row("ne/bill.docx", ("text", "राम बहादुर थापा"), ("amount", -0.25), ("count", 0L), ("paid", false), ("day", null)),
    ],
    [new FailedDocument("bad/x.docx", "text", "bad/x.docx: not a readable Word document")]);

    [Fact]
    public void TheWorkbookIsValidOfficeOpenXml()
    {
        using var stream = new MemoryStream(Sample());
        using var document = SpreadsheetDocument.Open(stream, false);
        var errors = new OpenXmlValidator().Validate(document).Select(e => $"{e.Path?.XPath}: {e.Description}").ToList();
        Assert.Empty(errors);
    }

    [Fact]
    public void SheetsAreDataThenFailed()
    {
        using var book = new WorkbookReader(Sample());
        Assert.Equal(["Data", "Failed"], book.SheetNames);
    }

    [Fact]
    public void TheHeaderRowNamesTheFieldsAndTheSourceFileInBold()
    {
        using var book = new WorkbookReader(Sample());
        var cells = book.Cells("Data");
        Assert.Equal(["text", "amount", "count", "paid", "day", "at", "source_file"], new[] { "A1", "B1", "C1", "D1", "E1", "F1", "G1" }.Select(r => cells[r].Value));
        var header = book.Sheet("Data").Descendants<Cell>().First();
        var xf = book.Workbook.WorkbookStylesPart!.Stylesheet.CellFormats!.Elements<CellFormat>().ElementAt((int)header.StyleIndex!.Value);
        var font = book.Workbook.WorkbookStylesPart.Stylesheet.Fonts!.Elements<Font>().ElementAt((int)xf.FontId!.Value);
        Assert.NotNull(font.GetFirstChild<Bold>());
    }

    [Fact]
    public void CellsAreTypedByTheirFieldsKind()
    {
        using var book = new WorkbookReader(Sample());
        var row = book.Rows("Data")[0];
        Assert.Equal(CellValues.SharedString, row["text"].Type);
        Assert.Equal("山田太郎", row["text"].Value);
        Assert.Equal(CellValues.Number, row["amount"].Type);
        Assert.Equal(12345.5, row["amount"].Number);
        Assert.Equal(CellValues.Number, row["count"].Type);
        Assert.Equal(3, row["count"].Number);
        Assert.Equal(CellValues.Boolean, row["paid"].Type);
        Assert.Equal("1", row["paid"].Value);
        // Dates are serial numbers shown through a date format; DateTime.FromOADate reads Excel's serials independently.
        Assert.Equal(CellValues.Number, row["day"].Type);
        Assert.Equal("yyyy-mm-dd", row["day"].NumberFormat);
        Assert.Equal(new DateTime(2024, 3, 15), DateTime.FromOADate(row["day"].Number));
        Assert.Equal(45366, row["day"].Number);
        Assert.Equal("yyyy-mm-dd hh:mm:ss", row["at"].NumberFormat);
        Assert.Equal(new DateTime(2024, 3, 15, 13, 45, 30), DateTime.FromOADate(row["at"].Number));
        Assert.Equal("ja/請求書.txt", row["source_file"].Value);
    }

    [Fact]
    public void NepaliTextFalseAndMissingValuesRoundTrip()
    {
        using var book = new WorkbookReader(Sample());
        var row = book.Rows("Data")[1];
        Assert.Equal("राम बहादुर थापा", row["text"].Value);
        Assert.Equal(-0.25, row["amount"].Number);
        Assert.Equal("0", row["count"].Value);
        Assert.Equal("0", row["paid"].Value);
        Assert.Equal(CellValues.Boolean, row["paid"].Type);
        Assert.False(row.ContainsKey("day"));
        Assert.False(row.ContainsKey("at"));
    }

    [Fact]
    public void TheFailedSheetListsFileStageAndReason()
    {
        using var book = new WorkbookReader(Sample());
        var failed = Assert.Single(book.Rows("Failed"));
        Assert.Equal("bad/x.docx", failed["source_file"].Value);
        Assert.Equal("text", failed["stage"].Value);
        Assert.Contains("not a readable Word document", failed["reason"].Value);
    }

    [Fact]
    public void HeadersAreFrozenOnBothSheets()
    {
        using var book = new WorkbookReader(Sample());
        foreach (var name in book.SheetNames)
        {
            var pane = book.Sheet(name).Descendants<Pane>().Single();
            Assert.Equal(PaneStateValues.Frozen, pane.State!.Value);
            Assert.Equal(1D, pane.VerticalSplit!.Value);
            Assert.Equal("A2", pane.TopLeftCell!.Value);
        }
    }

    [Fact]
    public void ColumnWidthsFollowTheWidestContentWithWideCharactersCountingDouble()
    {
        var schema = ExtractionSchema.Parse("""{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}}}""");
        var bytes = ExtractionWorkbook.Write(schema, [Row("f", ("a", "山田太郎"), ("b", "abcd"), ("c", new string('x', 500)))], []);
        using var book = new WorkbookReader(bytes);
        var widths = book.Sheet("Data").Descendants<Column>().Select(c => c.Width!.Value).ToList();
        // Four wide characters are 8 widths, plus 2 of margin; "abcd" is 4 + 2 (the minimum is 6); 500 characters are capped at 80.
        Assert.Equal([10, 6, 80, 13], widths);
    }

    [Fact]
    public void LongIntegersAndEarlyDatesAreKeptAsText()
    {
        var bytes = ExtractionWorkbook.Write(s_schema, [Row("f", ("count", 1234567890123456789L), ("day", new DateOnly(1899, 1, 2)))], []);
        using var book = new WorkbookReader(bytes);
        var row = book.Rows("Data")[0];
        Assert.Equal(CellValues.SharedString, row["count"].Type);
        Assert.Equal("1234567890123456789", row["count"].Value);
        Assert.Equal("1899-01-02", row["day"].Value);
    }

    [Fact]
    public void ControlCharactersAreDroppedFromText()
    {
        var bytes = ExtractionWorkbook.Write(s_schema, [Row("f", ("text", "a\u0001b\u0007c\td"))], []);
        using var book = new WorkbookReader(bytes);
        Assert.Equal("abc\td", book.Rows("Data")[0]["text"].Value);
    }

    [Fact]
    public void AValueOfTheWrongTypeIsRefused()
    {
        Assert.Throws<ArgumentException>(() => ExtractionWorkbook.Write(s_schema, [Row("f", ("amount", "twelve"))], []));
    }

    [Theory]
    [InlineData(0, "A")]
    [InlineData(25, "Z")]
    [InlineData(26, "AA")]
    [InlineData(701, "ZZ")]
    [InlineData(702, "AAA")]
    public void ColumnNamesCountInBase26WithoutZero(int index, string name) => Assert.Equal(name, ExtractionWorkbook.ColumnName(index));
}
