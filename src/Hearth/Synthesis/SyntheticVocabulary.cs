using System.Globalization;
using Hearth.Gguf;
using Hearth.Tokenizers;

namespace Hearth.Synthesis;

/// <summary>
/// A self-contained SentencePiece-style (<c>llama</c>) vocabulary of any size: <c>&lt;unk&gt;</c>, <c>&lt;s&gt;</c>,
/// <c>&lt;/s&gt;</c>, the 256 byte tokens <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c>, then filler pieces <c>▁t0</c>,
/// <c>▁t1</c>, ... with decreasing scores. Any text tokenizes (through byte fallback) and any token decodes, so a
/// synthetic model can be run end to end without a real tokenizer.
/// </summary>
public static class SyntheticVocabulary
{
    public const int UnknownId = 0;
    public const int BosId = 1;
    public const int EosId = 2;

    /// <summary>Id of <c>&lt;0x00&gt;</c>; byte b is token <c>FirstByteId + b</c>.</summary>
    public const int FirstByteId = 3;

    /// <summary>Id of the first filler piece.</summary>
    public const int FirstPieceId = FirstByteId + 256;

    /// <summary>The smallest vocabulary: the three specials and the byte tokens.</summary>
    public const int MinimumSize = FirstPieceId;

    /// <summary>The text of token <paramref name="id"/>.</summary>
    public static string TokenText(int id) => id switch
    {
        UnknownId => "<unk>",
        BosId => "<s>",
        EosId => "</s>",
        < FirstPieceId => string.Create(CultureInfo.InvariantCulture, $"<0x{id - FirstByteId:X2}>"),
        _ => string.Create(CultureInfo.InvariantCulture, $"\u2581t{id - FirstPieceId}"),
    };

    /// <summary>Writes the <c>tokenizer.ggml.*</c> keys for a vocabulary of <paramref name="size"/> tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size is below <see cref="MinimumSize"/>.</exception>
    public static void AddTo(GgufWriter writer, int size)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, MinimumSize);
        var tokens = new string[size];
        var scores = new float[size];
        var types = new int[size];
        for (int id = 0; id < size; id++)
        {
            tokens[id] = TokenText(id);
            (scores[id], types[id]) = id switch
            {
                UnknownId => (0f, (int)TokenType.Unknown),
                BosId or EosId => (0f, (int)TokenType.Control),
                < FirstPieceId => (0f, (int)TokenType.Byte),
                _ => (-(id - FirstPieceId + 1), (int)TokenType.Normal),
            };
        }

        writer.Set(Tokenizer.KeyModel, "llama");
        writer.Set(Tokenizer.KeyTokens, GgufArray.Of(tokens));
        writer.Set(Tokenizer.KeyScores, GgufArray.Of(scores));
        writer.Set(Tokenizer.KeyTokenType, GgufArray.Of(types));
        writer.Set(Tokenizer.KeyBosId, (uint)BosId);
        writer.Set(Tokenizer.KeyEosId, (uint)EosId);
        writer.Set(Tokenizer.KeyUnknownId, (uint)UnknownId);
        writer.Set(Tokenizer.KeyAddBos, true);
        writer.Set(Tokenizer.KeyAddEos, false);
    }
}
