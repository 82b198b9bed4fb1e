using System.Text;

namespace Hearth.Agents.Documents;

/// <summary>Where a document's text came from.</summary>
public enum TextSource
{
    /// <summary>A .txt or .md file.</summary>
    PlainText,

    /// <summary>A Word document's body.</summary>
    Docx,

    /// <summary>A PDF's text layer (pdftotext).</summary>
    PdfTextLayer,

    /// <summary>A PDF without a text layer, rendered and read by OCR.</summary>
    PdfOcr,

    /// <summary>A PDF with some pages from the text layer and some by OCR.</summary>
    PdfMixed,

    /// <summary>An image read by OCR.</summary>
    ImageOcr,
}

/// <summary>The text of one document.</summary>
/// <param name="Text">The text, NFC-normalised, with \n line ends and no trailing spaces on lines; never blank.</param>
/// <param name="Source">How it was found.</param>
/// <param name="OcrLanguages">The Tesseract languages of the OCR passes kept (empty when no OCR ran).</param>
/// <param name="Pages">Pages of a PDF; 1 for other documents.</param>
public sealed record DocumentText(string Text, TextSource Source, IReadOnlyList<string> OcrLanguages, int Pages);

/// <summary>
/// Turns a document's bytes into text: .txt/.md decoded as UTF-8 (or BOM-marked UTF-16), .docx through OpenXml, .pdf
/// through poppler (its text layer, and OCR for scanned pages), and .png/.jpg/.jpeg/.tif/.tiff through Tesseract. The
/// caller reads the bytes (through an agent workspace, so the permission policy sees the read); helper programs work on
/// a private copy in a temporary folder that is deleted afterwards. Not safe for concurrent use; one per job.
/// </summary>
public sealed class DocumentTextExtractor
{
    private static readonly HashSet<string> s_plain = new(StringComparer.OrdinalIgnoreCase) { ".txt", ".md", ".markdown" };
    private static readonly HashSet<string> s_images = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".tif", ".tiff" };

    private readonly DocumentTextOptions _options;
    private readonly TesseractOcr _ocr;
    private readonly PdfText _pdf;

    /// <exception cref="ArgumentException">An option is out of range (see <see cref="DocumentTextOptions.Validate"/>).</exception>
    public DocumentTextExtractor(DocumentTextOptions? options = null)
    {
        _options = options ?? new DocumentTextOptions();
        _options.Validate();
        _ocr = new TesseractOcr(_options);
        _pdf = new PdfText(_options, _ocr);
    }

    /// <summary>The options in force.</summary>
    public DocumentTextOptions Options => _options;

    /// <summary>Whether a file's extension is one the extractor reads (case-insensitive).</summary>
    public static bool IsSupported(string path)
    {
        var extension = Path.GetExtension(path);
        return s_plain.Contains(extension) || s_images.Contains(extension) || extension.Equals(".docx", StringComparison.OrdinalIgnoreCase)
            || extension.Equals(".pdf", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The text of the document <paramref name="name"/> (its path; the extension picks the reader) whose bytes are <paramref name="content"/>.</summary>
    /// <exception cref="UnsupportedDocumentException">The extension is not one of those read.</exception>
    /// <exception cref="DocumentTooLargeException">The file, its pages or its text is over a limit.</exception>
    /// <exception cref="EmptyDocumentException">The document holds no text (an empty file, a blank page or image).</exception>
    /// <exception cref="CorruptDocumentException">The content is damaged or not of the kind its extension says.</exception>
    /// <exception cref="MissingProgramException">pdftotext, pdfinfo, pdftoppm or tesseract is needed and not installed.</exception>
    /// <exception cref="MissingOcrLanguageException">OCR is needed and a language's data is not installed.</exception>
    /// <exception cref="ToolTimeoutException">A helper program ran past <see cref="DocumentTextOptions.ToolTimeout"/>.</exception>
    public async Task<DocumentText> ExtractAsync(string name, byte[] content, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(content);
        if (!IsSupported(name)) throw new UnsupportedDocumentException($"{name}: not a supported document type (.txt, .md, .docx, .pdf, .png, .jpg, .jpeg, .tif, .tiff)");
        if (content.LongLength > _options.MaxFileBytes) throw new DocumentTooLargeException($"{name}: {content.LongLength:N0} bytes, over the limit of {_options.MaxFileBytes:N0}");
        if (content.Length == 0) throw new EmptyDocumentException($"{name}: the file is empty");

        var extension = Path.GetExtension(name);
        DocumentText result;
        if (s_plain.Contains(extension))
        {
            result = new DocumentText(PlainText.Decode(name, content), TextSource.PlainText, [], 1);
        }
        else if (extension.Equals(".docx", StringComparison.OrdinalIgnoreCase))
        {
            result = new DocumentText(DocxText.Read(name, content, _options.MaxTextChars), TextSource.Docx, [], 1);
        }
        else
        {
            result = await WithScratchCopyAsync(name, content, extension, cancel).ConfigureAwait(false);
        }

        var text = Tidy(result.Text);
        if (text.Length > _options.MaxTextChars) throw new DocumentTooLargeException($"{name}: {text.Length:N0} characters of text, over the limit of {_options.MaxTextChars:N0}");
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new EmptyDocumentException(result.Source is TextSource.ImageOcr or TextSource.PdfOcr
                ? $"{name}: OCR found no text (a blank or unreadable image)"
                : $"{name}: the document holds no text");
        }

        return result with { Text = text };
    }

    /// <summary>Runs the PDF or image path on a copy of the bytes in a private temporary folder, deleted afterwards.</summary>
    private async Task<DocumentText> WithScratchCopyAsync(string name, byte[] content, string extension, CancellationToken cancel)
    {
        bool pdf = extension.Equals(".pdf", StringComparison.OrdinalIgnoreCase);
        if (pdf && !StartsWithinHeader(content, "%PDF-"u8))
        {
            throw new CorruptDocumentException($"{name}: not a PDF (no %PDF- header)");
        }

        // Tesseract takes a file that is not an image it knows for a list of image paths to read, so only real
        // PNG, JPEG and TIFF files may reach it.
        if (!pdf && !IsKnownImage(content)) throw new CorruptDocumentException($"{name}: not a PNG, JPEG or TIFF image (unknown signature)");

        var scratch = Directory.CreateTempSubdirectory("hearth-extract-");
        try
        {
            var copy = Path.Combine(scratch.FullName, pdf ? "document.pdf" : "image" + extension.ToLowerInvariant());
            await File.WriteAllBytesAsync(copy, content, cancel).ConfigureAwait(false);
            if (pdf) return await _pdf.ReadAsync(name, copy, scratch.FullName, cancel).ConfigureAwait(false);
            var read = await _ocr.RecognizeAsync(copy, cancel).ConfigureAwait(false);
            return new DocumentText(read.Text, TextSource.ImageOcr, read.Languages, 1);
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>PDF readers accept the header within the first 1024 bytes.</summary>
    private static bool StartsWithinHeader(byte[] content, ReadOnlySpan<byte> header) =>
        content.AsSpan(0, Math.Min(content.Length, 1024)).IndexOf(header) >= 0;

    private static bool IsKnownImage(byte[] content) => content switch
    {
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => true,
        [0xFF, 0xD8, 0xFF, ..] => true,
        [(byte)'I', (byte)'I', 42, 0, ..] or [(byte)'M', (byte)'M', 0, 42, ..] => true,
        _ => false,
    };

    /// <summary>NFC, \n line ends, no trailing spaces, at most one blank line in a row, no blank lines at either end.</summary>
    internal static string Tidy(string text)
    {
        string normal;
        try
        {
            normal = text.Normalize(NormalizationForm.FormC);
        }
        catch (ArgumentException)
        {
            // Lone surrogates cannot be normalised; keep the text as it is.
            normal = text;
        }

        var lines = normal.ReplaceLineEndings("\n").Replace('\f', '\n').Split('\n');
        var output = new StringBuilder(text.Length);
        int blank = 0;
        foreach (var raw in lines)
        {
            var line = raw.TrimEnd();
            if (line.Length == 0)
            {
                blank++;
                continue;
            }

            if (output.Length > 0) output.Append(blank > 0 ? "\n\n" : "\n");
            output.Append(line);
            blank = 0;
        }

        return output.ToString();
    }
}
