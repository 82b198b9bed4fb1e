using System.Globalization;
using System.Text;

namespace Hearth.Agents.Documents;

/// <summary>
/// The text of a PDF through poppler: <c>pdfinfo</c> for the page count, <c>pdftotext -layout -enc UTF-8</c> for the
/// text layer, and for each page without one (a scan) <c>pdftoppm</c> renders it to PNG and Tesseract reads it.
/// </summary>
internal sealed class PdfText(DocumentTextOptions options, TesseractOcr ocr)
{
    private const string Package = "poppler-utils";

    /// <summary>Fewer letters and digits than this on a page means its text layer is not the page's text.</summary>
    internal const int MinTextLayerChars = 8;

    /// <summary>Reads a PDF that lies at <paramref name="pdfPath"/> in the private folder <paramref name="scratch"/>.</summary>
    /// <returns>The pages' text joined with blank lines, how it was found, and the page count.</returns>
    public async Task<DocumentText> ReadAsync(string name, string pdfPath, string scratch, CancellationToken cancel)
    {
        int pages = await PageCountAsync(name, pdfPath, cancel).ConfigureAwait(false);
        if (pages == 0) throw new EmptyDocumentException($"{name}: the PDF has no pages");
        if (pages > options.MaxPdfPages) throw new DocumentTooLargeException($"{name}: {pages} pages, over the limit of {options.MaxPdfPages}");

        var layer = await HelperProgram.RunAsync(options.PdfToTextProgram, Package,
            ["-layout", "-enc", "UTF-8", "-f", "1", "-l", pages.ToString(CultureInfo.InvariantCulture), pdfPath, "-"],
            options.ToolTimeout, options.MaxTextChars, cancel).ConfigureAwait(false);
        if (layer.ExitCode != 0) throw Failure(name, "pdftotext", layer);

        // pdftotext ends every page with a form feed.
        var texts = layer.StandardOutput.Split('\f').Take(pages).ToList();
        while (texts.Count < pages) texts.Add("");
        var scanned = Enumerable.Range(0, pages).Where(p => !HasText(texts[p])).ToList();
        if (scanned.Count > options.MaxOcrPages)
        {
            throw new DocumentTooLargeException($"{name}: {scanned.Count} pages have no text layer and need OCR, over the limit of {options.MaxOcrPages}");
        }

        var languages = new List<string>();
        foreach (int page in scanned)
        {
            var image = await RenderPageAsync(name, pdfPath, page + 1, scratch, cancel).ConfigureAwait(false);
            var read = await ocr.RecognizeAsync(image, cancel).ConfigureAwait(false);
            texts[page] = read.Text;
            languages.AddRange(read.Languages.Where(l => !languages.Contains(l)));
            File.Delete(image);
        }

        var source = scanned.Count == 0 ? TextSource.PdfTextLayer : scanned.Count == pages ? TextSource.PdfOcr : TextSource.PdfMixed;
        return new DocumentText(string.Join("\n\n", texts), source, languages, pages);
    }

    private async Task<int> PageCountAsync(string name, string pdfPath, CancellationToken cancel)
    {
        var info = await HelperProgram.RunAsync(options.PdfInfoProgram, Package, [pdfPath], options.ToolTimeout, 1024 * 1024, cancel).ConfigureAwait(false);
        if (info.ExitCode != 0) throw Failure(name, "pdfinfo", info);
        foreach (var line in info.StandardOutput.Split('\n'))
        {
            if (line.StartsWith("Pages:", StringComparison.Ordinal) && int.TryParse(line.AsSpan(6).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n))
            {
                return n;
            }
        }

        throw new CorruptDocumentException($"{name}: pdfinfo did not report a page count");
    }

    private async Task<string> RenderPageAsync(string name, string pdfPath, int page, string scratch, CancellationToken cancel)
    {
        var prefix = Path.Combine(scratch, "page");
        var p = page.ToString(CultureInfo.InvariantCulture);
        var result = await HelperProgram.RunAsync(options.PdfToPpmProgram, Package,
            ["-png", "-r", options.OcrDpi.ToString(CultureInfo.InvariantCulture), "-f", p, "-l", p, "-singlefile", pdfPath, prefix],
            options.ToolTimeout, 64 * 1024, cancel).ConfigureAwait(false);
        if (result.ExitCode != 0) throw Failure(name, "pdftoppm", result);
        var image = prefix + ".png";
        if (!File.Exists(image)) throw new CorruptDocumentException($"{name}: pdftoppm rendered no image of page {page}");
        return image;
    }

    /// <summary>
    /// Whether a page's text layer is real text: at least <see cref="MinTextLayerChars"/> letters or digits. A scan has
    /// none, or only stray marks such as a stamped page number; such a page goes to OCR instead.
    /// </summary>
    private static bool HasText(string page)
    {
        int count = 0;
        foreach (var rune in page.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune) && ++count >= MinTextLayerChars) return true;
        }

        return false;
    }

    private static DocumentException Failure(string name, string program, ProgramOutput result)
    {
        var why = HelperProgram.ErrorSummary(result.StandardError);
        // poppler's exit codes: 1 cannot open (damaged), 3 permission (encrypted so that copying text is refused).
        return why.Contains("password", StringComparison.OrdinalIgnoreCase) || result.ExitCode == 3
            ? new CorruptDocumentException($"{name}: the PDF is encrypted and cannot be read without its password ({program}: {why})")
            : new CorruptDocumentException($"{name}: not a readable PDF ({program} exit code {result.ExitCode}: {why})");
    }
}
