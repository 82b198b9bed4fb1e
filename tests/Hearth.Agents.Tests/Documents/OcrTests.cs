using System.Text;
using Hearth.Agents.Documents;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// The real Tesseract engine (with Debian's Japanese and Nepali data) reading images rendered here from known text:
/// TIFF scans, a scanned PDF through pdftoppm, and PNG and JPEG pages. The key values must come back.
/// </summary>
public sealed class OcrTests : IDisposable
{
    /// <summary>The values the Japanese invoice holds; Japanese has no spaces between words, so OCR's stray spaces are dropped before looking.</summary>
    internal static readonly string[] JapaneseKeys = ["INV-2024-0173", "2024年3月15日", "12,345円", "山田太郎"];

    internal static readonly string[] NepaliKeys = ["2081-0042", "2024-05-20", "7,890.50", "राम बहादुर थापा"];

    private readonly string _scratch = TestDocuments.Scratch();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static Task<DocumentText> Extract(string name, byte[] bytes, DocumentTextOptions? options = null) =>
        new DocumentTextExtractor(options).ExtractAsync(name, bytes);

    internal static void AssertJapaneseKeys(string text)
    {
        var squashed = text.Replace(" ", "");
        foreach (var key in JapaneseKeys) Assert.Contains(key, squashed);
    }

    internal static void AssertNepaliKeys(string text)
    {
        foreach (var key in NepaliKeys) Assert.Contains(key, text);
    }

    /// <summary>A Japanese scan as a TIFF, and as a PDF with no text layer (rendered back to an image by pdftoppm).</summary>
    [Theory]
    [InlineData("scan.tif", TextSource.ImageOcr)]
    [InlineData("scan.pdf", TextSource.PdfOcr)]
    public async Task JapaneseScanIsReadWithJapaneseAndEnglishOnly(string name, TextSource source)
    {
        var tiff = TestDocuments.RenderTiff(_scratch, TestDocuments.JapaneseInvoice, TestDocuments.JapaneseFont);
        var read = await Extract(name, source == TextSource.PdfOcr ? TestDocuments.ScannedPdf(tiff) : tiff);
        Assert.Equal(source, read.Source);
        Assert.Equal(["jpn", "eng"], read.OcrLanguages);
        AssertJapaneseKeys(read.Text);
    }

    [Fact]
    public async Task NepaliScanWithoutLatinLettersIsReadWithNepaliOnly()
    {
        var tiff = TestDocuments.RenderTiff(_scratch, TestDocuments.NepaliInvoice, TestDocuments.NepaliFont);
        var read = await Extract("scan.tiff", tiff);
        Assert.Equal(["nep"], read.OcrLanguages);
        AssertNepaliKeys(read.Text);
    }

    [Fact]
    public async Task WithoutNarrowingEveryLanguageIsUsed()
    {
        var tiff = TestDocuments.RenderTiff(_scratch, TestDocuments.NepaliInvoice, TestDocuments.NepaliFont);
        var read = await Extract("scan.tif", tiff, new DocumentTextOptions { NarrowOcrLanguages = false });
        Assert.Equal(["jpn", "nep", "eng"], read.OcrLanguages);
    }

    [Fact]
    public async Task APdfWithATextPageAndAScannedPageReadsOneAndOcrsTheOther()
    {
        var scan = TestDocuments.RenderTiff(_scratch, TestDocuments.NepaliInvoice, TestDocuments.NepaliFont);
        var pdf = TestDocuments.Pdf([new TestDocuments.TextPage(TestDocuments.JapaneseInvoice), new TestDocuments.ScanPage(scan)]);
        var read = await Extract("mixed.pdf", pdf);
        Assert.Equal(TextSource.PdfMixed, read.Source);
        Assert.Equal(2, read.Pages);
        Assert.Equal(["nep"], read.OcrLanguages);
        Assert.Contains("請求書番号: INV-2024-0173", read.Text);
        AssertNepaliKeys(read.Text);
        Assert.True(read.Text.IndexOf("INV-2024-0173", StringComparison.Ordinal) < read.Text.IndexOf("2081-0042", StringComparison.Ordinal), "pages out of order");
    }

    [Fact]
    public async Task PageLimitsRefuseAPdfBeforeOcr()
    {
        var scan = TestDocuments.RenderTiff(_scratch, ["x"], TestDocuments.JapaneseFont);
        var pdf = TestDocuments.Pdf([new TestDocuments.ScanPage(scan), new TestDocuments.ScanPage(scan)]);
        var pages = await Assert.ThrowsAsync<DocumentTooLargeException>(() => Extract("two.pdf", pdf, new DocumentTextOptions { MaxPdfPages = 1 }));
        Assert.Contains("2 pages, over the limit of 1", pages.Message);
        var ocr = await Assert.ThrowsAsync<DocumentTooLargeException>(() => Extract("two.pdf", pdf, new DocumentTextOptions { MaxOcrPages = 1 }));
        Assert.Contains("2 pages have no text layer", ocr.Message);
    }

    [Theory]
    [InlineData("png", "page.png")]
    [InlineData("jpeg", "page.jpg")]
    public async Task PngAndJpegPagesAreRead(string format, string name)
    {
        var pdf = TestDocuments.ScannedPdf(TestDocuments.RenderTiff(_scratch, TestDocuments.NepaliInvoice, TestDocuments.NepaliFont));
        var image = TestDocuments.RenderPdf(_scratch, pdf, format);
        var read = await Extract(name, image);
        Assert.Equal(TextSource.ImageOcr, read.Source);
        AssertNepaliKeys(read.Text);
    }

    [Fact]
    public async Task ABlankImageHasNoText()
    {
        var blank = TestDocuments.RenderPdf(_scratch, TestDocuments.TextPdf(), "png");
        var e = await Assert.ThrowsAsync<EmptyDocumentException>(() => Extract("blank.png", blank));
        Assert.Contains("OCR found no text", e.Message);
    }

    [Fact]
    public async Task AFileThatIsNotAnImageNeverReachesTesseract()
    {
        // Tesseract reads a non-image input as a list of image paths; this one names a file it must never open.
        var e = await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("list.png", Encoding.UTF8.GetBytes("/etc/hostname\n")));
        Assert.Contains("not a PNG, JPEG or TIFF", e.Message);
    }

    [Fact]
    public async Task AMissingLanguageNamesItsDebianPackage()
    {
        var tiff = TestDocuments.RenderTiff(_scratch, ["x"], TestDocuments.JapaneseFont);
        var e = await Assert.ThrowsAsync<MissingOcrLanguageException>(() => Extract("a.tif", tiff, new DocumentTextOptions { OcrLanguages = "jpn+xyz" }));
        Assert.Equal("xyz", e.Language);
        Assert.Contains("apt-get install tesseract-ocr-xyz", e.Message);
    }

    [Fact]
    public async Task AMissingTesseractNamesItsDebianPackage()
    {
        var tiff = TestDocuments.RenderTiff(_scratch, ["x"], TestDocuments.JapaneseFont);
        var e = await Assert.ThrowsAsync<MissingProgramException>(() => Extract("a.tif", tiff, new DocumentTextOptions { TesseractProgram = Path.Combine(_scratch, "no-tesseract") }));
        Assert.Contains("apt-get install tesseract-ocr", e.Message);
    }

    [Theory]
    [InlineData("請求書番号: INV-1 ひらがな", "jpn+eng")]
    [InlineData("बिल नम्बर: २०८१", "nep")]
    [InlineData("बिल नम्बर: INV", "nep+eng")]
    [InlineData("Invoice number 12", "eng")]
    [InlineData("", "")]
    public void NarrowingKeepsTheLanguagesOfTheWritingSystemsFound(string text, string expected)
    {
        var narrowed = OcrLanguageSet.Narrow(["jpn", "nep", "eng"], text);
        Assert.Equal(expected, string.Join('+', narrowed));
    }

    [Fact]
    public void LanguagesTheExtractorDoesNotKnowAreAlwaysKept()
    {
        Assert.Equal(["nep", "xyz"], OcrLanguageSet.Narrow(["jpn", "nep", "xyz"], "बिल नम्बर"));
    }
}
