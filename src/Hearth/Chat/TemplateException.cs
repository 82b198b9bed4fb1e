namespace Hearth.Chat;

/// <summary>
/// A chat template could not be parsed or rendered. <see cref="Exception.Message"/> reads
/// <c>line N: what went wrong</c>; <see cref="Line"/> and <see cref="Detail"/> give the parts.
/// </summary>
public class TemplateException : HearthException
{
    public TemplateException(int line, string detail)
        : base(line > 0 ? $"line {line}: {detail}" : detail)
    {
        Line = line;
        Detail = detail;
    }

    /// <summary>For subclasses whose message is not the <c>line N: detail</c> form.</summary>
    protected TemplateException(string message, int line, string detail)
        : base(message)
    {
        Line = line;
        Detail = detail;
    }

    /// <summary>The 1-based template line the error belongs to, or 0 when it belongs to no line.</summary>
    public int Line { get; }

    /// <summary>What went wrong, without the line prefix.</summary>
    public string Detail { get; }
}

/// <summary>
/// The template text is not valid in the supported Jinja subset, or uses a construct Hearth does not implement
/// (an unknown or unsupported tag, filter or test). Raised by <see cref="ChatTemplate.Parse(string)"/>.
/// </summary>
public sealed class TemplateSyntaxException : TemplateException
{
    public TemplateSyntaxException(int line, string detail) : base(line, detail) { }
}

/// <summary>
/// The template itself refused the input by calling <c>raise_exception(message)</c>. <see cref="Exception.Message"/>
/// is exactly the template's message (the line is in <see cref="TemplateException.Line"/>).
/// </summary>
public sealed class TemplateRaisedException : TemplateException
{
    public TemplateRaisedException(int line, string message) : base(message, line, message) { }
}
