using System.Globalization;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Spreadsheet;

namespace Hearth.Agents.Tests.Documents;

/// <summary>A cell read back from a workbook: its type attribute, its value (shared strings resolved) and its number format code.</summary>
internal sealed record ReadCell(CellValues Type, string Value, string? NumberFormat)
{
    public double Number => double.Parse(Value, CultureInfo.InvariantCulture);
}

/// <summary>Opens a produced .xlsx with OpenXml (independently of the writer's code) and reads sheets back.</summary>
internal sealed class WorkbookReader : IDisposable
{
    private readonly MemoryStream _stream;
    private readonly SpreadsheetDocument _document;

    public WorkbookReader(byte[] xlsx)
    {
        _stream = new MemoryStream(xlsx);
        _document = SpreadsheetDocument.Open(_stream, false);
    }

    public WorkbookPart Workbook => _document.WorkbookPart!;

    public IReadOnlyList<string> SheetNames => [.. Workbook.Workbook.Sheets!.Elements<Sheet>().Select(s => s.Name!.Value!)];

    public Worksheet Sheet(string name)
    {
        var sheet = Workbook.Workbook.Sheets!.Elements<Sheet>().Single(s => s.Name == name);
        return ((WorksheetPart)Workbook.GetPartById(sheet.Id!)).Worksheet;
    }

    /// <summary>Every cell of a sheet by reference (A1, B2, ...).</summary>
    public Dictionary<string, ReadCell> Cells(string sheet)
    {
        var strings = Workbook.SharedStringTablePart?.SharedStringTable.Elements<SharedStringItem>().Select(i => i.InnerText).ToList() ?? [];
        var formats = Workbook.WorkbookStylesPart!.Stylesheet;
        var cells = new Dictionary<string, ReadCell>();
        foreach (var cell in Sheet(sheet).Descendants<Cell>())
        {
            var type = cell.DataType?.Value ?? CellValues.Number;
            var raw = cell.CellValue?.Text ?? cell.InlineString?.InnerText ?? "";
            var value = type == CellValues.SharedString ? strings[int.Parse(raw, CultureInfo.InvariantCulture)] : raw;
            string? format = null;
            if (cell.StyleIndex?.Value is uint style)
            {
                var xf = formats.CellFormats!.Elements<CellFormat>().ElementAt((int)style);
                uint id = xf.NumberFormatId?.Value ?? 0;
                format = formats.NumberingFormats?.Elements<NumberingFormat>().FirstOrDefault(f => f.NumberFormatId?.Value == id)?.FormatCode?.Value
                    ?? (id == 0 ? null : $"builtin:{id}");
            }

            cells[cell.CellReference!.Value!] = new ReadCell(type, value, format);
        }

        return cells;
    }

    /// <summary>The rows of a sheet as dictionaries keyed by the header row's names (missing cells absent).</summary>
    public List<Dictionary<string, ReadCell>> Rows(string sheet)
    {
        var cells = Cells(sheet);
        var headers = cells.Where(c => RowOf(c.Key) == 1).ToDictionary(c => ColumnOf(c.Key), c => c.Value.Value);
        return [.. cells.Where(c => RowOf(c.Key) > 1).GroupBy(c => RowOf(c.Key)).OrderBy(g => g.Key)
            .Select(g => g.ToDictionary(c => headers[ColumnOf(c.Key)], c => c.Value))];
    }

    private static int RowOf(string reference) => int.Parse(new string([.. reference.SkipWhile(char.IsAsciiLetter)]), CultureInfo.InvariantCulture);

    private static string ColumnOf(string reference) => new([.. reference.TakeWhile(char.IsAsciiLetter)]);

    public void Dispose()
    {
        _document.Dispose();
        _stream.Dispose();
    }
}
