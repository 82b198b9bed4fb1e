using System.Text;
using Hearth.Agents.Code;

namespace Hearth.Agents.Tests.Code;

public class PatchApplierTests
{
    private static string? Apply(string diff, string? original, DiffLimits? limits = null) =>
        PatchApplier.ApplyText(Assert.Single(UnifiedDiff.Parse(diff, limits).Files), original, limits);

    private static string Lines(params string[] lines) => string.Concat(lines.Select(l => l + "\n"));

    [Fact]
    public void AppliesSeveralHunksWhereTheHeadersSay()
    {
        var original = Lines("1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
        var diff = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n 1\n-2\n+two\n 3\n@@ -8,3 +8,4 @@\n 8\n 9\n+9.5\n 10\n";
        Assert.Equal(Lines("1", "two", "3", "4", "5", "6", "7", "8", "9", "9.5", "10"), Apply(diff, original));
    }

    [Fact]
    public void HunksAreFoundAtAnOffsetAndLaterHunksFollowIt()
    {
        // Three lines were added at the top since the diff was made; the second hunk's header is off by as much.
        var original = Lines("new1", "new2", "new3", "a", "b", "c", "d", "e", "f", "g", "h");
        var diff = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n@@ -6,3 +6,3 @@\n f\n-g\n+G\n h\n";
        Assert.Equal(Lines("new1", "new2", "new3", "a", "B", "c", "d", "e", "f", "G", "h"), Apply(diff, original));
        var noOffset = new DiffLimits { MaxOffset = 2 };
        var e = Assert.Throws<PatchException>(() => Apply(diff, original, noOffset));
        Assert.Equal((PatchFailure.DoesNotApply, 1), (e.Kind, e.Hunk));
    }

    [Fact]
    public void TheNearestMatchWinsWhenALineRepeats()
    {
        var original = Lines("x", "dup", "y", "x", "dup", "y");
        Assert.Equal(Lines("x", "dup", "y", "x", "DUP", "y"), Apply("--- a/f\n+++ b/f\n@@ -4,3 +4,3 @@\n x\n-dup\n+DUP\n y\n", original));
        Assert.Equal(Lines("x", "DUP", "y", "x", "dup", "y"), Apply("--- a/f\n+++ b/f\n@@ -2,3 +2,3 @@\n x\n-dup\n+DUP\n y\n", original));
    }

    [Fact]
    public void FuzzIgnoresOuterContextButNeverRemovedLines()
    {
        var original = Lines("one", "TWO", "three", "four", "FIVE");
        // "two" (second context line from the top) and "five" (last) differ from the file: only fuzz 2 ignores both.
        var diff = "--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n one\n two\n-three\n+3\n four\n five\n";
        Assert.Equal(Lines("one", "TWO", "3", "four", "FIVE"), Apply(diff, original));
        Assert.Throws<PatchException>(() => Apply(diff, original, new DiffLimits { MaxFuzz = 1 }));
        var removedDiffers = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n";
        var e = Assert.Throws<PatchException>(() => Apply(removedDiffers, original));
        Assert.Equal(2, e.FileLine);
        Assert.Equal(5, e.DiffLine);
        Assert.Contains("line 2 of the file is \"TWO\" where the hunk has \"two\" (diff line 5)", e.Message);
    }

    [Fact]
    public void ACrlfFileStaysCrlfUnderAnLfDiff()
    {
        var original = "using System;\r\nclass A\r\n{\r\n}\r\n";
        var diff = "--- a/A.cs\n+++ b/A.cs\n@@ -2,3 +2,4 @@\n class A\n {\n+    int x;\n }\n";
        Assert.Equal("using System;\r\nclass A\r\n{\r\n    int x;\r\n}\r\n", Apply(diff, original));
    }

    [Fact]
    public void AFaithfulDiffReproducesMixedLineEndings()
    {
        var original = "a\r\nb\nc\r\n";
        var diff = "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\r\n-b\n+b\r\n c\r\n";
        Assert.Equal("a\r\nb\r\nc\r\n", Apply(diff, original));
    }

    [Fact]
    public void MissingFinalNewlinesAreAddedAndRemoved()
    {
        Assert.Equal("a\nb\n", Apply("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", "a\nb"));
        Assert.Equal("a\nc", Apply("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n", "a\nb\n"));
        // Without the marker the hunk's "b\n" is not the file's "b".
        var e = Assert.Throws<PatchException>(() => Apply("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n", "a\nb"));
        Assert.Contains("(with no newline after it)", e.Message);
    }

    [Fact]
    public void CreationAndDeletion()
    {
        Assert.Equal(Lines("x", "y"), Apply("--- /dev/null\n+++ b/n\n@@ -0,0 +1,2 @@\n+x\n+y\n", null));
        Assert.Null(Apply("--- a/n\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-x\n-y\n", Lines("x", "y")));
        var partial = Assert.Throws<PatchException>(() => Apply("--- a/n\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n", Lines("x", "y")));
        Assert.Contains("a deletion must remove every line", partial.Message);
        Assert.Equal(PatchFailure.Conflict, Assert.Throws<PatchException>(() => Apply("--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n", "exists\n")).Kind);
        Assert.Equal(PatchFailure.Conflict, Assert.Throws<PatchException>(() => Apply("--- a/n\n+++ b/n\n@@ -1 +1 @@\n-x\n+y\n", null)).Kind);
    }

    [Fact]
    public void AMismatchNamesTheFileHunkAndLinesAndSpotsAnAppliedHunk()
    {
        var original = Lines("alpha", "beta", "gamma", "delta");
        var diff = "--- a/src/G.txt\n+++ b/src/G.txt\n@@ -1,2 +1,2 @@\n alpha\n-beta\n+BETA\n@@ -3,2 +3,2 @@\n gamma\n-epsilon\n+EPSILON\n";
        var e = Assert.Throws<PatchException>(() => Apply(diff, original));
        Assert.Equal(("src/G.txt", 2, 9, 4), (e.File, e.Hunk, e.DiffLine, e.FileLine));
        Assert.StartsWith("src/G.txt, hunk 2 (diff line 7):", e.Message);
        Assert.Contains("line 4 of the file is \"delta\" where the hunk has \"epsilon\"", e.Message);

        var twice = Assert.Throws<PatchException>(() => Apply("--- a/f\n+++ b/f\n@@ -1,2 +1,2 @@\n alpha\n-beta\n+BETA\n", Lines("alpha", "BETA", "gamma")));
        Assert.Contains("already in the file at line 1", twice.Message);
    }

    [Fact]
    public void OverlappingOrOutOfOrderHunksFail()
    {
        var original = Lines("a", "b", "c", "d");
        var diff = "--- a/f\n+++ b/f\n@@ -3,2 +3,2 @@\n c\n-d\n+D\n@@ -1,2 +1,2 @@\n a\n-b\n+B\n";
        var e = Assert.Throws<PatchException>(() => Apply(diff, original));
        Assert.Equal(2, e.Hunk);
    }

    [Fact]
    public void BareHunksAreLocatedByTheirContext()
    {
        var original = Lines("class A", "{", "    int x;", "}", "class B", "{", "    int x;", "}");
        var diff = "--- a/f\n+++ b/f\n@@\n class B\n {\n-    int x;\n+    long x;\n";
        Assert.Equal(Lines("class A", "{", "    int x;", "}", "class B", "{", "    long x;", "}"), Apply(diff, original));
    }

    [Fact]
    public void BytesKeepTheirByteOrderMarkAndMustBeUtf8()
    {
        var patch = UnifiedDiff.Parse("--- a/f\n+++ b/f\n@@ -1 +1 @@\n-é\n+ü\n").Files[0];
        byte[] bom = [0xEF, 0xBB, 0xBF];
        Assert.Equal([.. bom, .. Encoding.UTF8.GetBytes("ü\n")], PatchApplier.Apply(patch, [.. bom, .. Encoding.UTF8.GetBytes("é\n")])!);
        Assert.Equal(Encoding.UTF8.GetBytes("ü\n"), PatchApplier.Apply(patch, Encoding.UTF8.GetBytes("é\n"))!);
        Assert.Equal(PatchFailure.NotText, Assert.Throws<PatchException>(() => PatchApplier.Apply(patch, [0xE9, 0x0A])).Kind);
        Assert.Equal(PatchFailure.NotText, Assert.Throws<PatchException>(() => PatchApplier.Apply(patch, [0xC3, 0xA9, 0x00, 0x0A])).Kind);
        var tooLarge = Assert.Throws<PatchException>(() => PatchApplier.Apply(patch, Encoding.UTF8.GetBytes("é\n"), new DiffLimits { MaxFileBytes = 2 }));
        Assert.Equal(PatchFailure.TooLarge, tooLarge.Kind);
    }
}
