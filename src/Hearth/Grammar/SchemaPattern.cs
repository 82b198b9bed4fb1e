using System.Globalization;
using System.Text;

namespace Hearth.Grammar;

/// <summary>
/// Converts a JSON Schema <c>pattern</c> (an ECMA-262 regular expression, searched anywhere in the string unless
/// anchored) into GBNF for the JSON-encoded content of the strings it matches. The supported subset: literal characters
/// and escapes (<c>\n \r \t \f \v \0 \xHH \uHHHH \u{H...}</c>, escaped punctuation), classes <c>[a-z]</c>,
/// <c>[^...]</c> with ranges, <c>.</c> (anything but a line terminator), <c>\d \w \s \D \W \S</c> (ASCII meanings:
/// <c>\s</c> is space, tab, newline, vertical tab, form feed and carriage return), groups <c>( )</c>, <c>(?: )</c> and
/// <c>(?&lt;name&gt; )</c>, alternation, the quantifiers <c>* + ? {m} {m,} {m,n}</c> (lazy forms accepted; they match
/// the same strings), and the anchors <c>^</c> and <c>$</c> at the start and end of a top-level alternative. Anything
/// else (back-references, look-around, word boundaries, Unicode properties, anchors elsewhere) is rejected.
/// </summary>
/// <remarks>
/// A pattern character becomes its JSON text: printable characters raw; <c>"</c>, <c>\</c> and control characters as
/// escapes (<c>\"</c>, <c>\\</c>, <c>\n</c>, <c>\u001f</c>, ...). Other escaped spellings (<c>\u0041</c> for <c>A</c>)
/// are not generated, which only narrows the output. An unanchored side is padded with any string characters.
/// </remarks>
internal sealed class SchemaPattern
{
    private readonly string _pattern;
    private readonly string _path;
    private readonly int[] _cps;
    private int _pos;

    private SchemaPattern(string pattern, string path)
    {
        _pattern = pattern;
        _path = path;
        _cps = pattern.EnumerateRunes().Select(r => r.Value).ToArray();
    }

    private abstract record Node;

    private sealed record Chars(CharSet Set) : Node;

    private sealed record Anchor(bool Start) : Node;

    private sealed record Alternation(List<List<Node>> Branches) : Node;

    private sealed record Repeat(Node Item, int Min, int? Max) : Node;

    /// <summary>
    /// GBNF for the JSON string content (between the quotes) of strings matching <paramref name="pattern"/>;
    /// <paramref name="anyChar"/> is the name of the rule for one JSON string character, used to pad unanchored ends.
    /// </summary>
    /// <exception cref="JsonSchemaException">The pattern uses an unsupported feature or is malformed.</exception>
    public static string ToGbnf(string pattern, string path, string anyChar)
    {
        var parser = new SchemaPattern(pattern, path);
        var top = parser.ParseAlternation(topLevel: true);
        if (parser._pos < parser._cps.Length) throw parser.Error("unbalanced ')'");
        var sb = new StringBuilder("(");
        for (int b = 0; b < top.Branches.Count; b++)
        {
            var branch = top.Branches[b];
            bool anchoredStart = branch.Count > 0 && branch[0] is Anchor { Start: true };
            bool anchoredEnd = branch.Count > 0 && branch[^1] is Anchor { Start: false };
            var items = branch.Where(n => n is not Anchor).ToList();
            if (b > 0) sb.Append(" | ");
            var parts = new List<string>();
            if (!anchoredStart) parts.Add(anyChar + "*");
            string body = WriteSequence(items);
            if (body.Length > 0) parts.Add(body);
            if (!anchoredEnd) parts.Add(anyChar + "*");
            sb.Append(parts.Count == 0 ? "\"\"" : string.Join(' ', parts));
        }

        return sb.Append(')').ToString();
    }

    private JsonSchemaException Error(string problem) =>
        new(_path, $"pattern '{_pattern}': {problem} (supported: literals, classes, '.', groups, '|', quantifiers, ^ and $ at the ends)");

    private int Peek(int offset = 0) => _pos + offset < _cps.Length ? _cps[_pos + offset] : -1;

    private Alternation ParseAlternation(bool topLevel)
    {
        var branches = new List<List<Node>> { ParseSequence(topLevel) };
        while (Peek() == '|')
        {
            _pos++;
            branches.Add(ParseSequence(topLevel));
        }

        return new Alternation(branches);
    }

    private List<Node> ParseSequence(bool topLevel)
    {
        var items = new List<Node>();
        while (_pos < _cps.Length && Peek() != '|' && Peek() != ')')
        {
            int c = Peek();
            if (c == '^' || c == '$')
            {
                _pos++;
                bool start = c == '^';
                bool atEdge = start ? items.Count == 0 : Peek() is -1 or '|' or ')';
                if (!topLevel || !atEdge) throw Error($"the anchor '{(char)c}' is only supported at the start or end of the whole pattern or of a top-level alternative");
                if (!start && Peek() == ')') throw Error("the anchor '$' is only supported at the end of a top-level alternative");
                items.Add(new Anchor(start));
                continue;
            }

            var atom = ParseAtom();
            items.Add(ParseQuantifier(atom));
        }

        return items;
    }

    private Node ParseQuantifier(Node atom)
    {
        while (true)
        {
            int c = Peek();
            int min, max;
            if (c == '*') (min, max) = (0, -1);
            else if (c == '+') (min, max) = (1, -1);
            else if (c == '?') (min, max) = (0, 1);
            else if (c == '{' && TryParseBraces(out min, out max)) { }
            else return atom;

            if (c != '{') _pos++;
            if (Peek() == '?') _pos++; // lazy: matches the same set of strings
            if (Peek() is '*' or '+' or '?' || (Peek() == '{' && LooksLikeBraces())) throw Error("a quantifier cannot follow another quantifier");
            atom = new Repeat(atom, min, max < 0 ? null : max);
        }
    }

    private bool LooksLikeBraces()
    {
        int save = _pos;
        bool ok = TryParseBraces(out _, out _);
        _pos = save;
        return ok;
    }

    private bool TryParseBraces(out int min, out int max)
    {
        int save = _pos;
        min = max = 0;
        _pos++;
        if (!TryInt(out min))
        {
            _pos = save;
            return false;
        }

        if (Peek() == '}')
        {
            _pos++;
            max = min;
            return true;
        }

        if (Peek() != ',')
        {
            _pos = save;
            return false;
        }

        _pos++;
        if (Peek() == '}')
        {
            _pos++;
            max = -1;
            return true;
        }

        if (!TryInt(out max) || Peek() != '}')
        {
            _pos = save;
            return false;
        }

        _pos++;
        if (max < min) throw Error($"quantifier {{{min},{max}}} has its maximum below its minimum");
        return true;
    }

    private bool TryInt(out int value)
    {
        value = 0;
        int start = _pos;
        while (Peek() is >= '0' and <= '9')
        {
            value = value * 10 + (Peek() - '0');
            if (value > 100_000) throw Error("quantifier bound is too large (the limit is 100000)");
            _pos++;
        }

        return _pos > start;
    }

    private Node ParseAtom()
    {
        int c = Peek();
        switch (c)
        {
            case '(':
            {
                _pos++;
                if (Peek() == '?')
                {
                    if (Peek(1) == ':')
                    {
                        _pos += 2;
                    }
                    else if (Peek(1) == '<' && Peek(2) is not ('=' or '!'))
                    {
                        _pos += 2;
                        while (_pos < _cps.Length && Peek() != '>') _pos++;
                        if (Peek() != '>') throw Error("unterminated group name");
                        _pos++;
                    }
                    else
                    {
                        throw Error("look-around and other '(?' groups are not supported");
                    }
                }

                var inner = ParseAlternation(topLevel: false);
                if (Peek() != ')') throw Error("unterminated group");
                _pos++;
                return inner;
            }

            case '[':
                return new Chars(ParseClass());
            case '.':
                _pos++;
                return new Chars(CharSet.FromRanges([('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)]).Complement());
            case '\\':
                return new Chars(ParseEscape(inClass: false));
            case '*' or '+' or '?':
                throw Error($"'{(char)c}' has nothing to repeat");
            case '{' when LooksLikeBraces():
                throw Error("'{' has nothing to repeat");
            case ']' or '}' or '{':
                _pos++;
                return new Chars(CharSet.Single(c));
            default:
                _pos++;
                return new Chars(CharSet.Single(c));
        }
    }

    private CharSet ParseClass()
    {
        _pos++; // [
        bool negated = false;
        if (Peek() == '^')
        {
            negated = true;
            _pos++;
        }

        var set = CharSet.Empty;
        while (Peek() != ']')
        {
            if (_pos >= _cps.Length) throw Error("unterminated character class");
            var lo = ClassAtom(out int loCp);
            if (Peek() == '-' && Peek(1) != ']' && Peek(1) != -1)
            {
                _pos++;
                var hi = ClassAtom(out int hiCp);
                if (loCp < 0 || hiCp < 0) throw Error("a class escape such as \\d cannot bound a range");
                if (hiCp < loCp) throw Error("character range out of order");
                set = set.Union(CharSet.FromRanges([(loCp, hiCp)]));
            }
            else
            {
                set = set.Union(lo);
            }
        }

        _pos++; // ]
        return negated ? set.Complement() : set;
    }

    /// <summary>One class member: a set, and its single code point (or -1 for a class escape).</summary>
    private CharSet ClassAtom(out int cp)
    {
        if (Peek() == '\\')
        {
            var set = ParseEscape(inClass: true);
            cp = set.RangeCount == 1 && set.Lo(0) == set.Hi(0) ? set.Lo(0) : -1;
            return set;
        }

        cp = Peek();
        _pos++;
        return CharSet.Single(cp);
    }

    private static readonly CharSet s_digit = CharSet.FromRanges([('0', '9')]);
    private static readonly CharSet s_word = CharSet.FromRanges([('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]);
    private static readonly CharSet s_space = CharSet.FromRanges([(' ', ' '), ('\t', '\r')]);

    private CharSet ParseEscape(bool inClass)
    {
        _pos++; // backslash
        int e = Peek();
        if (e == -1) throw Error("the pattern ends with '\\'");
        _pos++;
        switch (e)
        {
            case 'd': return s_digit;
            case 'D': return s_digit.Complement();
            case 'w': return s_word;
            case 'W': return s_word.Complement();
            case 's': return s_space;
            case 'S': return s_space.Complement();
            case 'n': return CharSet.Single('\n');
            case 'r': return CharSet.Single('\r');
            case 't': return CharSet.Single('\t');
            case 'f': return CharSet.Single('\f');
            case 'v': return CharSet.Single('\v');
            case 'b' when inClass: return CharSet.Single('\b');
            case '0' when Peek() is < '0' or > '9': return CharSet.Single(0);
            case 'x': return CharSet.Single(Hex(2));
            case 'u' when Peek() == '{':
            {
                _pos++;
                int v = 0, digits = 0;
                while (Peek() != '}')
                {
                    int d = HexDigit(Peek());
                    if (d < 0) throw Error("malformed \\u{...} escape");
                    v = v * 16 + d;
                    if (v > CharSet.MaxCodePoint) throw Error("\\u{...} escape beyond U+10FFFF");
                    digits++;
                    _pos++;
                }

                _pos++;
                if (digits == 0) throw Error("malformed \\u{...} escape");
                return CharSet.Single(v);
            }

            case 'u': return CharSet.Single(Hex(4));
            case 'b' or 'B': throw Error("word boundaries (\\b, \\B) are not supported");
            case >= '1' and <= '9': throw Error("back-references are not supported");
            case 'p' or 'P': throw Error("Unicode property escapes (\\p{...}) are not supported");
            case 'k': throw Error("named back-references are not supported");
            case 'c': throw Error("control escapes (\\cX) are not supported");
            default:
                if (e < 0x80 && char.IsAsciiLetterOrDigit((char)e)) throw Error($"unknown escape '\\{(char)e}'");
                return CharSet.Single(e);
        }
    }

    private int Hex(int digits)
    {
        int v = 0;
        for (int i = 0; i < digits; i++)
        {
            int d = HexDigit(Peek());
            if (d < 0) throw Error($"expecting {digits} hex digits in an escape");
            v = v * 16 + d;
            _pos++;
        }

        return v;
    }

    private static int HexDigit(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private static string WriteSequence(List<Node> items)
    {
        var parts = new List<string>();
        var literal = new StringBuilder();
        void FlushLiteral()
        {
            if (literal.Length == 0) return;
            parts.Add("\"" + literal + "\"");
            literal.Clear();
        }

        foreach (var item in items)
        {
            if (item is Chars { Set: var set } && set.RangeCount == 1 && set.Lo(0) == set.Hi(0) && IsPlain(set.Lo(0)))
            {
                GbnfWriter.AppendChar(literal, set.Lo(0), inClass: false);
                continue;
            }

            FlushLiteral();
            parts.Add(Write(item));
        }

        FlushLiteral();
        return string.Join(' ', parts);
    }

    private static bool IsPlain(int cp) => cp >= 0x20 && cp != '"' && cp != '\\';

    private static string Write(Node node) => node switch
    {
        Chars c => JsonChars(c.Set),
        Alternation a => "(" + string.Join(" | ", a.Branches.Select(b => b.Count == 0 ? "\"\"" : WriteSequence(b))) + ")",
        Repeat r => Quantified(Write(r.Item), r.Min, r.Max),
        _ => throw new InvalidOperationException("unexpected pattern node"),
    };

    private static string Quantified(string item, int min, int? max) => (min, max) switch
    {
        (0, null) => item + "*",
        (1, null) => item + "+",
        (0, 1) => item + "?",
        (_, null) => $"{item}{{{min},}}",
        _ when min == max => $"{item}{{{min}}}",
        _ => $"{item}{{{min},{max}}}",
    };

    /// <summary>
    /// GBNF for one JSON string character whose decoded value is in <paramref name="set"/>: the raw characters that
    /// JSON allows unescaped, plus the escape of each quote, backslash or control character in the set.
    /// </summary>
    internal static string JsonChars(CharSet set)
    {
        var forbiddenRaw = CharSet.FromRanges([(0, 0x1F), ('"', '"'), ('\\', '\\')]);
        var raw = set.Except(forbiddenRaw);
        var alternatives = new List<string>();
        if (!raw.IsEmpty) alternatives.Add(ClassText(raw));
        if (set.Contains('"')) alternatives.Add("\"\\\\\\\"\"");
        if (set.Contains('\\')) alternatives.Add("\"\\\\\\\\\"");
        for (int c = 0; c < 0x20; c++)
        {
            if (!set.Contains(c)) continue;
            string escape = c switch
            {
                '\b' => "\\\\b",
                '\f' => "\\\\f",
                '\n' => "\\\\n",
                '\r' => "\\\\r",
                '\t' => "\\\\t",
                _ => "\\\\u00" + c.ToString("x2", CultureInfo.InvariantCulture),
            };
            alternatives.Add("\"" + escape + "\"");
        }

        if (alternatives.Count == 0) return "[^\\x00-\\U0010FFFF]"; // cannot happen for parsed classes: they are never empty
        return alternatives.Count == 1 ? alternatives[0] : "(" + string.Join(" | ", alternatives) + ")";
    }

    private static string ClassText(CharSet set)
    {
        var sb = new StringBuilder("[");
        foreach (var (lo, hi) in set.Ranges())
        {
            GbnfWriter.AppendChar(sb, lo, inClass: true);
            if (hi != lo)
            {
                sb.Append('-');
                GbnfWriter.AppendChar(sb, hi, inClass: true);
            }
        }

        return sb.Append(']').ToString();
    }
}
