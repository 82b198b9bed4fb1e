using Hearth.Agents.Code;

namespace Hearth.Agents.Tests.Code;

public class UnifiedDiffTests
{
    [Fact]
    public void ReadsFilesHunksCountsAndPaths()
    {
        var diff = UnifiedDiff.Parse("""
            Here is the change:
            ```diff
            diff --git a/src/One.cs b/src/One.cs
            index 83db48f..bf269f4 100644
            --- a/src/One.cs
            +++ b/src/One.cs
            @@ -1,3 +1,3 @@ class One
             a
            -b
            +B
             c
            @@ -10 +10,2 @@
            -x
            +y
            +z
            --- two.txt	2024-01-02 03:04:05.000000000 +0100
            +++ two.txt	2024-01-02 03:04:06.000000000 +0100
            @@ -0,0 +1 @@
            +first
            ```
            """);

        Assert.Equal(2, diff.Files.Count);
        var one = diff.Files[0];
        Assert.Equal(("src/One.cs", "src/One.cs"), (one.OldPath, one.NewPath));
        Assert.Equal(3, one.DiffLine);
        Assert.Equal(2, one.Hunks.Count);
        var h1 = one.Hunks[0];
        Assert.Equal((1, 3, 1, 3, 7), (h1.OldStart, h1.OldCount, h1.NewStart, h1.NewCount, h1.DiffLine));
        Assert.Equal(["a\n", "b\n", "c\n"], h1.OldLines.Select(l => l.Text));
        Assert.Equal(["a\n", "B\n", "c\n"], h1.NewLines.Select(l => l.Text));
        Assert.Equal((1, 1), (h1.LeadingContext, h1.TrailingContext));
        var h2 = one.Hunks[1];
        Assert.Equal((10, 1, 10, 2), (h2.OldStart, h2.OldCount, h2.NewStart, h2.NewCount));
        Assert.Equal(13, h2.Lines[0].DiffLine);

        var two = diff.Files[1];
        Assert.Equal(("two.txt", "two.txt"), (two.OldPath, two.NewPath));
        Assert.Equal((0, 0, 1, 1), (two.Hunks[0].OldStart, two.Hunks[0].OldCount, two.Hunks[0].NewStart, two.Hunks[0].NewCount));
    }

    [Fact]
    public void NewDeletedRenamedAndEmptyFiles()
    {
        var diff = UnifiedDiff.Parse("""
            diff --git a/new.txt b/new.txt
            new file mode 100644
            --- /dev/null
            +++ b/new.txt
            @@ -0,0 +1,2 @@
            +one
            +two
            diff --git a/old.txt b/old.txt
            deleted file mode 100644
            --- a/old.txt
            +++ /dev/null
            @@ -1 +0,0 @@
            -gone
            diff --git a/from.txt b/to.txt
            similarity index 100%
            rename from from.txt
            rename to to.txt
            diff --git a/empty.txt b/empty.txt
            new file mode 100644
            index 0000000..e69de29
            diff --git a/was-empty.txt b/was-empty.txt
            deleted file mode 100644
            index e69de29..0000000
            """);

        Assert.Collection(diff.Files,
            f => Assert.True(f is { IsCreation: true, NewPath: "new.txt", Hunks.Count: 1 }),
            f => Assert.True(f is { IsDeletion: true, OldPath: "old.txt", Hunks.Count: 1 }),
            f => Assert.True(f is { IsRename: true, OldPath: "from.txt", NewPath: "to.txt", Hunks.Count: 0 }),
            f => Assert.True(f is { IsCreation: true, NewPath: "empty.txt", Hunks.Count: 0 }),
            f => Assert.True(f is { IsDeletion: true, OldPath: "was-empty.txt", Hunks.Count: 0 }));
    }

    [Theory]
    [InlineData("--- a/x.cs\n+++ b/x.cs", "x.cs", "x.cs")]
    [InlineData("--- a/x.cs\n+++ x.cs", "x.cs", "x.cs")]
    [InlineData("--- x.cs\n+++ b/x.cs", "x.cs", "x.cs")]
    [InlineData("--- x.cs\n+++ x.cs", "x.cs", "x.cs")]
    [InlineData("--- a/x.cs\n+++ b/y.cs", "x.cs", "y.cs")]
    [InlineData("--- a/x.cs\n+++ y.cs", "a/x.cs", "y.cs")]
    public void GitPrefixesGoWhenTheyAreGitPrefixes(string header, string oldPath, string newPath)
    {
        var file = UnifiedDiff.Parse(header + "\n@@ -1 +1 @@\n-a\n+b\n").Files[0];
        Assert.Equal((oldPath, newPath), (file.OldPath, file.NewPath));
    }

    [Fact]
    public void NoNewlineMarkersTakeTheTerminatorOffTheLineBeforeThem()
    {
        var hunk = UnifiedDiff.Parse("""
            --- a/f
            +++ b/f
            @@ -1,2 +1,2 @@
             keep
            -old
            \ No newline at end of file
            +new
            \ No newline at end of file
            """).Files[0].Hunks[0];
        Assert.Equal(["keep\n", "old", "new"], hunk.Lines.Select(l => l.Text));
    }

    [Fact]
    public void CountsDecideWhereABodyEndsSoDashDashLinesAreContent()
    {
        // Removing "-- a" and adding "++ b" looks like a file header; the counts say it is not.
        var diff = UnifiedDiff.Parse("--- a/q.sql\n+++ b/q.sql\n@@ -1,2 +1,2 @@\n select 1;\n--- a\n+++ b\n");
        var hunk = Assert.Single(Assert.Single(diff.Files).Hunks);
        Assert.Equal([(HunkLineKind.Context, "select 1;\n"), (HunkLineKind.Removed, "-- a\n"), (HunkLineKind.Added, "++ b\n")], hunk.Lines.Select(l => (l.Kind, l.Text)));
    }

    [Fact]
    public void CrInsideALineIsKeptUnlessEveryLineHasOne()
    {
        var faithful = UnifiedDiff.Parse("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\r\n+y\r\n");
        Assert.Equal(["x\r\n", "y\r\n"], faithful.Files[0].Hunks[0].Lines.Select(l => l.Text));
        var transport = UnifiedDiff.Parse("--- a/f\r\n+++ b/f\r\n@@ -1 +1 @@\r\n-x\r\n+y\r\n");
        Assert.Equal("f", transport.Files[0].NewPath);
        Assert.Equal(["x\n", "y\n"], transport.Files[0].Hunks[0].Lines.Select(l => l.Text));
    }

    [Fact]
    public void BareHunkHeadersTakeTheirCountsFromTheBody()
    {
        var hunk = UnifiedDiff.Parse("--- a/f\n+++ b/f\n@@\n a\n-b\n+c\n\n").Files[0].Hunks[0];
        Assert.False(hunk.HasRange);
        Assert.Equal((2, 2), (hunk.OldCount, hunk.NewCount));
    }

    [Fact]
    public void QuotedPathsAndEmptyContextLines()
    {
        var diff = UnifiedDiff.Parse("--- \"a/with space\\t\\303\\251.txt\"\n+++ \"b/with space\\t\\303\\251.txt\"\n@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n");
        Assert.Equal("with space\té.txt", diff.Files[0].NewPath);
        Assert.Equal(["a\n", "\n", "b\n"], diff.Files[0].Hunks[0].OldLines.Select(l => l.Text));
    }

    public static TheoryData<string, string, string, int?, int> Malformed => new()
    {
        // diff text, words the message must have, file, hunk, diff line
        { "just prose\n", "no file in the diff", "", null, 0 },
        { "@@ -1 +1 @@\n-a\n+b\n", "no file header", "", null, 1 },
        { "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n@@ -9 +9 @@\n-x\n+y\n", "promises 3 old and 3 new lines, but diff line 7 ('@@ -9 +9 @@') is not a hunk line after 2 old and 2 new", "f", 1, 7 },
        { "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n+c\n", "the body goes on (diff line 6) to 1 old and 2 new", "f", 1, 6 },
        { "--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n-a\n+b\n", "promises 2 old and 2 new lines, but the diff ends after 1 old and 1 new", "f", 1, 3 },
        { "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n*b\n", "diff line 5 ('*b') is not a hunk line", "f", 1, 5 },
        { "--- a/f\n+++ b/f\n@@ -x +1 @@\n", "is not a hunk header", "f", 1, 3 },
        { "--- a/f\n+++ b/f\n@@ -99999999999 +1 @@\n-a\n+b\n", "past 2147483647", "f", 1, 3 },
        { "--- a/f\n+++ b/f\n@@ -0,1 +1 @@\n-a\n+b\n", "at line 0", "f", 1, 3 },
        { "--- a/f\n+++ b/f\n@@ -1 +1 @@\n a\n", "changes nothing", "f", 1, 3 },
        { "--- a/f\n+++ b/f\n@@ -1 +1 @@\n\\ No newline at end of file\n-a\n+b\n", "must come right after the line", "f", 1, 4 },
        { "--- a/f\n+++ b/f\nno hunk\n", "no hunks after it", "f", null, 3 },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedDiffsNameTheFileHunkAndLine(string text, string words, string file, int? hunk, int diffLine)
    {
        var e = Assert.Throws<PatchException>(() => UnifiedDiff.Parse(text));
        Assert.Equal(PatchFailure.Malformed, e.Kind);
        Assert.Contains(words, e.Message);
        if (file.Length > 0)
        {
            Assert.Equal(file, e.File);
            Assert.StartsWith(file, e.Message);
        }

        Assert.Equal(hunk, e.Hunk);
        if (hunk != null) Assert.Contains($"hunk {hunk}", e.Message);
        if (diffLine > 0) Assert.Equal(diffLine, e.DiffLine);
    }

    [Fact]
    public void SizesAreCheckedBeforeParsing()
    {
        var limits = new DiffLimits { MaxDiffChars = 50, MaxFiles = 1, MaxHunksPerFile = 1 };
        Assert.Equal(PatchFailure.TooLarge, Assert.Throws<PatchException>(() => UnifiedDiff.Parse(new string('+', 51), limits)).Kind);
        var twoFiles = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n--- a/g\n+++ b/g\n@@ -1 +1 @@\n-a\n+b\n";
        Assert.Contains("more than 1 files", Assert.Throws<PatchException>(() => UnifiedDiff.Parse(twoFiles, limits with { MaxDiffChars = 1000 })).Message);
        var twoHunks = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n@@ -5 +5 @@\n-a\n+b\n";
        var e = Assert.Throws<PatchException>(() => UnifiedDiff.Parse(twoHunks, limits with { MaxDiffChars = 1000 }));
        Assert.Equal((PatchFailure.TooLarge, 2), (e.Kind, e.Hunk));
    }

    [Fact]
    public void BinaryPatchesAreRefused()
    {
        var e = Assert.Throws<PatchException>(() => UnifiedDiff.Parse("diff --git a/x.png b/x.png\nindex 1..2 100644\nBinary files a/x.png and b/x.png differ\n"));
        Assert.Equal(PatchFailure.NotText, e.Kind);
        Assert.Equal(3, e.DiffLine);
    }
}
