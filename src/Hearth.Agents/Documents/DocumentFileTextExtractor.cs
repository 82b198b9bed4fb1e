using Hearth.Agents.Organizer;

namespace Hearth.Agents.Documents;

/// <summary>
/// The documents extractor (<see cref="DocumentTextExtractor"/>) in the organizer's <see cref="IFileTextExtractor"/>
/// seam, so <c>hearth agent organize</c> plans from the text of Word files (.docx), PDFs (their text layer, OCR for
/// scanned pages) and images (.png, .jpg, .jpeg, .tif, .tiff, by Tesseract OCR). Plain text and Markdown are left to
/// <see cref="PlainTextExtractor"/>. The organizer reads the bytes through its workspace (checked and audited); the
/// helper programs work on a private copy. Not safe for concurrent use.
/// </summary>
public sealed class DocumentFileTextExtractor : IFileTextExtractor
{
    private static readonly HashSet<string> s_extensions = new(StringComparer.OrdinalIgnoreCase) { ".docx", ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff" };

    private readonly DocumentTextExtractor _extractor;

    /// <param name="options">OCR languages, limits and helper programs; the defaults when null.</param>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    public DocumentFileTextExtractor(DocumentTextOptions? options = null) => _extractor = new DocumentTextExtractor(options);

    /// <summary>True for .docx, .pdf and the image types OCR reads (by extension, ignoring case).</summary>
    public bool CanExtract(string extension, string mediaType) => s_extensions.Contains(extension);

    /// <summary>
    /// The document's text, or null when it holds none the extractor can find (empty, blank, damaged, not what its
    /// extension says, over a size limit, or a helper program ran past its timeout): the organizer then plans from the
    /// file's name and type alone.
    /// </summary>
    /// <exception cref="MissingProgramException">pdftotext, pdfinfo, pdftoppm or tesseract is needed and not installed.</exception>
    /// <exception cref="MissingOcrLanguageException">An OCR language asked for is not installed.</exception>
    public async Task<string?> ExtractAsync(ReadOnlyMemory<byte> content, string fileName, CancellationToken cancel = default)
    {
        try
        {
            return (await _extractor.ExtractAsync(fileName, content.ToArray(), cancel).ConfigureAwait(false)).Text;
        }
        catch (DocumentException e) when (e is not (MissingProgramException or MissingOcrLanguageException))
        {
            return null;
        }
    }
}
