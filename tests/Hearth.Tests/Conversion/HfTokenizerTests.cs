using System.Text;
using System.Text.Json.Nodes;
using Hearth.Conversion;
using Hearth.Gguf;
using Hearth.Tests.Tokenizers;
using Hearth.Tokenizers;

namespace Hearth.Tests.Conversion;

/// <summary>Real Hugging Face tokenizers converted to GGUF metadata must reproduce llama.cpp's reference ids.</summary>
public sealed class HfTokenizerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-hftok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Tokenizer Convert(string hfDir)
    {
        var hf = HfTokenizer.Load(hfDir);
        var w = new GgufWriter();
        w.Set("general.architecture", "llama");
        hf.WriteTo(w);
        string path = Path.Combine(_dir, Path.GetFileName(hfDir) + ".gguf");
        w.Write(path);
        using var file = GgufFile.Open(path);
        return Tokenizer.FromGguf(file);
    }

    [Theory]
    [InlineData("llama3", "llama-bpe")]
    [InlineData("qwen3", "qwen2")]
    public void ConvertedTokenizerReproducesReferenceIds(string hfName, string vocab)
    {
        var hf = HfTokenizer.Load(TestData.Path("hf-tokenizers", hfName));
        Assert.Equal("gpt2", hf.Model);
        Assert.Equal(vocab, hf.Pre);
        var tokenizer = Convert(TestData.Path("hf-tokenizers", hfName));
        var cases = VocabFixture.Cases(vocab);
        Assert.NotEmpty(cases);
        var failures = new StringBuilder();
        foreach (var (text, expected) in cases)
        {
            var got = tokenizer.Encode(text, addSpecial: false, parseSpecial: false);
            if (!got.SequenceEqual(expected)) failures.AppendLine($"{text}: expected {string.Join(' ', expected)} got {string.Join(' ', got)}");
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    [Fact]
    public void Llama3SpecialTokensAndTemplateAreCarried()
    {
        var hf = HfTokenizer.Load(TestData.Path("hf-tokenizers", "llama3"));
        Assert.Equal(128000, hf.BosId);
        Assert.Equal(128001, hf.EosId);
        Assert.Equal(TokenType.Control, hf.Types[128000]);
        Assert.Equal(TokenType.Normal, hf.Types[1000]);
        Assert.NotNull(hf.ChatTemplate);
        Assert.Equal(128256, hf.Tokens.Count);
        var tokenizer = Convert(TestData.Path("hf-tokenizers", "llama3"));
        Assert.Equal([128000], tokenizer.Encode("<|begin_of_text|>", addSpecial: false, parseSpecial: true));
    }

    [Fact]
    public void Qwen3MergesInArrayFormAndPaddingToTheModelVocabulary()
    {
        var hf = HfTokenizer.Load(TestData.Path("hf-tokenizers", "qwen3"));
        Assert.Equal("Ġ Ġ", hf.Merges![0]);
        Assert.Equal(hf.Find("<|im_end|>"), hf.EosId);
        var w = new GgufWriter();
        hf.WriteTo(w, vocabSize: hf.Tokens.Count + 5);
        string path = Path.Combine(_dir, "padded.gguf");
        w.Write(path);
        using var file = GgufFile.Open(path);
        var tokens = file.GetArray<string>(Tokenizer.KeyTokens)!;
        Assert.Equal(hf.Tokens.Count + 5, tokens.Length);
        Assert.Equal($"[PAD{hf.Tokens.Count}]", tokens[hf.Tokens.Count]);
        Assert.Equal((int)TokenType.Unused, file.GetIntArray(Tokenizer.KeyTokenType)![^1]);
        Assert.Throws<HearthException>(() => hf.WriteTo(new GgufWriter(), vocabSize: 10));
    }

    [Fact]
    public void UnrecognisedPreTokenizerIsAnError()
    {
        var tok = new JsonObject
        {
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Split", ["pattern"] = new JsonObject { ["Regex"] = "[a-z]+" } },
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = new JsonObject { ["a"] = 0, ["b"] = 1, ["ab"] = 2 }, ["merges"] = new JsonArray("a b") },
        };
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), tok.ToJsonString());
        var e = Assert.Throws<HearthException>(() => HfTokenizer.Load(_dir));
        Assert.Contains("[a-z]+", e.Message);
    }

    [Theory]
    [InlineData(true, false, "smollm")]
    [InlineData(true, true, "starcoder")]
    [InlineData(false, false, "gpt-2")]
    public void ByteLevelPreTokenizersAreRecognised(bool digits, bool cleanUpSpaces, string expected)
    {
        var byteLevel = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["use_regex"] = true };
        JsonNode pre = digits
            ? new JsonObject { ["type"] = "Sequence", ["pretokenizers"] = new JsonArray(new JsonObject { ["type"] = "Digits", ["individual_digits"] = true }, byteLevel) }
            : byteLevel;
        var tok = new JsonObject
        {
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 3, ["content"] = "<|endoftext|>", ["special"] = true }),
            ["pre_tokenizer"] = pre,
            ["model"] = new JsonObject { ["type"] = "BPE", ["vocab"] = new JsonObject { ["a"] = 0, ["b"] = 1, ["ab"] = 2 }, ["merges"] = new JsonArray(new JsonArray("a", "b")) },
        };
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), tok.ToJsonString());
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), new JsonObject { ["eos_token"] = "<|endoftext|>", ["clean_up_tokenization_spaces"] = cleanUpSpaces }.ToJsonString());
        var hf = HfTokenizer.Load(_dir);
        Assert.Equal(expected, hf.Pre);
        Assert.Equal(["a", "b", "ab", "<|endoftext|>"], hf.Tokens);
        Assert.Equal([TokenType.Normal, TokenType.Normal, TokenType.Normal, TokenType.Control], hf.Types);
        Assert.Equal(3, hf.EosId);
        Assert.Equal(["a b"], hf.Merges!);
    }

    [Fact]
    public void BpeWithByteFallbackBecomesSentencePieceRankedById()
    {
        var tok = new JsonObject
        {
            ["added_tokens"] = new JsonArray(new JsonObject { ["id"] = 1, ["content"] = "<s>", ["special"] = true }),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["byte_fallback"] = true, ["unk_token"] = "<unk>",
                ["vocab"] = new JsonObject { ["<unk>"] = 0, ["<s>"] = 1, ["<0x41>"] = 2, ["\u2581a"] = 3 },
                ["merges"] = new JsonArray(),
            },
        };
        File.WriteAllText(Path.Combine(_dir, "tokenizer.json"), tok.ToJsonString());
        var hf = HfTokenizer.Load(_dir);
        Assert.Equal("llama", hf.Model);
        Assert.Null(hf.Pre);
        Assert.Equal([TokenType.Unknown, TokenType.Control, TokenType.Byte, TokenType.Normal], hf.Types);
        Assert.Equal([0f, -1f, -2f, -3f], hf.Scores!);
        Assert.Equal(0, hf.UnknownId);
    }
}
