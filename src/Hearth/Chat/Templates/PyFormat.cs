using System.Globalization;
using System.Text;

namespace Hearth.Chat.Templates;

/// <summary>Python's string formatting: <c>"%s" % args</c> and <c>"{}".format(args)</c>, for the common conversions.</summary>
internal static class PyFormat
{
    /// <summary>printf-style formatting: flags <c>-+ 0#</c>, width, precision, conversions s r a d i u f F x X o c %.</summary>
    public static string Percent(string format, object? args)
    {
        var positional = args is PyTuple t ? t.Items : [args];
        var mapping = args as PyDict;
        int next = 0;
        var sb = new StringBuilder();
        int i = 0;
        while (i < format.Length)
        {
            char c = format[i];
            if (c != '%')
            {
                sb.Append(c);
                i++;
                continue;
            }

            i++;
            if (i >= format.Length) throw new PyException("incomplete format");
            object? value = null;
            bool haveValue = false;
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0) throw new PyException("incomplete format key");
                if (mapping == null) throw new PyException("format requires a mapping");
                value = mapping.GetOrUndefined(format[(i + 1)..close]);
                if (value is Undefined) throw new PyException($"KeyError: {Py.Repr(format[(i + 1)..close])}");
                haveValue = true;
                i = close + 1;
            }

            string flags = "";
            while (i < format.Length && "-+ 0#".Contains(format[i])) flags += format[i++];
            int width = ReadNumber(format, ref i, () => Py.AsIndex(NextArg(positional, ref next), "* width"));
            int precision = -1;
            if (i < format.Length && format[i] == '.')
            {
                i++;
                precision = Math.Max(0, ReadNumber(format, ref i, () => Py.AsIndex(NextArg(positional, ref next), "* precision")));
            }

            while (i < format.Length && format[i] is 'h' or 'l' or 'L') i++;
            if (i >= format.Length) throw new PyException("incomplete format");
            char conv = format[i++];
            if (conv == '%')
            {
                sb.Append('%');
                continue;
            }

            if (!haveValue) value = NextArg(positional, ref next);
            string text = conv switch
            {
                's' => Py.Str(value),
                'r' or 'a' => Py.Repr(value),
                'd' or 'i' or 'u' => FormatInteger(ToInteger(value, conv), flags, precision, 10, false),
                'x' => FormatInteger(ToInteger(value, conv), flags, precision, 16, false),
                'X' => FormatInteger(ToInteger(value, conv), flags, precision, 16, true),
                'o' => FormatInteger(ToInteger(value, conv), flags, precision, 8, false),
                'f' or 'F' => FormatFixed(ToFloat(value, conv), flags, precision < 0 ? 6 : precision),
                'c' => value is string s && Py.CodePointCount(s) == 1 ? s : char.ConvertFromUtf32((int)Py.AsLong(value)),
                _ => throw new PyException($"unsupported: format character '{conv}' in a %-format"),
            };
            if (conv is 's' or 'r' or 'a' && precision >= 0 && text.Length > precision) text = text[..precision];
            sb.Append(Pad(text, width, flags.Contains('-'), flags.Contains('0') && conv is not ('s' or 'r' or 'a' or 'c')));
        }

        if (mapping == null && next < positional.Length) throw new PyException("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static object? NextArg(object?[] positional, ref int next)
    {
        if (next >= positional.Length) throw new PyException("not enough arguments for format string");
        return positional[next++];
    }

    private static int ReadNumber(string s, ref int i, Func<int> star)
    {
        if (i < s.Length && s[i] == '*')
        {
            i++;
            return star();
        }

        int start = i;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return i == start ? -1 : int.Parse(s.AsSpan(start, i - start), CultureInfo.InvariantCulture);
    }

    private static long ToInteger(object? v, char conv) => v switch
    {
        long or bool => Py.AsLong(v),
        double d => (long)Math.Truncate(d),
        _ => throw new PyException($"%{conv} format: a real number is required, not {Py.TypeName(v)}"),
    };

    private static double ToFloat(object? v, char conv) =>
        Py.IsNumber(v) ? Py.AsDouble(v) : throw new PyException($"must be real number, not {Py.TypeName(v)}");

    private static string FormatInteger(long v, string flags, int precision, int radix, bool upper)
    {
        string digits = radix == 10
            ? Math.Abs((decimal)v).ToString(CultureInfo.InvariantCulture)
            : Convert.ToString(Math.Abs(v), radix);
        if (upper) digits = digits.ToUpperInvariant();
        if (precision > digits.Length) digits = new string('0', precision - digits.Length) + digits;
        if (flags.Contains('#') && radix != 10) digits = (radix == 16 ? (upper ? "0X" : "0x") : "0o") + digits;
        return Sign(v < 0, flags) + digits;
    }

    private static string FormatFixed(double v, string flags, int precision)
    {
        if (double.IsNaN(v)) return Sign(false, flags) + "nan";
        if (double.IsInfinity(v)) return Sign(v < 0, flags) + "inf";
        string digits = Math.Abs(v).ToString("F" + precision.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        if (flags.Contains('#') && precision == 0) digits += ".";
        return Sign(double.IsNegative(v), flags) + digits;
    }

    private static string Sign(bool negative, string flags) =>
        negative ? "-" : flags.Contains('+') ? "+" : flags.Contains(' ') ? " " : "";

    private static string Pad(string text, int width, bool left, bool zero)
    {
        int n = Py.CodePointCount(text);
        if (width <= n) return text;
        if (left) return text + new string(' ', width - n);
        if (zero)
        {
            int signLength = text.Length > 0 && text[0] is '-' or '+' or ' ' ? 1 : 0;
            return text[..signLength] + new string('0', width - n) + text[signLength..];
        }

        return new string(' ', width - n) + text;
    }

    /// <summary><c>str.format</c>: <c>{}</c>, <c>{0}</c>, <c>{name}</c>, <c>!r</c>/<c>!s</c>, and specs of the form [[fill]align][sign][0][width][.precision][s|d|f].</summary>
    public static string Format(string format, CallArguments args)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '}')
            {
                if (i + 1 < format.Length && format[i + 1] == '}')
                {
                    sb.Append('}');
                    i++;
                    continue;
                }

                throw new PyException("Single '}' encountered in format string");
            }

            if (c != '{')
            {
                sb.Append(c);
                continue;
            }

            if (i + 1 < format.Length && format[i + 1] == '{')
            {
                sb.Append('{');
                i++;
                continue;
            }

            int close = format.IndexOf('}', i);
            if (close < 0) throw new PyException("Single '{' encountered in format string");
            string field = format[(i + 1)..close];
            i = close;
            string spec = "";
            char conversion = '\0';
            int colon = field.IndexOf(':');
            if (colon >= 0)
            {
                spec = field[(colon + 1)..];
                field = field[..colon];
            }

            int bang = field.IndexOf('!');
            if (bang >= 0)
            {
                if (bang + 2 != field.Length) throw new PyException("expected ':' after conversion specifier");
                conversion = field[bang + 1];
                field = field[..bang];
            }

            if (field.Contains('.') || field.Contains('[')) throw new PyException($"unsupported: attribute or index lookup '{field}' in str.format");
            object? value;
            if (field.Length == 0)
            {
                if (auto >= args.Positional.Count) throw new PyException($"Replacement index {auto} out of range for positional args tuple");
                value = args.Positional[auto++];
            }
            else if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            {
                if (index >= args.Positional.Count) throw new PyException($"Replacement index {index} out of range for positional args tuple");
                value = args.Positional[index];
            }
            else
            {
                var kw = args.Keywords.FindIndex(k => k.Key == field);
                if (kw < 0) throw new PyException($"KeyError: {Py.Repr(field)}");
                value = args.Keywords[kw].Value;
            }

            value = conversion switch
            {
                '\0' => value,
                's' => Py.Str(value),
                'r' or 'a' => Py.Repr(value),
                _ => throw new PyException($"Unknown conversion specifier {conversion}"),
            };
            sb.Append(ApplySpec(value, spec));
        }

        return sb.ToString();
    }

    private static string ApplySpec(object? value, string spec)
    {
        if (spec.Length == 0) return Py.Str(value);
        int i = 0;
        char fill = ' ', align = '\0';
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=')
        {
            fill = spec[0];
            align = spec[1];
            i = 2;
        }
        else if (spec[0] is '<' or '>' or '^' or '=')
        {
            align = spec[0];
            i = 1;
        }

        string flags = "";
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') flags += spec[i++];
        if (i < spec.Length && spec[i] == '0')
        {
            if (align == '\0')
            {
                fill = '0';
                align = '=';
            }

            i++;
        }

        int width = ReadNumber(spec, ref i, () => throw new PyException("Invalid format specifier"));
        int precision = -1;
        if (i < spec.Length && spec[i] == '.')
        {
            i++;
            precision = ReadNumber(spec, ref i, () => throw new PyException("Invalid format specifier"));
        }

        char type = i < spec.Length ? spec[i++] : '\0';
        if (i != spec.Length) throw new PyException($"unsupported: format spec '{spec}'");
        string text;
        bool numeric = Py.IsNumber(value);
        switch (type)
        {
            case '\0' when value is string s:
            case 's':
                text = value as string ?? throw new PyException($"Unknown format code 's' for object of type '{Py.TypeName(value)}'");
                if (precision >= 0 && text.Length > precision) text = text[..precision];
                break;
            case '\0' when Py.IsInt(value) && value is not bool:
            case 'd':
                if (!Py.IsInt(value)) throw new PyException($"Unknown format code 'd' for object of type '{Py.TypeName(value)}'");
                text = FormatInteger(Py.AsLong(value), flags, -1, 10, false);
                break;
            case 'f' or 'F':
                if (!numeric) throw new PyException($"Unknown format code '{type}' for object of type '{Py.TypeName(value)}'");
                text = FormatFixed(Py.AsDouble(value), flags, precision < 0 ? 6 : precision);
                break;
            case '\0' when value is double d && precision < 0:
                text = Py.FloatRepr(d);
                break;
            default:
                throw new PyException($"unsupported: format spec '{spec}'");
        }

        if (align == '\0') align = numeric && type != 's' ? '>' : '<';
        int n = Py.CodePointCount(text);
        if (width <= n) return text;
        int pad = width - n;
        return align switch
        {
            '<' => text + new string(fill, pad),
            '>' => new string(fill, pad) + text,
            '^' => new string(fill, pad / 2) + text + new string(fill, pad - pad / 2),
            _ => text.Length > 0 && text[0] is '-' or '+' or ' '
                ? text[0] + new string(fill, pad) + text[1..]
                : new string(fill, pad) + text,
        };
    }
}
