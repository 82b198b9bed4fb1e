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
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var chunk = new byte[64 * 1024];
        var line = new MemoryStream();
        long number = 1, length = 0;
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            int start = 0;
            while (start < read)
            {
                int nl = Array.IndexOf(chunk, (byte)'\n', start, read - start);
                int end = nl < 0 ? read : nl;
                int take = (int)Math.Min(end - start, Math.Max(0, limit + 1 - line.Length));
                line.Write(chunk, start, take);
                length += end - start;
                if (nl < 0) break;
                if (Finish(line, number, length, limit) is { } done) yield return done;
                number++;
                length = 0;
                line.SetLength(0);
                start = nl + 1;
            }
        }

        if (Finish(line, number, length, limit) is { } last) yield return last;
    }

    private static JsonLine? Finish(MemoryStream line, long number, long length, int limit)
    {
        var bytes = line.ToArray().AsMemory();
        if (bytes.Length > 0 && bytes.Span[^1] == (byte)'\r' && length <= limit + 1)
        {
            bytes = bytes[..^1];
            length--;
        }

        if (length == 0 || bytes.Span.Trim((byte)' ').IsEmpty && length <= limit) return null;
        bool oversized = length > limit;
        return new JsonLine(number, oversized ? bytes[..Math.Min(bytes.Length, limit)] : bytes, length, oversized);
    }
}
