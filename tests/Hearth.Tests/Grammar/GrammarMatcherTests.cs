using System.Text;
using Hearth.Grammar;
using static Hearth.Tests.Grammar.GrammarTestHelpers;
using G = Hearth.Grammar.Grammar;

namespace Hearth.Tests.Grammar;

public sealed class GrammarMatcherTests
{
    private static bool[] Mask(GrammarMatcher m)
    {
        var mask = new bool[m.Vocabulary.Count];
        m.ComputeMask(mask);
        return mask;
    }

    private static int[] AllowedIds(GrammarMatcher m) => Mask(m).Select((a, i) => (a, i)).Where(x => x.a).Select(x => x.i).ToArray();

    [Fact]
    public void MultiByteCharactersAreAllowedByteByByteOnlyWhenTheyCanComplete()
    {
        // 日 = E6 97 A5, 本 = E6 9C AC
        var m = new GrammarMatcher(G.Parse("root ::= \"日本\""), Bytes);
        Assert.Equal([0xE6], AllowedIds(m));
        m.AcceptToken(0xE6);
        Assert.Equal(1, m.PendingByteCount);
        Assert.False(m.IsComplete);
        Assert.Equal([0x97], AllowedIds(m));
        Assert.False(m.TryAcceptToken(0x9C)); // E6 9C can only become U+6700..U+673F, and 日 is U+65E5
        m.AcceptToken(0x97);
        Assert.Equal([0xA5], AllowedIds(m));
        m.AcceptToken(0xA5);
        Assert.Equal(0, m.PendingByteCount);
        Assert.Equal([0xE6], AllowedIds(m));
        m.AcceptToken(0xE6);
        Assert.Equal([0x9C], AllowedIds(m));
        m.AcceptToken(0x9C);
        m.AcceptToken(0xAC);
        Assert.True(m.IsComplete);
        Assert.True(m.MustStop);
        Assert.Equal([BytesEog], AllowedIds(m));
    }

    [Fact]
    public void TokensEndingMidCharacterNeedAValidContinuation()
    {
        // Tokens: "日" whole, its first two bytes, its last byte, "本"'s first two bytes, "日本", and a byte-split of 本.
        byte[] ri = Encoding.UTF8.GetBytes("日"), ben = Encoding.UTF8.GetBytes("本");
        var tokens = new List<byte[]>
        {
            ri,                 // 0
            ri[..2],            // 1: ends mid-character, can become 日
            ri[2..],            // 2: continuation only
            ben[..2],           // 3: can become 本, not 日
            ri.Concat(ben).ToArray(), // 4: both characters
            ri.Concat(ben[..1]).ToArray(), // 5: 日 then a lead byte
            ben[2..],           // 6: continuation of 本
            new byte[] { 0xE6 }, // 7: lead byte shared by both
            new byte[] { 0xC0, 0x80 }, // 8: overlong: never
            new byte[] { 0xED, 0xA0, 0x80 }, // 9: surrogate: never
            Array.Empty<byte>(), // 10: end of generation
        };
        var vocab = TokenVocabulary.FromTokens(tokens, [10]);
        var m = new GrammarMatcher(G.Parse("root ::= \"日本\""), vocab);
        Assert.Equal([0, 1, 4, 5, 7], AllowedIds(m));

        var afterHalf = m.Clone();
        afterHalf.AcceptToken(1);
        Assert.Equal([2], AllowedIds(afterHalf));
        afterHalf.AcceptToken(2);
        Assert.Equal([3, 7], AllowedIds(afterHalf));
        afterHalf.AcceptToken(3);
        Assert.Equal([6], AllowedIds(afterHalf));
        afterHalf.AcceptToken(6);
        Assert.True(afterHalf.IsComplete);

        m.AcceptToken(5);
        Assert.Equal(1, m.PendingByteCount);
        Assert.False(m.IsAllowed(2)); // would make 日 again
        Assert.False(m.IsAllowed(10)); // never end inside a character
        Assert.False(m.IsComplete);
    }

    [Fact]
    public void InvalidUtf8TokensAreNeverAllowed()
    {
        var vocab = TokenVocabulary.FromTokens([[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF5], [0x41, 0x80], [0x41], []], [5]);
        var m = new GrammarMatcher(G.Parse("root ::= .*"), vocab);
        Assert.Equal([4, 5], AllowedIds(m));
    }

    [Fact]
    public void TokensSpanningSeveralElements()
    {
        var vocab = Strings("a12b", "a1b2", "a", "1", "2b", "b", "ab");
        int eog = vocab.Count - 1;
        var m = new GrammarMatcher(G.Parse("root ::= \"a\" [0-9]+ \"b\""), vocab);
        Assert.Equal([0, 2], AllowedIds(m));
        Assert.False(m.IsAllowed(1));
        var whole = m.Clone();
        whole.AcceptToken(0);
        Assert.True(whole.IsComplete);
        Assert.Equal([eog], AllowedIds(whole));

        m.AcceptToken(2);
        Assert.Equal([3, 4], AllowedIds(m)); // "b" alone and "ab" are not allowed: a digit is needed first
        m.AcceptToken(3);
        Assert.Equal([3, 4, 5], AllowedIds(m));
        m.AcceptToken(4);
        Assert.True(m.IsComplete);
    }

    [Fact]
    public void EndOfGenerationOnlyWhereTheGrammarIsComplete()
    {
        var vocab = Strings("a", "b");
        int eog = vocab.Count - 1;
        var m = new GrammarMatcher(G.Parse("root ::= \"a\"+ \"b\"?"), vocab);
        Assert.False(m.IsComplete);
        Assert.False(Mask(m)[eog]);
        Assert.False(m.TryAcceptToken(eog));
        Assert.Throws<GrammarConstraintException>(() => m.AcceptToken(eog));
        m.AcceptToken(0);
        Assert.True(m.IsComplete);
        Assert.True(m.CanContinue);
        Assert.Equal([0, 1, eog], AllowedIds(m));
        m.AcceptToken(1);
        Assert.True(m.IsComplete);
        Assert.True(m.MustStop);
        Assert.Equal([eog], AllowedIds(m));
        m.AcceptToken(eog);
        Assert.True(m.HasEnded);
        Assert.False(m.TryAcceptToken(0));
        Assert.Throws<GrammarConstraintException>(() => m.ComputeMask(new bool[vocab.Count]));
    }

    [Fact]
    public void NoTokenCanContinueFailsClosed()
    {
        var m = new GrammarMatcher(G.Parse("root ::= \"x\" | \"y\""), Strings("a", "b"));
        var ex = Assert.Throws<GrammarConstraintException>(() => m.ComputeMask(new bool[3]));
        Assert.Contains("no token", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExhaustedWithoutEndTokenFailsClosedAndSaysMustStop()
    {
        var vocab = TokenVocabulary.FromTokens([Encoding.UTF8.GetBytes("ok")], []);
        var m = new GrammarMatcher(G.Parse("root ::= \"ok\""), vocab);
        m.AcceptToken(0);
        Assert.True(m.MustStop);
        Assert.True(m.IsComplete);
        var ex = Assert.Throws<GrammarConstraintException>(() => m.ComputeMask(new bool[1]));
        Assert.Contains("MustStop", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectedTokenLeavesTheStateUnchanged()
    {
        var vocab = Strings("ab", "ac", "a", "c");
        var m = new GrammarMatcher(G.Parse("root ::= \"ab\""), vocab);
        m.AcceptToken(2);
        Assert.False(m.TryAcceptToken(3));
        Assert.Throws<GrammarConstraintException>(() => m.AcceptToken(1));
        Assert.True(m.TryAcceptText("b"));
        Assert.True(m.IsComplete);
    }

    [Fact]
    public void ControlAndEmptyTokensAreNeverAllowed()
    {
        var tokenizer = QwenTokenizer;
        var m = new GrammarMatcher(G.Parse("root ::= .*"), Qwen);
        var mask = Mask(m);
        for (int id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IsEndOfGeneration(id))
            {
                Assert.True(mask[id], $"end-of-generation token {id} at a complete point");
            }
            else if (tokenizer.IsControl(id))
            {
                Assert.False(mask[id], $"control token {id} ({tokenizer.TokenText(id)})");
            }
        }
    }

    [Fact]
    public void CloneAndResetAreIndependent()
    {
        var vocab = Strings("a", "b");
        var m = new GrammarMatcher(G.Parse("root ::= \"ab\" | \"b\""), vocab);
        var c = m.Clone();
        m.AcceptToken(0);
        Assert.True(c.IsAllowed(1));
        c.AcceptToken(1);
        Assert.True(c.IsComplete);
        Assert.False(m.IsComplete);
        m.Reset();
        Assert.True(m.IsAllowed(1));
        Assert.True(m.IsAllowed(0));
    }

    [Fact]
    public void MaskLongerThanVocabularyClearsTheTail()
    {
        var vocab = Strings("a");
        var m = new GrammarMatcher(G.Parse("root ::= \"a\""), vocab);
        var mask = Enumerable.Repeat(true, 10).ToArray();
        Assert.Equal(1, m.ComputeMask(mask));
        Assert.Equal([true, false, false, false, false, false, false, false, false, false], mask);
        Assert.Throws<ArgumentException>(() => m.ComputeMask(new bool[1]));
    }

    [Fact]
    public void CountedRepetitionMasksMatchBruteForce()
    {
        // Counted states change with every character, so masks are computed fresh: exercise the benign-chain bulk path.
        var g = G.Parse("root ::= \"\\\"\" [^\"\\\\]{0,7} \"\\\"\"");
        var vocab = Strings("\"", "a", "ab", "abc", "abcd", "abcdefgh", "a\"", "abc\"", "\\", "日本", "日本語です", "x\"y", "\"\"");
        var m = new GrammarMatcher(g, vocab);
        for (int step = 0; step < 9; step++)
        {
            Assert.Equal(BruteForceMask(m), Mask(m));
            if (!m.TryAcceptText(step == 0 ? "\"" : "z")) break;
        }
    }

    [Fact]
    public void MasksStayExactWhenCachesAreDroppedAndRebuilt()
    {
        // Tiny cache limits: the shared caches are dropped between operations many times during a nested generation.
        var g = G.Parse("""
            root ::= value
            value ::= "[" (value ("," value)*)? "]" | [a-c]+ | "\"" [^"]{0,3} "\""
            """);
        string[] pieces = ["[", "]", ",", "[]", "],[", "a", "bc", "\"", "\"x", "y\"", "日", "[[", "]]"];
        var vocab = Strings(pieces);
        var m = new GrammarMatcher(g, vocab, maxStackNodes: 30, maxStates: 10);
        string script = "[[[a,\"x日y\"],[]],[[bc,[a]],\"\"],[[[[\"xy\"]]]]]";
        var mask = new bool[vocab.Count];
        int at = 0;
        while (at < script.Length)
        {
            m.ComputeMask(mask);
            Assert.Equal(BruteForceMask(m), mask);
            int token = Enumerable.Range(0, pieces.Length)
                .Where(i => script.AsSpan(at).StartsWith(pieces[i], StringComparison.Ordinal) && mask[i])
                .OrderByDescending(i => pieces[i].Length)
                .First();
            m.AcceptToken(token);
            at += pieces[token].Length;
        }

        Assert.True(m.IsComplete);
        Assert.True(m.CacheTrims > 0);
    }
}
