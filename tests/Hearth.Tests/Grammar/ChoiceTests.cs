using System.Text;
using Hearth.Grammar;
using static Hearth.Tests.Grammar.GrammarTestHelpers;

namespace Hearth.Tests.Grammar;

public sealed class ChoiceTests
{
    [Fact]
    public void ChoiceGrammarAcceptsExactlyTheChoices()
    {
        var choices = new ChoiceSet(["NORMAL", "ANOMALY DETECTED", "N/A", "日本"]);
        Assert.Equal("root ::= \"NORMAL\" | \"ANOMALY DETECTED\" | \"N/A\" | \"日本\"\n", choices.Grammar.ToGbnf());
        foreach (var c in choices.Choices) Assert.True(Accepts(choices.Grammar, c), c);
        Assert.False(Accepts(choices.Grammar, "NORM"));
        Assert.False(Accepts(choices.Grammar, "NORMAL "));
        Assert.False(Accepts(choices.Grammar, "anomaly detected"));
        Assert.Equal(1, choices.IndexOf("ANOMALY DETECTED"));
        Assert.Equal(-1, choices.IndexOf("ANOMALY"));
    }

    [Fact]
    public void PrefixChoicesStayOpenUntilTheLongestIsExcluded()
    {
        var g = Hearth.Grammar.Grammar.Choices(["A", "AB"]);
        var vocab = Strings("A", "B", "AB", "ABC");
        var m = new GrammarMatcher(g, vocab);
        var mask = new bool[vocab.Count];
        m.ComputeMask(mask);
        Assert.Equal([true, false, true, false, false], mask);
        m.AcceptToken(0);
        Assert.True(m.IsComplete);
        Assert.True(m.CanContinue);
        m.ComputeMask(mask);
        Assert.Equal([false, true, false, false, true], mask);
    }

    [Fact]
    public void GenerationWithTheRealVocabularyEndsOnAChoice()
    {
        var choices = new ChoiceSet(["NORMAL", "ANOMALY DETECTED"]);
        var m = new GrammarMatcher(choices.Grammar, Qwen);
        var mask = new bool[Qwen.Count];
        var random = new Random(3);
        var text = new List<byte>();
        while (!m.MustStop)
        {
            m.ComputeMask(mask);
            var allowed = Enumerable.Range(0, mask.Length).Where(i => mask[i]).ToList();
            int token = allowed[random.Next(allowed.Count)];
            if (Qwen.IsEndOfGeneration(token)) break;
            m.AcceptToken(token);
            text.AddRange(Qwen.TokenBytes(token).ToArray());
        }

        Assert.True(m.IsComplete);
        Assert.True(choices.IndexOf(Encoding.UTF8.GetString(text.ToArray())) >= 0);
    }

    [Fact]
    public void TokenSequencesAreTheCanonicalEncodings()
    {
        var choices = new ChoiceSet(["NORMAL", "ANOMALY DETECTED"]);
        var sequences = choices.TokenSequences(QwenTokenizer);
        Assert.Equal(2, sequences.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(QwenTokenizer.Encode(choices.Choices[i], addSpecial: false), sequences[i]);
            var m = new GrammarMatcher(choices.Grammar, Qwen);
            foreach (int t in sequences[i]) m.AcceptToken(t);
            Assert.True(m.IsComplete);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("a|")]
    [InlineData("a|a")]
    public void BadChoicesAreRejected(string joined)
    {
        var choices = joined.Length == 0 ? [] : joined.Split('|');
        Assert.Throws<ArgumentException>(() => new ChoiceSet(choices));
    }

    [Fact]
    public void LoneSurrogateChoiceIsRejected()
    {
        Assert.Throws<ArgumentException>(() => Hearth.Grammar.Grammar.Choices(["ok", "bad\uD800"]));
    }
}
