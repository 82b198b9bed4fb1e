using System.Text;

namespace Hearth.Agents.Code;

/// <summary>
/// Applies one file's hunks to its text, in memory. Nothing is written: the caller decides what to do with the result.
/// </summary>
/// <remarks>
/// <para><b>Lines.</b> A file is split after each LF; a line keeps its terminator (<c>"\n"</c> or <c>"\r\n"</c>; the last
/// line may have none), and a hunk line matches a file line only when both, terminator included, are equal. So a faithful
/// diff (<c>diff -u</c>, <c>git diff</c>) reproduces any mix of line endings and a missing final newline exactly. One
/// translation is made: when the file is all CRLF and no line of this file's hunks carries a CR (the diff was written with
/// LF, as models and most tools on Linux write them), every hunk line's LF is read as CRLF, so a CRLF file stays CRLF.</para>
/// <para><b>Locating a hunk</b> (the rule of patch(1), simplified). Hunks apply top to bottom and may not overlap. A hunk
/// is looked for where its header says (its old start, moved by how far the hunks before it landed from their stated
/// lines), then one line after, one before, two after, two before, ..., at most <see cref="DiffLimits.MaxOffset"/> lines
/// away and never before the end of the previous hunk. A hunk written as a bare <c>@@</c> is looked for from the end of the
/// previous hunk onwards. When no position matches exactly, the search is repeated ignoring the first and last context
/// line of the hunk (fuzz 1), then the first and last two (fuzz 2), up to <see cref="DiffLimits.MaxFuzz"/>; removed lines
/// and the context between changes are always checked, and a fuzz that would leave nothing to check is not tried. The
/// nearest position at the lowest fuzz wins. A hunk with no old lines (a pure insertion) goes exactly where its header
/// says.</para>
/// </remarks>
public static class PatchApplier
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly byte[] s_bom = [0xEF, 0xBB, 0xBF];

    /// <summary>
    /// Applies <paramref name="patch"/> to a file's bytes: UTF-8 text, with or without a byte order mark (kept as it was).
    /// </summary>
    /// <param name="patch">The file's hunks.</param>
    /// <param name="original">The file's bytes; null when it does not exist (only a creation may have none).</param>
    /// <param name="limits">Size, fuzz and offset bounds; <see cref="DiffLimits.Default"/> when null.</param>
    /// <returns>The new bytes, or null when the patch deletes the file.</returns>
    /// <exception cref="PatchException">The file is not UTF-8 text (<see cref="PatchFailure.NotText"/>), is too large,
    /// exists for a creation or is missing otherwise (<see cref="PatchFailure.Conflict"/>), or a hunk does not apply.</exception>
    public static byte[]? Apply(FilePatch patch, byte[]? original, DiffLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(patch);
        limits ??= DiffLimits.Default;
        string? text = null;
        bool bom = false;
        if (original != null) (text, bom) = Decode(original, patch.OldPath ?? patch.DisplayPath, limits);
        var result = ApplyText(patch, text, limits);
        if (result == null) return null;
        var bytes = bom ? [.. s_bom, .. Encoding.UTF8.GetBytes(result)] : Encoding.UTF8.GetBytes(result);
        if (bytes.Length > limits.MaxFileBytes)
            throw new PatchException(PatchFailure.TooLarge, $"{patch.DisplayPath}: the patched file would have {bytes.Length} bytes; at most {limits.MaxFileBytes} are accepted", patch.DisplayPath);
        return bytes;
    }

    /// <summary>Applies <paramref name="patch"/> to a file's text (null when the file does not exist).</summary>
    /// <returns>The new text, or null when the patch deletes the file.</returns>
    /// <exception cref="PatchException">As for <see cref="Apply"/>.</exception>
    public static string? ApplyText(FilePatch patch, string? original, DiffLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(patch);
        limits ??= DiffLimits.Default;
        limits.Validate();
        string file = patch.DisplayPath;
        if (patch.IsCreation && original != null)
            throw new PatchException(PatchFailure.Conflict, $"{file}: the diff creates it (--- /dev/null) but it already exists; patch the existing file instead", file, diffLine: patch.DiffLine);
        if (!patch.IsCreation && original == null)
            throw new PatchException(PatchFailure.Conflict, $"{patch.OldPath}: no such file; to create it, use '--- /dev/null' and '+++ b/{file}'", patch.OldPath, diffLine: patch.DiffLine);

        var lines = SplitLines(original ?? "");
        bool translate = IsAllCrlf(lines) && !patch.Hunks.Any(h => h.Lines.Any(l => l.Text.Contains('\r')));
        var output = new List<string>(lines.Count);
        int copied = 0;  // Lines of the original before this index are already in the output (or replaced).
        int offset = 0;  // Where the last ranged hunk landed, relative to its header.
        for (int k = 0; k < patch.Hunks.Count; k++)
        {
            var hunk = patch.Hunks[k];
            var oldSide = hunk.OldLines.Select(l => Translate(l.Text, translate)).ToList();
            var newSide = hunk.NewLines.Select(l => Translate(l.Text, translate)).ToList();
            int stated = !hunk.HasRange ? copied : hunk.OldCount == 0 ? hunk.OldStart : hunk.OldStart - 1;
            var (at, dropLead, dropTrail) = Locate(lines, oldSide, hunk, stated + offset, copied, limits);
            if (at < 0) throw NoMatch(patch, k, hunk, lines, oldSide, newSide, stated + offset, copied, translate, limits.MaxFuzz);

            output.AddRange(lines.Skip(copied).Take(at - copied));
            output.AddRange(newSide.Skip(dropLead).Take(newSide.Count - dropLead - dropTrail));
            copied = at + oldSide.Count - dropLead - dropTrail;
            if (hunk.HasRange) offset = at - dropLead - stated;
        }

        output.AddRange(lines.Skip(copied));
        for (int i = 0; i < output.Count - 1; i++)
        {
            if (!output[i].EndsWith('\n'))
                throw new PatchException(PatchFailure.DoesNotApply,
                    $"{file}: a line without a newline ('\\ No newline at end of file') would end up at line {i + 1}, before other lines; only the last line may lack one",
                    file, fileLine: i + 1);
        }

        if (patch.IsDeletion)
        {
            if (output.Count > 0)
                throw new PatchException(PatchFailure.DoesNotApply,
                    $"{patch.OldPath}: the diff deletes it (+++ /dev/null), but {output.Count} of its {lines.Count} lines are not among the removed lines; a deletion must remove every line",
                    patch.OldPath, fileLine: 1);
            return null;
        }

        return string.Concat(output);
    }

    /// <summary>The file's lines, each with its terminator; the last may have none. Empty text has no lines.</summary>
    public static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            int lf = text.IndexOf('\n', start);
            int end = lf < 0 ? text.Length : lf + 1;
            lines.Add(text[start..end]);
            start = end;
        }

        return lines;
    }

    /// <summary>
    /// A file's bytes as text: UTF-8 (strict) without the byte order mark, and whether there was one.
    /// </summary>
    /// <exception cref="PatchException">Too large, or not UTF-8 text (a NUL byte or an invalid sequence).</exception>
    public static (string Text, bool Bom) Decode(byte[] bytes, string file, DiffLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        limits ??= DiffLimits.Default;
        if (bytes.Length > limits.MaxFileBytes)
            throw new PatchException(PatchFailure.TooLarge, $"{file}: {bytes.Length} bytes; files over {limits.MaxFileBytes} bytes are not patched", file);
        bool bom = bytes.AsSpan().StartsWith(s_bom);
        var body = bom ? bytes.AsSpan(3) : bytes;
        if (body.IndexOf((byte)0) >= 0) throw new PatchException(PatchFailure.NotText, $"{file}: a binary file (it has NUL bytes); only text files can be patched", file);
        try
        {
            return (s_strictUtf8.GetString(body), bom);
        }
        catch (DecoderFallbackException)
        {
            throw new PatchException(PatchFailure.NotText, $"{file}: not UTF-8 text; only UTF-8 files can be patched", file);
        }
    }

    private static bool IsAllCrlf(List<string> lines)
    {
        bool any = false;
        foreach (var line in lines)
        {
            if (!line.EndsWith('\n')) continue;
            if (!line.EndsWith("\r\n", StringComparison.Ordinal)) return false;
            any = true;
        }

        return any;
    }

    private static string Translate(string line, bool toCrlf) => toCrlf && line.EndsWith('\n') ? line[..^1] + "\r\n" : line;

    /// <summary>Where the hunk's old side (less the context its fuzz drops) starts in the file, or -1.</summary>
    private static (int At, int DropLead, int DropTrail) Locate(List<string> lines, List<string> oldSide, Hunk hunk, int expected, int min, DiffLimits limits)
    {
        if (oldSide.Count == 0) return expected >= min && expected <= lines.Count ? (expected, 0, 0) : (-1, 0, 0);
        int lead = hunk.LeadingContext, trail = hunk.TrailingContext;
        var tried = new HashSet<(int, int)>();
        for (int fuzz = 0; fuzz <= limits.MaxFuzz; fuzz++)
        {
            int a = Math.Min(fuzz, lead), b = Math.Min(fuzz, trail);
            if (!tried.Add((a, b)) || oldSide.Count - a - b == 0) continue;
            int at = Search(lines, oldSide, a, oldSide.Count - a - b, expected + a, min, limits.MaxOffset);
            if (at >= 0) return (at, a, b);
        }

        return (-1, 0, 0);
    }

    /// <summary>
    /// The position nearest <paramref name="expected"/> (after, then before, at each distance) where
    /// <paramref name="pattern"/>[<paramref name="from"/>..+<paramref name="count"/>] is in the file, or -1.
    /// </summary>
    private static int Search(List<string> lines, List<string> pattern, int from, int count, int expected, int min, int maxOffset)
    {
        int max = lines.Count - count;
        if (max < min) return -1;
        expected = Math.Clamp(expected, min, max);
        for (long d = 0; d <= maxOffset; d++)
        {
            long after = expected + d, before = expected - d;
            bool afterIn = after <= max, beforeIn = d > 0 && before >= min;
            if (!afterIn && before < min) break;
            if (afterIn && MatchesAt(lines, (int)after, pattern, from, count)) return (int)after;
            if (beforeIn && MatchesAt(lines, (int)before, pattern, from, count)) return (int)before;
        }

        return -1;
    }

    private static bool MatchesAt(List<string> lines, int at, List<string> pattern, int from, int count)
    {
        for (int i = 0; i < count; i++)
        {
            if (!string.Equals(lines[at + i], pattern[from + i], StringComparison.Ordinal)) return false;
        }

        return true;
    }

    /// <summary>Says where a hunk that matches nowhere first differs from the file at its stated position.</summary>
    private static PatchException NoMatch(FilePatch patch, int k, Hunk hunk, List<string> lines, List<string> oldSide, List<string> newSide, int expected, int min, bool translated, int maxFuzz)
    {
        string file = patch.DisplayPath;
        string where = $"{file}, hunk {k + 1} (diff line {hunk.DiffLine})";
        if (oldSide.Count == 0)
            return new PatchException(PatchFailure.DoesNotApply, $"{where}: it inserts after line {expected} but the file has {lines.Count} lines{(min > 0 ? $" and the previous hunk ends at line {min}" : "")}",
                file, k + 1, hunk.DiffLine, expected);

        int at = Math.Clamp(expected, min, lines.Count);
        var oldLines = hunk.OldLines.ToList();
        string detail = $"the file ends after line {lines.Count}";
        int fileLine = lines.Count;
        int diffLine = hunk.DiffLine;
        for (int i = 0; i < oldSide.Count; i++)
        {
            if (at + i >= lines.Count)
            {
                diffLine = oldLines[i].DiffLine;
                break;
            }

            if (lines[at + i] != oldSide[i])
            {
                fileLine = at + i + 1;
                diffLine = oldLines[i].DiffLine;
                detail = $"line {fileLine} of the file is {Show(lines[at + i])} where the hunk has {Show(oldSide[i])} (diff line {diffLine})";
                break;
            }
        }

        var sb = new StringBuilder();
        sb.Append(where).Append(": its context and removed lines are not in the file");
        if (hunk.HasRange) sb.Append(" at line ").Append(expected + 1).Append(" or any other place");
        sb.Append(" (searched every allowed offset with fuzz up to ").Append(maxFuzz).Append("); ");
        sb.Append(detail).Append('.');
        if (translated) sb.Append(" (The file's CRLF line ends were taken into account.)");
        int applied = newSide.Count == 0 ? -1 : Search(lines, newSide, 0, newSide.Count, at, 0, int.MaxValue);
        if (applied >= 0) sb.Append($" Its new side is already in the file at line {applied + 1}: was it applied already?");
        return new PatchException(PatchFailure.DoesNotApply, sb.ToString(), file, k + 1, diffLine, fileLine);
    }

    /// <summary>A file or hunk line for a message: quoted, control characters escaped, the LF dropped, long ones cut.</summary>
    private static string Show(string line)
    {
        bool terminated = line.EndsWith('\n');
        var body = terminated ? line[..^1] : line;
        var sb = new StringBuilder("\"");
        foreach (char c in body.Length > 100 ? body[..100] : body)
        {
            sb.Append(c switch
            {
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                '\\' => "\\\\",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }

        sb.Append(body.Length > 100 ? "...\"" : "\"");
        return terminated ? sb.ToString() : sb.Append(" (with no newline after it)").ToString();
    }
}
