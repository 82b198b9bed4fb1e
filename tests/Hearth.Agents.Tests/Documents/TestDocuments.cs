using System.Diagnostics;
using System.Globalization;
using System.Text;
using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Wordprocessing;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// Makes the test documents: Word files through OpenXml, PDFs written here byte by byte (a text layer, or a scanned page
/// image), and images rendered by Tesseract's own renderer (text2image, which draws text with a real font through Pango)
/// and by poppler's pdftoppm. The values in them are the reference the tests check against.
/// </summary>
internal static class TestDocuments
{
    /// <summary>A Japanese font (Debian's fonts-ipafont-gothic) and a Devanagari font with Nepali forms (fonts-lohit-deva-nepali).</summary>
    public const string JapaneseFont = "IPAGothic", NepaliFont = "Lohit Nepali";

    /// <summary>Resolution text2image renders at, and pdftoppm renders back at.</summary>
    public const int Dpi = 300;

    public static readonly string[] JapaneseInvoice =
    [
        "請求書",
        "請求書番号: INV-2024-0173",
        "日付: 2024年3月15日",
        "金額: 12,345円",
        "数量: 3",
        "氏名: 山田太郎",
    ];

    public static readonly string[] NepaliInvoice =
    [
        "बिल",
        "बिल नम्बर: 2081-0042",
        "मिति: 2024-05-20",
        "रकम: रु. 7,890.50",
        "संख्या: 4",
        "नाम: राम बहादुर थापा",
    ];

    /// <summary>The invoice schema the tests extract with.</summary>
    public const string InvoiceSchema = """
        {
          "type": "object",
          "properties": {
            "invoice_number": {"type": "string", "description": "the invoice or bill number"},
            "date": {"type": "string", "format": "date", "description": "the invoice date"},
            "amount": {"type": "number", "description": "the total amount"},
            "items": {"type": "integer", "description": "how many items"},
            "name": {"type": "string", "description": "the customer's name"},
            "paid": {"type": "boolean", "description": "whether it is paid"}
          },
          "required": ["invoice_number", "date", "amount", "name"]
        }
        """;

    /// <summary>A Word document: paragraphs, then (when given) a table of rows of cells.</summary>
    public static byte[] Docx(IEnumerable<string> paragraphs, IEnumerable<string[]>? table = null, IEnumerable<string>? after = null)
    {
        using var stream = new MemoryStream();
        using (var doc = WordprocessingDocument.Create(stream, WordprocessingDocumentType.Document))
        {
            var main = doc.AddMainDocumentPart();
            var body = new Body();
            foreach (var p in paragraphs) body.Append(Paragraph(p));
            if (table != null)
            {
                var t = new Table();
                foreach (var row in table) t.Append(new TableRow(row.Select(c => new TableCell(Paragraph(c)))));
                body.Append(t);
            }

            foreach (var p in after ?? []) body.Append(Paragraph(p));
            main.Document = new Document(body);
            main.Document.Save();
        }

        return stream.ToArray();
    }

    private static Paragraph Paragraph(string text) => new(new Run(new Text(text) { Space = SpaceProcessingModeValues.Preserve }));

    /// <summary>
    /// A one-page PDF whose text layer holds <paramref name="lines"/>: a Type0 font with Identity-H encoding gives each
    /// distinct character its own glyph id, and a ToUnicode map says which character each id is, which is what text
    /// extraction reads. No glyph shapes are embedded (a text layer without drawings); with no lines the page is blank.
    /// </summary>
    public static byte[] TextPdf(params string[] lines) => Pdf([new TextPage(lines)]);

    /// <summary>
    /// A one-page PDF that is only a scanned image: the CCITT group 4 data of a single-strip bilevel TIFF (what
    /// text2image writes) placed as an image XObject, no text layer.
    /// </summary>
    public static byte[] ScannedPdf(byte[] g4Tiff) => Pdf([new ScanPage(g4Tiff)]);

    /// <summary>A PDF of the given pages in order: <see cref="TextPage"/>s and <see cref="ScanPage"/>s.</summary>
    public static byte[] Pdf(IReadOnlyList<object> pages)
    {
        // Objects 1 and 2 are the catalog and the page tree; each page adds its page object and then its resources.
        var objects = new List<object> { "<< /Type /Catalog /Pages 2 0 R >>", "" };
        var kids = new List<string>();
        foreach (var page in pages)
        {
            int pageId = objects.Count + 1;
            kids.Add($"{pageId} 0 R");
            objects.Add("");
            int first = objects.Count + 1;
            var (resources, box, parts) = page switch
            {
                TextPage t => TextParts(t.Lines, first),
                ScanPage s => ScanParts(s.G4Tiff, first),
                _ => throw new ArgumentException("not a page"),
            };
            objects[pageId - 1] = $"<< /Type /Page /Parent 2 0 R /MediaBox {box} /Resources {resources} /Contents {first} 0 R >>";
            objects.AddRange(parts);
        }

        objects[1] = $"<< /Type /Pages /Kids [{string.Join(' ', kids)}] /Count {pages.Count} >>";
        return Serialize(objects);
    }

    /// <summary>A page of text lines.</summary>
    public sealed record TextPage(string[] Lines);

    /// <summary>A page that is a scanned image (a single-strip CCITT G4 TIFF).</summary>
    public sealed record ScanPage(byte[] G4Tiff);

    /// <summary>The objects of a text page, numbered from <paramref name="first"/>: content, Type0 font, CID font, ToUnicode map, descriptor.</summary>
    private static (string Resources, string Box, object[] Parts) TextParts(string[] lines, int first)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var content = new StringBuilder("BT /F1 14 Tf 18 TL 50 780 Td\n");
        foreach (var line in lines)
        {
            content.Append('<');
            foreach (var rune in line.EnumerateRunes())
            {
                var s = rune.ToString();
                if (!ids.TryGetValue(s, out int id)) ids[s] = id = ids.Count + 1;
                content.Append(id.ToString("X4", CultureInfo.InvariantCulture));
            }

            content.Append("> Tj T*\n");
        }

        content.Append("ET");
        var cmap = new StringBuilder("/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n")
            .Append("/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n")
            .Append("1 begincodespacerange <0000> <FFFF> endcodespacerange\n");
        foreach (var chunk in ids.Chunk(100))
        {
            cmap.Append(chunk.Length).Append(" beginbfchar\n");
            foreach (var (text, id) in chunk)
            {
                cmap.Append('<').Append(id.ToString("X4", CultureInfo.InvariantCulture)).Append("> <");
                foreach (var c in text) cmap.Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                cmap.Append(">\n");
            }

            cmap.Append("endbfchar\n");
        }

        cmap.Append("endcmap CMapName currentdict /CMap defineresource pop end end");
        return ($"<< /Font << /F1 {first + 1} 0 R >> >>", "[0 0 595 842]",
        [
            Stream("", Encoding.ASCII.GetBytes(content.ToString())),
            $"<< /Type /Font /Subtype /Type0 /BaseFont /HearthTest /Encoding /Identity-H /DescendantFonts [{first + 2} 0 R] /ToUnicode {first + 3} 0 R >>",
            $"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /HearthTest /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor {first + 4} 0 R /DW 1000 >>",
            Stream("", Encoding.ASCII.GetBytes(cmap.ToString())),
            "<< /Type /FontDescriptor /FontName /HearthTest /Flags 4 /FontBBox [0 -200 1000 900] /ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>",
        ]);
    }

    /// <summary>The objects of a scanned page, numbered from <paramref name="first"/>: content, image.</summary>
    private static (string Resources, string Box, object[] Parts) ScanParts(byte[] g4Tiff, int first)
    {
        var (width, height, data) = ReadG4Tiff(g4Tiff);
        double w = width * 72.0 / Dpi, h = height * 72.0 / Dpi;
        var page = string.Create(CultureInfo.InvariantCulture, $"q {w:0.###} 0 0 {h:0.###} 0 0 cm /Im1 Do Q");
        return ($"<< /XObject << /Im1 {first + 1} 0 R >> >>", string.Create(CultureInfo.InvariantCulture, $"[0 0 {w:0.###} {h:0.###}]"),
        [
            Stream("", Encoding.ASCII.GetBytes(page)),
            Stream($"/Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode /DecodeParms << /K -1 /Columns {width} /Rows {height} >> ", data),
        ]);
    }

    private static (int Width, int Height, byte[] Data) ReadG4Tiff(byte[] tiff)
    {
        if (tiff is not [(byte)'I', (byte)'I', 42, 0, ..]) throw new InvalidDataException("expected a little-endian TIFF");
        int ifd = BitConverter.ToInt32(tiff, 4);
        int count = BitConverter.ToUInt16(tiff, ifd);
        var tags = new Dictionary<int, (int Type, int Count, int Value)>();
        for (int i = 0; i < count; i++)
        {
            int at = ifd + 2 + 12 * i;
            int type = BitConverter.ToUInt16(tiff, at + 2);
            int value = type == 3 ? BitConverter.ToUInt16(tiff, at + 8) : BitConverter.ToInt32(tiff, at + 8);
            tags[BitConverter.ToUInt16(tiff, at)] = (type, BitConverter.ToInt32(tiff, at + 4), value);
        }

        if (tags[259].Value != 4) throw new InvalidDataException("expected CCITT group 4 compression");
        if (tags[273].Count != 1) throw new InvalidDataException("expected one strip");
        return (tags[256].Value, tags[257].Value, tiff.AsSpan(tags[273].Value, tags[279].Value).ToArray());
    }

    private static byte[] Stream(string dictionary, byte[] data)
    {
        var head = Encoding.ASCII.GetBytes($"<< {dictionary}/Length {data.Length} >>\nstream\n");
        return [.. head, .. data, .. "\nendstream"u8];
    }

    private static byte[] Serialize(List<object> objects)
    {
        var pdf = new MemoryStream();
        void Write(string s) => pdf.Write(Encoding.ASCII.GetBytes(s));
        Write("%PDF-1.4\n");
        var offsets = new List<long>();
        for (int i = 0; i < objects.Count; i++)
        {
            offsets.Add(pdf.Position);
            Write($"{i + 1} 0 obj\n");
            if (objects[i] is byte[] bytes) pdf.Write(bytes);
            else Write((string)objects[i]);
            Write("\nendobj\n");
        }

        long xref = pdf.Position;
        Write($"xref\n0 {objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var o in offsets) Write($"{o:D10} 00000 n \n");
        Write($"trailer\n<< /Size {objects.Count + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n");
        return pdf.ToArray();
    }

    /// <summary>Renders <paramref name="lines"/> in <paramref name="font"/> (16 pt at 300 dpi, undegraded) to a bilevel G4 TIFF with text2image.</summary>
    public static byte[] RenderTiff(string scratch, string[] lines, string font)
    {
        Directory.CreateDirectory(scratch);
        var name = "render" + Guid.NewGuid().ToString("N")[..8];
        var textFile = Path.Combine(scratch, name + ".txt");
        File.WriteAllText(textFile, string.Join('\n', lines) + "\n");
        Run("text2image", "--text", textFile, "--outputbase", Path.Combine(scratch, name), "--font", font, "--fonts_dir", "/usr/share/fonts",
            "--fontconfig_tmpdir", scratch, "--degrade_image=false", "--ptsize", "16", "--resolution", Dpi.ToString(CultureInfo.InvariantCulture),
            "--xsize", "2400", "--ysize", "1400", "--margin", "100");
        return File.ReadAllBytes(Path.Combine(scratch, name + ".tif"));
    }

    /// <summary>Renders the first page of a PDF to an image with pdftoppm (<paramref name="format"/> png or jpeg).</summary>
    public static byte[] RenderPdf(string scratch, byte[] pdf, string format)
    {
        Directory.CreateDirectory(scratch);
        var name = "page" + Guid.NewGuid().ToString("N")[..8];
        var input = Path.Combine(scratch, name + ".pdf");
        File.WriteAllBytes(input, pdf);
        Run("pdftoppm", "-" + format, "-r", Dpi.ToString(CultureInfo.InvariantCulture), "-singlefile", input, Path.Combine(scratch, name));
        return File.ReadAllBytes(Path.Combine(scratch, name + (format == "jpeg" ? ".jpg" : ".png")));
    }

    /// <summary>Runs a program (no shell) and fails the test if it fails.</summary>
    public static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({process.ExitCode}): {stderr.Result}");
        return stdout;
    }

    /// <summary>A fresh scratch folder under the system's temporary folder.</summary>
    public static string Scratch() => Directory.CreateTempSubdirectory("hearth-extract-test-").FullName;
}
