using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace Hearth.Chat.Templates;

/// <summary>Jinja2's built-in filters that chat templates use, with Jinja2's semantics (tojson as the chat tooling defines it).</summary>
internal static partial class Filters
{
    private static readonly HashSet<string> s_supported =
    [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
        "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
        "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
    ];

    // Jinja2 built-ins Hearth does not implement: named as unsupported rather than unknown.
    private static readonly HashSet<string> s_unsupported =
    [
        "filesizeformat", "groupby", "pprint", "random", "slice", "striptags", "truncate", "urlencode", "urlize",
        "wordwrap", "xmlattr",
    ];

    /// <summary>Null when the filter exists; otherwise the error text.</summary>
    public static string? Check(string name) =>
        s_supported.Contains(name) ? null : s_unsupported.Contains(name) ? $"unsupported filter '{name}'" : $"unknown filter '{name}'";

    private static bool Has(object? v) => v is not CallArguments.Missing;

    private static object? Opt(object? v, object? dflt) => v is CallArguments.Missing ? dflt : v;

    public static object? Apply(Renderer r, string name, object? value, CallArguments a)
    {
        object?[] P(params string[] names) => a.Bind($"filter '{name}'", names);
        object?[] Required(int required, params string[] names) => a.Bind($"filter '{name}'", required, names);

        switch (name)
        {
            case "abs":
                P();
                return value switch
                {
                    long l => l == long.MinValue ? throw new PyException("integer overflow") : (object)Math.Abs(l),
                    double d => Math.Abs(d),
                    bool b => b ? 1L : 0L,
                    Undefined u => throw u.Fail(),
                    _ => throw new PyException($"bad operand type for abs(): '{Py.TypeName(value)}'"),
                };
            case "attr":
            {
                string attr = Py.AsString(Required(1, "name")[0], "attribute name");
                return value switch
                {
                    Namespace ns => ns.Attributes.TryGetValue(attr, out var v) ? v : Undefined.Attribute(value, attr),
                    LoopContext loop => loop.GetAttribute(attr),
                    Undefined u => throw u.Fail(),
                    _ => Methods.TryBind(value, attr, out var m) ? m : Undefined.Attribute(value, attr),
                };
            }

            case "batch":
            {
                var p = Required(1, "linecount", "fill_with");
                int size = Py.AsIndex(p[0], "linecount");
                if (size <= 0) throw new PyException("batch size must be positive");
                var fill = Opt(p[1], null);
                return new PyIterator(Batch(Py.Iterate(value), size, fill), "generator");
            }

            case "capitalize":
                P();
                return Methods.Capitalize(Py.Str(value));
            case "center":
            {
                var p = P("width");
                int width = Has(p[0]) ? Py.AsIndex(p[0], "width") : 80;
                return Methods.Justify(Py.Str(value), width, " ", 'c');
            }

            case "count" or "length":
                P();
                return Py.Length(value);
            case "d" or "default":
            {
                var p = P("default_value", "boolean");
                var dflt = Opt(p[0], "");
                bool boolean = Py.Truthy(Opt(p[1], false));
                return value is Undefined || (boolean && !Py.Truthy(value)) ? dflt : value;
            }

            case "dictsort":
            {
                var p = P("case_sensitive", "by", "reverse");
                bool caseSensitive = Py.Truthy(Opt(p[0], false));
                string by = Py.AsString(Opt(p[1], "key"), "by");
                bool reverse = Py.Truthy(Opt(p[2], false));
                int pos = by switch
                {
                    "key" => 0,
                    "value" => 1,
                    _ => throw new PyException("You can only sort by either \"key\" or \"value\""),
                };
                if (value is not PyDict dict)
                {
                    Py.ThrowIfUndefined(value);
                    throw new PyException($"'{Py.TypeName(value)}' object has no attribute 'items'");
                }

                var items = dict.Select(kv => new PyTuple([kv.Key, kv.Value])).ToList();
                SortBy(items, t => caseSensitive ? t.Items[pos] : IgnoreCase(t.Items[pos]), reverse);
                return items.Cast<object?>().ToList();
            }

            case "e" or "escape" or "forceescape":
                P();
                return HtmlEscape(Py.Str(value));
            case "first":
                P();
                foreach (var item in Py.Iterate(value)) return item;
                return new Undefined("No first item, sequence was empty.");
            case "last":
            {
                P();
                if (value is PyIterator) throw new PyException($"'{Py.TypeName(value)}' object is not reversible");
                var items = Py.ToList(value);
                return items.Count > 0 ? items[^1] : new Undefined("No last item, sequence was empty.");
            }

            case "float":
            {
                var p = P("default");
                return ToFloat(value) ?? Opt(p[0], 0.0);
            }

            case "format":
                if (a.Positional.Count > 0 && a.Keywords.Count > 0) throw new PyException("can't handle positional and keyword arguments at the same time");
                if (a.Keywords.Count > 0)
                {
                    var d = new PyDict();
                    foreach (var (key, v) in a.Keywords) d[key] = v;
                    return PyFormat.Percent(Py.Str(value), d);
                }

                return PyFormat.Percent(Py.Str(value), new PyTuple([.. a.Positional]));
            case "indent":
            {
                var p = P("width", "first", "blank");
                return Indent(value, Opt(p[0], 4L), Py.Truthy(Opt(p[1], false)), Py.Truthy(Opt(p[2], false)));
            }

            case "int":
            {
                var p = P("default", "base");
                return ToInt(value, Py.AsLong(Opt(p[1], 10L))) ?? Opt(p[0], 0L);
            }

            case "items":
                P();
                if (value is Undefined) return new PyIterator([], "generator");
                if (value is not PyDict map) throw new PyException("Can only get item pairs from a mapping.");
                return new PyIterator(map.Select(kv => (object?)new PyTuple([kv.Key, kv.Value])).ToList(), "generator");
            case "join":
            {
                var p = P("d", "attribute");
                string separator = Py.Str(Opt(p[0], ""));
                var items = Py.Iterate(value);
                if (Has(p[1]) && p[1] is not null)
                {
                    var getter = AttributeGetter(p[1], null);
                    items = items.Select(getter);
                }

                var sb = new StringBuilder();
                bool first = true;
                foreach (var item in items)
                {
                    if (!first) sb.Append(separator);
                    first = false;
                    sb.Append(Py.Str(item));
                    if (sb.Length > Py.MaxStringLength) throw Py.TooLong();
                }

                return sb.ToString();
            }

            case "list":
                P();
                return Py.ToList(value);
            case "lower":
                P();
                return Py.Str(value).ToLowerInvariant();
            case "upper":
                P();
                return Py.Str(value).ToUpperInvariant();
            case "map":
                return new PyIterator(Map(r, value, a), "generator");
            case "max" or "min":
            {
                var p = P("case_sensitive", "attribute");
                bool caseSensitive = Py.Truthy(Opt(p[0], false));
                var getter = AttributeGetter(Opt(p[1], null), null);
                object? best = null;
                object? bestKey = null;
                bool any = false;
                foreach (var item in Py.Iterate(value))
                {
                    var key = getter(item);
                    if (!caseSensitive) key = IgnoreCase(key);
                    if (!any || (name == "max" ? Py.CompareOp(">", key, bestKey) : Py.CompareOp("<", key, bestKey)))
                    {
                        best = item;
                        bestKey = key;
                        any = true;
                    }
                }

                return any ? best : new Undefined("No aggregated item, sequence was empty.");
            }

            case "replace":
            {
                var p = Required(2, "old", "new", "count");
                long count = Has(p[2]) && p[2] is not null ? Py.AsLong(p[2]) : -1;
                return Methods.Replace(Py.Str(value), Py.Str(p[0]), Py.Str(p[1]), count);
            }

            case "select" or "reject" or "selectattr" or "rejectattr":
                return new PyIterator(SelectOrReject(r, value, a, name.StartsWith('s'), name.EndsWith("attr", StringComparison.Ordinal)), "generator");
            case "reverse":
                P();
                switch (value)
                {
                    case string s: return Py.Slice(s, null, null, -1L);
                    case List<object?> or PyTuple or PyRange:
                    {
                        var items = Py.ToList(value);
                        items.Reverse();
                        return new PyIterator(items, "list_reverseiterator");
                    }

                    default:
                    {
                        var items = Py.ToList(value);
                        items.Reverse();
                        return items;
                    }
                }

            case "round":
            {
                var p = P("precision", "method");
                int precision = Has(p[0]) ? Py.AsIndex(p[0], "precision") : 0;
                string method = Py.AsString(Opt(p[1], "common"), "method");
                return Round(value, precision, method);
            }

            case "safe" or "string":
                P();
                return Py.Str(value);
            case "sort":
            {
                var p = P("reverse", "case_sensitive", "attribute");
                bool reverse = Py.Truthy(Opt(p[0], false));
                bool caseSensitive = Py.Truthy(Opt(p[1], false));
                var attribute = Opt(p[2], null);
                var parts = attribute is string s ? s.Split(',').Select(x => (object?)x).ToList() : [attribute];
                var getters = parts.Select(part => AttributeGetter(part, null)).ToList();
                var items = Py.ToList(value);
                SortBy(items, item =>
                {
                    var key = getters.Select(g => caseSensitive ? g(item) : IgnoreCase(g(item))).ToList();
                    return (object?)key;
                }, reverse);
                return items;
            }

            case "sum":
            {
                var p = P("attribute", "start");
                object? total = Opt(p[1], 0L);
                if (total is string) throw new PyException("sum() can't sum strings [use ''.join(seq) instead]");
                var getter = AttributeGetter(Opt(p[0], null), null);
                foreach (var item in Py.Iterate(value)) total = Py.Add(total, getter(item));
                return total;
            }

            case "title":
                P();
                return JinjaTitle(Py.Str(value));
            case "tojson":
            {
                var p = P("ensure_ascii", "indent", "separators", "sort_keys");
                bool ascii = Py.Truthy(Opt(p[0], false));
                var indentValue = Opt(p[1], null);
                string? indent = indentValue switch
                {
                    null => null,
                    string s => s,
                    long or bool => new string(' ', (int)Math.Clamp(Py.AsLong(indentValue), 0, 64)),
                    _ => throw new PyException($"indent must be an int or a string, not {Py.TypeName(indentValue)}"),
                };
                string itemSep = indent == null ? ", " : ",";
                string keySep = ": ";
                if (Opt(p[2], null) is { } separators)
                {
                    var seps = Py.ToList(separators);
                    if (seps.Count != 2) throw new PyException("separators must be a (item_separator, key_separator) pair");
                    itemSep = Py.AsString(seps[0], "item separator");
                    keySep = Py.AsString(seps[1], "key separator");
                }

                return PyJson.Dumps(value, indent, itemSep, keySep, Py.Truthy(Opt(p[3], false)), ascii);
            }

            case "trim":
                return Methods.Strip(Py.Str(value), Opt(P("chars")[0], null), true, true);
            case "unique":
            {
                var p = P("case_sensitive", "attribute");
                bool caseSensitive = Py.Truthy(Opt(p[0], false));
                var getter = AttributeGetter(Opt(p[1], null), null);
                return new PyIterator(Unique(Py.Iterate(value), item => caseSensitive ? getter(item) : IgnoreCase(getter(item))), "generator");
            }

            case "wordcount":
                P();
                return (long)WordPattern().Count(Py.Str(value));
        }

        throw new PyException(Check(name) ?? $"unsupported filter '{name}'");
    }

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordPattern();

    [GeneratedRegex(@"([-\s({\[<]+)")]
    private static partial Regex WordBeginning();

    /// <summary>Jinja's <c>title</c> filter: upper-case the first character of each word (words split at -, whitespace, brackets).</summary>
    private static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var item in WordBeginning().Split(s))
        {
            if (item.Length == 0) continue;
            sb.Append(char.ToUpperInvariant(item[0])).Append(item[1..].ToLowerInvariant());
        }

        return sb.ToString();
    }

    public static string HtmlEscape(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;")
        .Replace("\"", "&#34;").Replace("'", "&#39;");

    private static object? IgnoreCase(object? v) => v is string s ? s.ToLowerInvariant() : v;

    private static void SortBy<T>(List<T> items, Func<T, object?> key, bool reverse)
    {
        var keyed = items.Select(item => (Key: key(item), Item: item)).ToList();
        MergeSort.Sort(keyed, (x, y) => reverse ? Py.Compare(y.Key, x.Key, "<") : Py.Compare(x.Key, y.Key, "<"));
        for (int i = 0; i < items.Count; i++) items[i] = keyed[i].Item;
    }

    /// <summary>Jinja's <c>make_attrgetter</c>: dotted path, integer parts as indices, each step an item lookup.</summary>
    private static Func<object?, object?> AttributeGetter(object? attribute, object? dflt)
    {
        if (attribute is null) return x => x;
        var parts = attribute is string s
            ? s.Split('.').Select(p => p.Length > 0 && p.All(char.IsAsciiDigit) ? (object?)long.Parse(p, CultureInfo.InvariantCulture) : p).ToList()
            : [attribute];
        return item =>
        {
            foreach (var part in parts)
            {
                item = Py.GetItem(item, part);
                if (dflt is not null && item is Undefined) item = dflt;
            }

            return item;
        };
    }

    private static IEnumerable<object?> Batch(IEnumerable<object?> items, int size, object? fill)
    {
        var current = new List<object?>();
        foreach (var item in items)
        {
            if (current.Count == size)
            {
                yield return current;
                current = [];
            }

            current.Add(item);
        }

        if (current.Count > 0)
        {
            if (fill is not null)
            {
                while (current.Count < size) current.Add(fill);
            }

            yield return current;
        }
    }

    private static IEnumerable<object?> Map(Renderer r, object? value, CallArguments a)
    {
        Func<object?, object?> func;
        if (a.Positional.Count == 0 && a.Keywords.Any(k => k.Key == "attribute"))
        {
            var attribute = a.Keywords.First(k => k.Key == "attribute").Value;
            var dflt = a.Keywords.FirstOrDefault(k => k.Key == "default").Value;
            var other = a.Keywords.FirstOrDefault(k => k.Key is not ("attribute" or "default"));
            if (other.Key != null) throw new PyException($"Unexpected keyword argument '{other.Key}'");
            func = AttributeGetter(attribute, dflt);
        }
        else
        {
            if (a.Positional.Count == 0) throw new PyException("map requires a filter argument");
            string filter = Py.AsString(a.Positional[0], "map filter name");
            var rest = new CallArguments([.. a.Positional.Skip(1)], a.Keywords);
            if (Check(filter) is { } problem) throw new PyException(problem);
            func = item => r.ApplyFilter(filter, item, rest);
        }

        return Py.Iterate(value).Select(func);
    }

    private static IEnumerable<object?> SelectOrReject(Renderer r, object? value, CallArguments a, bool select, bool lookupAttr)
    {
        if (!Py.Truthy(value)) return [];
        Func<object?, object?> transform = x => x;
        int offset = 0;
        if (lookupAttr)
        {
            if (a.Positional.Count == 0) throw new PyException("Missing parameter for attribute name");
            transform = AttributeGetter(a.Positional[0], null);
            offset = 1;
        }

        Func<object?, bool> test;
        if (a.Positional.Count > offset)
        {
            string name = Py.AsString(a.Positional[offset], "test name");
            if (Tests.Check(name) is { } problem) throw new PyException(problem);
            var rest = new CallArguments([.. a.Positional.Skip(offset + 1)], a.Keywords);
            test = item => r.RunTest(name, item, rest);
        }
        else
        {
            test = Py.Truthy;
        }

        return Py.Iterate(value).Where(item => test(transform(item)) == select);
    }

    private static IEnumerable<object?> Unique(IEnumerable<object?> items, Func<object?, object?> key)
    {
        var seen = new HashSet<object>(PyKeyComparer.Instance);
        bool seenNone = false;
        foreach (var item in items)
        {
            var k = key(item);
            if (k is null)
            {
                if (seenNone) continue;
                seenNone = true;
                yield return item;
                continue;
            }

            if (!PyKeyComparer.IsHashable(k)) throw new PyException($"unhashable type: '{Py.TypeName(k)}'");
            if (seen.Add(k)) yield return item;
        }
    }

    private static string Indent(object? value, object? width, bool first, bool blank)
    {
        if (value is not string s)
        {
            Py.ThrowIfUndefined(value);
            throw new PyException($"unsupported operand type(s) for +=: '{Py.TypeName(value)}' and 'str'");
        }

        string indention = width switch
        {
            string w => w,
            long or bool => new string(' ', (int)Math.Clamp(Py.AsLong(width), 0, 4096)),
            _ => throw new PyException($"can't multiply sequence by non-int of type '{Py.TypeName(width)}'"),
        };
        var lines = Methods.SplitLines(s + "\n", false);
        var sb = new StringBuilder();
        if (blank)
        {
            sb.AppendJoin("\n" + indention, lines);
        }
        else
        {
            sb.Append(lines[0]);
            for (int i = 1; i < lines.Count; i++)
            {
                sb.Append('\n');
                if (lines[i].Length > 0) sb.Append(indention);
                sb.Append(lines[i]);
            }
        }

        return first ? indention + sb : sb.ToString();
    }

    /// <summary>Jinja's <c>int</c> filter: int(value, base), falling back to int(float(value)); null when neither works.</summary>
    private static object? ToInt(object? value, long numberBase)
    {
        switch (value)
        {
            case long or bool: return Py.AsLong(value);
            case double d: return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Truncate(d) : null;
            case string s:
            {
                if (TryParsePythonInt(s, numberBase, out long l)) return l;
                if (ToFloat(s) is double f && double.IsFinite(f) && Math.Abs(f) < 9.2e18) return (long)Math.Truncate(f);
                return null;
            }

            default: return null;
        }
    }

    private static bool TryParsePythonInt(string s, long numberBase, out long result)
    {
        result = 0;
        string t = Methods.Strip(s, null, true, true);
        bool negative = false;
        if (t.StartsWith('+') || t.StartsWith('-'))
        {
            negative = t[0] == '-';
            t = t[1..];
        }

        string lower = t.ToLowerInvariant();
        int b = (int)numberBase;
        if ((b == 16 || b == 0) && lower.StartsWith("0x", StringComparison.Ordinal)) (b, t) = (16, t[2..]);
        else if ((b == 8 || b == 0) && lower.StartsWith("0o", StringComparison.Ordinal)) (b, t) = (8, t[2..]);
        else if ((b == 2 || b == 0) && lower.StartsWith("0b", StringComparison.Ordinal)) (b, t) = (2, t[2..]);
        else if (b == 0) b = 10;
        if (b is < 2 or > 36 || t.Length == 0 || t.StartsWith('_') || t.EndsWith('_') || t.Contains("__")) return false;
        t = t.Replace("_", "");
        long value = 0;
        foreach (char c in t)
        {
            int digit = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiLetter(c) ? char.ToLowerInvariant(c) - 'a' + 10 : 99;
            if (digit >= b) return false;
            try
            {
                value = checked(value * b + digit);
            }
            catch (OverflowException)
            {
                return false;
            }
        }

        result = negative ? -value : value;
        return true;
    }

    /// <summary>Python's <c>float(value)</c>, or null when it would raise.</summary>
    private static double? ToFloat(object? value)
    {
        switch (value)
        {
            case long or bool or double: return Py.AsDouble(value);
            case string s:
            {
                string t = Methods.Strip(s, null, true, true).Replace("_", "");
                string lower = t.ToLowerInvariant().TrimStart('+', '-');
                bool negative = t.StartsWith('-');
                if (lower is "inf" or "infinity") return negative ? double.NegativeInfinity : double.PositiveInfinity;
                if (lower == "nan") return double.NaN;
                if (t.Length == 0 || !t.All(c => char.IsAsciiDigit(c) || c is '.' or 'e' or 'E' or '+' or '-')) return null;
                return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? d : null;
            }

            default: return null;
        }
    }

    /// <summary>
    /// Python's <c>round(x, n)</c>: rounds the exact binary value half-to-even at the n-th decimal, so 42.55 (really
    /// 42.5499999...) rounds to 42.5. Math.Round scales in floating point and can land on the other side.
    /// </summary>
    internal static double PyRound(double x, int n)
    {
        if (!double.IsFinite(x) || x == 0 || n > 340) return x;
        if (n < -340) return 0.0 * Math.Sign(x);
        long bits = BitConverter.DoubleToInt64Bits(x);
        bool negative = bits < 0;
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1;
        else mantissa |= 1L << 52;
        exponent -= 1075; // |x| = mantissa * 2^exponent
        BigInteger num = mantissa, den = BigInteger.One;
        if (exponent >= 0) num <<= exponent;
        else den <<= -exponent;
        if (n >= 0) num *= BigInteger.Pow(10, n);
        else den *= BigInteger.Pow(10, -n);
        var q = BigInteger.DivRem(num, den, out var r);
        int c = (r * 2).CompareTo(den);
        if (c > 0 || (c == 0 && !q.IsEven)) q += 1;
        double result = double.Parse($"{q}E{-n}", NumberStyles.Float, CultureInfo.InvariantCulture);
        return negative ? -result : result;
    }

    private static object? Round(object? value, int precision, string method)
    {
        if (method is not ("common" or "ceil" or "floor")) throw new PyException("method must be common, ceil or floor");
        Py.ThrowIfUndefined(value);
        if (!Py.IsNumber(value)) throw new PyException($"type {Py.TypeName(value)} doesn't define __round__ method");
        if (method == "common")
        {
            if (Py.IsInt(value))
            {
                long l = Py.AsLong(value);
                if (precision >= 0) return l;
                long scale = (long)Math.Pow(10, Math.Min(-precision, 18));
                return (long)Math.Round((decimal)l / scale, MidpointRounding.ToEven) * scale;
            }

            return PyRound((double)value!, precision);
        }

        double x = Py.AsDouble(value);
        double f = Math.Pow(10, precision);
        return (method == "ceil" ? Math.Ceiling(x * f) : Math.Floor(x * f)) / f;
    }
}
