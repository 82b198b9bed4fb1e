using System.IO.Packaging;
using System.Text;
using System.Xml;
using DocumentFormat.OpenXml;
using DocumentFormat.OpenXml.Packaging;
using DocumentFormat.OpenXml.Wordprocessing;

namespace Hearth.Agents.Documents;

/// <summary>
/// The text of a Word document's body (.docx, through DocumentFormat.OpenXml): paragraphs and tables in document
/// order; a table row is one line with its cells separated by tabs; tabs and line breaks inside a paragraph are kept.
/// Headers, footers, comments and deleted (tracked) text are left out.
/// </summary>
internal static class DocxText
{
    /// <exception cref="CorruptDocumentException">The file is not a readable Word package.</exception>
    /// <exception cref="DocumentTooLargeException">A part of the package unpacks to more than <paramref name="maxChars"/> characters.</exception>
    public static string Read(string name, byte[] bytes, int maxChars)
    {
        if (bytes is not [(byte)'P', (byte)'K', ..]) throw new CorruptDocumentException($"{name}: not a .docx (a Word document is a ZIP package; this file does not start like one)");
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            // MaxCharactersInPart bounds what one XML part may unpack to, so a small ZIP cannot expand without limit.
            using var document = WordprocessingDocument.Open(stream, false, new OpenSettings { MaxCharactersInPart = maxChars * 8L });
            var body = document.MainDocumentPart?.Document?.Body ?? throw new CorruptDocumentException($"{name}: the Word package has no document body");
            var text = new StringBuilder();
            AppendBlocks(body, text, maxChars);
            return text.ToString();
        }
        catch (Exception e) when (e is OpenXmlPackageException or FileFormatException or InvalidDataException or XmlException or InvalidOperationException)
        {
            if (e.Message.Contains("MaxCharactersInPart", StringComparison.Ordinal) || e.InnerException?.Message.Contains("MaxCharactersInPart", StringComparison.Ordinal) == true)
            {
                throw new DocumentTooLargeException($"{name}: a part of the Word package unpacks to more than the limit of {maxChars * 8L:N0} characters");
            }

            throw new CorruptDocumentException($"{name}: not a readable Word document ({e.Message})", e);
        }
    }

    private static void AppendBlocks(OpenXmlElement container, StringBuilder text, int maxChars)
    {
        foreach (var element in container.Elements())
        {
            if (text.Length > maxChars) throw new DocumentTooLargeException($"the document's text is longer than the limit of {maxChars:N0} characters");
            switch (element)
            {
                case Paragraph paragraph:
                    AppendParagraph(paragraph, text);
                    text.Append('\n');
                    break;
                case Table table:
                    foreach (var row in table.Elements<TableRow>())
                    {
                        bool first = true;
                        foreach (var cell in row.Elements<TableCell>())
                        {
                            if (!first) text.Append('\t');
                            first = false;
                            var inner = new StringBuilder();
                            AppendBlocks(cell, inner, maxChars);
                            // A cell's paragraphs (and nested tables) stay on the row's line.
                            text.Append(inner.ToString().Trim().Replace('\n', ' ').Replace('\t', ' '));
                        }

                        text.Append('\n');
                    }

                    break;
                case SectionProperties or TableCellProperties or ParagraphProperties:
                    break;
                default:
                    // Content controls, custom XML and smart tags wrap paragraphs and tables: look inside.
                    AppendBlocks(element, text, maxChars);
                    break;
            }
        }
    }

    private static void AppendParagraph(Paragraph paragraph, StringBuilder text)
    {
        foreach (var element in paragraph.Descendants())
        {
            switch (element)
            {
                case Text t:
                    text.Append(t.Text);
                    break;
                case TabChar:
                    text.Append('\t');
                    break;
                case Break or CarriageReturn:
                    text.Append('\n');
                    break;
            }
        }
    }
}
