using System.Text;

namespace Hearth.Tokenizers;

/// <summary>
/// Turns a llama.cpp pre-tokenizer pattern (ECMAScript syntax, as fed to std::regex) into a .NET pattern that matches
/// the same way over the text representation llama.cpp uses for it (unicode.cpp, <c>unicode_regex_split</c>):
/// <list type="bullet">
/// <item>Patterns that use \p{N}, \p{L}, \p{P}, \p{M}, \p{S} (or \p{Lu} etc.) run over a "collapsed" text: ASCII stays
/// as is, non-ASCII whitespace becomes \v, and every other non-ASCII code point becomes one proxy character for its
/// category. Each \p{X} becomes that proxy plus the ASCII members llama.cpp assigns to the
/// category, which is how llama.cpp ends up with quirks such as '~' not being \p{S}. Every \p{L*} means "any letter".</item>
/// <item>Other patterns run over the real characters, with non-ASCII whitespace replaced by \v (std::wregex's \s does not
/// know it). Character classes holding supplementary-plane ranges are rewritten into surrogate-pair alternations.</item>
/// </list>
/// ECMAScript differences are fixed on the way: \d is ASCII only, and $ means the end of the piece (.NET's $ would
/// also match before a final newline).
/// </summary>
internal static class PatternTranslator
{
    // Proxy characters for non-ASCII code points in the collapsed text (Private Use Area, never produced otherwise
    // because real private-use characters are themselves collapsed to the "other" proxy).
    public const char ProxyOther = '\uE000';
    public const char ProxyNumber = '\uE001';
    public const char ProxyLetter = '\uE002';
    public const char ProxyPunctuation = '\uE003';
    public const char ProxyAccentMark = '\uE004';
    public const char ProxySymbol = '\uE005';

    private static readonly string[] s_categoryNames = ["\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}", "\\p{Lu}", "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}"];

    /// <summary>True when llama.cpp would run this pattern over the collapsed text.</summary>
    public static bool UsesCategories(string pattern)
    {
        foreach (var name in s_categoryNames)
        {
            if (pattern.Contains(name, StringComparison.Ordinal)) return true;
        }

        return false;
    }

    /// <summary>The contents of a character class standing for one category in the collapsed text.</summary>
    private static string? CategoryClassBody(string name) => name switch
    {
        "\\p{N}" => "\\uE0010-9",
        "\\p{L}" or "\\p{Lu}" or "\\p{Ll}" or "\\p{Lt}" or "\\p{Lm}" or "\\p{Lo}" => "\\uE002A-Za-z",
        // ASCII punctuation as llama.cpp lists it: !-#%-*,-/:-;?-@[-]_{}
        "\\p{P}" => "\\uE003!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
        "\\p{M}" => "\\uE004",
        // ASCII symbols as llama.cpp lists it: $+<=>^`| (no '~')
        "\\p{S}" => "\\uE005\\$\\+<=>\\^`\\|",
        _ => null,
    };

    /// <summary>Translates a pattern; <paramref name="collapsed"/> says which text representation it expects.</summary>
    /// <exception cref="NotSupportedException">The pattern mixes categories with non-ASCII characters (llama.cpp refuses
    /// those too), or uses a construct this translator does not handle.</exception>
    public static string Translate(string pattern, out bool collapsed)
    {
        collapsed = UsesCategories(pattern);
        if (collapsed)
        {
            foreach (char c in pattern)
            {
                if (c >= 0x80) throw new NotSupportedException($"pre-tokenizer pattern mixes unicode categories and non-ASCII characters: {pattern}");
            }
        }

        var sb = new StringBuilder(pattern.Length * 2);
        bool inside = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            char c = pattern[i];

            if (c == '\\' && i + 1 < pattern.Length)
            {
                char next = pattern[i + 1];
                if (next == 'p' && i + 2 < pattern.Length && pattern[i + 2] == '{')
                {
                    int close = pattern.IndexOf('}', i + 3);
                    string name = close < 0 ? "" : pattern.Substring(i, close - i + 1);
                    string? body = collapsed ? CategoryClassBody(name) : null;
                    if (body == null) throw new NotSupportedException($"unsupported unicode property '{name}' in pre-tokenizer pattern: {pattern}");
                    sb.Append(inside ? body : "[" + body + "]");
                    i = close;
                    continue;
                }

                if (next == 'd')
                {
                    sb.Append(inside ? "0-9" : "[0-9]");
                    i++;
                    continue;
                }

                if (next == 'D')
                {
                    if (inside) throw new NotSupportedException($"\\D inside a character class is not supported: {pattern}");
                    sb.Append("[^0-9]");
                    i++;
                    continue;
                }

                if (next is 'b' or 'B' or 'w' or 'W')
                {
                    throw new NotSupportedException($"\\{next} is not supported in pre-tokenizer patterns: {pattern}");
                }

                sb.Append(c).Append(next);
                i++;
                continue;
            }

            if (!inside && c == '[')
            {
                if (!collapsed)
                {
                    int end = FindClassEnd(pattern, i);
                    string cls = pattern.Substring(i, end - i + 1);
                    if (ContainsSurrogates(cls))
                    {
                        sb.Append(RewriteSupplementaryClass(cls, pattern));
                        i = end;
                        continue;
                    }
                }

                inside = true;
                sb.Append(c);
                continue;
            }

            if (inside && c == ']')
            {
                inside = false;
                sb.Append(c);
                continue;
            }

            if (!inside && c == '$')
            {
                sb.Append("\\z");
                continue;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static int FindClassEnd(string pattern, int open)
    {
        for (int j = open + 1; j < pattern.Length; j++)
        {
            if (pattern[j] == '\\') { j++; continue; }
            if (pattern[j] == ']' && j > open + 1) return j;
        }

        throw new NotSupportedException($"unterminated character class in pre-tokenizer pattern: {pattern}");
    }

    private static bool ContainsSurrogates(string s)
    {
        foreach (char c in s)
        {
            if (char.IsSurrogate(c)) return true;
        }

        return false;
    }

    /// <summary>
    /// Rewrites a positive character class holding supplementary-plane code points into an alternation that .NET can
    /// match over UTF-16: <c>(?:[bmp part]|\uD801[\uDC00-\uDC4F]|...)</c>.
    /// </summary>
    private static string RewriteSupplementaryClass(string cls, string pattern)
    {
        if (cls.Length > 1 && cls[1] == '^') throw new NotSupportedException($"negated character class with supplementary characters: {pattern}");
        var bmp = new StringBuilder();
        var alternatives = new List<string>();
        int i = 1;
        int end = cls.Length - 1;

        int ReadItem(ref int pos, out string raw)
        {
            if (cls[pos] == '\\')
            {
                raw = cls.Substring(pos, 2);
                pos += 2;
                return -1; // escapes stay in the BMP part
            }

            if (char.IsHighSurrogate(cls[pos]) && pos + 1 < end && char.IsLowSurrogate(cls[pos + 1]))
            {
                raw = cls.Substring(pos, 2);
                int cp = char.ConvertToUtf32(cls[pos], cls[pos + 1]);
                pos += 2;
                return cp;
            }

            raw = cls[pos].ToString();
            return cls[pos++];
        }

        while (i < end)
        {
            int lo = ReadItem(ref i, out string rawLo);
            if (lo >= 0 && i + 1 < end && cls[i] == '-')
            {
                int afterDash = i + 1;
                int hi = ReadItem(ref afterDash, out string rawHi);
                if (hi < 0) throw new NotSupportedException($"range ending in an escape: {pattern}");
                i = afterDash;
                AddRange(lo, hi, rawLo, rawHi);
                continue;
            }

            if (lo >= 0x10000) AddRange(lo, lo, rawLo, rawLo);
            else bmp.Append(rawLo);
        }

        void AddRange(int lo, int hi, string rawLo, string rawHi)
        {
            if (hi < lo) throw new NotSupportedException($"reversed range in character class: {pattern}");
            if (hi < 0x10000)
            {
                bmp.Append(rawLo).Append('-').Append(rawHi);
                return;
            }

            if (lo < 0x10000)
            {
                bmp.Append(rawLo).Append("-\\uFFFF");
                lo = 0x10000;
            }

            // Split [lo, hi] by high surrogate.
            int hiLead = 0xD800 + ((hi - 0x10000) >> 10);
            int loLead = 0xD800 + ((lo - 0x10000) >> 10);
            int loTrail = 0xDC00 + ((lo - 0x10000) & 0x3FF);
            int hiTrail = 0xDC00 + ((hi - 0x10000) & 0x3FF);
            if (loLead == hiLead)
            {
                alternatives.Add($"\\u{loLead:X4}[\\u{loTrail:X4}-\\u{hiTrail:X4}]");
                return;
            }

            alternatives.Add($"\\u{loLead:X4}[\\u{loTrail:X4}-\\uDFFF]");
            if (hiLead - loLead > 1) alternatives.Add($"[\\u{loLead + 1:X4}-\\u{hiLead - 1:X4}][\\uDC00-\\uDFFF]");
            alternatives.Add($"\\u{hiLead:X4}[\\uDC00-\\u{hiTrail:X4}]");
        }

        var sb = new StringBuilder("(?:");
        if (bmp.Length > 0) sb.Append('[').Append(bmp).Append(']');
        foreach (var alt in alternatives)
        {
            if (sb.Length > 3) sb.Append('|');
            sb.Append(alt);
        }

        return sb.Append(')').ToString();
    }
}
