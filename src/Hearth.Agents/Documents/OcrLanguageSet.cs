using System.Text;

namespace Hearth.Agents.Documents;

/// <summary>
/// Tesseract language lists (<c>jpn+nep+eng</c>) and the choice of languages for a page from the writing systems found
/// in a first OCR pass.
/// </summary>
public static class OcrLanguageSet
{
    private const int MaxLanguages = 16;

    /// <summary>The writing system of each language the extractor knows; others are always kept when narrowing.</summary>
    private static readonly Dictionary<string, WritingSystem> s_systems = new(StringComparer.Ordinal)
    {
        ["jpn"] = WritingSystem.Japanese, ["jpn_vert"] = WritingSystem.Japanese,
        ["chi_sim"] = WritingSystem.Han, ["chi_tra"] = WritingSystem.Han, ["chi_sim_vert"] = WritingSystem.Han, ["chi_tra_vert"] = WritingSystem.Han,
        ["kor"] = WritingSystem.Hangul, ["kor_vert"] = WritingSystem.Hangul,
        ["nep"] = WritingSystem.Devanagari, ["hin"] = WritingSystem.Devanagari, ["mar"] = WritingSystem.Devanagari, ["san"] = WritingSystem.Devanagari,
        ["eng"] = WritingSystem.Latin, ["fra"] = WritingSystem.Latin, ["deu"] = WritingSystem.Latin, ["spa"] = WritingSystem.Latin,
        ["ita"] = WritingSystem.Latin, ["por"] = WritingSystem.Latin, ["nld"] = WritingSystem.Latin, ["pol"] = WritingSystem.Latin,
        ["rus"] = WritingSystem.Cyrillic, ["ukr"] = WritingSystem.Cyrillic,
        ["ara"] = WritingSystem.Arabic, ["tha"] = WritingSystem.Thai, ["ell"] = WritingSystem.Greek,
    };

    /// <summary>Splits a '+'-separated list into Tesseract language codes, in order, without repeats.</summary>
    /// <exception cref="ArgumentException">The list is empty, too long, or a code is not letters, digits and underscores
    /// (so a code can never be taken for an option).</exception>
    public static IReadOnlyList<string> Parse(string languages)
    {
        ArgumentNullException.ThrowIfNull(languages);
        var codes = new List<string>();
        foreach (var part in languages.Split('+'))
        {
            var code = part.Trim();
            if (code.Length is 0 or > 32 || !code.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || !char.IsAsciiLetter(code[0]))
            {
                throw new ArgumentException($"OCR languages '{languages}': '{code}' is not a Tesseract language code (such as jpn, nep, eng; joined with '+')");
            }

            if (!codes.Contains(code)) codes.Add(code);
        }

        if (codes.Count > MaxLanguages) throw new ArgumentException($"OCR languages '{languages}': at most {MaxLanguages} languages");
        return codes;
    }

    /// <summary>
    /// The languages of <paramref name="languages"/> worth a second OCR pass over a page whose first pass (with all of
    /// them) read <paramref name="text"/>: those whose writing system makes up a real part of the letters read (at
    /// least 2 letters and 5 %), plus every language whose writing system is not known here. Order is kept.
    /// </summary>
    public static IReadOnlyList<string> Narrow(IReadOnlyList<string> languages, string text)
    {
        var counts = new Dictionary<WritingSystem, int>();
        int letters = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var system = SystemOf(rune);
            if (system == WritingSystem.Unknown) continue;
            letters++;
            counts[system] = counts.GetValueOrDefault(system) + 1;
        }

        // Kana is only Japanese; kanji (Han) is shared by Japanese and Chinese.
        int han = counts.GetValueOrDefault(WritingSystem.Han);
        counts[WritingSystem.Japanese] = counts.GetValueOrDefault(WritingSystem.Japanese) + han;
        bool Present(WritingSystem s) => counts.GetValueOrDefault(s) is var n && n >= 2 && n * 20 >= letters;
        return languages.Where(l => !s_systems.TryGetValue(l, out var s) || Present(s)).ToList();
    }

    private static WritingSystem SystemOf(Rune rune)
    {
        int c = rune.Value;
        return c switch
        {
            >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= 0xC0 and <= 0x24F when c != 0xD7 && c != 0xF7 => WritingSystem.Latin,
            >= 0x3040 and <= 0x30FF or >= 0x31F0 and <= 0x31FF or >= 0xFF66 and <= 0xFF9F => WritingSystem.Japanese,
            >= 0x3400 and <= 0x4DBF or >= 0x4E00 and <= 0x9FFF or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x2FA1F => WritingSystem.Han,
            >= 0xAC00 and <= 0xD7AF or >= 0x1100 and <= 0x11FF or >= 0x3130 and <= 0x318F => WritingSystem.Hangul,
            >= 0x0900 and <= 0x097F or >= 0xA8E0 and <= 0xA8FF => WritingSystem.Devanagari,
            >= 0x0400 and <= 0x04FF => WritingSystem.Cyrillic,
            >= 0x0600 and <= 0x06FF => WritingSystem.Arabic,
            >= 0x0E00 and <= 0x0E7F => WritingSystem.Thai,
            >= 0x0370 and <= 0x03FF => WritingSystem.Greek,
            _ => WritingSystem.Unknown,
        };
    }

    private enum WritingSystem
    {
        Unknown,
        Latin,
        Japanese,
        Han,
        Hangul,
        Devanagari,
        Cyrillic,
        Arabic,
        Thai,
        Greek,
    }
}
