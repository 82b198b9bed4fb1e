using System.Text;
using Hearth.Agents.Approval;
using Hearth.Agents.Code;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// Random texts A and B, a diff made by the real programs (GNU diff, git), applied by our applier to A: it must give B
/// exactly, byte for byte, line endings and missing final newlines included.
/// </summary>
public sealed class DiffPropertyTests : IDisposable
{
    private static readonly string[] s_vocabulary =
    [
        "", " ", "a", "b", "c", "a", "b", "{", "}", "-- x", "++ y", "--- z", "+++ w", "@@ -1 +1 @@", "\\ no", "  indented",
        "tab\there", "é ü 字 🔥", "carriage\rinside", "return x;", "    return x;",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-diffprop-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private enum Endings
    {
        Lf,
        Crlf,
        Mixed,
    }

    private static string Ending(Random rng, Endings mode) => mode switch
    {
        Endings.Lf => "\n",
        Endings.Crlf => "\r\n",
        _ => rng.Next(2) == 0 ? "\n" : "\r\n",
    };

    private static List<string> RandomLines(Random rng, int maxLines, Endings mode)
    {
        var lines = new List<string>();
        int n = rng.Next(maxLines + 1);
        for (int i = 0; i < n; i++) lines.Add(s_vocabulary[rng.Next(s_vocabulary.Length)] + Ending(rng, mode));
        if (lines.Count > 0 && rng.Next(5) == 0) lines[^1] = lines[^1].TrimEnd('\n').TrimEnd('\r');
        return lines;
    }

    /// <summary>B from A: a few deletions, insertions, replacements and line-end changes, or a different text.</summary>
    private static List<string> Mutate(Random rng, List<string> a, Endings mode)
    {
        if (rng.Next(10) == 0) return RandomLines(rng, 30, mode);
        var b = a.Select(l => l.EndsWith('\n') ? l : l + Ending(rng, mode)).ToList();
        bool finalNewline = a.Count == 0 || a[^1].EndsWith('\n') ? rng.Next(8) != 0 : rng.Next(2) == 0;
        for (int k = rng.Next(1, 5); k > 0; k--)
        {
            int at = rng.Next(b.Count + 1);
            switch (rng.Next(4))
            {
                case 0 when at < b.Count:
                    b.RemoveAt(at);
                    break;
                case 1 when at < b.Count:
                    b[at] = s_vocabulary[rng.Next(s_vocabulary.Length)] + Ending(rng, mode);
                    break;
                case 2 when at < b.Count:
                    b[at] = b[at].EndsWith("\r\n", StringComparison.Ordinal) ? b[at][..^2] + "\n" : b[at][..^1] + "\r\n";
                    break;
                default:
                    for (int j = rng.Next(1, 4); j > 0; j--) b.Insert(at, s_vocabulary[rng.Next(s_vocabulary.Length)] + Ending(rng, mode));
                    break;
            }
        }

        if (b.Count > 0 && !finalNewline) b[^1] = b[^1].TrimEnd('\n').TrimEnd('\r');
        return b;
    }

    private static (int Code, string Out) Run(string program, string workingDirectory, params string[] args)
    {
        var (code, stdout, stderr) = TestProcess.Run(program, workingDirectory, args);
        if (code > 1) throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({code}): {stderr}");
        return (code, stdout);
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(1, 2)]
    [InlineData(0, 3)]
    [InlineData(7, 4)]
    public void GnuDiffOfRandomTextsAppliesToExactlyTheSecond(int context, int seed)
    {
        var rng = new Random(seed);
        var fileA = Path.Combine(_dir, "A");
        var fileB = Path.Combine(_dir, "B");
        int compared = 0;
        for (int i = 0; i < 120; i++)
        {
            var mode = (Endings)rng.Next(3);
            var a = RandomLines(rng, 30, mode);
            var b = Mutate(rng, a, mode);
            // Without context a hunk that only inserts LF lines into an all-CRLF file is ambiguous: the applier reads it
            // as written with LF and keeps the file CRLF (its documented rule). Keep those out of the zero-context runs.
            if (context == 0 && a.Any(l => l.EndsWith("\r\n", StringComparison.Ordinal)) && a.All(l => !l.EndsWith('\n') || l.EndsWith("\r\n", StringComparison.Ordinal))) continue;
            string textA = string.Concat(a), textB = string.Concat(b);
            File.WriteAllBytes(fileA, Encoding.UTF8.GetBytes(textA));
            File.WriteAllBytes(fileB, Encoding.UTF8.GetBytes(textB));
            var (code, diff) = Run("diff", _dir, $"-U{context}", "--label", "a/f", "--label", "b/f", "A", "B");
            if (code == 0) continue;
            var patch = Assert.Single(UnifiedDiff.Parse(diff).Files);
            var result = PatchApplier.ApplyText(patch, textA);
            Assert.True(textB == result, $"case {i}: applying\n{diff}\nto {Show(textA)}\ngave {Show(result)}\nnot {Show(textB)}");
            compared++;
        }

        Assert.True(compared > 60, $"only {compared} cases had a difference");
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void HunksFoundAtAnOffsetGiveTheSameTextAsGnuPatch(int seed)
    {
        // Unique lines, so the only match is the right one; lines are added above and below after the diff is made.
        var rng = new Random(seed);
        int agreed = 0;
        for (int i = 0; i < 40; i++)
        {
            var a = Enumerable.Range(0, rng.Next(5, 40)).Select(n => $"line {n}\n").ToList();
            var b = a.ToList();
            for (int k = rng.Next(1, 4); k > 0; k--)
            {
                int at = rng.Next(b.Count);
                if (rng.Next(2) == 0) b.RemoveAt(at);
                else b.Insert(at, $"new {i}.{k}\n");
            }

            File.WriteAllText(Path.Combine(_dir, "A"), string.Concat(a));
            File.WriteAllText(Path.Combine(_dir, "B"), string.Concat(b));
            var (code, diff) = Run("diff", _dir, "-u", "--label", "a/f", "--label", "b/f", "A", "B");
            if (code == 0) continue;
            var above = Enumerable.Range(0, rng.Next(1, 12)).Select(n => $"above {n}\n");
            var below = Enumerable.Range(0, rng.Next(0, 5)).Select(n => $"below {n}\n");
            string shifted = string.Concat(above.Concat(a).Concat(below));
            string expected = string.Concat(above.Concat(b).Concat(below));
            var result = PatchApplier.ApplyText(UnifiedDiff.Parse(diff).Files[0], shifted);
            Assert.Equal(expected, result);

            // GNU patch, whose rule ours follows, agrees wherever it applies the diff. It refuses to move a hunk with
            // fewer context lines on one side than the other (it takes it to be anchored at the start or end of the
            // file); ours moves it, as the expected text shows is right here.
            var target = Path.Combine(_dir, "T");
            File.WriteAllText(target, shifted);
            File.WriteAllText(Path.Combine(_dir, "D"), diff);
            if (Run("patch", _dir, "--quiet", "--force", "--no-backup-if-mismatch", "--reject-file=-", "-i", "D", "T").Code != 0) continue;
            Assert.Equal(expected, File.ReadAllText(target));
            agreed++;
        }

        Assert.True(agreed > 15, $"GNU patch applied only {agreed} of the diffs");
    }

    [Theory]
    [InlineData(21)]
    [InlineData(23)]
    public async Task GitDiffsOfRandomTreesApplyThroughTheEditSession(int seed)
    {
        // Several files: edited, created, deleted (empty ones too), renamed with and without changes; git writes the diff.
        var rng = new Random(seed);
        string[] names = ["a.txt", "b.txt", "src/c.cs.txt", "src/deep/d.txt", "e f.txt", "ü.txt", "g.txt", "h.txt"];
        int applied = 0, renames = 0, creations = 0, deletions = 0;
        var git = Path.Combine(_dir, "git");
        Directory.CreateDirectory(git);
        Run("git", git, "init", "-q", ".");
        for (int i = 0; i < 12; i++)
        {
            var repo = Path.Combine(_dir, $"repo{i}");
            var mode = (Endings)rng.Next(3);
            var treeA = new Dictionary<string, string>();
            foreach (var name in names.Where(_ => rng.Next(2) == 0)) treeA[name] = string.Concat(RandomLines(rng, 20, mode));
            var treeB = new Dictionary<string, string>();
            foreach (var (name, text) in treeA)
            {
                switch (rng.Next(6))
                {
                    case 0:
                        break; // deleted
                    case 1:
                        treeB["moved/" + name] = text; // renamed as is
                        break;
                    case 2:
                        treeB["moved/" + name] = string.Concat(Mutate(rng, [.. PatchApplier.SplitLines(text)], mode)); // renamed and edited
                        break;
                    case 3:
                        treeB[name] = text;
                        break;
                    default:
                        treeB[name] = string.Concat(Mutate(rng, [.. PatchApplier.SplitLines(text)], mode));
                        break;
                }
            }

            foreach (var name in names.Where(n => !treeA.ContainsKey(n) && rng.Next(4) == 0)) treeB[name] = string.Concat(RandomLines(rng, 10, mode));
            string a = WriteTree(git, treeA), b = WriteTree(git, treeB);
            var (_, diff) = Run("git", git, "-c", "core.quotepath=off", "diff", "--no-color", "--no-ext-diff", "-M", a, b);
            if (diff.Length == 0) continue;
            renames += diff.Contains("\nrename from ") ? 1 : 0;
            creations += diff.Contains("\nnew file mode ") ? 1 : 0;
            deletions += diff.Contains("\ndeleted file mode ") ? 1 : 0;

            Directory.CreateDirectory(repo);
            foreach (var (name, text) in treeA) Write(repo, name, text);
            // The real workspace, with the moves and deletes a diff asks for approved.
            using var run = new TestRun(state => CodeEditPolicy.For(repo, null, TimeSpan.FromMinutes(1), state), FixedApprovalProvider.ApproveAll);
            var session = new CodeEditSession(new ScriptedChatClientDouble(), run.Workspace, new CodeEditOptions { Repository = repo, Task = "-" });
            var attempt = await session.ProposeAsync(1, diff);
            Assert.True(attempt.Status == EditStatus.Kept, $"case {i}: {attempt.Message}\n{diff}");
            var after = Directory.EnumerateFiles(repo, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(repo, f).Replace('\\', '/'), f => Encoding.UTF8.GetString(File.ReadAllBytes(f)));
            Assert.Equal(treeB.OrderBy(kv => kv.Key, StringComparer.Ordinal), after.OrderBy(kv => kv.Key, StringComparer.Ordinal));
            applied++;
        }

        Assert.True(applied > 6, $"only {applied} trees differed");
        Assert.True(renames > 0 && creations > 0 && deletions > 0, $"renames {renames}, creations {creations}, deletions {deletions}");
    }

    /// <summary>The tree's files in the git work tree (replacing what was there), staged; returns the tree's id.</summary>
    private static string WriteTree(string git, Dictionary<string, string> tree)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(git).Where(e => Path.GetFileName(e) != ".git"))
        {
            if (Directory.Exists(entry)) Directory.Delete(entry, true);
            else File.Delete(entry);
        }

        foreach (var (name, text) in tree) Write(git, name, text);
        Run("git", git, "add", "-A", ".");
        return Run("git", git, "write-tree").Out.Trim();
    }

    private static void Write(string root, string name, string text)
    {
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
    }

    private static string Show(string? text) => text == null ? "(deleted)" : "\"" + text.Replace("\r", "\\r").Replace("\n", "\\n") + "\"";
}
