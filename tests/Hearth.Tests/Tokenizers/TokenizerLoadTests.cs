using Hearth.Gguf;
using Hearth.Tokenizers;

namespace Hearth.Tests.Tokenizers;

/// <summary>Small hand-made vocabularies: metadata validation, defaults, and the merge algorithms' rules.</summary>
public sealed class TokenizerLoadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-tok-").FullName;
    private int _files;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Tokenizer Load(GgufWriter writer)
    {
        string path = Path.Combine(_dir, $"v{_files++}.gguf");
        writer.Write(path);
        using var file = GgufFile.Open(path);
        return Tokenizer.FromGguf(file);
    }

    private TokenizerFormatException LoadFails(GgufWriter writer, string key)
    {
        var e = Assert.Throws<TokenizerFormatException>(() => Load(writer));
        Assert.Equal(key, e.Key);
        Assert.Contains(key, e.Message);
        return e;
    }

    private static readonly string[] s_spmTokens =
    [
        "<unk>", "<s>", "</s>", "▁", "a", "b", "c", "ab", "bc", "▁a", "▁ab", "cc", "<0x0A>", "<0xC3>", "<0xA9>",
    ];

    /// <summary>A SentencePiece vocabulary; by default the scores favour "bc" over "ab".</summary>
    private static GgufWriter Spm(float abScore = -1, float bcScore = -0.5f)
    {
        float[] scores = [0, 0, 0, -3, -5, -5, -5, abScore, bcScore, -2, -1.5f, -0.1f, 0, 0, 0];
        int[] types = [2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6];
        return new GgufWriter()
            .Set(Tokenizer.KeyModel, "llama")
            .Set(Tokenizer.KeyTokens, GgufArray.Of(s_spmTokens))
            .Set(Tokenizer.KeyScores, GgufArray.Of(scores))
            .Set(Tokenizer.KeyTokenType, GgufArray.Of(types));
    }

    [Fact]
    public void SentencePieceMergesByScoreAndFallsBackToBytes()
    {
        var t = Load(Spm());
        Assert.Equal(15, t.VocabSize);
        Assert.Equal(TokenType.Byte, t.GetTokenType(12));

        // " abc" → "▁abc": candidates ▁a(-2) ab(-1) bc(-0.5): bc first; then ab is stale, a+bc no token; ▁+a → ▁a, bc.
        Assert.Equal([9, 8], t.Encode("abc", addSpecial: false));
        // "é" has no token: its UTF-8 bytes C3 A9 as byte tokens; "\n" is <0x0A>.
        Assert.Equal([3, 13, 14, 12], t.Encode("é\n", addSpecial: false));
        // A character with neither a token nor a byte token becomes <unk>, one per byte.
        Assert.Equal([3, 0], t.Encode("z", addSpecial: false));
        Assert.Equal([1, 9, 8], t.Encode("abc"));
        Assert.Equal("abcé\n", t.Decode([9, 8, 13, 14, 12]));
    }

    [Fact]
    public void SentencePieceEqualScoresMergeLeftmostFirst()
    {
        // ab and bc score the same: the leftmost pair (a,b) wins, leaving c.
        var t = Load(Spm(abScore: -1, bcScore: -1).Set(Tokenizer.KeyAddSpacePrefix, false));
        Assert.False(t.AddSpacePrefix);
        Assert.Equal([7, 6], t.Encode("abc", addSpecial: false));
        Assert.Equal([7, 7], t.Encode("abab", addSpecial: false));
    }

    [Fact]
    public void SentencePieceDefaultsFollowLlamaCpp()
    {
        var t = Load(Spm());
        Assert.Equal(1, t.BosId);
        Assert.Equal(2, t.EosId);
        Assert.Equal(0, t.UnknownId);
        Assert.True(t.AddBos);
        Assert.False(t.AddEos);
        Assert.True(t.AddSpacePrefix);
        Assert.False(t.CleanSpaces);
        Assert.Equal([2], t.EndOfGenerationIds.ToArray()); // "</s>" is both EOS and a known end marker

        var withEos = Load(Spm().Set(Tokenizer.KeyAddEos, true).Set(Tokenizer.KeyAddBos, false));
        Assert.Equal([9, 8, 2], withEos.Encode("abc"));
        Assert.Equal([9, 8], withEos.Encode("abc", addSpecial: false));
    }

    [Fact]
    public void NoneSentinelKeepsTheDefault()
    {
        var t = Load(Spm().Set(Tokenizer.KeyBosId, uint.MaxValue).Set(Tokenizer.KeyPaddingId, uint.MaxValue).Set(Tokenizer.KeyEosId, 3u));
        Assert.Equal(1, t.BosId);
        Assert.Null(t.PaddingId);
        Assert.Equal(3, t.EosId);

        // Ids tokenization never emits are ignored when out of range, as llama.cpp does.
        var lenient = Load(Spm().Set(Tokenizer.KeyPaddingId, 32000u).Set(Tokenizer.KeySeparatorId, 4u));
        Assert.Null(lenient.PaddingId);
        Assert.Equal(4, lenient.SeparatorId);
    }

    private static readonly string[] s_bpeTokens = ["a", "b", "c", "Ġ", "ab", "Ġab", "<|endoftext|>", "<|im_end|>", "x", "y"];

    /// <summary>A byte-level BPE vocabulary. Merges: "a b" (rank 0), "Ġ ab" (1), "x y" (2: result "xy" is no token).</summary>
    private static GgufWriter Bpe(string? pre = "gpt-2") => new GgufWriter()
        .Set(Tokenizer.KeyModel, "gpt2")
        .Set(Tokenizer.KeyPre, pre ?? "")
        .Set(Tokenizer.KeyTokens, GgufArray.Of(s_bpeTokens))
        .Set(Tokenizer.KeyTokenType, GgufArray.Of([1, 1, 1, 1, 1, 1, 3, 3, 1, 1]))
        .Set(Tokenizer.KeyMerges, GgufArray.Of(["a b", "Ġ ab", "x y"]))
        .Set(Tokenizer.KeyEosId, 6u);

    [Fact]
    public void BytePairMergesByRankAndDropsUnknownMergeResultsLikeLlamaCpp()
    {
        var t = Load(Bpe());
        Assert.Equal(TokenizerModel.BytePairEncoding, t.Model);
        Assert.Equal([4, 5, 2], t.Encode("ab abc", addSpecial: false));
        // "xy" is a merge result but no token: llama.cpp falls back to one-byte tokens of its text.
        Assert.Equal([8, 9], t.Encode("xy", addSpecial: false));
        // Bytes with no token are dropped, as in llama.cpp.
        Assert.Equal([0], t.Encode("aé", addSpecial: false));
        Assert.Equal("ab abc", t.Decode([4, 5, 2]));
        Assert.Equal(7, t.EotId); // found by text
        Assert.True(t.IsEndOfGeneration(6));
        Assert.True(t.IsEndOfGeneration(7));
        Assert.Null(t.BosId); // the BPE default (11) is outside this vocabulary
    }

    [Fact]
    public void MissingPreTokenizerMeansDefault()
    {
        var t = Load(Bpe(pre: null).Remove(Tokenizer.KeyPre));
        Assert.Equal("default", t.PreTokenizerName);
        Assert.Equal([4, 5, 2], t.Encode("ab abc", addSpecial: false));
    }

    [Fact]
    public void InvalidMetadataIsRejectedNamingTheKey()
    {
        LoadFails(Spm().Remove(Tokenizer.KeyModel), Tokenizer.KeyModel);
        Assert.Contains("not supported", LoadFails(Spm().Set(Tokenizer.KeyModel, "bert"), Tokenizer.KeyModel).Message);
        Assert.Contains("unknown tokenizer model", LoadFails(Spm().Set(Tokenizer.KeyModel, "klingon"), Tokenizer.KeyModel).Message);
        Assert.Contains("no-such-pre", LoadFails(Bpe("no-such-pre"), Tokenizer.KeyPre).Message);
        Assert.Contains("not supported", LoadFails(Bpe("kimi-k2"), Tokenizer.KeyPre).Message);
        LoadFails(Bpe().Set(Tokenizer.KeyPre, 7u), Tokenizer.KeyPre);
        LoadFails(Bpe().Remove(Tokenizer.KeyMerges), Tokenizer.KeyMerges);
        LoadFails(Bpe().Set(Tokenizer.KeyMerges, GgufArray.Of(["ab"])), Tokenizer.KeyMerges);
        LoadFails(Spm().Remove(Tokenizer.KeyTokens), Tokenizer.KeyTokens);
        LoadFails(Spm().Set(Tokenizer.KeyTokens, GgufArray.Of(Array.Empty<string>())), Tokenizer.KeyTokens);
        LoadFails(Spm().Set(Tokenizer.KeyTokens, GgufArray.Of([.. s_spmTokens[..^1], "a"])), Tokenizer.KeyTokens);
        LoadFails(Spm().Set(Tokenizer.KeyScores, GgufArray.Of(new float[3])), Tokenizer.KeyScores);
        LoadFails(Spm().Set(Tokenizer.KeyScores, "high"), Tokenizer.KeyScores);
        LoadFails(Spm().Set(Tokenizer.KeyTokenType, GgufArray.Of(new int[20])), Tokenizer.KeyTokenType);
        Assert.Contains("outside the vocabulary", LoadFails(Spm().Set(Tokenizer.KeyBosId, 15u), Tokenizer.KeyBosId).Message);
        LoadFails(Spm().Set(Tokenizer.KeyEotId, 1000), Tokenizer.KeyEotId);
        LoadFails(Bpe().Set(Tokenizer.KeyAddBos, true), Tokenizer.KeyAddBos);
        Assert.Contains("not a string", LoadFails(Spm().Set(Tokenizer.KeyModel, GgufValue.Of(3u)), Tokenizer.KeyModel).Message);
        Assert.Throws<ModelFormatException>(() => Load(Spm().Set(Tokenizer.KeyTokens, "abc")));
    }
}
