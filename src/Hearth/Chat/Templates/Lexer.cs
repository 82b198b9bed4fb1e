using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Hearth.Chat.Templates;

internal enum TokenKind
{
    Data,
    VariableBegin,
    VariableEnd,
    BlockBegin,
    BlockEnd,
    Name,
    String,
    Integer,
    Float,
    Operator,
    Eof,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Line, object? Value = null)
{
    public bool IsName(string name) => Kind == TokenKind.Name && Text == name;

    public bool IsOp(string op) => Kind == TokenKind.Operator && Text == op;

    public override string ToString() => Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "end of statement block",
        TokenKind.VariableEnd => "end of print statement",
        TokenKind.Data => "template data",
        _ => $"'{Text}'",
    };
}

/// <summary>
/// Splits template text into data and tag tokens the way Jinja2 does with <c>trim_blocks</c> and <c>lstrip_blocks</c>
/// on: the newline after a block or comment tag is dropped, spaces and tabs before a block or comment tag at the
/// start of a line are dropped, <c>-</c> strips all whitespace on that side, <c>+</c> disables either rule. Newlines
/// are normalised to \n and one trailing newline of the template is dropped (Jinja's keep_trailing_newline = false).
/// </summary>
internal sealed partial class Lexer
{
    private readonly string _src;
    private readonly List<Token> _tokens = [];
    private int _pos;
    private int _line = 1;
    private bool _lineStarting = true;

    private Lexer(string source)
    {
        var normalized = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (normalized.EndsWith('\n')) normalized = normalized[..^1];
        _src = normalized;
    }

    public static List<Token> Tokenize(string source)
    {
        var lexer = new Lexer(source);
        lexer.Run();
        return lexer._tokens;
    }

    [GeneratedRegex(@"\G\{%[-+]?\s*raw\s*(?:-%\}\s*|%\})")]
    private static partial Regex RawBegin();

    [GeneratedRegex(@"\{%([-+]?)\s*endraw\s*(?:\+%\}|-%\}\s*|%\}\n?)")]
    private static partial Regex RawEnd();

    [GeneratedRegex(@"\G(?<!\.)(\d+_)*\d+((\.(\d+_)*\d+)?e[+\-]?(\d+_)*\d+|\.(\d+_)*\d+)", RegexOptions.IgnoreCase)]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"\G(0b(_?[0-1])+|0o(_?[0-7])+|0x(_?[\da-f])+|[1-9](_?\d)*|0(_?0)*)", RegexOptions.IgnoreCase)]
    private static partial Regex IntegerPattern();

    private static readonly string[] s_operators =
        ["//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"];

    private TemplateSyntaxException Error(string detail) => new(_line, detail);

    private void Run()
    {
        while (_pos < _src.Length)
        {
            int tag = FindTagStart(_pos);
            if (tag < 0)
            {
                EmitData(_src[_pos..]);
                break;
            }

            char kind = _src[tag + 1];
            char sign = tag + 2 < _src.Length && _src[tag + 2] is '-' or '+' ? _src[tag + 2] : '\0';
            var raw = kind == '%' ? RawBegin().Match(_src, tag) : null;
            string text = ApplyLeftStrip(_src[_pos..tag], sign, kind != '{');
            EmitData(text);
            _line += CountNewlines(_src, _pos, tag);
            _pos = tag;

            if (raw is { Success: true })
            {
                LexRaw(raw);
            }
            else if (kind == '#')
            {
                LexComment(sign);
            }
            else
            {
                LexTag(kind == '{' ? TokenKind.VariableBegin : TokenKind.BlockBegin, sign);
            }
        }

        _tokens.Add(new Token(TokenKind.Eof, "", _line));
    }

    private int FindTagStart(int from)
    {
        int i = from;
        while (true)
        {
            i = _src.IndexOf('{', i);
            if (i < 0 || i + 1 >= _src.Length) return -1;
            if (_src[i + 1] is '{' or '%' or '#') return i;
            i++;
        }
    }

    /// <summary>Jinja's whitespace control on the data before a tag: "-" strips all, lstrip_blocks strips an indent.</summary>
    private string ApplyLeftStrip(string text, char sign, bool lstripApplies)
    {
        if (sign == '-')
        {
            int end = text.Length;
            while (end > 0 && Methods.IsSpace(text[end - 1])) end--;
            return text[..end];
        }

        if (sign == '+' || !lstripApplies) return text;
        int lineStart = text.LastIndexOf('\n') + 1;
        if (lineStart > 0 || _lineStarting)
        {
            bool onlySpace = lineStart < text.Length;
            for (int i = lineStart; i < text.Length && onlySpace; i++) onlySpace = Methods.IsSpace(text[i]);
            if (onlySpace) return text[..lineStart];
        }

        return text;
    }

    private void EmitData(string text)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, _line));
    }

    private static int CountNewlines(string s, int from, int to)
    {
        int n = 0;
        for (int i = from; i < to; i++)
        {
            if (s[i] == '\n') n++;
        }

        return n;
    }

    private void Advance(int to)
    {
        _line += CountNewlines(_src, _pos, to);
        _lineStarting = to > 0 && _src[to - 1] == '\n';
        _pos = to;
    }

    private void LexComment(char sign)
    {
        int contentStart = _pos + 2 + (sign != '\0' ? 1 : 0);
        int close = _src.IndexOf("#}", contentStart, StringComparison.Ordinal);
        if (close < 0) throw Error("missing end of comment tag");
        int end = close + 2;
        char closeSign = close - 1 >= contentStart ? _src[close - 1] : '\0';
        if (closeSign == '-') end = SkipWhitespace(end);
        else if (closeSign != '+' && end < _src.Length && _src[end] == '\n') end++;
        Advance(end);
    }

    private int SkipWhitespace(int i)
    {
        while (i < _src.Length && Methods.IsSpace(_src[i])) i++;
        return i;
    }

    private void LexRaw(Match begin)
    {
        Advance(begin.Index + begin.Length);
        var end = RawEnd().Match(_src, _pos);
        if (!end.Success) throw Error("missing end of raw directive");
        char sign = end.Groups[1].Value is [var c] ? c : '\0';
        EmitData(ApplyLeftStrip(_src[_pos..end.Index], sign, true));
        Advance(end.Index + end.Length);
    }

    private void LexTag(TokenKind beginKind, char sign)
    {
        bool variable = beginKind == TokenKind.VariableBegin;
        _tokens.Add(new Token(beginKind, variable ? "{{" : "{%", _line));
        Advance(_pos + 2 + (sign != '\0' ? 1 : 0));
        string close = variable ? "}}" : "%}";
        var brackets = new Stack<char>();
        while (true)
        {
            if (_pos >= _src.Length) throw Error(variable ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
            if (brackets.Count == 0 && TryTagEnd(close, variable)) return;
            char c = _src[_pos];
            if (Methods.IsSpace(c))
            {
                Advance(SkipWhitespace(_pos));
                continue;
            }

            int line = _line;
            Match m;
            if ((m = FloatPattern().Match(_src, _pos)).Success)
            {
                string digits = m.Value.Replace("_", "");
                if (!double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) throw Error($"invalid number '{m.Value}'");
                _tokens.Add(new Token(TokenKind.Float, m.Value, line, d));
                Advance(_pos + m.Length);
            }
            else if ((m = IntegerPattern().Match(_src, _pos)).Success)
            {
                _tokens.Add(new Token(TokenKind.Integer, m.Value, line, ParseInteger(m.Value) ?? throw Error($"integer literal {m.Value} does not fit in 64 bits")));
                Advance(_pos + m.Length);
            }
            else if (char.IsLetter(c) || c == '_')
            {
                int start = _pos;
                int i = _pos + 1;
                while (i < _src.Length && (char.IsLetterOrDigit(_src[i]) || _src[i] == '_' || CharUnicodeInfo.GetUnicodeCategory(_src[i]) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.ConnectorPunctuation)) i++;
                _tokens.Add(new Token(TokenKind.Name, _src[start..i], line));
                Advance(i);
            }
            else if (c is '\'' or '"')
            {
                LexString(c);
            }
            else
            {
                string? op = s_operators.FirstOrDefault(o => string.CompareOrdinal(_src, _pos, o, 0, o.Length) == 0);
                if (op == null) throw Error($"unexpected char {Py.Repr(c.ToString())}");
                switch (op)
                {
                    case "(": brackets.Push(')'); break;
                    case "[": brackets.Push(']'); break;
                    case "{": brackets.Push('}'); break;
                    case ")" or "]" or "}":
                        if (brackets.Count == 0) throw Error($"unexpected '{op}'");
                        char expected = brackets.Pop();
                        if (expected != op[0]) throw Error($"unexpected '{op}', expected '{expected}'");
                        break;
                }

                _tokens.Add(new Token(TokenKind.Operator, op, line));
                Advance(_pos + op.Length);
            }
        }
    }

    private bool TryTagEnd(string close, bool variable)
    {
        int p = _pos;
        char sign = _src[p] is '-' or '+' ? _src[p] : '\0';
        if (sign == '+' && variable) sign = '\0'; // "+}}" is not an end marker in Jinja2
        int at = sign != '\0' ? p + 1 : p;
        if (string.CompareOrdinal(_src, at, close, 0, 2) != 0) return false;
        int line = _line;
        int end = at + 2;
        if (sign == '-') end = SkipWhitespace(end);
        else if (sign == '\0' && !variable && end < _src.Length && _src[end] == '\n') end++; // trim_blocks
        _tokens.Add(new Token(variable ? TokenKind.VariableEnd : TokenKind.BlockEnd, close, line));
        Advance(end);
        return true;
    }

    private static object? ParseInteger(string text)
    {
        string t = text.Replace("_", "").ToLowerInvariant();
        try
        {
            if (t.StartsWith("0x", StringComparison.Ordinal)) return checked((long)Convert.ToUInt64(t[2..], 16));
            if (t.StartsWith("0o", StringComparison.Ordinal)) return checked((long)Convert.ToUInt64(t[2..], 8));
            if (t.StartsWith("0b", StringComparison.Ordinal)) return checked((long)Convert.ToUInt64(t[2..], 2));
            return long.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private void LexString(char quote)
    {
        int line = _line;
        int i = _pos + 1;
        while (i < _src.Length && _src[i] != quote)
        {
            if (_src[i] == '\\') i++;
            i++;
        }

        if (i >= _src.Length) throw Error("unterminated string literal");
        string body = _src[(_pos + 1)..i];
        string value;
        try
        {
            value = Unescape(body);
        }
        catch (PyException e)
        {
            throw Error(e.Message);
        }

        _tokens.Add(new Token(TokenKind.String, _src[_pos..(i + 1)], line, value));
        Advance(i + 1);
    }

    /// <summary>Python's "unicode-escape" decoding, which Jinja2 applies to string literals.</summary>
    internal static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c != '\\' || i + 1 >= s.Length)
            {
                sb.Append(c);
                continue;
            }

            char e = s[++i];
            switch (e)
            {
                case '\n': break; // line continuation
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case 'a': sb.Append('\a'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'v': sb.Append('\v'); break;
                case >= '0' and <= '7':
                {
                    int v = 0, n = 0;
                    while (n < 3 && i < s.Length && s[i] is >= '0' and <= '7')
                    {
                        v = v * 8 + (s[i] - '0');
                        i++;
                        n++;
                    }

                    i--;
                    sb.Append((char)v);
                    break;
                }

                case 'x' or 'u' or 'U':
                {
                    int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    string hex = s.Substring(i + 1, Math.Min(digits, s.Length - i - 1));
                    if (hex.Length != digits || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp))
                        throw new PyException($"truncated \\{e} escape");
                    if (cp > 0x10FFFF) throw new PyException("illegal Unicode character");
                    sb.Append(cp is >= 0xD800 and <= 0xDFFF ? ((char)cp).ToString() : char.ConvertFromUtf32(cp));
                    i += digits;
                    break;
                }

                case 'N': throw new PyException("unsupported: \\N{...} escapes in string literals");
                default:
                    sb.Append('\\').Append(e);
                    break;
            }
        }

        return sb.ToString();
    }
}
