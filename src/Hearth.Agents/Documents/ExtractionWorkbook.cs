using System.Globalization;
using System.Text;
using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Spreadsheet;

namespace Hearth.Agents.Documents;

/// <summary>One document's row: the fields' values (typed as <see cref="FilledFields.Values"/> describes) and its file.</summary>
public sealed record ExtractedRow(string SourceFile, IReadOnlyDictionary<string, object?> Values);

/// <summary>A document that gave no row.</summary>
/// <param name="SourceFile">The file, as listed.</param>
/// <param name="Stage">Where it failed: <c>read</c> (the workspace refused or could not read it), <c>text</c> (no text
/// could be taken from it), or <c>fields</c> (the model's answer was not a valid row).</param>
/// <param name="Reason">Why, in words a user can act on.</param>
public sealed record FailedDocument(string SourceFile, string Stage, string Reason);

/// <summary>
/// Writes the extraction workbook (Office Open XML through DocumentFormat.OpenXml). Sheet "Data": a bold, frozen header
/// row of the field names and <c>source_file</c>, then one row per document with typed cells: Text as shared strings
/// (any script, control characters removed, at most 32,767 characters), Number and Integer as numbers (an integer of more
/// than 15 digits, which Excel would round, as text), Boolean as TRUE/FALSE, Date as a date serial with the
/// <c>yyyy-mm-dd</c> format and DateTime with <c>yyyy-mm-dd hh:mm:ss</c> (before 1900-03-01, where Excel's serials are
/// wrong, as ISO text); a missing value is no cell. Sheet "Failed": <c>source_file</c>, <c>stage</c>, <c>reason</c>.
/// Column widths follow the widest content (East Asian wide characters count double), between 6 and 80.
/// </summary>
public static class ExtractionWorkbook
{
    /// <summary>The name of the sheet of rows.</summary>
    public const string DataSheet = "Data";

    /// <summary>The name of the sheet of documents that failed.</summary>
    public const string FailedSheet = "Failed";

    /// <summary>Style indices in the stylesheet written.</summary>
    internal const uint HeaderStyle = 1, DateStyle = 2, DateTimeStyle = 3;

    /// <summary>Excel cannot hold more characters in a cell.</summary>
    private const int MaxCellChars = 32_767;

    /// <summary>Integers of more digits lose precision in Excel's doubles.</summary>
    private const long MaxExactInteger = 999_999_999_999_999;

    private static readonly DateTime s_epoch = new(1899, 12, 30);
    private static readonly DateTime s_firstSafeDate = new(1900, 3, 1);

    /// <summary>The .xlsx bytes for <paramref name="rows"/> and <paramref name="failures"/> under <paramref name="schema"/>.</summary>
    /// <exception cref="ArgumentException">A row's value does not have the type of its field's kind.</exception>
    public static byte[] Write(ExtractionSchema schema, IReadOnlyList<ExtractedRow> rows, IReadOnlyList<FailedDocument> failures)
    {
        ArgumentNullException.ThrowIfNull(schema);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(failures);
        var strings = new SharedStrings();
        var data = new SheetBuilder(strings, [.. schema.Fields.Select(f => f.Name), ExtractionSchema.SourceFileColumn]);
        foreach (var row in rows)
        {
            var cells = schema.Fields.Select(f => row.Values.GetValueOrDefault(f.Name) is { } v ? TypedCell(f, v) : null).ToList();
            cells.Add(new CellContent(row.SourceFile));
            data.AddRow(cells);
        }

        var failed = new SheetBuilder(strings, [ExtractionSchema.SourceFileColumn, "stage", "reason"]);
        foreach (var f in failures) failed.AddRow([new CellContent(f.SourceFile), new CellContent(f.Stage), new CellContent(f.Reason)]);

        using var stream = new MemoryStream();
        using (var document = SpreadsheetDocument.Create(stream, SpreadsheetDocumentType.Workbook))
        {
            var workbook = document.AddWorkbookPart();
            workbook.Workbook = new Workbook();
            workbook.AddNewPart<WorkbookStylesPart>().Stylesheet = Styles();
            var sheets = workbook.Workbook.AppendChild(new Sheets());
            data.AddTo(workbook, sheets, 1, DataSheet, selected: true);
            failed.AddTo(workbook, sheets, 2, FailedSheet, selected: false);
            workbook.AddNewPart<SharedStringTablePart>().SharedStringTable = strings.Table;
            workbook.Workbook.Save();
        }

        return stream.ToArray();
    }

    /// <summary>The cell a field's value becomes.</summary>
    private static CellContent TypedCell(SchemaField field, object value) => (field.Kind, value) switch
    {
        (FieldKind.Text, string s) => new CellContent(s),
        (FieldKind.Number, double d) => CellContent.Number(d.ToString("R", CultureInfo.InvariantCulture), d.ToString("G10", CultureInfo.InvariantCulture).Length),
        (FieldKind.Integer, long l) when Math.Abs((decimal)l) > MaxExactInteger => new CellContent(l.ToString(CultureInfo.InvariantCulture)),
        (FieldKind.Integer, long l) => CellContent.Number(l.ToString(CultureInfo.InvariantCulture), l.ToString(CultureInfo.InvariantCulture).Length),
        (FieldKind.Boolean, bool b) => new CellContent(b ? "1" : "0", CellValues.Boolean, null, 5),
        (FieldKind.Date, DateOnly d) when d.ToDateTime(TimeOnly.MinValue) < s_firstSafeDate => new CellContent(d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
        (FieldKind.Date, DateOnly d) => new CellContent(Serial(d.ToDateTime(TimeOnly.MinValue)), CellValues.Number, DateStyle, 10),
        (FieldKind.DateTime, DateTime t) when t < s_firstSafeDate => new CellContent(t.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture)),
        (FieldKind.DateTime, DateTime t) => new CellContent(Serial(t), CellValues.Number, DateTimeStyle, 19),
        _ => throw new ArgumentException($"field '{field.Name}' is {field.Kind}, but the row holds a {value.GetType().Name}"),
    };

    /// <summary>Excel's serial: days since 1899-12-30 (right from 1900-03-01 on), the time of day as the fraction.</summary>
    private static string Serial(DateTime t) => (t - s_epoch).TotalDays.ToString("R", CultureInfo.InvariantCulture);

    private static Stylesheet Styles()
    {
        static Font Font(bool bold)
        {
            var font = new Font();
            if (bold) font.Append(new Bold());
            font.Append(new FontSize { Val = 11D }, new FontName { Val = "Calibri" });
            return font;
        }

        static CellFormat Format(uint numberFormat, uint font) => new()
        {
            NumberFormatId = numberFormat, FontId = font, FillId = 0U, BorderId = 0U, FormatId = 0U,
            ApplyNumberFormat = numberFormat != 0 ? true : null, ApplyFont = font != 0 ? true : null,
        };

        return new Stylesheet(
            new NumberingFormats(
                new NumberingFormat { NumberFormatId = 164U, FormatCode = "yyyy-mm-dd" },
                new NumberingFormat { NumberFormatId = 165U, FormatCode = "yyyy-mm-dd hh:mm:ss" }) { Count = 2U },
            new Fonts(Font(bold: false), Font(bold: true)) { Count = 2U },
            new Fills(new Fill(new PatternFill { PatternType = PatternValues.None }), new Fill(new PatternFill { PatternType = PatternValues.Gray125 })) { Count = 2U },
            new Borders(new Border(new LeftBorder(), new RightBorder(), new TopBorder(), new BottomBorder(), new DiagonalBorder())) { Count = 1U },
            new CellStyleFormats(new CellFormat { NumberFormatId = 0U, FontId = 0U, FillId = 0U, BorderId = 0U }) { Count = 1U },
            // Indices: 0 plain, 1 header (HeaderStyle), 2 date (DateStyle), 3 date and time (DateTimeStyle).
            new CellFormats(Format(0, 0), Format(0, 1), Format(164, 0), Format(165, 0)) { Count = 4U },
            new CellStyles(new CellStyle { Name = "Normal", FormatId = 0U, BuiltinId = 0U }) { Count = 1U });
    }

    /// <summary>The spreadsheet column name of a 0-based index: A..Z, AA..</summary>
    internal static string ColumnName(int index)
    {
        var name = new StringBuilder();
        for (int n = index + 1; n > 0; n = (n - 1) / 26) name.Insert(0, (char)('A' + (n - 1) % 26));
        return name.ToString();
    }

    /// <summary>How many character widths a text takes in a cell: its longest line, East Asian wide characters counting 2
    /// and combining marks 0.</summary>
    internal static int DisplayWidth(string text)
    {
        int widest = 0, width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value == '\n')
            {
                widest = Math.Max(widest, width);
                width = 0;
                continue;
            }

            var category = Rune.GetUnicodeCategory(rune);
            if (category is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format) continue;
            width += IsWide(rune.Value) ? 2 : 1;
        }

        return Math.Max(widest, width);
    }

    private static bool IsWide(int c) =>
        c is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF or >= 0x3400 and <= 0x4DBF or >= 0x4E00 and <= 0x9FFF
            or >= 0xA000 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60
            or >= 0xFFE0 and <= 0xFFE6 or >= 0x20000 and <= 0x3FFFD;

    /// <summary>Text Excel and XML can hold: no control characters but tab and line ends, no lone surrogates or non-characters, capped.</summary>
    internal static string CellText(string text)
    {
        var clean = new StringBuilder(Math.Min(text.Length, MaxCellChars));
        foreach (var rune in text.EnumerateRunes())
        {
            int c = rune.Value;
            if ((c < 0x20 && c is not ('\t' or '\n' or '\r')) || c is 0xFFFE or 0xFFFF) continue;
            if (clean.Length + rune.Utf16SequenceLength > MaxCellChars) break;
            clean.Append(rune.ToString());
        }

        return clean.ToString();
    }

    /// <summary>A cell to write: its value text, type and style, and how wide it shows.</summary>
    private sealed record CellContent(string Value, CellValues Type, uint? Style, int Width)
    {
        public CellContent(string text) : this(CellText(text), CellValues.SharedString, null, 0) => Width = DisplayWidth(Value);

        public static CellContent Number(string value, int width) => new(value, CellValues.Number, null, width);
    }

    /// <summary>The shared string table, each distinct string stored once.</summary>
    private sealed class SharedStrings
    {
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

        public SharedStringTable Table { get; } = new();

        public int IndexOf(string text)
        {
            if (_index.TryGetValue(text, out int i)) return i;
            var t = new Text(text);
            if (text.Length > 0 && (char.IsWhiteSpace(text[0]) || char.IsWhiteSpace(text[^1]))) t.Space = SpaceProcessingModeValues.Preserve;
            Table.AppendChild(new SharedStringItem(t));
            i = _index.Count;
            _index[text] = i;
            Table.Count = Table.UniqueCount = (uint)_index.Count;
            return i;
        }
    }

    /// <summary>One sheet: a bold frozen header row, then rows of cells; column widths from the widest content.</summary>
    private sealed class SheetBuilder
    {
        private readonly SharedStrings _strings;
        private readonly SheetData _data = new();
        private readonly int[] _widths;

        public SheetBuilder(SharedStrings strings, IReadOnlyList<string> headers)
        {
            _strings = strings;
            _widths = new int[headers.Count];
            var row = new Row { RowIndex = 1U };
            for (int c = 0; c < headers.Count; c++)
            {
                var header = new CellContent(headers[c]) { Style = HeaderStyle };
                row.Append(Cell(header, c, 1));
                _widths[c] = header.Width;
            }

            _data.Append(row);
        }

        public void AddRow(IReadOnlyList<CellContent?> cells)
        {
            uint index = (uint)_data.ChildElements.Count + 1;
            var row = new Row { RowIndex = index };
            for (int c = 0; c < cells.Count; c++)
            {
                if (cells[c] is not { } cell) continue;
                row.Append(Cell(cell, c, index));
                _widths[c] = Math.Max(_widths[c], cell.Width);
            }

            _data.Append(row);
        }

        private Cell Cell(CellContent content, int column, uint row)
        {
            var cell = new Cell { CellReference = ColumnName(column) + row.ToString(CultureInfo.InvariantCulture), DataType = content.Type };
            if (content.Style is uint style) cell.StyleIndex = style;
            cell.CellValue = new CellValue(content.Type == CellValues.SharedString
                ? _strings.IndexOf(content.Value).ToString(CultureInfo.InvariantCulture)
                : content.Value);
            return cell;
        }

        public void AddTo(WorkbookPart workbook, Sheets sheets, uint id, string name, bool selected)
        {
            var part = workbook.AddNewPart<WorksheetPart>();
            var view = new SheetView { WorkbookViewId = 0U, TabSelected = selected ? true : null };
            view.Append(
                new Pane { VerticalSplit = 1D, TopLeftCell = "A2", ActivePane = PaneValues.BottomLeft, State = PaneStateValues.Frozen },
                new Selection { Pane = PaneValues.BottomLeft, ActiveCell = "A2", SequenceOfReferences = new ListValue<StringValue> { InnerText = "A2" } });
            var columns = new Columns();
            for (int c = 0; c < _widths.Length; c++)
            {
                columns.Append(new Column { Min = (uint)c + 1, Max = (uint)c + 1, Width = Math.Clamp(_widths[c] + 2, 6, 80), CustomWidth = true });
            }

            part.Worksheet = new Worksheet(new SheetViews(view), columns, _data);
            sheets.Append(new Sheet { Id = workbook.GetIdOfPart(part), SheetId = id, Name = name });
        }
    }
}
