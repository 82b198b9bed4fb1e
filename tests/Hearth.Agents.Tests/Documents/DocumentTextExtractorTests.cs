using System.Text;
using Hearth.Agents.Documents;

namespace Hearth.Agents.Tests.Documents;

/// <summary>Text from plain files and Word documents (in-process), and from PDFs through the real poppler programs.</summary>
public sealed class DocumentTextExtractorTests : IDisposable
{
    private readonly string _scratch = TestDocuments.Scratch();

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    /// <summary>An executable shell script standing in for a helper program.</summary>
    private string Script(string name, string body)
    {
        var path = Path.Combine(_scratch, name);
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static Task<DocumentText> Extract(string name, byte[] bytes, DocumentTextOptions? options = null) =>
        new DocumentTextExtractor(options).ExtractAsync(name, bytes);

    [Fact]
    public async Task Utf8TextWithAndWithoutAByteOrderMarkGivesTheSameText()
    {
        var text = string.Join("\n", TestDocuments.JapaneseInvoice);
        var plain = await Extract("a.txt", Encoding.UTF8.GetBytes(text));
        var marked = await Extract("b.md", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(text)]);
        Assert.Equal(text, plain.Text);
        Assert.Equal(text, marked.Text);
        Assert.Equal(TextSource.PlainText, marked.Source);
        Assert.Empty(marked.OcrLanguages);
    }

    [Fact]
    public async Task Utf16WithAByteOrderMarkIsDecoded()
    {
        var text = string.Join("\n", TestDocuments.NepaliInvoice);
        var read = await Extract("n.txt", [0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)]);
        Assert.Equal(text, read.Text);
    }

    [Fact]
    public async Task WindowsLineEndsAndTrailingSpacesAreTidied()
    {
        var read = await Extract("a.txt", Encoding.UTF8.GetBytes("one  \r\ntwo\r\n\r\n\r\n\r\nthree\r\n"));
        Assert.Equal("one\ntwo\n\nthree", read.Text);
    }

    [Theory]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x80, 0x81, 0xFE })]
    [InlineData(new byte[] { 0x61, 0x62, 0x00, 0x63 })]
    public async Task BinaryInATextFileIsRefused(byte[] bytes)
    {
        var e = await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("x.txt", bytes));
        Assert.Contains("x.txt", e.Message);
    }

    [Fact]
    public async Task WordParagraphsAndTablesComeInDocumentOrder()
    {
        var docx = TestDocuments.Docx(["前書き", "बिल"], [["請求書番号", "INV-7"], ["रकम", "5"]], ["後書き"]);
        var read = await Extract("d.docx", docx);
        Assert.Equal("前書き\nबिल\n請求書番号\tINV-7\nरकम\t5\n後書き", read.Text);
        Assert.Equal(TextSource.Docx, read.Source);
    }

    [Fact]
    public async Task ADamagedWordFileIsACorruptDocument()
    {
        var docx = TestDocuments.Docx(["hello"]);
        var damaged = docx[..(docx.Length / 2)];
        await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("d.docx", damaged));
        await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("e.docx", Encoding.UTF8.GetBytes("just text, not a zip")));
    }

    [Fact]
    public async Task PdfTextLayerIsReadWithPdftotext()
    {
        var pdf = TestDocuments.TextPdf(TestDocuments.JapaneseInvoice);
        var read = await Extract("j.pdf", pdf);
        Assert.Equal(TextSource.PdfTextLayer, read.Source);
        Assert.Equal(1, read.Pages);
        var lines = read.Text.Split('\n').Select(l => l.Trim()).ToList();
        foreach (var line in TestDocuments.JapaneseInvoice) Assert.Contains(line, lines);
    }

    [Fact]
    public async Task NepaliPdfTextLayerKeepsItsCombiningMarks()
    {
        var read = await Extract("n.pdf", TestDocuments.TextPdf(TestDocuments.NepaliInvoice));
        var lines = read.Text.Split('\n').Select(l => l.Trim()).ToList();
        foreach (var line in TestDocuments.NepaliInvoice) Assert.Contains(line, lines);
    }

    [Fact]
    public async Task ADamagedPdfIsACorruptDocument()
    {
        var e = await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("bad.pdf", Encoding.ASCII.GetBytes("%PDF-1.4\nnothing else")));
        Assert.Contains("bad.pdf", e.Message);
        await Assert.ThrowsAsync<CorruptDocumentException>(() => Extract("notpdf.pdf", Encoding.ASCII.GetBytes("hello")));
    }

    [Fact]
    public async Task LimitsRefuseBeforeTheWork()
    {
        await Assert.ThrowsAsync<DocumentTooLargeException>(() => Extract("a.txt", new byte[100], new DocumentTextOptions { MaxFileBytes = 99 }));
        await Assert.ThrowsAsync<DocumentTooLargeException>(() => Extract("a.txt", Encoding.UTF8.GetBytes(new string('x', 50)), new DocumentTextOptions { MaxTextChars = 49 }));
    }

    [Fact]
    public async Task EmptyAndBlankDocumentsHaveNoText()
    {
        await Assert.ThrowsAsync<EmptyDocumentException>(() => Extract("a.txt", []));
        await Assert.ThrowsAsync<EmptyDocumentException>(() => Extract("a.txt", Encoding.UTF8.GetBytes(" \n\t\n")));
    }

    [Fact]
    public async Task OtherTypesAreUnsupported()
    {
        Assert.False(DocumentTextExtractor.IsSupported("sheet.xlsx"));
        Assert.True(DocumentTextExtractor.IsSupported("SCAN.TIF"));
        await Assert.ThrowsAsync<UnsupportedDocumentException>(() => Extract("data.json", Encoding.UTF8.GetBytes("{}")));
    }

    [Fact]
    public async Task AMissingPopplerProgramNamesTheAptPackage()
    {
        var options = new DocumentTextOptions { PdfInfoProgram = Path.Combine(_scratch, "no-such-pdfinfo") };
        var e = await Assert.ThrowsAsync<MissingProgramException>(() => Extract("j.pdf", TestDocuments.TextPdf("x"), options));
        Assert.Equal("poppler-utils", e.Package);
        Assert.Contains("apt-get install poppler-utils", e.Message);
    }

    [Fact]
    public async Task AHelperThatRunsTooLongIsKilledAtItsTimeout()
    {
        var slow = Script("slow-pdfinfo", "sleep 60");
        var options = new DocumentTextOptions { PdfInfoProgram = slow, ToolTimeout = TimeSpan.FromMilliseconds(300) };
        var e = await Assert.ThrowsAsync<ToolTimeoutException>(() => Extract("j.pdf", TestDocuments.TextPdf("x"), options));
        Assert.Equal(slow, e.Program);
    }

    [Fact]
    public async Task AHelperThatPrintsWithoutEndIsStoppedAtTheTextLimit()
    {
        var chatty = Script("chatty-pdftotext", "exec yes 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'");
        var options = new DocumentTextOptions { PdfToTextProgram = chatty, MaxTextChars = 100_000 };
        var e = await Assert.ThrowsAsync<DocumentTooLargeException>(() => Extract("j.pdf", TestDocuments.TextPdf("x"), options));
        Assert.Contains("100,000", e.Message);
    }

    [Fact]
    public void OptionsOutOfRangeAreRefused()
    {
        Assert.Throws<ArgumentException>(() => new DocumentTextExtractor(new DocumentTextOptions { MaxPdfPages = 0 }));
        Assert.Throws<ArgumentException>(() => new DocumentTextExtractor(new DocumentTextOptions { OcrLanguages = "jpn+-psm" }));
        Assert.Throws<ArgumentException>(() => new DocumentTextExtractor(new DocumentTextOptions { OcrLanguages = "" }));
    }
}
