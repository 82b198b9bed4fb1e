namespace Hearth.Agents.Documents;

/// <summary>Limits and helper programs for turning documents into text. Every limit is checked before the work it bounds.</summary>
public sealed record DocumentTextOptions
{
    /// <summary>Tesseract languages, '+'-separated (Tesseract's codes: jpn, nep, eng, ...). Default <c>jpn+nep+eng</c>.</summary>
    public string OcrLanguages { get; init; } = "jpn+nep+eng";

    /// <summary>
    /// When several OCR languages are given, OCR first with all of them, find which writing systems the text is in, and
    /// OCR again with only the languages of those systems (a Japanese scan read with jpn+eng, not jpn+nep+eng, which
    /// mixes up digits and kanji). Languages whose writing system is not known to the extractor are always kept.
    /// </summary>
    public bool NarrowOcrLanguages { get; init; } = true;

    /// <summary>Largest input file read, in bytes (default 64 MiB).</summary>
    public long MaxFileBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Most characters of text kept from one document, and the most a helper program may print (default 2,000,000).</summary>
    public int MaxTextChars { get; init; } = 2_000_000;

    /// <summary>Most pages of a PDF read (default 200); a longer PDF is refused with <see cref="DocumentTooLargeException"/>.</summary>
    public int MaxPdfPages { get; init; } = 200;

    /// <summary>Most pages of a PDF sent to OCR when they have no text layer (default 50); OCR takes seconds per page.</summary>
    public int MaxOcrPages { get; init; } = 50;

    /// <summary>Resolution scanned PDF pages are rendered at for OCR, in dots per inch (default 300, Tesseract's best).</summary>
    public int OcrDpi { get; init; } = 300;

    /// <summary>Longest one run of a helper program may take before it is killed (default 2 minutes).</summary>
    public TimeSpan ToolTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The pdftotext program (poppler-utils).</summary>
    public string PdfToTextProgram { get; init; } = "pdftotext";

    /// <summary>The pdfinfo program (poppler-utils).</summary>
    public string PdfInfoProgram { get; init; } = "pdfinfo";

    /// <summary>The pdftoppm program (poppler-utils).</summary>
    public string PdfToPpmProgram { get; init; } = "pdftoppm";

    /// <summary>The tesseract program (tesseract-ocr).</summary>
    public string TesseractProgram { get; init; } = "tesseract";

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">A limit is not positive, or the language list is malformed.</exception>
    public void Validate()
    {
        if (MaxFileBytes <= 0) throw new ArgumentException($"the file size limit must be positive (was {MaxFileBytes})");
        if (MaxTextChars <= 0) throw new ArgumentException($"the text limit must be positive (was {MaxTextChars})");
        if (MaxPdfPages <= 0) throw new ArgumentException($"the PDF page limit must be positive (was {MaxPdfPages})");
        if (MaxOcrPages <= 0) throw new ArgumentException($"the OCR page limit must be positive (was {MaxOcrPages})");
        if (OcrDpi is < 50 or > 1200) throw new ArgumentException($"the OCR resolution must be within 50..1200 dpi (was {OcrDpi})");
        if (ToolTimeout <= TimeSpan.Zero) throw new ArgumentException($"the tool timeout must be positive (was {ToolTimeout})");
        OcrLanguageSet.Parse(OcrLanguages);
    }
}
