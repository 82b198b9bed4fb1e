using System.Text;
using Hearth.Gguf;
using Hearth.Grammar;
using Hearth.Tokenizers;

namespace Hearth.Tests.Grammar;

/// <summary>Shared helpers: text matching through a matcher, small synthetic vocabularies, the real qwen2 vocabulary.</summary>
internal static class GrammarTestHelpers
{
    private static readonly Lazy<(Tokenizer Tokenizer, TokenVocabulary Vocabulary)> s_qwen = new(() =>
    {
        using var file = GgufFile.Open(TestData.Path("tokenizers", "ggml-vocab-qwen2.gguf"));
        var tokenizer = Tokenizer.FromGguf(file);
        return (tokenizer, TokenVocabulary.FromTokenizer(tokenizer));
    });

    private static readonly Lazy<TokenVocabulary> s_bytes = new(() => ByteVocabulary());

    /// <summary>The real 151k-token Qwen2 vocabulary (loaded once per test run; read-only, shared).</summary>
    public static Tokenizer QwenTokenizer => s_qwen.Value.Tokenizer;

    public static TokenVocabulary Qwen => s_qwen.Value.Vocabulary;

    /// <summary>256 single-byte tokens plus an end-of-generation token (id 256).</summary>
    public static TokenVocabulary Bytes => s_bytes.Value;

    public const int BytesEog = 256;

    public static TokenVocabulary ByteVocabulary()
    {
        var tokens = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        tokens.Add([]);
        return TokenVocabulary.FromTokens(tokens, [256]);
    }

    /// <summary>A vocabulary of the given strings (UTF-8) plus a final end-of-generation token.</summary>
    public static TokenVocabulary Strings(params string[] tokens)
    {
        var list = tokens.Select(t => Encoding.UTF8.GetBytes(t)).ToList();
        list.Add([]);
        return TokenVocabulary.FromTokens(list, [list.Count - 1]);
    }

    /// <summary>Whether the grammar accepts exactly <paramref name="text"/> (fed byte by byte, then complete).</summary>
    public static bool Accepts(Hearth.Grammar.Grammar grammar, string text)
    {
        var m = new GrammarMatcher(grammar, Bytes);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            if (!m.TryAcceptToken(b)) return false;
        }

        return m.IsComplete;
    }

    /// <summary>Whether <paramref name="text"/> is a prefix of some sentence.</summary>
    public static bool AcceptsPrefix(Hearth.Grammar.Grammar grammar, string text)
    {
        var m = new GrammarMatcher(grammar, Bytes);
        return m.TryAcceptText(text);
    }

    /// <summary>The reference mask: every token tried on its own clone of the matcher.</summary>
    public static bool[] BruteForceMask(GrammarMatcher matcher)
    {
        var mask = new bool[matcher.Vocabulary.Count];
        for (int id = 0; id < mask.Length; id++)
        {
            mask[id] = matcher.Clone().TryAcceptToken(id);
        }

        return mask;
    }
}
