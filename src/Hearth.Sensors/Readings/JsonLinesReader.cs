namespace Hearth.Sensors;

/// <summary>One line of a JSON-lines stream.</summary>
/// <param name="Number">Its 1-based line number.</param>
/// <param name="Bytes">Its bytes without the line end; only the first <c>limit</c> bytes when <paramref name="Oversized"/>.</param>
/// <param name="Length">Its full length in bytes.</param>
/// <param name="Oversized">True when it was longer than the limit; the rest was skipped unread into memory.</param>
public readonly record struct JsonLine(long Number, ReadOnlyMemory<byte> Bytes, long Length, bool Oversized);

/// <summary>
/// Splits a stream into lines without ever buffering more than a limit per line, so one huge line cannot exhaust memory.
/// Blank lines are skipped (their numbers still count); a trailing <c>\r</c> is removed.
/// </summary>
public static class JsonLinesReader
{
    /// <summary>Reads the lines of <paramref name="stream"/>, keeping at most <paramref name="limit"/> bytes of each.</summary>
    public static IEnumerable<JsonLine> Read(Stream stream, int limit)
    {
        var lines = new JsonLineAssembler(limit);
        var chunk = new byte[64 * 1024];
        var done = new List<JsonLine>();
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            lines.Append(chunk.AsSpan(0, read), done);
            foreach (var line in done) yield return line;
            done.Clear();
        }

        if (lines.Finish() is { } last) yield return last;
    }
}

/// <summary>
/// Assembles lines from bytes that arrive in pieces (a file being appended to, a pipe), with the rules of
/// <see cref="JsonLinesReader"/>: at most <c>limit</c> bytes kept per line, blank lines skipped but counted, a trailing
/// <c>\r</c> removed. A line is complete only at its newline; <see cref="Finish"/> takes an unterminated last line.
/// </summary>
public sealed class JsonLineAssembler
{
    private readonly int _limit;
    private readonly MemoryStream _line = new();
    private long _number = 1, _length;

    /// <summary>Creates an assembler keeping at most <paramref name="limit"/> bytes of each line.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is less than 1.</exception>
    public JsonLineAssembler(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
    }

    /// <summary>True while an unterminated line has bytes waiting for its newline.</summary>
    public bool HasPartialLine => _length > 0;

    /// <summary>Adds bytes; appends every line they complete to <paramref name="completed"/>.</summary>
    public void Append(ReadOnlySpan<byte> chunk, List<JsonLine> completed)
    {
        while (!chunk.IsEmpty)
        {
            int nl = chunk.IndexOf((byte)'\n');
            var part = nl < 0 ? chunk : chunk[..nl];
            int take = (int)Math.Min(part.Length, Math.Max(0, _limit + 1 - _line.Length));
            _line.Write(part[..take]);
            _length += part.Length;
            if (nl < 0) return;
            if (Take() is { } line) completed.Add(line);
            chunk = chunk[(nl + 1)..];
        }
    }

    /// <summary>The unterminated last line, when the input has ended (null when there is none, or it is blank).</summary>
    public JsonLine? Finish() => Take();

    /// <summary>Forgets the partial line and numbers lines from 1 again (the input was truncated or replaced).</summary>
    public void Reset()
    {
        _line.SetLength(0);
        _length = 0;
        _number = 1;
    }

    private JsonLine? Take()
    {
        var bytes = _line.ToArray().AsMemory();
        long length = _length, number = _number++;
        _line.SetLength(0);
        _length = 0;
        if (bytes.Length > 0 && bytes.Span[^1] == (byte)'\r' && length <= _limit + 1)
        {
            bytes = bytes[..^1];
            length--;
        }

        if (length == 0 || bytes.Span.Trim((byte)' ').IsEmpty && length <= _limit) return null;
        bool oversized = length > _limit;
        return new JsonLine(number, oversized ? bytes[..Math.Min(bytes.Length, _limit)] : bytes, length, oversized);
    }
}
