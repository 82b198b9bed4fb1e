using System.Globalization;
using System.Text;

namespace Hearth.Grammar;

/// <summary>One item of a GBNF sequence, as written (before repetitions are expanded into helper rules).</summary>
internal abstract class GbnfExpr(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}

/// <summary>A string literal: its code points in order.</summary>
internal sealed class GbnfLiteral(int[] codePoints, int line, int column) : GbnfExpr(line, column)
{
    public int[] CodePoints { get; } = codePoints;
}

/// <summary>A character class <c>[a-z_]</c> or <c>[^"\\]</c>: the ranges as written, and whether it is negated.</summary>
internal sealed class GbnfClass(IReadOnlyList<(int Lo, int Hi)> items, bool negated, int line, int column) : GbnfExpr(line, column)
{
    public IReadOnlyList<(int Lo, int Hi)> Items { get; } = items;

    public bool Negated { get; } = negated;

    /// <summary>The code points the class matches.</summary>
    public CharSet ToCharSet()
    {
        var set = CharSet.FromRanges(Items);
        return Negated ? set.Complement() : set;
    }
}

/// <summary><c>.</c>: any single code point.</summary>
internal sealed class GbnfAny(int line, int column) : GbnfExpr(line, column);

/// <summary>A reference to a rule by name.</summary>
internal sealed class GbnfRef(string name, int line, int column) : GbnfExpr(line, column)
{
    public string Name { get; } = name;
}

/// <summary>A parenthesised group of alternatives.</summary>
internal sealed class GbnfGroup(List<List<GbnfExpr>> alternatives, int line, int column) : GbnfExpr(line, column)
{
    public List<List<GbnfExpr>> Alternatives { get; } = alternatives;
}

/// <summary><c>x*</c>, <c>x+</c>, <c>x?</c>, <c>x{m}</c>, <c>x{m,}</c>, <c>x{m,n}</c>; <see cref="Max"/> null means unbounded.</summary>
internal sealed class GbnfRepeat(GbnfExpr item, int min, int? max, int line, int column) : GbnfExpr(line, column)
{
    public GbnfExpr Item { get; } = item;

    public int Min { get; } = min;

    public int? Max { get; } = max;
}

/// <summary>A rule definition <c>name ::= alt | alt ...</c>.</summary>
internal sealed class GbnfRule(string name, List<List<GbnfExpr>> alternatives, int line, int column)
{
    public string Name { get; } = name;

    public List<List<GbnfExpr>> Alternatives { get; } = alternatives;

    public int Line { get; } = line;

    public int Column { get; } = column;
}

/// <summary>
/// Parses GBNF text with llama.cpp's syntax (<c>llama-grammar.cpp</c>'s parser): rules <c>name ::= ...</c> (names of
/// ASCII letters, digits, <c>-</c> and <c>_</c>), alternatives <c>|</c>, groups, the repetitions <c>* + ? {m} {m,} {m,n}</c>,
/// string literals and character classes with the escapes <c>\n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH</c>,
/// <c>.</c>, rule references and <c>#</c> comments. A newline ends a rule except inside parentheses or right after
/// <c>|</c>. Token references (<c>&lt;...&gt;</c>) are not supported. Errors are <see cref="GrammarException"/>s
/// with the line and column.
/// </summary>
internal sealed class GbnfParser
{
    private readonly int[] _text;
    private readonly int[] _lineStarts;
    private int _pos;

    private GbnfParser(string text)
    {
        var cps = new List<int>(text.Length);
        var lineStarts = new List<int> { 0 };
        foreach (var rune in text.EnumerateRunes())
        {
            cps.Add(rune.Value);
            if (rune.Value == '\n') lineStarts.Add(cps.Count);
        }

        _text = cps.ToArray();
        _lineStarts = lineStarts.ToArray();
    }

    /// <summary>Parses every rule of <paramref name="text"/>; rule names are not resolved here.</summary>
    public static List<GbnfRule> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new GbnfParser(text);
        return parser.ParseRules();
    }

    private int Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : -1;

    private bool AtEnd => _pos >= _text.Length;

    private (int Line, int Column) Position(int index)
    {
        int line = Array.BinarySearch(_lineStarts, index);
        if (line < 0) line = ~line - 1;
        return (line + 1, index - _lineStarts[line] + 1);
    }

    private GrammarException Error(string message, int? at = null)
    {
        var (line, column) = Position(at ?? _pos);
        return new GrammarException(message, line, column);
    }

    private string Describe()
    {
        if (AtEnd) return "end of input";
        int c = Peek();
        return c switch
        {
            '\n' => "a newline",
            '\r' => "a carriage return",
            _ => $"'{char.ConvertFromUtf32(c)}'",
        };
    }

    private void SkipSpace(bool newlineOk)
    {
        while (!AtEnd)
        {
            int c = Peek();
            if (c == ' ' || c == '\t' || (newlineOk && (c == '\r' || c == '\n')))
            {
                _pos++;
            }
            else if (c == '#')
            {
                while (!AtEnd && Peek() != '\r' && Peek() != '\n') _pos++;
            }
            else
            {
                break;
            }
        }
    }

    private static bool IsWordChar(int c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_';

    private string ParseName()
    {
        int start = _pos;
        while (!AtEnd && IsWordChar(Peek())) _pos++;
        if (_pos == start) throw Error($"expecting a rule name, found {Describe()}");
        var sb = new StringBuilder(_pos - start);
        for (int i = start; i < _pos; i++) sb.Append((char)_text[i]);
        return sb.ToString();
    }

    private List<GbnfRule> ParseRules()
    {
        var rules = new List<GbnfRule>();
        SkipSpace(newlineOk: true);
        while (!AtEnd)
        {
            rules.Add(ParseRule());
        }

        return rules;
    }

    private GbnfRule ParseRule()
    {
        int start = _pos;
        var (line, column) = Position(start);
        string name = ParseName();
        SkipSpace(newlineOk: false);
        if (!(Peek() == ':' && Peek(1) == ':' && Peek(2) == '=')) throw Error($"expecting '::=' after rule name '{name}', found {Describe()}");
        _pos += 3;
        SkipSpace(newlineOk: true);
        var alternatives = ParseAlternatives(nested: false);
        if (Peek() == '\r')
        {
            _pos += Peek(1) == '\n' ? 2 : 1;
        }
        else if (Peek() == '\n')
        {
            _pos++;
        }
        else if (!AtEnd)
        {
            throw Error($"expecting newline or end of input after rule '{name}', found {Describe()}");
        }

        SkipSpace(newlineOk: true);
        return new GbnfRule(name, alternatives, line, column);
    }

    private List<List<GbnfExpr>> ParseAlternatives(bool nested)
    {
        var alternatives = new List<List<GbnfExpr>> { ParseSequence(nested) };
        while (Peek() == '|')
        {
            _pos++;
            SkipSpace(newlineOk: true);
            alternatives.Add(ParseSequence(nested));
        }

        return alternatives;
    }

    private List<GbnfExpr> ParseSequence(bool nested)
    {
        var sequence = new List<GbnfExpr>();
        while (!AtEnd)
        {
            int c = Peek();
            int start = _pos;
            var (line, column) = Position(start);
            if (c == '"')
            {
                _pos++;
                var cps = new List<int>();
                while (Peek() != '"')
                {
                    if (AtEnd) throw Error("unterminated string literal", start);
                    int at = _pos;
                    int cp = ParseChar();
                    if (cp is >= 0xD800 and <= 0xDFFF) throw Error($"U+{cp:X4} is a surrogate, not a character", at);
                    cps.Add(cp);
                }

                _pos++;
                sequence.Add(new GbnfLiteral(cps.ToArray(), line, column));
            }
            else if (c == '[')
            {
                _pos++;
                bool negated = false;
                if (Peek() == '^')
                {
                    negated = true;
                    _pos++;
                }

                var items = new List<(int, int)>();
                while (Peek() != ']')
                {
                    if (AtEnd) throw Error("unterminated character class", start);
                    int at = _pos;
                    int lo = ParseChar();
                    int hi = lo;
                    if (Peek() == '-' && Peek(1) != ']' && Peek(1) != -1)
                    {
                        _pos++;
                        hi = ParseChar();
                        if (hi < lo) throw Error($"character range is reversed (U+{lo:X4} > U+{hi:X4})", at);
                    }

                    items.Add((lo, hi));
                }

                _pos++;
                if (items.Count == 0) throw Error(negated ? "empty negated character class '[^]'" : "empty character class '[]'", start);
                sequence.Add(new GbnfClass(items, negated, line, column));
            }
            else if (c == '<' || c == '!')
            {
                throw Error("token references (<...>, !<...>) are not supported");
            }
            else if (IsWordChar(c))
            {
                string name = ParseName();
                sequence.Add(new GbnfRef(name, line, column));
            }
            else if (c == '(')
            {
                _pos++;
                SkipSpace(newlineOk: true);
                var alternatives = ParseAlternatives(nested: true);
                if (Peek() != ')') throw Error($"expecting ')' to close the group opened at line {line}, column {column}, found {Describe()}");
                _pos++;
                sequence.Add(new GbnfGroup(alternatives, line, column));
            }
            else if (c == '.')
            {
                _pos++;
                sequence.Add(new GbnfAny(line, column));
            }
            else if (c == '*' || c == '+' || c == '?')
            {
                if (sequence.Count == 0) throw Error($"'{(char)c}' has no preceding item to repeat");
                _pos++;
                var item = sequence[^1];
                sequence[^1] = new GbnfRepeat(item, c == '+' ? 1 : 0, c == '?' ? 1 : null, line, column);
            }
            else if (c == '{')
            {
                if (sequence.Count == 0) throw Error("'{' has no preceding item to repeat");
                _pos++;
                SkipSpace(nested);
                int min = ParseInt();
                SkipSpace(nested);
                int? max;
                if (Peek() == '}')
                {
                    max = min;
                }
                else if (Peek() == ',')
                {
                    _pos++;
                    SkipSpace(nested);
                    max = Peek() is >= '0' and <= '9' ? ParseInt() : null;
                    SkipSpace(nested);
                    if (Peek() != '}') throw Error($"expecting '}}' to close the repetition, found {Describe()}");
                }
                else
                {
                    throw Error($"expecting ',' or '}}' in the repetition, found {Describe()}");
                }

                _pos++;
                if (max < min) throw Error($"repetition {{{min},{max}}} has its maximum below its minimum", start);
                var item = sequence[^1];
                sequence[^1] = new GbnfRepeat(item, min, max, line, column);
            }
            else
            {
                break;
            }

            SkipSpace(nested);
        }

        return sequence;
    }

    private int ParseInt()
    {
        int start = _pos;
        long value = 0;
        while (Peek() is >= '0' and <= '9')
        {
            value = value * 10 + (Peek() - '0');
            if (value > int.MaxValue) throw Error("repetition count is too large", start);
            _pos++;
        }

        if (_pos == start) throw Error($"expecting an integer, found {Describe()}");
        return (int)value;
    }

    private int ParseChar()
    {
        int at = _pos;
        int c = Peek();
        if (c == '\\')
        {
            int e = Peek(1);
            _pos += 2;
            switch (e)
            {
                case 'x': return ParseHex(2, at);
                case 'u': return ParseHex(4, at);
                case 'U': return ParseHex(8, at);
                case 't': return '\t';
                case 'r': return '\r';
                case 'n': return '\n';
                case '\\':
                case '"':
                case '[':
                case ']':
                case '-':
                    return e;
                case -1:
                    throw Error("unexpected end of input after '\\'", at);
                default:
                    throw Error($"unknown escape '\\{char.ConvertFromUtf32(e)}'", at);
            }
        }

        if (c == -1) throw Error("unexpected end of input");
        _pos++;
        return c;
    }

    private int ParseHex(int digits, int at)
    {
        long value = 0;
        for (int i = 0; i < digits; i++)
        {
            int c = Peek();
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => -1,
            };
            if (d < 0) throw Error($"expecting {digits} hex digits in the escape", at);
            value = value * 16 + d;
            _pos++;
        }

        if (value > CharSet.MaxCodePoint) throw Error($"escape value 0x{value:X} is beyond U+10FFFF", at);
        return (int)value;
    }
}

/// <summary>Writes GBNF text that <see cref="GbnfParser"/> reads back to the same rules.</summary>
internal static class GbnfWriter
{
    public static string Write(IEnumerable<GbnfRule> rules)
    {
        var sb = new StringBuilder();
        foreach (var rule in rules)
        {
            sb.Append(rule.Name).Append(" ::= ");
            WriteAlternatives(sb, rule.Alternatives);
            sb.Append('\n');
        }

        return sb.ToString();
    }

    private static void WriteAlternatives(StringBuilder sb, List<List<GbnfExpr>> alternatives)
    {
        for (int i = 0; i < alternatives.Count; i++)
        {
            if (i > 0) sb.Append(alternatives[i].Count == 0 ? " |" : " | ");
            for (int j = 0; j < alternatives[i].Count; j++)
            {
                if (j > 0) sb.Append(' ');
                WriteExpr(sb, alternatives[i][j]);
            }
        }
    }

    private static void WriteExpr(StringBuilder sb, GbnfExpr expr)
    {
        switch (expr)
        {
            case GbnfLiteral literal:
                sb.Append('"');
                foreach (int cp in literal.CodePoints) AppendChar(sb, cp, inClass: false);
                sb.Append('"');
                break;
            case GbnfClass cls:
                sb.Append(cls.Negated ? "[^" : "[");
                foreach (var (lo, hi) in cls.Items)
                {
                    AppendChar(sb, lo, inClass: true);
                    if (hi != lo)
                    {
                        sb.Append('-');
                        AppendChar(sb, hi, inClass: true);
                    }
                }

                sb.Append(']');
                break;
            case GbnfAny:
                sb.Append('.');
                break;
            case GbnfRef reference:
                sb.Append(reference.Name);
                break;
            case GbnfGroup group:
                sb.Append('(');
                WriteAlternatives(sb, group.Alternatives);
                sb.Append(')');
                break;
            case GbnfRepeat repeat:
                if (repeat.Item is GbnfRepeat)
                {
                    sb.Append('(');
                    WriteExpr(sb, repeat.Item);
                    sb.Append(')');
                }
                else
                {
                    WriteExpr(sb, repeat.Item);
                }

                sb.Append((repeat.Min, repeat.Max) switch
                {
                    (0, null) => "*",
                    (1, null) => "+",
                    (0, 1) => "?",
                    (var m, null) => $"{{{m},}}",
                    (var m, var n) when m == n => $"{{{m}}}",
                    (var m, var n) => $"{{{m},{n}}}",
                });
                break;
            default:
                throw new InvalidOperationException($"unknown GBNF node {expr.GetType().Name}");
        }
    }

    /// <summary>The GBNF string literal for <paramref name="text"/>, quotes included.</summary>
    internal static string Literal(string text)
    {
        var sb = new StringBuilder("\"");
        foreach (var rune in text.EnumerateRunes()) AppendChar(sb, rune.Value, inClass: false);
        return sb.Append('"').ToString();
    }

    /// <summary>Appends one code point as GBNF literal or class text, escaping what the parser would misread.</summary>
    internal static void AppendChar(StringBuilder sb, int cp, bool inClass)
    {
        switch (cp)
        {
            case '\n': sb.Append("\\n"); return;
            case '\r': sb.Append("\\r"); return;
            case '\t': sb.Append("\\t"); return;
            case '\\': sb.Append("\\\\"); return;
            case '"': sb.Append("\\\""); return;
        }

        if (inClass)
        {
            switch (cp)
            {
                case ']': sb.Append("\\]"); return;
                case '[': sb.Append("\\["); return;
                case '-': sb.Append("\\-"); return;
                case '^': sb.Append("\\x5E"); return;
            }
        }

        if (cp < 0x20 || cp == 0x7F)
        {
            sb.Append("\\x").Append(cp.ToString("X2", CultureInfo.InvariantCulture));
        }
        else if (cp is >= 0xD800 and <= 0xDFFF)
        {
            sb.Append("\\u").Append(cp.ToString("X4", CultureInfo.InvariantCulture));
        }
        else if (cp >= 0x80 && (Rune.GetUnicodeCategory(new Rune(cp)) is UnicodeCategory.Control or UnicodeCategory.Format
                     or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator or UnicodeCategory.OtherNotAssigned
                     or UnicodeCategory.PrivateUse or UnicodeCategory.SpaceSeparator or UnicodeCategory.NonSpacingMark))
        {
            if (cp <= 0xFFFF) sb.Append("\\u").Append(cp.ToString("X4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(cp.ToString("X8", CultureInfo.InvariantCulture));
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(cp));
        }
    }
}
