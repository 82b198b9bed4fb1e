using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Hearth.Agents.Code;

/// <summary>What a line of a hunk does.</summary>
public enum HunkLineKind
{
    /// <summary>A line on both sides (<c>' '</c>): it must be in the file and stays.</summary>
    Context,

    /// <summary>A line only on the old side (<c>'-'</c>): it must be in the file and goes.</summary>
    Removed,

    /// <summary>A line only on the new side (<c>'+'</c>): it is inserted.</summary>
    Added,
}

/// <summary>One line of a hunk.</summary>
/// <param name="Kind">Context, removed or added.</param>
/// <param name="Text">The line with its terminator: the diff line's text after its first character, then <c>"\n"</c>,
/// unless a <c>\ No newline at end of file</c> marker follows it (then no terminator). A file line ending in CRLF shows
/// in a faithful diff as text ending in <c>'\r'</c>, so it reads back as <c>"...\r\n"</c>.</param>
/// <param name="DiffLine">The 1-based line of the diff text it came from.</param>
public readonly record struct HunkLine(HunkLineKind Kind, string Text, int DiffLine);

/// <summary>
/// One <c>@@ -a,b +c,d @@</c> hunk. An omitted count is 1. A hunk written as a bare <c>@@</c> (no ranges, as some models
/// write them) has <see cref="HasRange"/> false: its counts come from its body and it is located by its context alone.
/// </summary>
public sealed class Hunk
{
    internal Hunk(int oldStart, int oldCount, int newStart, int newCount, bool hasRange, IReadOnlyList<HunkLine> lines, int diffLine)
    {
        OldStart = oldStart;
        OldCount = oldCount;
        NewStart = newStart;
        NewCount = newCount;
        HasRange = hasRange;
        Lines = lines;
        DiffLine = diffLine;
    }

    /// <summary>The first old line (1-based); with a zero <see cref="OldCount"/>, the line after which the hunk inserts.</summary>
    public int OldStart { get; }

    public int OldCount { get; }

    public int NewStart { get; }

    public int NewCount { get; }

    /// <summary>False for a bare <c>@@</c> header.</summary>
    public bool HasRange { get; }

    public IReadOnlyList<HunkLine> Lines { get; }

    /// <summary>The 1-based line of the diff text holding the <c>@@</c> header.</summary>
    public int DiffLine { get; }

    /// <summary>Context lines before the first removed or added line.</summary>
    public int LeadingContext => CountContext(Lines);

    /// <summary>Context lines after the last removed or added line (0 when the hunk is all context).</summary>
    public int TrailingContext => LeadingContext == Lines.Count ? 0 : CountContext(Lines.Reverse());

    /// <summary>The old side: context and removed lines, in order.</summary>
    public IEnumerable<HunkLine> OldLines => Lines.Where(l => l.Kind != HunkLineKind.Added);

    /// <summary>The new side: context and added lines, in order.</summary>
    public IEnumerable<HunkLine> NewLines => Lines.Where(l => l.Kind != HunkLineKind.Removed);

    private static int CountContext(IEnumerable<HunkLine> lines) => lines.TakeWhile(l => l.Kind == HunkLineKind.Context).Count();
}

/// <summary>The hunks for one file, and what happens to the file.</summary>
/// <param name="OldPath">The path before (<c>a/</c> or <c>b/</c> prefixes of a git diff removed); null for a new file (<c>--- /dev/null</c>).</param>
/// <param name="NewPath">The path after; null for a deleted file (<c>+++ /dev/null</c>).</param>
/// <param name="Hunks">The hunks, in the order they appear (they must apply top to bottom).</param>
/// <param name="DiffLine">The 1-based line of the diff text where this file's header starts.</param>
public sealed record FilePatch(string? OldPath, string? NewPath, IReadOnlyList<Hunk> Hunks, int DiffLine)
{
    public bool IsCreation => OldPath == null;

    public bool IsDeletion => NewPath == null;

    /// <summary>Both paths are named and differ: the file moves (and may change too).</summary>
    public bool IsRename => OldPath != null && NewPath != null && OldPath != NewPath;

    /// <summary>The path that names the file in messages: the new one, or the old one for a deletion.</summary>
    public string DisplayPath => NewPath ?? OldPath!;
}

/// <summary>
/// A parsed unified diff (as <c>diff -u</c>, <c>git diff</c> or a model writes it): one <see cref="FilePatch"/> per file.
/// </summary>
/// <remarks>
/// <para>Paths: git's <c>a/</c> and <c>b/</c> prefixes are removed when both named sides have them, and a lone one
/// when the two sides otherwise name the same file; different paths on the two sides are a rename.</para>
/// <para>Accepted: several files and hunks; <c>@@ -a,b +c,d @@</c> with either count omitted (meaning 1) and any section
/// text after the closing <c>@@</c>; <c>--- /dev/null</c> (new file) and <c>+++ /dev/null</c> (deletion);
/// <c>\ No newline at end of file</c> after the line it applies to; git extended headers (<c>diff --git</c>,
/// <c>new file mode</c>, <c>deleted file mode</c>, <c>rename from/to</c>, <c>index</c>, ...), including header-only
/// renames and empty new or deleted files; timestamps after a tab on <c>---</c>/<c>+++</c> lines; C-quoted paths; and
/// text before, between and after files (a model's prose, Markdown fences), which is skipped.</para>
/// <para>A hunk's counts decide where its body ends, so a removed line that starts with <c>--</c> is not mistaken for a
/// header. The body must hold exactly the counted lines: fewer (the next <c>@@</c> or file comes first) or more (a
/// <c>' '</c>, <c>'+'</c> or <c>'-'</c> line right after it) is an error that gives both numbers. An empty line in a body
/// is read as an empty context line (editors strip the lone space). A bare <c>@@</c> header takes every body line up to
/// the next header or non-body line (trailing empty lines excluded). A diff whose every line ends in CRLF is read as if
/// written with LF (a transport artefact); otherwise a <c>'\r'</c> before a line's LF is part of that line.</para>
/// <para>Binary patches (<c>GIT binary patch</c>, <c>Binary files ... differ</c>) are refused.</para>
/// </remarks>
public sealed partial class UnifiedDiff
{
    private const string DevNull = "/dev/null";

    private UnifiedDiff(IReadOnlyList<FilePatch> files) => Files = files;

    public IReadOnlyList<FilePatch> Files { get; }

    [GeneratedRegex(@"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")]
    private static partial Regex RangeHeader();

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="PatchException">The text has no file in it, a header or hunk is malformed (the message names the
    /// file, hunk and diff line), it is binary, or it is past <paramref name="limits"/> (<see cref="PatchFailure.TooLarge"/>).</exception>
    public static UnifiedDiff Parse(string text, DiffLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        limits ??= DiffLimits.Default;
        limits.Validate();
        if (text.Length > limits.MaxDiffChars)
            throw new PatchException(PatchFailure.TooLarge, $"the diff has {text.Length} characters; at most {limits.MaxDiffChars} are accepted");
        var files = new Parser(SplitDiffLines(text), limits).Run();
        if (files.Count == 0)
            throw new PatchException(PatchFailure.Malformed, "no file in the diff: expected a '--- a/PATH' line, then '+++ b/PATH', then hunks starting '@@ -LINE,COUNT +LINE,COUNT @@'");
        return new UnifiedDiff(files);
    }

    /// <summary>The diff's lines without their LF; a final LF does not start another line. All-CRLF text loses its CRs.</summary>
    private static string[] SplitDiffLines(string text)
    {
        var lines = text.Split('\n');
        if (text.EndsWith('\n')) lines = lines[..^1];
        bool transportCrlf = lines.Length > 0 && lines.All(l => l.EndsWith('\r'));
        if (transportCrlf) lines = [.. lines.Select(l => l[..^1])];
        return lines;
    }

    private sealed class Parser(string[] lines, DiffLimits limits)
    {
        private readonly List<FilePatch> _files = [];
        private int _i;

        // A git extended header waiting for its ---/+++ lines (or standing alone: a rename, an empty new or deleted file).
        private GitHeader? _git;

        public List<FilePatch> Run()
        {
            while (_i < lines.Length)
            {
                var line = lines[_i];
                var head = line.TrimEnd('\r');
                if (head.StartsWith("diff --git ", StringComparison.Ordinal))
                {
                    FlushGitHeader();
                    _git = new GitHeader(_i + 1, head["diff --git ".Length..]);
                    _i++;
                }
                else if (_git != null && _git.TryRead(head))
                {
                    _i++;
                }
                else if (head.StartsWith("GIT binary patch", StringComparison.Ordinal) || (head.StartsWith("Binary files ", StringComparison.Ordinal) && head.EndsWith(" differ", StringComparison.Ordinal)))
                {
                    throw new PatchException(PatchFailure.NotText, $"diff line {_i + 1}: binary patches are not supported", _git?.DisplayPath, diffLine: _i + 1);
                }
                else if (IsFileHeader(_i))
                {
                    ReadFile();
                }
                else if (head.StartsWith("@@", StringComparison.Ordinal))
                {
                    throw new PatchException(PatchFailure.Malformed,
                        $"diff line {_i + 1}: a hunk header with no file header before it; each file needs '--- a/PATH' and '+++ b/PATH' lines before its first '@@'",
                        diffLine: _i + 1);
                }
                else
                {
                    // Prose, a Markdown fence, an 'index' line outside a git header: not part of the diff.
                    FlushGitHeader();
                    _i++;
                }
            }

            FlushGitHeader();
            return _files;
        }

        private bool IsFileHeader(int i) =>
            i + 1 < lines.Length && lines[i].StartsWith("--- ", StringComparison.Ordinal) && lines[i + 1].StartsWith("+++ ", StringComparison.Ordinal);

        private void FlushGitHeader()
        {
            if (_git == null) return;
            var git = _git;
            _git = null;
            if (git.RenameFrom != null && git.RenameTo != null) Add(new FilePatch(git.RenameFrom, git.RenameTo, [], git.DiffLine));
            else if (git.NewFile && git.Paths is var (_, created)) Add(new FilePatch(null, created, [], git.DiffLine));
            else if (git.DeletedFile && git.Paths is var (deleted, _)) Add(new FilePatch(deleted, null, [], git.DiffLine));
            // Otherwise a mode change or an empty header: nothing to do to the content.
        }

        private void Add(FilePatch patch)
        {
            if (_files.Count >= limits.MaxFiles)
                throw new PatchException(PatchFailure.TooLarge, $"the diff touches more than {limits.MaxFiles} files", patch.DisplayPath, diffLine: patch.DiffLine);
            _files.Add(patch);
        }

        private void ReadFile()
        {
            int start = _git?.DiffLine ?? _i + 1;
            var oldRaw = ParsePath(lines[_i], _i + 1);
            var newRaw = ParsePath(lines[_i + 1], _i + 2);
            _git = null;
            if (oldRaw == null && newRaw == null)
                throw new PatchException(PatchFailure.Malformed, $"diff line {_i + 1}: both sides are /dev/null", diffLine: _i + 1);
            // git's a/ and b/ prefixes (patch -p1) go when every named side has its own.
            bool gitPrefixes = (oldRaw == null || oldRaw.StartsWith("a/", StringComparison.Ordinal)) && (newRaw == null || newRaw.StartsWith("b/", StringComparison.Ordinal));
            var oldPath = gitPrefixes && oldRaw != null ? oldRaw[2..] : oldRaw;
            var newPath = gitPrefixes && newRaw != null ? newRaw[2..] : newRaw;
            // One side prefixed and the other not ('--- a/x.cs', '+++ x.cs'): the same file, not a rename.
            if (oldRaw != null && newRaw != null && oldRaw == "a/" + newRaw) oldPath = newRaw;
            if (oldRaw != null && newRaw != null && newRaw == "b/" + oldRaw) newPath = oldRaw;
            string display = newPath ?? oldPath!;
            if (display.Length == 0) throw new PatchException(PatchFailure.Malformed, $"diff line {_i + 1}: the file header names no path", diffLine: _i + 1);
            _i += 2;

            var hunks = new List<Hunk>();
            while (_i < lines.Length && lines[_i].StartsWith("@@", StringComparison.Ordinal))
            {
                if (hunks.Count >= limits.MaxHunksPerFile)
                    throw new PatchException(PatchFailure.TooLarge, $"{display}: more than {limits.MaxHunksPerFile} hunks", display, hunks.Count + 1, _i + 1);
                hunks.Add(ReadHunk(display, hunks.Count + 1));
            }

            if (hunks.Count == 0 && oldPath != null && newPath != null && oldPath == newPath)
                throw new PatchException(PatchFailure.Malformed, $"{display} (diff line {start}): the file header has no hunks after it; expected a line starting '@@ -LINE,COUNT +LINE,COUNT @@'", display, diffLine: _i + 1);
            Add(new FilePatch(oldPath, newPath, hunks, start));
        }

        private string? ParsePath(string line, int diffLine)
        {
            var rest = line[4..].TrimEnd('\r');
            string path;
            if (rest.StartsWith('"'))
            {
                path = Unquote(rest, diffLine);
            }
            else
            {
                int tab = rest.IndexOf('\t');
                path = (tab >= 0 ? rest[..tab] : rest).TrimEnd();
            }

            return path == DevNull ? null : path;
        }

        /// <summary>A git C-style quoted path: <c>"a/with \"quote\"\ttab"</c>, octal escapes for bytes (UTF-8).</summary>
        private static string Unquote(string quoted, int diffLine)
        {
            var bytes = new List<byte>();
            for (int i = 1; i < quoted.Length; i++)
            {
                char c = quoted[i];
                if (c == '"') return Encoding.UTF8.GetString([.. bytes]);
                if (c != '\\')
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
                    continue;
                }

                if (++i >= quoted.Length) break;
                char e = quoted[i];
                if (e is >= '0' and <= '7' && i + 2 < quoted.Length)
                {
                    bytes.Add((byte)Convert.ToInt32(quoted.Substring(i, 3), 8));
                    i += 2;
                    continue;
                }

                bytes.Add(e switch
                {
                    'n' => (byte)'\n',
                    't' => (byte)'\t',
                    'r' => (byte)'\r',
                    'a' => 7,
                    'b' => 8,
                    'f' => 12,
                    'v' => 11,
                    _ => (byte)e,
                });
            }

            throw new PatchException(PatchFailure.Malformed, $"diff line {diffLine}: the quoted path has no closing quote", diffLine: diffLine);
        }

        private Hunk ReadHunk(string file, int index)
        {
            int headerLine = _i + 1;
            var header = lines[_i].TrimEnd('\r');
            var m = RangeHeader().Match(header);
            bool hasRange = m.Success;
            int oldStart = 0, oldCount = 0, newStart = 0, newCount = 0;
            if (hasRange)
            {
                oldStart = Number(m.Groups[1].Value);
                oldCount = m.Groups[2].Success ? Number(m.Groups[2].Value) : 1;
                newStart = Number(m.Groups[3].Value);
                newCount = m.Groups[4].Success ? Number(m.Groups[4].Value) : 1;
                if ((oldCount > 0 && oldStart == 0) || (newCount > 0 && newStart == 0))
                    throw Error($"'{header}' starts a non-empty range at line 0; lines are numbered from 1");
            }
            else if (header.TrimEnd() is not ("@@" or "@@ @@"))
            {
                throw Error($"'{header}' is not a hunk header; expected '@@ -LINE,COUNT +LINE,COUNT @@'");
            }

            _i++;
            var body = new List<HunkLine>();
            int oldLeft = oldCount, newLeft = newCount;
            while (hasRange ? oldLeft > 0 || newLeft > 0 : _i < lines.Length && IsBodyLine(_i))
            {
                // A '--- '/'+++ ' pair that exactly completes the counts is a removed '-- ' and an added '++ ' line.
                if (_i >= lines.Length || (!IsBodyLine(_i) && !(oldLeft == 1 && newLeft == 1 && IsFileHeader(_i))))
                {
                    var (o, n) = CountBody(headerLine);
                    string where = _i >= lines.Length ? "the diff ends" : $"diff line {_i + 1} ('{Shorten(lines[_i])}') is not a hunk line";
                    throw Error($"'{header}' promises {oldCount} old and {newCount} new lines, but {where} after {o} old and {n} new; "
                        + "the counts must equal the context+removed (old) and context+added (new) lines of the body");
                }

                var line = lines[_i];
                if (line.StartsWith('\\'))
                {
                    if (!MarkNoNewline(body)) throw Error(NoNewlineMisplaced);
                    _i++;
                    continue;
                }

                var kind = line.Length == 0 ? HunkLineKind.Context : line[0] switch
                {
                    ' ' => HunkLineKind.Context,
                    '-' => HunkLineKind.Removed,
                    _ => HunkLineKind.Added,
                };
                if (hasRange && ((kind != HunkLineKind.Added && oldLeft == 0) || (kind != HunkLineKind.Removed && newLeft == 0)))
                {
                    var (o, n) = CountBody(headerLine);
                    throw Error($"'{header}' promises {oldCount} old and {newCount} new lines, but the body has {o} old and {n} new "
                        + $"(diff line {_i + 1} is one too many); the counts must equal the context+removed (old) and context+added (new) lines");
                }

                if (kind != HunkLineKind.Added) oldLeft--;
                if (kind != HunkLineKind.Removed) newLeft--;
                body.Add(new HunkLine(kind, (line.Length == 0 ? "" : line[1..]) + "\n", _i + 1));
                _i++;
            }

            if (!hasRange)
            {
                // A bare @@ hunk ends at the last non-empty line: a blank line before the next header is a separator.
                while (body.Count > 0 && body[^1].Text == "\n" && lines[body[^1].DiffLine - 1].Length == 0)
                {
                    body.RemoveAt(body.Count - 1);
                }

                if (body.Count == 0) throw Error($"the hunk at diff line {headerLine} has no lines");
                oldCount = body.Count(l => l.Kind != HunkLineKind.Added);
                newCount = body.Count(l => l.Kind != HunkLineKind.Removed);
            }
            else
            {
                if (_i < lines.Length && lines[_i].StartsWith('\\'))
                {
                    if (!MarkNoNewline(body)) throw Error(NoNewlineMisplaced);
                    _i++;
                }

                if (_i < lines.Length && lines[_i].Length > 0 && lines[_i][0] is (' ' or '+' or '-') && !IsFileHeader(_i))
                {
                    var (o, n) = CountBody(headerLine);
                    throw Error($"'{header}' promises {oldCount} old and {newCount} new lines, but the body goes on (diff line {_i + 1}) to {o} old and {n} new; "
                        + "the counts must equal the context+removed (old) and context+added (new) lines");
                }
            }

            if (body.All(l => l.Kind == HunkLineKind.Context)) throw Error($"the hunk at diff line {headerLine} changes nothing (it has no '+' or '-' line)");
            return new Hunk(oldStart, oldCount, newStart, newCount, hasRange, body, headerLine);

            PatchException Error(string message) => new(PatchFailure.Malformed, $"{file}, hunk {index} (diff line {headerLine}): {message}", file, index, _i < lines.Length ? _i + 1 : headerLine);

            int Number(string digits) => int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                ? v
                : throw Error($"'{header}' has a line number or count past {int.MaxValue}");
        }

        private const string NoNewlineMisplaced = "'\\ No newline at end of file' must come right after the line it applies to, once";

        /// <summary>Takes the terminator off the last line of <paramref name="body"/>; false when there is none to take.</summary>
        private static bool MarkNoNewline(List<HunkLine> body)
        {
            if (body.Count == 0 || !body[^1].Text.EndsWith('\n')) return false;
            body[^1] = body[^1] with { Text = body[^1].Text[..^1] };
            return true;
        }

        /// <summary>
        /// Whether line <paramref name="i"/> can be a line of a hunk body: it starts with ' ', '-', '+' or '\' or is
        /// empty, and is not a hunk header or the start of the next file.
        /// </summary>
        private bool IsBodyLine(int i)
        {
            var line = lines[i];
            if (line.Length == 0) return true;
            if (line[0] is not (' ' or '-' or '+' or '\\')) return false;
            // '--- x' then '+++ y' then '@@' is the next file even inside a hunk whose counts are not reached.
            return !(IsFileHeader(i) && (i + 2 >= lines.Length || lines[i + 2].StartsWith("@@", StringComparison.Ordinal) || lines[i + 2].Length == 0));
        }

        /// <summary>The old and new line counts of the body that starts after header line <paramref name="headerLine"/>, for messages.</summary>
        private (int Old, int New) CountBody(int headerLine)
        {
            int o = 0, n = 0;
            for (int j = headerLine; j < lines.Length && IsBodyLine(j); j++)
            {
                var l = lines[j];
                if (l.StartsWith('\\')) continue;
                if (l.Length == 0 || l[0] != '+') o++;
                if (l.Length == 0 || l[0] != '-') n++;
            }

            return (o, n);
        }

        private static string Shorten(string s) => s.Length <= 60 ? s : s[..57] + "...";
    }

    /// <summary>The extended header of one file in a git diff.</summary>
    private sealed class GitHeader(int diffLine, string paths)
    {
        public int DiffLine { get; } = diffLine;

        public bool NewFile { get; private set; }

        public bool DeletedFile { get; private set; }

        public string? RenameFrom { get; private set; }

        public string? RenameTo { get; private set; }

        /// <summary>The two paths of <c>diff --git a/X b/Y</c> without their prefixes, when they can be told apart.</summary>
        public (string Old, string New)? Paths
        {
            get
            {
                if (!paths.StartsWith("a/", StringComparison.Ordinal)) return null;
                int split = paths.IndexOf(" b/", StringComparison.Ordinal);
                return split < 0 ? null : (paths[2..split], paths[(split + 3)..]);
            }
        }

        public string? DisplayPath => RenameTo ?? Paths?.New;

        public bool TryRead(string line)
        {
            if (line.StartsWith("new file mode ", StringComparison.Ordinal)) NewFile = true;
            else if (line.StartsWith("deleted file mode ", StringComparison.Ordinal)) DeletedFile = true;
            else if (line.StartsWith("rename from ", StringComparison.Ordinal)) RenameFrom = line["rename from ".Length..];
            else if (line.StartsWith("rename to ", StringComparison.Ordinal)) RenameTo = line["rename to ".Length..];
            else if (!(line.StartsWith("index ", StringComparison.Ordinal) || line.StartsWith("old mode ", StringComparison.Ordinal)
                       || line.StartsWith("new mode ", StringComparison.Ordinal) || line.StartsWith("similarity index ", StringComparison.Ordinal)
                       || line.StartsWith("dissimilarity index ", StringComparison.Ordinal))) return false;
            return true;
        }
    }
}
