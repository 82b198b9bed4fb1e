using System.Globalization;
using System.Text;

namespace Hearth.Chat.Templates;

/// <summary>The global functions a chat template sees: Jinja2's <c>range</c>, <c>dict</c>, <c>namespace</c>, and the chat tooling's <c>raise_exception</c> and <c>strftime_now</c>.</summary>
internal static class Globals
{
    public static IEnumerable<KeyValuePair<string, object?>> Create()
    {
        yield return new("range", new BuiltinFunction("range", (_, a) => Range(a)));
        yield return new("dict", new BuiltinFunction("dict", (_, a) =>
        {
            if (a.Positional.Count > 1) throw new PyException($"dict expected at most 1 argument, got {a.Positional.Count}");
            var d = new PyDict();
            if (a.Positional.Count == 1) Methods.Update(d, a.Positional[0]);
            foreach (var (key, value) in a.Keywords) d[key] = value;
            return d;
        }));
        yield return new("namespace", new BuiltinFunction("namespace", (_, a) =>
        {
            var ns = new Namespace();
            foreach (var p in a.Positional) Methods.Update(ns.Attributes, p);
            foreach (var (key, value) in a.Keywords) ns.Attributes[key] = value;
            return ns;
        }));
        yield return new("raise_exception", new BuiltinFunction("raise_exception", (_, a) =>
        {
            var message = a.Bind("raise_exception()", "message")[0];
            throw new RaisedByTemplate(message is CallArguments.Missing ? "" : Py.Str(message));
        }));
        yield return new("strftime_now", new BuiltinFunction("strftime_now", (r, a) =>
            Strftime.Format(r.Now, Py.AsString(a.Bind("strftime_now()", 1, "format")[0], "strftime_now() argument"))));
        yield return new("lipsum", new UnsupportedMember("global function 'lipsum'"));
        yield return new("cycler", new UnsupportedMember("global function 'cycler'"));
        yield return new("joiner", new UnsupportedMember("global function 'joiner'"));
    }

    private static PyRange Range(CallArguments a)
    {
        if (a.Keywords.Count > 0) throw new PyException("range() takes no keyword arguments");
        var p = a.Positional;
        long Arg(int i) => Py.IsInt(p[i]) ? Py.AsLong(p[i]) : throw new PyException($"'{Py.TypeName(p[i])}' object cannot be interpreted as an integer");
        var range = p.Count switch
        {
            1 => new PyRange(0, Arg(0), 1),
            2 => new PyRange(Arg(0), Arg(1), 1),
            3 => new PyRange(Arg(0), Arg(1), Arg(2)),
            0 => throw new PyException("range expected at least 1 argument, got 0"),
            _ => throw new PyException($"range expected at most 3 arguments, got {p.Count}"),
        };
        return range;
    }
}

/// <summary>Python's <c>datetime.strftime</c> with the C locale, including glibc's <c>%-d</c> style unpadded codes.</summary>
internal static class Strftime
{
    private static readonly string[] s_days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private static readonly string[] s_months =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTime t, string format)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%' || i + 1 >= format.Length)
            {
                sb.Append(c);
                continue;
            }

            char code = format[++i];
            bool unpadded = false;
            if (code is '-' && i + 1 < format.Length)
            {
                unpadded = true;
                code = format[++i];
            }

            sb.Append(Code(t, code, unpadded));
        }

        return sb.ToString();
    }

    private static string Num(int value, int width, bool unpadded) =>
        unpadded ? value.ToString(CultureInfo.InvariantCulture) : value.ToString(new string('0', width), CultureInfo.InvariantCulture);

    private static string Code(DateTime t, char code, bool unpadded)
    {
        int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        return code switch
        {
            'a' => s_days[(int)t.DayOfWeek][..3],
            'A' => s_days[(int)t.DayOfWeek],
            'w' => ((int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
            'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(CultureInfo.InvariantCulture),
            'd' => Num(t.Day, 2, unpadded),
            'e' => unpadded ? Num(t.Day, 1, true) : t.Day.ToString(CultureInfo.InvariantCulture).PadLeft(2),
            'b' or 'h' => s_months[t.Month - 1][..3],
            'B' => s_months[t.Month - 1],
            'm' => Num(t.Month, 2, unpadded),
            'y' => Num(t.Year % 100, 2, unpadded),
            'Y' => t.Year.ToString(CultureInfo.InvariantCulture),
            'C' => Num(t.Year / 100, 2, unpadded),
            'H' => Num(t.Hour, 2, unpadded),
            'I' => Num(hour12, 2, unpadded),
            'p' => t.Hour < 12 ? "AM" : "PM",
            'M' => Num(t.Minute, 2, unpadded),
            'S' => Num(t.Second, 2, unpadded),
            'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", CultureInfo.InvariantCulture),
            'j' => Num(t.DayOfYear, 3, unpadded),
            'U' => Num((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7, 2, unpadded),
            'W' => Num((t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7, 2, unpadded),
            'G' => ISOWeek.GetYear(t).ToString(CultureInfo.InvariantCulture),
            'V' => Num(ISOWeek.GetWeekOfYear(t), 2, unpadded),
            'z' or 'Z' => "", // a naive datetime, as datetime.now() gives, has no zone
            'c' => $"{Code(t, 'a', false)} {Code(t, 'b', false)} {Code(t, 'e', false)} {Code(t, 'H', false)}:{Code(t, 'M', false)}:{Code(t, 'S', false)} {t.Year}",
            'x' => $"{Code(t, 'm', false)}/{Code(t, 'd', false)}/{Code(t, 'y', false)}",
            'X' or 'T' => $"{Code(t, 'H', false)}:{Code(t, 'M', false)}:{Code(t, 'S', false)}",
            'D' => $"{Code(t, 'm', false)}/{Code(t, 'd', false)}/{Code(t, 'y', false)}",
            'F' => $"{t.Year}-{Code(t, 'm', false)}-{Code(t, 'd', false)}",
            'R' => $"{Code(t, 'H', false)}:{Code(t, 'M', false)}",
            'n' => "\n",
            't' => "\t",
            '%' => "%",
            _ => throw new PyException($"unsupported strftime code '%{(unpadded ? "-" : "")}{code}'"),
        };
    }
}
