using System.Globalization;

namespace Hearth.Tokenizers;

/// <summary>
/// The per-code-point classification llama.cpp's pre-tokenizers work with (unicode.h's <c>unicode_cpt_flags</c>):
/// exactly one general-category bit (\p{N}, \p{L}, \p{Z}, \p{M}, \p{P}, \p{S}, \p{C}) plus the White_Space property.
/// </summary>
[Flags]
internal enum CodepointFlags : ushort
{
    None = 0,
    Undefined = 0x0001,
    Number = 0x0002,
    Letter = 0x0004,
    Separator = 0x0008,
    AccentMark = 0x0010,
    Punctuation = 0x0020,
    Symbol = 0x0040,
    Control = 0x0080,
    CategoryMask = 0x00FF,
    Whitespace = 0x0100,
}

/// <summary>
/// Code point classification. llama.cpp generates its tables from Unicode's general categories (unassigned code points
/// count as \p{C}) and the White_Space property; we derive the same from .NET's Unicode data, so the two agree except
/// for characters assigned in one Unicode version and not the other.
/// </summary>
internal static class UnicodeData
{
    /// <summary>Flags for every BMP code point, computed once; immutable afterwards.</summary>
    private static readonly CodepointFlags[] s_bmp = BuildBmp();

    public static CodepointFlags Flags(int cp)
    {
        if ((uint)cp < (uint)s_bmp.Length) return s_bmp[cp];
        if (cp > 0x10FFFF || cp < 0) return CodepointFlags.Undefined;
        return Compute(cp);
    }

    public static bool IsWhitespace(int cp) => (Flags(cp) & CodepointFlags.Whitespace) != 0;

    /// <summary>The Unicode White_Space property (the same set as .NET's <c>\s</c> and Python regex's <c>\s</c>).</summary>
    private static bool IsWhiteSpaceProperty(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 => true,
        >= 0x2000 and <= 0x200A => true,
        0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        _ => false,
    };

    private static CodepointFlags[] BuildBmp()
    {
        var table = new CodepointFlags[0x10000];
        for (int cp = 0; cp < table.Length; cp++) table[cp] = Compute(cp);
        return table;
    }

    private static CodepointFlags Compute(int cp)
    {
        var category = (cp >= 0xD800 && cp <= 0xDFFF) ? UnicodeCategory.Surrogate : CharUnicodeInfo.GetUnicodeCategory(cp);
        var flags = category switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CodepointFlags.Letter,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CodepointFlags.AccentMark,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CodepointFlags.Number,
            UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
                or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
                or UnicodeCategory.OtherPunctuation => CodepointFlags.Punctuation,
            UnicodeCategory.MathSymbol or UnicodeCategory.CurrencySymbol or UnicodeCategory.ModifierSymbol
                or UnicodeCategory.OtherSymbol => CodepointFlags.Symbol,
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator => CodepointFlags.Separator,
            // Control, Format, Surrogate, PrivateUse, OtherNotAssigned: all \p{C}
            _ => CodepointFlags.Control,
        };
        if (IsWhiteSpaceProperty(cp)) flags |= CodepointFlags.Whitespace;
        return flags;
    }

    /// <summary>
    /// Splits a string into code points. Unpaired surrogates become U+FFFD, which is what llama.cpp sees for the UTF-8
    /// we would hand it (Encoding.UTF8 encodes them as EF BF BD).
    /// </summary>
    public static int[] ToCodepoints(ReadOnlySpan<char> text)
    {
        var result = new int[text.Length];
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                result[n++] = char.ConvertToUtf32(c, text[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                result[n++] = 0xFFFD;
            }
            else
            {
                result[n++] = c;
            }
        }

        return n == result.Length ? result : result[..n];
    }

    /// <summary>Appends the UTF-8 encoding of one code point.</summary>
    public static void AppendUtf8(List<byte> output, int cp)
    {
        if (cp < 0x80)
        {
            output.Add((byte)cp);
        }
        else if (cp < 0x800)
        {
            output.Add((byte)(0xC0 | (cp >> 6)));
            output.Add((byte)(0x80 | (cp & 0x3F)));
        }
        else if (cp < 0x10000)
        {
            output.Add((byte)(0xE0 | (cp >> 12)));
            output.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
            output.Add((byte)(0x80 | (cp & 0x3F)));
        }
        else
        {
            output.Add((byte)(0xF0 | (cp >> 18)));
            output.Add((byte)(0x80 | ((cp >> 12) & 0x3F)));
            output.Add((byte)(0x80 | ((cp >> 6) & 0x3F)));
            output.Add((byte)(0x80 | (cp & 0x3F)));
        }
    }
}

/// <summary>
/// GPT-2's reversible byte↔unicode mapping: printable Latin-1 bytes (! to ~, ¡ to ¬, ® to ÿ) stand for themselves,
/// every other byte b is shifted to U+0100 + (its rank among the unprintable bytes). Byte-level BPE vocabularies are
/// written in this alphabet (a space is 'Ġ', a newline 'Ċ').
/// </summary>
internal static class ByteLevel
{
    /// <summary>Character standing for each byte.</summary>
    public static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>Byte for each mapped character (indexed by char value), or -1. Covers U+0000..U+0143.</summary>
    private static readonly short[] s_charToByte = BuildCharToByte();

    public static int CharToByte(int c) => (uint)c < (uint)s_charToByte.Length ? s_charToByte[c] : -1;

    private static bool IsPrintable(int b) => (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++) map[b] = IsPrintable(b) ? (char)b : (char)(256 + n++);
        return map;
    }

    private static short[] BuildCharToByte()
    {
        var map = new short[256 + 68];
        Array.Fill(map, (short)-1);
        for (int b = 0; b < 256; b++) map[ByteToChar[b]] = (short)b;
        return map;
    }
}
