using System.Text;
using Hearth.Gguf;
using Hearth.Tokenizers;

namespace Hearth.Tests.Tokenizers;

public sealed class TokenizerBehaviourTests(VocabFixture vocabs) : IClassFixture<VocabFixture>
{
    private static int[] Reference(string vocab, string text) =>
        VocabFixture.Cases(vocab).First(c => c.Text == text).Ids;

    [Fact]
    public void SentencePieceAddsBosWhenAskedAndTheSpacePrefix()
    {
        var t = vocabs.Get("llama-spm");
        Assert.Equal(TokenizerModel.SentencePiece, t.Model);
        Assert.True(t.AddBos);
        Assert.False(t.AddEos);
        Assert.True(t.AddSpacePrefix);
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.Equal(0, t.UnknownId);
        Assert.Equal(13, t.NewlineId); // <0x0A>

        var plain = Reference("llama-spm", "Hello world");
        Assert.Equal(plain, t.Encode("Hello world", addSpecial: false));
        Assert.Equal([1, .. plain], t.Encode("Hello world"));
        Assert.Equal([1], t.Encode(""));
        Assert.Empty(t.Encode("", addSpecial: false));
        Assert.Equal("▁Hello", t.TokenText(plain[0]));
    }

    [Fact]
    public void BytePairEncodingFollowsTheAddBosFlag()
    {
        var llama3 = vocabs.Get("llama-bpe");
        Assert.True(llama3.AddBos);
        Assert.Equal(128000, llama3.BosId);
        Assert.Equal([128000, .. Reference("llama-bpe", "Hello world")], llama3.Encode("Hello world"));

        var qwen = vocabs.Get("qwen2");
        Assert.False(qwen.AddBos);
        Assert.Equal(Reference("qwen2", "Hello world"), qwen.Encode("Hello world", addSpecial: true));

        var gpt2 = vocabs.Get("gpt-2");
        Assert.False(gpt2.AddBos);
        Assert.Equal("gpt-2", gpt2.PreTokenizerName);
        Assert.Equal(Reference("gpt-2", "Hello world"), gpt2.Encode("Hello world"));
    }

    [Fact]
    public void ControlTokensAreParsedOnlyWhenAsked()
    {
        var t = vocabs.Get("llama-bpe");
        const string text = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
        var parsed = t.Encode(text, addSpecial: false, parseSpecial: true);
        Assert.Equal(128006, parsed[0]);
        Assert.Equal(128007, parsed[2]);
        Assert.Equal(128009, parsed[^1]);
        Assert.Equal(t.Encode("user", addSpecial: false), parsed[1..2]);

        var literal = t.Encode(text, addSpecial: false, parseSpecial: false);
        Assert.DoesNotContain(literal, id => id >= 128000);
        Assert.Equal(text, t.Decode(literal));

        var qwen = vocabs.Get("qwen2");
        var chat = qwen.Encode("<|im_start|>user\nhello<|im_end|>\n", addSpecial: false, parseSpecial: true);
        Assert.Equal(151644, chat[0]);
        Assert.Contains(151645, chat);
        Assert.DoesNotContain(151644, qwen.Encode("<|im_start|>user", addSpecial: false, parseSpecial: false));
    }

    [Theory]
    [InlineData("qwen2")]
    [InlineData("deepseek-coder")]
    [InlineData("refact")]
    public void UserDefinedTokensAreAlwaysMatched(string vocab)
    {
        var t = vocabs.Get(vocab);
        int id = Enumerable.Range(0, t.VocabSize).First(i => t.GetTokenAttributes(i) == TokenAttributes.UserDefined && t.TokenText(i).Length > 2);
        string text = "x " + t.TokenText(id) + " y";
        Assert.Contains(id, t.Encode(text, addSpecial: false, parseSpecial: false));
        Assert.Contains(id, t.Encode(text, addSpecial: false, parseSpecial: true));
        Assert.Equal(text, t.Decode(t.Encode(text, addSpecial: false)));
    }

    [Fact]
    public void Phi3SpecialTokensStripWhitespaceToTheirRight()
    {
        var t = vocabs.Get("phi-3");
        Assert.True((t.GetTokenAttributes(32010) & TokenAttributes.RStrip) != 0); // <|user|>
        Assert.Equal("<|user|>", t.TokenText(32010));
        var stripped = t.Encode("<|user|>\n  Hello<|end|>", addSpecial: false, parseSpecial: true);
        var plain = t.Encode("<|user|>Hello<|end|>", addSpecial: false, parseSpecial: true);
        Assert.Equal(plain, stripped);
        // After a special token the space prefix comes back: "<|user|>Hello" is <|user|> ▁Hello <|end|>.
        Assert.Equal([32010, .. Reference("phi-3", "Hello"), 32007], plain);
    }

    [Fact]
    public void EndOfGenerationSetFollowsLlamaCpp()
    {
        var llama3 = vocabs.Get("llama-bpe");
        Assert.Equal(128009, llama3.EotId);
        Assert.True(llama3.IsEndOfGeneration(128001)); // <|end_of_text|>
        Assert.True(llama3.IsEndOfGeneration(128009)); // <|eot_id|>
        Assert.False(llama3.IsEndOfGeneration(128000));
        Assert.False(llama3.IsEndOfGeneration(15339));

        var qwen = vocabs.Get("qwen2");
        Assert.Equal(151645, qwen.EosId);
        Assert.Equal(151645, qwen.EotId);
        foreach (int id in (int[])[151643, 151645, 151662, 151663, 151664]) Assert.True(qwen.IsEndOfGeneration(id), $"{id} {qwen.TokenText(id)}");
        Assert.False(qwen.IsEndOfGeneration(151644)); // <|im_start|>
        Assert.Equal(151662, qwen.FimPadId);
        Assert.Equal(qwen.EndOfGenerationIds.Order().ToArray(), qwen.EndOfGenerationIds.ToArray());

        var spm = vocabs.Get("llama-spm");
        Assert.Null(spm.EotId);
        Assert.Equal([2], spm.EndOfGenerationIds.ToArray());
    }

    [Fact]
    public void DecodeRendersControlTokensOnlyWhenAsked()
    {
        var t = vocabs.Get("llama-spm");
        var ids = t.Encode("Hello world");
        Assert.Equal(1, ids[0]);
        // Like llama.cpp's detokenize: the leading-space removal is spent on the (empty) BOS.
        Assert.Equal(" Hello world", t.Decode(ids));
        Assert.Equal(" Hello world", t.Decode(ids, removeSpecial: true));
        Assert.Equal("Hello world", t.Decode(ids[1..]));
        Assert.Equal("<s> Hello world</s>", t.Decode([.. ids, 2], unparseSpecial: true));
        Assert.Equal(" Hello world", t.Decode([.. ids, 2]));
        Assert.Equal([(byte)'\n'], t.TokenBytes(13));
        Assert.Equal(" Hello"u8.ToArray(), t.TokenBytes(ids[1]));
        Assert.Empty(t.TokenBytes(1, special: false));
        Assert.Equal("<s>"u8.ToArray(), t.TokenBytes(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.Decode([t.VocabSize]));
        Assert.Throws<ArgumentOutOfRangeException>(() => t.TokenText(-1));
    }

    [Fact]
    public void DecodeCleansSpacesLikeLlamaCpp()
    {
        var gpt2 = vocabs.Get("gpt-2");
        Assert.True(gpt2.CleanSpaces);
        Assert.Equal("Hello, world! It's'so' he's", gpt2.Decode(gpt2.Encode("Hello , world ! It 's ' so' he 's")));

        var qwen = vocabs.Get("qwen2");
        Assert.False(qwen.CleanSpaces);
        Assert.Equal("Hello , world !", qwen.Decode(qwen.Encode("Hello , world !")));
    }

    [Theory]
    [InlineData("llama-spm")]
    [InlineData("phi-3")]
    [InlineData("gpt-2")]
    [InlineData("llama-bpe")]
    [InlineData("qwen2")]
    public void StreamingDecoderNeverEmitsPartialCharacters(string vocab)
    {
        var t = vocabs.Get(vocab);
        const string text = "日本語のテキスト 🦙🚀 naïve façade — Ελληνικά 𝔘𝔫𝔦𝔠𝔬𝔡𝔢";
        var ids = t.Encode(text, addSpecial: true);
        var decoder = t.CreateDecoder();
        var output = new StringBuilder();
        int heldBack = 0;
        foreach (int id in ids)
        {
            string chunk = decoder.Append(id);
            if (chunk.Length == 0 && t.TokenBytes(id, special: false).Length > 0) heldBack++;
            Assert.DoesNotContain('\uFFFD', chunk);
            for (int i = 0; i < chunk.Length; i++)
            {
                if (char.IsHighSurrogate(chunk[i])) Assert.True(i + 1 < chunk.Length && char.IsLowSurrogate(chunk[i + 1]), "split surrogate pair");
                else Assert.False(char.IsLowSurrogate(chunk[i]) && (i == 0 || !char.IsHighSurrogate(chunk[i - 1])), "lone low surrogate");
            }

            output.Append(chunk);
        }

        Assert.Equal("", decoder.Flush());
        Assert.Equal(0, decoder.PendingByteCount);
        Assert.True(heldBack > 0, "no token ended inside a character; the test does not exercise partial UTF-8");
        string expected = t.AddSpacePrefix ? " " + text : text;
        Assert.Equal(expected, output.ToString());
    }

    [Fact]
    public void StreamingDecoderFlushesAnUnfinishedCharacterAsReplacement()
    {
        var t = vocabs.Get("llama-spm");
        Assert.True(t.TryGetTokenId("<0xF0>", out int first));
        Assert.True(t.TryGetTokenId("<0x9F>", out int second));
        var decoder = t.CreateDecoder();
        Assert.Equal("", decoder.Append(first));
        Assert.Equal("", decoder.Append(second));
        Assert.Equal(2, decoder.PendingByteCount);
        Assert.Equal("\uFFFD", decoder.Flush());
        Assert.Equal("", decoder.Flush());

        // A byte that can never start a character comes out at once.
        Assert.True(t.TryGetTokenId("<0x80>", out int continuation));
        Assert.Equal("\uFFFD", decoder.Append(continuation));
        Assert.True(t.TryGetTokenId("<0x41>", out int letterA));
        Assert.Equal("", decoder.Append(first));
        Assert.Equal("\uFFFDA", decoder.Append(letterA));
    }

    [Fact]
    public void Stories260KRoundTrips()
    {
        using var file = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var t = Tokenizer.FromGguf(file);
        Assert.Equal(512, t.VocabSize);
        Assert.Null(t.SeparatorId); // stored as 0xFFFFFFFF, llama.cpp's "none"
        Assert.Null(t.PaddingId);

        var ids = t.Encode("Once upon a time");
        Assert.Equal(1, ids[0]);
        Assert.True(ids.Length > 2);
        Assert.All(ids, id => Assert.InRange(id, 0, 511));
        Assert.Equal("▁", t.TokenText(ids[1])[..1]);
        Assert.Equal("Once upon a time", t.Decode(ids[1..]));
        Assert.Equal(" Once upon a time", t.Decode(ids));

        var decoder = t.CreateDecoder();
        Assert.Equal(" Once upon a time", decoder.Append(ids) + decoder.Flush());
    }
}
