using System.Text;
using Hearth.Tokenizers;

namespace Hearth.Tests.Tokenizers;

public sealed class PreTokenizerTests
{
    private const string Sample = "Hello, y'all! I've 12345 apples\u00A0and\u3000 naïve café — 日本語 テキスト 🦙🚀\r\n\t  x\n\n  ' 's 'LL $5.00 ~ a+b=c ٣٤ 𝔘𝔫𝔦";

    private static string Piece(int[] cps, int start, int length) =>
        string.Concat(cps.Skip(start).Take(length).Select(char.ConvertFromUtf32));

    [Fact]
    public void EveryKnownVariantBuildsAndCoversTheText()
    {
        int[] cps = UnicodeData.ToCodepoints(Sample);
        foreach (string name in PreTokenizerSpec.KnownNames)
        {
            var spec = PreTokenizerSpec.Find(name);
            Assert.NotNull(spec);
            var pieces = PreTokenizer.Create(spec).Split(cps);
            Assert.All(pieces, length => Assert.True(length > 0, name));
            Assert.Equal(cps.Length, pieces.Sum());
        }

        Assert.Null(PreTokenizerSpec.Find("no-such-pre"));
        Assert.Equal("default", PreTokenizerSpec.Find(null)!.Name);
        Assert.Equal("default", PreTokenizerSpec.Find("")!.Name);
    }

    [Fact]
    public void Llama3SplitsLikeItsPattern()
    {
        var pieces = Split("llama-bpe", "I've 12345 apples!!\n\n  Hi  there");
        Assert.Equal(["I", "'ve", " ", "123", "45", " apples", "!!\n\n", " ", " Hi", " ", " there"], pieces);
    }

    [Fact]
    public void Gpt2SplitsLikeItsPattern()
    {
        Assert.Equal(["Hello", ",", " world", "'s", "  ", " 123", "!?"], Split("gpt-2", "Hello, world's   123!?"));
    }

    [Fact]
    public void SupplementaryCharacterRangesMatchWholeCodePoints()
    {
        // 𐐀 (U+10400, Deseret) lies in a class range beyond the BMP; .NET needs it rewritten over surrogate pairs.
        var spec = new PreTokenizerSpec("t", [new(PreTokenizerExpressionKind.Regex, "\\s?[A-Za-z\U00010400-\U0001044F]+")]);
        Assert.Equal([" ab\U00010400\U00010401c", " 12 \U00010450"], Split(spec, " ab\U00010400\U00010401c 12 \U00010450"));

        // DeepSeek LLM's letter class has such ranges; its punctuation class [!-/:-~] also takes ASCII letters.
        Assert.Equal([" ab", "\U00010400\U00010401", "c", " ", "12"], Split("deepseek-llm", " ab\U00010400\U00010401c 12"));
    }

    private static List<string> Split(string pre, string text) => Split(PreTokenizerSpec.Find(pre)!, text);

    private static List<string> Split(PreTokenizerSpec spec, string text)
    {
        int[] cps = UnicodeData.ToCodepoints(text);
        var result = new List<string>();
        int start = 0;
        foreach (int length in PreTokenizer.Create(spec).Split(cps))
        {
            result.Add(Piece(cps, start, length));
            start += length;
        }

        return result;
    }

    private static readonly int[] s_alphabet =
    [
        'a', 'b', 'Z', 's', 't', 'S', 'T', 'm', 'M', 'l', 'L', 'r', 'e', 'v', 'V', 'd', 'D', 'x',
        '0', '1', '7', '\'', '\'', ' ', ' ', ' ', '\t', '\n', '\r', '!', '.', ',', '$', '~', '+', '<', '|', '^', '`', '(', '_',
        0x00, 0x01, 0x1F, 0x7F, 0x85, 0xA0, 0x3000, 0x2028, 0x200B, 0xE9, 0xDF, 0x416, 0x4E2D, 0x30A2, 0x663, 0xBD, 0x216B,
        0x301, 0x20AC, 0x2014, 0x1F999, 0x1D400, 0x1D7D9, 0xE000, 0xFFFF, 0x10FFFD, 0x2019, 0xFF01,
    ];

    /// <summary>
    /// llama.cpp matches the GPT-2 and Llama 3 expressions with hand-written code; running the same expressions through
    /// our general regex path must split random text identically, which checks both implementations.
    /// </summary>
    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama3")]
    public void CustomMatchersAgreeWithTheirRegularExpressions(string expression)
    {
        var kind = expression == "gpt2" ? PreTokenizerExpressionKind.Gpt2 : PreTokenizerExpressionKind.Llama3;
        // GPT-2's llama.cpp pattern has no final \s+; the hand-written matcher adds it, and an unmatched gap is a
        // piece anyway, so the regex form gets it too for the comparison.
        string pattern = kind == PreTokenizerExpressionKind.Gpt2 ? PreTokenizerSpec.Gpt2Pattern + @"|\s+" : PreTokenizerSpec.Llama3Pattern;
        var custom = PreTokenizer.Create(new PreTokenizerSpec("custom", [new(kind, pattern)]));
        var regex = PreTokenizer.Create(new PreTokenizerSpec("regex", [new(PreTokenizerExpressionKind.Regex, pattern)]));

        var random = new Random(1234);
        for (int round = 0; round < 3000; round++)
        {
            var cps = new int[random.Next(1, 24)];
            for (int i = 0; i < cps.Length; i++) cps[i] = s_alphabet[random.Next(s_alphabet.Length)];
            var expected = custom.Split(cps);
            var got = regex.Split(cps);
            if (!expected.SequenceEqual(got))
            {
                var text = new StringBuilder();
                foreach (int cp in cps) text.Append($"U+{cp:X4} ");
                Assert.Fail($"{kind}: {text}\ncustom: {string.Join(',', expected)}\nregex:  {string.Join(',', got)}");
            }
        }
    }
}
