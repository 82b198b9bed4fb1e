using Hearth.Grammar;
using static Hearth.Tests.Grammar.GrammarTestHelpers;
using G = Hearth.Grammar.Grammar;

namespace Hearth.Tests.Grammar;

public sealed class GbnfSyntaxTests
{
    [Theory]
    [InlineData("root ::= \"abc\"", "abc", true)]
    [InlineData("root ::= \"abc\"", "ab", false)]
    [InlineData("root ::= \"abc\"", "abcd", false)]
    [InlineData("root ::= \"a\" | \"b\"", "b", true)]
    [InlineData("root ::= \"a\" | \"b\"", "c", false)]
    [InlineData("root ::= (\"a\" | \"b\") \"c\"", "bc", true)]
    [InlineData("root ::= (\"a\" | \"b\") \"c\"", "c", false)]
    [InlineData("root ::= \"a\"*", "", true)]
    [InlineData("root ::= \"a\"*", "aaaa", true)]
    [InlineData("root ::= \"a\"*", "aab", false)]
    [InlineData("root ::= \"a\"+", "", false)]
    [InlineData("root ::= \"a\"+", "aaa", true)]
    [InlineData("root ::= \"a\"? \"b\"", "b", true)]
    [InlineData("root ::= \"a\"? \"b\"", "ab", true)]
    [InlineData("root ::= \"a\"? \"b\"", "aab", false)]
    [InlineData("root ::= \"ab\"{2}", "abab", true)]
    [InlineData("root ::= \"ab\"{2}", "ab", false)]
    [InlineData("root ::= \"ab\"{2}", "ababab", false)]
    [InlineData("root ::= \"a\"{2,}", "a", false)]
    [InlineData("root ::= \"a\"{2,}", "aaaaaaa", true)]
    [InlineData("root ::= \"a\"{1,3}", "", false)]
    [InlineData("root ::= \"a\"{1,3}", "aaa", true)]
    [InlineData("root ::= \"a\"{1,3}", "aaaa", false)]
    [InlineData("root ::= \"a\"{0,2}", "", true)]
    [InlineData("root ::= \"a\"{0,2}", "aa", true)]
    [InlineData("root ::= \"a\"{0,2}", "aaa", false)]
    [InlineData("root ::= [a-z]+", "hello", true)]
    [InlineData("root ::= [a-z]+", "Hello", false)]
    [InlineData("root ::= [a-z0-9_]+", "snake_case_9", true)]
    [InlineData("root ::= [^\"\\\\]*", "no quotes here", true)]
    [InlineData("root ::= [^\"\\\\]*", "a\"b", false)]
    [InlineData("root ::= [^\"\\\\]*", "a\\b", false)]
    [InlineData("root ::= .", "x", true)]
    [InlineData("root ::= .", "日", true)]
    [InlineData("root ::= .", "xy", false)]
    [InlineData("root ::= . .", "日本", true)]
    [InlineData("root ::= \"\\n\\t\\r\\\\\\\"\"", "\n\t\r\\\"", true)]
    [InlineData("root ::= \"\\x41\\u00e9\\U0001F600\"", "Aé😀", true)]
    [InlineData("root ::= [\\x41-\\x43]+", "ABCA", true)]
    [InlineData("root ::= [\\x41-\\x43]+", "ABD", false)]
    [InlineData("root ::= [\\[\\]\\-]+", "[-]", true)]
    [InlineData("root ::= [ぁ-ゟ]+", "ひらがな", true)]
    [InlineData("root ::= [ぁ-ゟ]+", "カタカナ", false)]
    [InlineData("root ::= \"日本\"", "日本", true)]
    [InlineData("root ::= \"日本\"", "日", false)]
    public void ConstructAcceptsAndRejects(string gbnf, string text, bool expected)
    {
        Assert.Equal(expected, Accepts(G.Parse(gbnf), text));
    }

    [Fact]
    public void RuleReferencesCommentsAndContinuationLines()
    {
        var g = G.Parse("""
            # a comment line
            root ::= greeting " " name   # trailing comment
            greeting ::= "hello" |
                         "hi"
            name ::= (
                [A-Z]    # capital
                [a-z]*
            )
            """);
        Assert.True(Accepts(g, "hello World"));
        Assert.True(Accepts(g, "hi X"));
        Assert.False(Accepts(g, "hey You"));
        Assert.False(Accepts(g, "hi you"));
    }

    [Fact]
    public void RecursionAndNesting()
    {
        var g = G.Parse("""
            root ::= list
            list ::= "[" (item ("," item)*)? "]"
            item ::= [0-9]+ | list
            """);
        Assert.True(Accepts(g, "[]"));
        Assert.True(Accepts(g, "[1,[2,[]],33]"));
        Assert.False(Accepts(g, "[1,]"));
        Assert.False(Accepts(g, "[[1]"));
        Assert.True(AcceptsPrefix(g, "[[[[[[1"));
    }

    [Fact]
    public void NullableRepetitionsTerminate()
    {
        var g = G.Parse("root ::= (\"a\"?)* \"b\" (\"c\"*)+");
        Assert.True(Accepts(g, "b"));
        Assert.True(Accepts(g, "aaabccc"));
        Assert.False(Accepts(g, "aacb"));
    }

    [Fact]
    public void LargeBoundedRepetitionKeepsItsExactBound()
    {
        var g = G.Parse("root ::= \"x\"{0,3000}");
        Assert.True(Accepts(g, new string('x', 3000)));
        Assert.False(Accepts(g, new string('x', 3001)));
    }

    [Fact]
    public void TailRecursionWithoutConsumptionIsHarmless()
    {
        var g = G.Parse("root ::= a\na ::= b | \"x\"\nb ::= a");
        Assert.True(Accepts(g, "x"));
        Assert.False(Accepts(g, "xx"));
    }

    [Theory]
    [InlineData("root ::= \"abc", 1, 10, "unterminated string")]
    [InlineData("root ::= [abc", 1, 10, "unterminated character class")]
    [InlineData("root ::= \"a\"\nfoo = \"b\"", 2, 5, "expecting '::='")]
    [InlineData("root ::= (\"a\" \"b\"", 1, 18, "expecting ')'")]
    [InlineData("root ::= \"\\q\"", 1, 11, "unknown escape")]
    [InlineData("root ::= \"\\x4\"", 1, 11, "hex digits")]
    [InlineData("root ::= * \"a\"", 1, 10, "no preceding item")]
    [InlineData("root ::= \"a\"{2,1}", 1, 13, "maximum below its minimum")]
    [InlineData("root ::= \"a\"{x}", 1, 14, "expecting an integer")]
    [InlineData("root ::= [z-a]", 1, 11, "reversed")]
    [InlineData("root ::= []", 1, 10, "empty character class")]
    [InlineData("root ::= \"a\" )", 1, 14, "expecting newline")]
    [InlineData("root ::= <think>", 1, 10, "token references")]
    [InlineData("root ::= \"a\"\n\n  ::= \"b\"", 3, 3, "expecting a rule name")]
    public void ParseErrorsNameLineAndColumn(string gbnf, int line, int column, string fragment)
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse(gbnf));
        Assert.Equal(line, ex.Line);
        Assert.Equal(column, ex.Column);
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"line {line}, column {column}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UndefinedRuleIsAnErrorAtTheReference()
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse("root ::= value\nvalue ::= \"a\" | numbr"));
        Assert.Contains("undefined rule 'numbr'", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, ex.Line);
        Assert.Equal(17, ex.Column);
    }

    [Fact]
    public void UndefinedRuleInAnUnusedRuleIsStillAnError()
    {
        Assert.Throws<GrammarException>(() => G.Parse("root ::= \"a\"\nunused ::= missing"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n")]
    [InlineData("start ::= \"a\"")]
    public void MissingRootIsAnError(string gbnf)
    {
        Assert.Throws<GrammarException>(() => G.Parse(gbnf));
    }

    [Fact]
    public void DuplicateRuleIsAnError()
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse("root ::= a\na ::= \"x\"\na ::= \"y\""));
        Assert.Contains("defined twice", ex.Message, StringComparison.Ordinal);
        Assert.Equal(3, ex.Line);
    }

    [Theory]
    [InlineData("root ::= root \"a\" | \"b\"", "root")]
    [InlineData("root ::= expr\nexpr ::= term | expr \"+\" term\nterm ::= [0-9]", "expr")]
    [InlineData("root ::= a\na ::= b \"x\"\nb ::= \"y\"? a", "a")]
    [InlineData("root ::= (root \"x\")* \"y\"", "root")]
    public void LeftRecursionIsRejected(string gbnf, string rule)
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse(gbnf));
        Assert.Contains("left-recursive", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"'{rule}'", ex.Message, StringComparison.Ordinal);
        Assert.NotNull(ex.Line);
    }

    [Fact]
    public void RootThatCanNeverCompleteIsRejected()
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse("root ::= \"x\" root"));
        Assert.Contains("never be completed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RepetitionTooLargeIsRejected()
    {
        var ex = Assert.Throws<GrammarException>(() => G.Parse("root ::= \"abcdefghij\"{2500000}"));
        Assert.Contains("too large", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("root ::= \"a\" | \"b\" |\n  c+ d{2,5} e{3} f{1,} (g | \"h\")? .\nc ::= [^\"\\\\\\x00-\\x1F]\nd ::= [\\[\\]\\-^]\ne ::= \"\\\"\\\\\\n\\t\"\nf ::= \"日本\" [ぁ-ゟ]\ng ::= |")]
    public void ToGbnfRoundTrips(string gbnf)
    {
        var g = G.Parse(gbnf);
        string text = g.ToGbnf();
        var again = G.Parse(text);
        Assert.Equal(text, again.ToGbnf());
        Assert.Equal(g.RuleNames, again.RuleNames);
    }
}
