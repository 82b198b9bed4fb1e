using System.Text.RegularExpressions;

namespace Hearth.Tokenizers;

/// <summary>
/// Splits text into the words a byte-level BPE tokenizer merges within, as llama.cpp's <c>unicode_regex_split</c> does:
/// the text starts as one piece, and each expression of the variant in turn splits every current piece into its
/// matches and the unmatched gaps between them (gaps are kept as pieces too). The GPT-2 and Llama-3 expressions use
/// hand-written matchers, exactly as llama.cpp does; the others use .NET regular expressions over llama.cpp's text
/// representation (<see cref="PatternTranslator"/>). Instances are immutable and thread-safe.
/// </summary>
internal sealed class PreTokenizer
{
    private readonly Step[] _steps;

    private PreTokenizer(PreTokenizerSpec spec)
    {
        Spec = spec;
        _steps = spec.Expressions.Select(Step.Create).ToArray();
    }

    public PreTokenizerSpec Spec { get; }

    public static PreTokenizer Create(PreTokenizerSpec spec) => new(spec);

    /// <summary>Splits code points into pieces; returns the length of each piece, in code points, in order.</summary>
    public List<int> Split(int[] cps)
    {
        var offsets = new List<int>();
        if (cps.Length > 0) offsets.Add(cps.Length);
        var text = new SplitText(cps);
        foreach (var step in _steps)
        {
            offsets = step.Apply(text, offsets);
        }

        return offsets;
    }

    /// <summary>The text of one split call, with the two regex representations built on demand.</summary>
    private sealed class SplitText(int[] cps)
    {
        private string? _collapsed;
        private string? _wide;
        private int[]? _cpToChar;
        private int[]? _charToCp;

        public int[] Cps { get; } = cps;

        /// <summary>One char per code point: ASCII kept, non-ASCII whitespace → \v, the rest → category proxies.</summary>
        public string Collapsed => _collapsed ??= BuildCollapsed(Cps);

        /// <summary>UTF-16 text with non-ASCII whitespace replaced by \v.</summary>
        public string Wide
        {
            get
            {
                if (_wide == null) BuildWide();
                return _wide!;
            }
        }

        public int[] CpToChar
        {
            get
            {
                if (_wide == null) BuildWide();
                return _cpToChar!;
            }
        }

        public int[] CharToCp
        {
            get
            {
                if (_wide == null) BuildWide();
                return _charToCp!;
            }
        }

        private static string BuildCollapsed(int[] cps)
        {
            return string.Create(cps.Length, cps, static (span, cps) =>
            {
                for (int i = 0; i < cps.Length; i++)
                {
                    int cp = cps[i];
                    if (cp < 0x80)
                    {
                        span[i] = (char)cp;
                        continue;
                    }

                    var flags = UnicodeData.Flags(cp);
                    span[i] = (flags & CodepointFlags.Whitespace) != 0 ? '\v' : (flags & CodepointFlags.CategoryMask) switch
                    {
                        CodepointFlags.Number => PatternTranslator.ProxyNumber,
                        CodepointFlags.Letter => PatternTranslator.ProxyLetter,
                        CodepointFlags.Punctuation => PatternTranslator.ProxyPunctuation,
                        CodepointFlags.AccentMark => PatternTranslator.ProxyAccentMark,
                        CodepointFlags.Symbol => PatternTranslator.ProxySymbol,
                        _ => PatternTranslator.ProxyOther,
                    };
                }
            });
        }

        private void BuildWide()
        {
            var sb = new System.Text.StringBuilder(Cps.Length + 8);
            var cpToChar = new int[Cps.Length + 1];
            for (int i = 0; i < Cps.Length; i++)
            {
                cpToChar[i] = sb.Length;
                int cp = Cps[i];
                if (cp >= 0x80 && UnicodeData.IsWhitespace(cp)) sb.Append('\v');
                else if (cp >= 0x10000) sb.Append(char.ConvertFromUtf32(cp));
                else sb.Append((char)cp);
            }

            cpToChar[Cps.Length] = sb.Length;
            var charToCp = new int[sb.Length + 1];
            for (int i = 0; i < Cps.Length; i++)
            {
                for (int c = cpToChar[i]; c < cpToChar[i + 1]; c++) charToCp[c] = i;
            }

            charToCp[sb.Length] = Cps.Length;
            _wide = sb.ToString();
            _cpToChar = cpToChar;
            _charToCp = charToCp;
        }
    }

    private abstract class Step
    {
        public abstract List<int> Apply(SplitText text, List<int> offsets);

        public static Step Create(PreTokenizerExpression expression) => expression.Kind switch
        {
            PreTokenizerExpressionKind.Gpt2 => new Gpt2Step(),
            PreTokenizerExpressionKind.Llama3 => new Llama3Step(),
            _ => new RegexStep(expression.Pattern),
        };
    }

    /// <summary>A general expression, run with .NET's backtracking engine (same leftmost-first semantics as std::regex).</summary>
    private sealed class RegexStep : Step
    {
        private readonly Regex _regex;
        private readonly bool _collapsed;

        public RegexStep(string pattern)
        {
            string translated = PatternTranslator.Translate(pattern, out _collapsed);
            _regex = new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture | RegexOptions.Compiled);
        }

        public override List<int> Apply(SplitText text, List<int> offsets)
        {
            var result = new List<int>(offsets.Count * 2);
            int start = 0;
            foreach (int length in offsets)
            {
                if (_collapsed) SplitPiece(text.Collapsed.AsSpan(start, length), start, null, result);
                else
                {
                    int c0 = text.CpToChar[start];
                    int c1 = text.CpToChar[start + length];
                    SplitPiece(text.Wide.AsSpan(c0, c1 - c0), c0, text.CharToCp, result);
                }

                start += length;
            }

            return result;
        }

        /// <summary>Adds the matches and the gaps between them, in code points.</summary>
        private void SplitPiece(ReadOnlySpan<char> piece, int pieceStart, int[]? charToCp, List<int> result)
        {
            int ToCp(int charIndex) => charToCp == null ? charIndex : charToCp[charIndex];

            int pieceStartCp = ToCp(pieceStart);
            int pieceEndCp = ToCp(pieceStart + piece.Length);
            int lastEndCp = pieceStartCp;
            foreach (var match in _regex.EnumerateMatches(piece))
            {
                if (match.Length == 0) continue;
                int matchStartCp = ToCp(pieceStart + match.Index);
                int matchEndCp = ToCp(pieceStart + match.Index + match.Length);
                if (matchStartCp > lastEndCp) result.Add(matchStartCp - lastEndCp);
                if (matchEndCp > matchStartCp) result.Add(matchEndCp - matchStartCp);
                lastEndCp = Math.Max(lastEndCp, matchEndCp);
            }

            if (pieceEndCp > lastEndCp) result.Add(pieceEndCp - lastEndCp);
        }
    }

    /// <summary>
    /// Hand-written matcher for GPT-2's <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>,
    /// mirroring llama.cpp's <c>unicode_regex_split_custom_gpt2</c>.
    /// </summary>
    private sealed class Gpt2Step : Step
    {
        public override List<int> Apply(SplitText text, List<int> offsets)
        {
            var cps = text.Cps;
            var result = new List<int>(offsets.Count * 2);
            int start = 0;
            foreach (int length in offsets)
            {
                var m = new CustomMatcher(cps, start, start + length, result);
                start += length;
                for (int pos = m.Begin; pos < m.End;)
                {
                    int cpt = m.Cpt(pos);
                    var flags = m.Flags(pos);

                    // 's|'t|'re|'ve|'m|'ll|'d
                    if (cpt == '\'' && pos + 1 < m.End)
                    {
                        int next = m.Cpt(pos + 1);
                        if (next is 's' or 't' or 'm' or 'd')
                        {
                            pos += m.AddToken(pos + 2);
                            continue;
                        }

                        if (pos + 2 < m.End)
                        {
                            int nextNext = m.Cpt(pos + 2);
                            if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                            {
                                pos += m.AddToken(pos + 3);
                                continue;
                            }
                        }
                    }

                    var flags2 = cpt == ' ' ? m.Flags(pos + 1) : flags;
                    // <space>?\p{L}+
                    if (Has(flags2, CodepointFlags.Letter))
                    {
                        if (cpt == ' ') pos++;
                        while (Has(flags2, CodepointFlags.Letter)) flags2 = m.Flags(++pos);
                        m.AddToken(pos);
                        continue;
                    }

                    // <space>?\p{N}+
                    if (Has(flags2, CodepointFlags.Number))
                    {
                        if (cpt == ' ') pos++;
                        while (Has(flags2, CodepointFlags.Number)) flags2 = m.Flags(++pos);
                        m.AddToken(pos);
                        continue;
                    }

                    // <space>?[^\s\p{L}\p{N}]+
                    if (IsOther(flags2))
                    {
                        if (cpt == ' ') pos++;
                        while (IsOther(flags2)) flags2 = m.Flags(++pos);
                        m.AddToken(pos);
                        continue;
                    }

                    int whitespaces = 0;
                    while (Has(m.Flags(pos + whitespaces), CodepointFlags.Whitespace)) whitespaces++;

                    // \s+(?!\S)
                    if (whitespaces > 1 && m.Cpt(pos + whitespaces) != CustomMatcher.OutOfRange)
                    {
                        pos += whitespaces - 1;
                        m.AddToken(pos);
                        continue;
                    }

                    // \s+
                    if (whitespaces > 0)
                    {
                        pos += whitespaces;
                        m.AddToken(pos);
                        continue;
                    }

                    // no match
                    m.AddToken(++pos);
                }
            }

            return result;
        }
    }

    /// <summary>
    /// Hand-written matcher for Llama 3's
    /// <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>,
    /// mirroring llama.cpp's <c>unicode_regex_split_custom_llama3</c>.
    /// </summary>
    private sealed class Llama3Step : Step
    {
        public override List<int> Apply(SplitText text, List<int> offsets)
        {
            var cps = text.Cps;
            var result = new List<int>(offsets.Count * 2);
            int start = 0;
            foreach (int length in offsets)
            {
                var m = new CustomMatcher(cps, start, start + length, result);
                start += length;
                for (int pos = m.Begin; pos < m.End;)
                {
                    int cpt = m.Cpt(pos);
                    var flags = m.Flags(pos);

                    // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                    if (cpt == '\'' && pos + 1 < m.End)
                    {
                        int next = ToLowerAscii(m.Cpt(pos + 1));
                        if (next is 's' or 't' or 'm' or 'd')
                        {
                            pos += m.AddToken(pos + 2);
                            continue;
                        }

                        if (pos + 2 < m.End)
                        {
                            int nextNext = ToLowerAscii(m.Cpt(pos + 2));
                            if ((next == 'r' && nextNext == 'e') || (next == 'v' && nextNext == 'e') || (next == 'l' && nextNext == 'l'))
                            {
                                pos += m.AddToken(pos + 3);
                                continue;
                            }
                        }
                    }

                    // [^\r\n\p{L}\p{N}]?\p{L}+
                    if (!(cpt == '\r' || cpt == '\n' || Has(flags, CodepointFlags.Number)))
                    {
                        if (Has(flags, CodepointFlags.Letter) || Has(m.Flags(pos + 1), CodepointFlags.Letter))
                        {
                            pos++;
                            while (Has(m.Flags(pos), CodepointFlags.Letter)) pos++;
                            m.AddToken(pos);
                            continue;
                        }
                    }

                    // \p{N}{1,3}
                    if (Has(flags, CodepointFlags.Number))
                    {
                        int ini = pos;
                        while (Has(m.Flags(pos), CodepointFlags.Number))
                        {
                            if (++pos - ini >= 3)
                            {
                                m.AddToken(pos);
                                ini = pos;
                            }
                        }

                        m.AddToken(pos);
                        continue;
                    }

                    // <space>?[^\s\p{L}\p{N}]+[\r\n]*
                    var flags2 = cpt == ' ' ? m.Flags(pos + 1) : flags;
                    if ((flags2 & (CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number)) == 0 && flags != CodepointFlags.None)
                    {
                        if (cpt == ' ') pos++;
                        while (IsOther(flags2)) flags2 = m.Flags(++pos);
                        int cpt2 = m.Cpt(pos);
                        while (cpt2 == '\r' || cpt2 == '\n') cpt2 = m.Cpt(++pos);
                        m.AddToken(pos);
                        continue;
                    }

                    int whitespaces = 0;
                    int lastEndOfLine = 0;
                    while (Has(m.Flags(pos + whitespaces), CodepointFlags.Whitespace))
                    {
                        int cpt2 = m.Cpt(pos + whitespaces);
                        if (cpt2 == '\r' || cpt2 == '\n') lastEndOfLine = pos + whitespaces + 1;
                        whitespaces++;
                    }

                    // \s*[\r\n]+
                    if (lastEndOfLine > 0)
                    {
                        pos = lastEndOfLine;
                        m.AddToken(pos);
                        continue;
                    }

                    // \s+(?!\S)
                    if (whitespaces > 1 && m.Cpt(pos + whitespaces) != CustomMatcher.OutOfRange)
                    {
                        pos += whitespaces - 1;
                        m.AddToken(pos);
                        continue;
                    }

                    // \s+
                    if (whitespaces > 0)
                    {
                        pos += whitespaces;
                        m.AddToken(pos);
                        continue;
                    }

                    // no match
                    m.AddToken(++pos);
                }
            }

            return result;
        }

        private static int ToLowerAscii(int cp) => cp is >= 'A' and <= 'Z' ? cp + 32 : cp;
    }

    private static bool Has(CodepointFlags flags, CodepointFlags bit) => (flags & bit) != 0;

    /// <summary>[^\s\p{L}\p{N}] for a position inside the piece (positions outside have no flags at all).</summary>
    private static bool IsOther(CodepointFlags flags) =>
        (flags & (CodepointFlags.Whitespace | CodepointFlags.Letter | CodepointFlags.Number)) == 0 && flags != CodepointFlags.None;

    /// <summary>The piece-bounded accessors the hand-written matchers use (positions outside the piece read as nothing).</summary>
    private ref struct CustomMatcher
    {
        public const int OutOfRange = -1;

        private readonly int[] _cps;
        private readonly List<int> _result;
        private int _previousEnd;

        public CustomMatcher(int[] cps, int begin, int end, List<int> result)
        {
            _cps = cps;
            Begin = begin;
            End = end;
            _result = result;
            _previousEnd = begin;
        }

        public int Begin { get; }

        public int End { get; }

        public readonly int Cpt(int pos) => pos >= Begin && pos < End ? _cps[pos] : OutOfRange;

        public readonly CodepointFlags Flags(int pos) => pos >= Begin && pos < End ? UnicodeData.Flags(_cps[pos]) : CodepointFlags.None;

        /// <summary>Ends the current token at <paramref name="end"/>; returns its length.</summary>
        public int AddToken(int end)
        {
            int length = end - _previousEnd;
            if (length > 0) _result.Add(length);
            _previousEnd = end;
            return length;
        }
    }
}
