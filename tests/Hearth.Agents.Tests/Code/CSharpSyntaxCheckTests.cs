using Hearth.Agents.Code;

namespace Hearth.Agents.Tests.Code;

public class CSharpSyntaxCheckTests
{
    [Fact]
    public void ValidCodeIncludingNewSyntaxHasNoProblems()
    {
        const string code = """
            namespace N;

            public static class E
            {
                extension(string s)
                {
                    public int Twice => s.Length * 2;
                }

                public static int[] Both(int[] a, int[] b) => [.. a, .. b];
            }
            """;
        Assert.Empty(CSharpSyntaxCheck.Check("E.cs", code));
    }

    [Fact]
    public void ErrorsComeWithFileLineColumnAndTheCompilersId()
    {
        const string code = "class A\n{\n    int M() { int x = ; return x; }\n    void N() { Console.WriteLine(\"hi\") }\n}\n";
        var problems = CSharpSyntaxCheck.Check("src/A.cs", code);
        // Positions as `dotnet build` prints them for the same source: a missing ";" is reported at the next token.
        Assert.Equal(2, problems.Count);
        Assert.Equal(("src/A.cs", 3, 23, "CS1525"), (problems[0].File, problems[0].Line, problems[0].Column, problems[0].Id));
        Assert.Equal((4, 40, "CS1002"), (problems[1].Line, problems[1].Column, problems[1].Id));
        Assert.Equal("src/A.cs(4,40): error CS1002: ; expected", problems[1].ToString());
    }

    [Fact]
    public void OnlyCSharpSourcesAreChecked()
    {
        Assert.True(CSharpSyntaxCheck.Applies("src/A.cs"));
        Assert.True(CSharpSyntaxCheck.Applies("B.CS"));
        Assert.False(CSharpSyntaxCheck.Applies("A.csproj"));
        Assert.False(CSharpSyntaxCheck.Applies("notes.cs.txt"));
    }
}
