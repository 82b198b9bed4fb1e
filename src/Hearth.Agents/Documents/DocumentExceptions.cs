namespace Hearth.Agents.Documents;

/// <summary>Base of the errors raised while turning one document into text; the message names the file and the problem.</summary>
public class DocumentException : HearthException
{
    public DocumentException(string message) : base(message) { }

    public DocumentException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A helper program the extractor runs (pdftotext, pdftoppm, pdfinfo, tesseract) is not installed.</summary>
public sealed class MissingProgramException(string program, string package)
    : DocumentException($"the program '{program}' is not installed; install it with: sudo apt-get install {package}")
{
    /// <summary>The program that could not be started.</summary>
    public string Program { get; } = program;

    /// <summary>The Debian package that provides it.</summary>
    public string Package { get; } = package;
}

/// <summary>Tesseract is installed but lacks the trained data for a language asked for.</summary>
public sealed class MissingOcrLanguageException(string language, IReadOnlyList<string> installed)
    : DocumentException($"Tesseract has no data for the language '{language}' (installed: {(installed.Count == 0 ? "none" : string.Join(", ", installed))}); " +
        $"install it with: sudo apt-get install tesseract-ocr-{language.Replace('_', '-')}")
{
    /// <summary>The language code (Tesseract's, such as <c>jpn</c>).</summary>
    public string Language { get; } = language;
}

/// <summary>A file is damaged or is not what its name says (a .docx that is not a Word package, binary bytes in a .txt).</summary>
public sealed class CorruptDocumentException : DocumentException
{
    public CorruptDocumentException(string message) : base(message) { }

    public CorruptDocumentException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A file, its page count, its text, or a helper program's output is over a configured limit.</summary>
public sealed class DocumentTooLargeException(string message) : DocumentException(message);

/// <summary>A helper program ran past its timeout and was killed.</summary>
public sealed class ToolTimeoutException(string program, TimeSpan timeout)
    : DocumentException($"'{program}' ran longer than {timeout.TotalSeconds:0.#} s and was stopped (raise the tool timeout for large documents)")
{
    /// <summary>The program that was stopped.</summary>
    public string Program { get; } = program;
}

/// <summary>A file type the extractor does not read (anything but .txt, .md, .docx, .pdf, .png, .jpg, .jpeg, .tif, .tiff).</summary>
public sealed class UnsupportedDocumentException(string message) : DocumentException(message);

/// <summary>A document was read but holds no text (an empty file, a blank scan).</summary>
public sealed class EmptyDocumentException(string message) : DocumentException(message);

/// <summary>A fields schema (fields.json) is not a usable extraction schema; the message names the field and the rule broken.</summary>
public sealed class ExtractionSchemaException : HearthException
{
    public ExtractionSchemaException(string message) : base(message) { }

    public ExtractionSchemaException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The model's answer for a document could not become a row: not JSON, not valid under the schema, cut short,
/// a tool call, or the model failed.</summary>
public sealed class FieldExtractionException : HearthException
{
    public FieldExtractionException(string message) : base(message) { }

    public FieldExtractionException(string message, Exception inner) : base(message, inner) { }
}
