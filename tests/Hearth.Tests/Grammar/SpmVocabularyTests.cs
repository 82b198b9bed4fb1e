using Hearth.Gguf;
using Hearth.Grammar;
using Hearth.Tokenizers;
using static Hearth.Tests.Grammar.GrammarTestHelpers;
using G = Hearth.Grammar.Grammar;

namespace Hearth.Tests.Grammar;

/// <summary>A SentencePiece vocabulary with byte fallback (the tiny stories260K model): ▁ pieces and &lt;0xXX&gt; byte tokens.</summary>
public sealed class SpmVocabularyTests
{
    private static readonly Lazy<(Tokenizer Tokenizer, TokenVocabulary Vocabulary)> s_stories = new(() =>
    {
        using var file = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var tokenizer = Tokenizer.FromGguf(file);
        return (tokenizer, TokenVocabulary.FromTokenizer(tokenizer));
    });

    [Theory]
    [InlineData("")]
    [InlineData(" Once")]
    [InlineData(" Once upon a ti")]
    [InlineData(" Once upon a time, 猫")]
    public void MasksEqualBruteForce(string prefix)
    {
        var (_, vocab) = s_stories.Value;
        var g = G.Parse("root ::= \" Once upon a time\" (\",\" \" \" ([a-z ] | [一-龯])+)? \".\"");
        var m = new GrammarMatcher(g, vocab);
        Assert.True(m.TryAcceptText(prefix));
        var mask = new bool[vocab.Count];
        m.ComputeMask(mask);
        Assert.Equal(BruteForceMask(m), mask);
    }

    [Fact]
    public void ByteFallbackSpellsCharactersMissingFromTheVocabulary()
    {
        var (tokenizer, vocab) = s_stories.Value;
        var m = new GrammarMatcher(G.Parse("root ::= \"猫\""), vocab);
        // 猫 is E7 8C AB: only byte tokens can spell it in a 512-token vocabulary.
        foreach (byte b in "猫"u8.ToArray())
        {
            var mask = new bool[vocab.Count];
            Assert.Equal(1, m.ComputeMask(mask));
            int id = Array.IndexOf(mask, true);
            Assert.Equal(TokenType.Byte, tokenizer.GetTokenType(id));
            m.AcceptToken(id);
        }

        Assert.True(m.IsComplete);
    }
}
