using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Hearth.Chat.Templates;

/// <summary>Python semantics over the interpreter's values: truth, str/repr, equality, ordering, arithmetic, iteration.</summary>
internal static class Py
{
    /// <summary>Longest string the interpreter builds (characters); beyond it rendering fails instead of exhausting memory.</summary>
    public const int MaxStringLength = 16 * 1024 * 1024;

    public static PyException TooLong() => new($"string longer than {MaxStringLength} characters");

    // ---------------------------------------------------------------- types

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        PyTuple => "tuple",
        PyDict => "dict",
        PyIterator it => it.TypeName,
        PyView view => view.TypeName,
        PyRange => "range",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        Undefined => "Undefined",
        MacroValue => "Macro",
        PyCallable => "builtin_function_or_method",
        UnsupportedMember => "unsupported",
        _ => v.GetType().Name,
    };

    /// <summary>Jinja2's <c>object_type_repr</c>: "None", or "dict object", "str object", ...</summary>
    public static string ObjectTypeRepr(object? v) => v is null ? "None" : $"{TypeName(v)} object";

    public static bool IsInt(object? v) => v is long or bool;

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static long AsLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new PyException($"'{TypeName(v)}' object cannot be interpreted as an integer"),
    };

    public static double AsDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new PyException($"must be real number, not {TypeName(v)}"),
    };

    public static int AsIndex(object? v, string what)
    {
        if (!IsInt(v)) throw new PyException($"{what} must be an integer, not '{TypeName(v)}'");
        long l = AsLong(v);
        return (int)Math.Clamp(l, int.MinValue, int.MaxValue);
    }

    public static string AsString(object? v, string what) =>
        v as string ?? throw new PyException($"{what} must be str, not {TypeName(v)}");

    public static void ThrowIfUndefined(object? v)
    {
        if (v is Undefined u) throw u.Fail();
        if (v is UnsupportedMember m) throw m.Fail();
    }

    // ---------------------------------------------------------------- truth

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        PyTuple t => t.Count > 0,
        PyDict d => d.Count > 0,
        PyView view => view.Items.Count > 0,
        PyRange r => r.Count > 0,
        Undefined => false,
        UnsupportedMember m => throw m.Fail(),
        _ => true,
    };

    // ---------------------------------------------------------------- str / repr

    /// <summary>Python's <c>str()</c>, which is what <c>{{ value }}</c> prints (Undefined prints as "").</summary>
    public static string Str(object? v) => v switch
    {
        string s => s,
        Undefined => "",
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr()</c>.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 200 || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new PyException("maximum recursion depth exceeded while getting the repr of an object");
        switch (v)
        {
            case null: sb.Append("None"); break;
            case bool b: sb.Append(b ? "True" : "False"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d: sb.Append(FloatRepr(d)); break;
            case string s: AppendStringRepr(sb, s); break;
            case Undefined: sb.Append("Undefined"); break;
            case List<object?> list:
                sb.Append('[');
                AppendItems(sb, list, depth);
                sb.Append(']');
                break;
            case PyTuple t:
                sb.Append('(');
                AppendItems(sb, t.Items, depth);
                if (t.Count == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PyDict dict:
                sb.Append('{');
                bool first = true;
                foreach (var (key, value) in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendRepr(sb, key, depth + 1);
                    sb.Append(": ");
                    AppendRepr(sb, value, depth + 1);
                }

                sb.Append('}');
                break;
            case PyView view:
                sb.Append(view.TypeName).Append("([");
                AppendItems(sb, view.Items, depth);
                sb.Append("])");
                break;
            case PyRange r:
                sb.Append("range(").Append(r.Start).Append(", ").Append(r.Stop);
                if (r.Step != 1) sb.Append(", ").Append(r.Step);
                sb.Append(')');
                break;
            case Namespace ns:
                sb.Append("<Namespace ");
                AppendRepr(sb, ns.Attributes, depth + 1);
                sb.Append('>');
                break;
            case LoopContext loop:
                sb.Append("<LoopContext ").Append(loop.Index0 + 1).Append('/').Append(loop.Length).Append('>');
                break;
            case UnsupportedMember m: throw m.Fail();
            default:
                // Python would print an address ("<generator object ... at 0x7f...>"); no faithful text exists.
                throw new PyException($"unsupported: printing a {TypeName(v)} object");
        }
    }

    private static void AppendItems(StringBuilder sb, IEnumerable<object?> items, int depth)
    {
        bool first = true;
        foreach (var item in items)
        {
            if (!first) sb.Append(", ");
            first = false;
            AppendRepr(sb, item, depth + 1);
        }
    }

    /// <summary>Python's <c>repr(str)</c>: single quotes unless the text has ' and no ", escapes for the unprintable.</summary>
    public static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == quote || c == '\\')
            {
                sb.Append('\\').Append(c);
                continue;
            }

            switch (c)
            {
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
            }

            int cp = c;
            int width = 1;
            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                cp = char.ConvertToUtf32(c, s[i + 1]);
                width = 2;
            }

            if (IsPrintable(cp))
            {
                sb.Append(s, i, width);
            }
            else if (cp < 0x100)
            {
                sb.Append("\\x").Append(cp.ToString("x2", CultureInfo.InvariantCulture));
            }
            else if (cp < 0x10000)
            {
                sb.Append("\\u").Append(cp.ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append("\\U").Append(cp.ToString("x8", CultureInfo.InvariantCulture));
            }

            i += width - 1;
        }

        sb.Append(quote);
    }

    /// <summary>Python's <c>str.isprintable</c> for one code point: not Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs other than space.</summary>
    private static bool IsPrintable(int cp)
    {
        if (cp == ' ') return true;
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    /// <summary>Python's <c>repr(float)</c>: the shortest digits that round-trip, exponent form below 1e-4 and from 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";

        // .NET's "R" is the shortest round-trip text; take its digits and decimal exponent apart.
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r[0] == '-';
        if (negative) r = r[1..];
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(r[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            r = r[..e];
        }

        int dot = r.IndexOf('.');
        string intPart = dot >= 0 ? r[..dot] : r;
        string fracPart = dot >= 0 ? r[(dot + 1)..] : "";
        string all = intPart + fracPart;
        int lead = 0;
        while (lead < all.Length - 1 && all[lead] == '0') lead++;
        string digits = all[lead..].TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        int decpt = intPart.Length + exp - lead; // value = 0.digits * 10^decpt

        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0)
            {
                sb.Append("0.").Append('0', -decpt).Append(digits);
            }
            else if (decpt >= digits.Length)
            {
                sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            }
            else
            {
                sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
            }
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int x = decpt - 1;
            sb.Append('e').Append(x < 0 ? '-' : '+').Append(Math.Abs(x).ToString("00", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    // ---------------------------------------------------------------- equality and ordering

    public static bool Eq(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new PyException("maximum recursion depth exceeded in comparison");
        switch (a)
        {
            case null: return false;
            case Undefined: return b is Undefined;
            case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
            case long or bool or double:
                if (!IsNumber(b)) return false;
                if (IsInt(a) && IsInt(b)) return AsLong(a) == AsLong(b);
                return AsDouble(a) == AsDouble(b);
            case List<object?> la: return b is List<object?> lb && SequenceEq(la, lb);
            case PyTuple ta: return b is PyTuple tb && SequenceEq(ta.Items, tb.Items);
            case PyDict da:
                if (b is not PyDict db || da.Count != db.Count) return false;
                foreach (var (key, value) in da)
                {
                    if (!db.TryGetValue(key, out var other) || !Eq(value, other)) return false;
                }

                return true;
            case PyRange ra:
                return b is PyRange rb && ra.Count == rb.Count && (ra.Count == 0 || (ra.Start == rb.Start && (ra.Count == 1 || ra.Step == rb.Step)));
            default: return false;
        }
    }

    private static bool SequenceEq(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            if (!Eq(a[i], b[i])) return false;
        }

        return true;
    }

    /// <summary>Python ordering for &lt; &gt; &lt;= &gt;=: numbers, strings, and lists/tuples element by element.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new PyException("maximum recursion depth exceeded in comparison");
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (IsNumber(a) && IsNumber(b))
        {
            if (IsInt(a) && IsInt(b)) return AsLong(a).CompareTo(AsLong(b));
            double x = AsDouble(a), y = AsDouble(b);
            if (double.IsNaN(x) || double.IsNaN(y)) return int.MinValue; // every comparison with NaN is false
            return x.CompareTo(y);
        }

        if (a is string sa && b is string sb) return CompareStrings(sa, sb);
        if ((a is List<object?> && b is List<object?>) || (a is PyTuple && b is PyTuple))
        {
            var la = (IReadOnlyList<object?>)a;
            var lb = (IReadOnlyList<object?>)b;
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (!Eq(la[i], lb[i])) return Compare(la[i], lb[i], op);
            }

            return la.Count.CompareTo(lb.Count);
        }

        throw new PyException($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>Orders strings by code point, as Python does (UTF-16 ordinal order differs above U+FFFF).</summary>
    public static int CompareStrings(string a, string b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            char x = a[i], y = b[i];
            if (x == y) continue;
            bool sx = char.IsSurrogate(x), sy = char.IsSurrogate(y);
            if (sx != sy) return sx ? 1 : -1; // a surrogate (code point >= U+10000) sorts after every BMP character
            return x.CompareTo(y);
        }

        return a.Length.CompareTo(b.Length);
    }

    public static bool CompareOp(string op, object? a, object? b)
    {
        switch (op)
        {
            case "==": return Eq(a, b);
            case "!=": return !Eq(a, b);
        }

        int c = Compare(a, b, op);
        if (c == int.MinValue) return false;
        return op switch
        {
            "<" => c < 0,
            "<=" => c <= 0,
            ">" => c > 0,
            ">=" => c >= 0,
            _ => throw new PyException($"unknown comparison '{op}'"),
        };
    }

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub) throw new PyException($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case PyDict d:
                if (item is Undefined) return false;
                PyDict.CheckKey(item);
                return d.ContainsKey(item!);
            case Undefined: return false;
            case null: throw new PyException("argument of type 'NoneType' is not iterable");
            case PyRange r:
                if (!IsNumber(item)) return false;
                foreach (var v in r.Items())
                {
                    if (Eq(v, item)) return true;
                }

                return false;
        }

        foreach (var v in Iterate(container))
        {
            if (Eq(v, item)) return true;
        }

        return false;
    }

    // ---------------------------------------------------------------- iteration and size

    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        List<object?> l => l.ToArray(),
        PyTuple t => t.Items,
        string s => CodePoints(s),
        PyDict d => d.Keys.ToArray(),
        PyView view => view.Items.ToArray(),
        PyRange r => r.Items(),
        PyIterator it => it,
        Undefined => [],
        UnsupportedMember m => throw m.Fail(),
        _ => throw new PyException($"'{TypeName(v)}' object is not iterable"),
    };

    public static List<object?> ToList(object? v) => [.. Iterate(v)];

    public static long Length(object? v) => v switch
    {
        string s => CodePointCount(s),
        List<object?> l => l.Count,
        PyTuple t => t.Count,
        PyDict d => d.Count,
        PyView view => view.Items.Count,
        PyRange r => r.Count,
        Namespace => throw new PyException("object of type 'Namespace' has no len()"),
        Undefined => 0,
        UnsupportedMember m => throw m.Fail(),
        _ => throw new PyException($"object of type '{TypeName(v)}' has no len()"),
    };

    // ---------------------------------------------------------------- strings as code points

    public static bool HasSurrogates(string s)
    {
        foreach (char c in s)
        {
            if (char.IsSurrogate(c)) return true;
        }

        return false;
    }

    public static int CodePointCount(string s)
    {
        if (!HasSurrogates(s)) return s.Length;
        int n = 0;
        for (int i = 0; i < s.Length; i++, n++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
        }

        return n;
    }

    /// <summary>The string's code points, each as a string (what iterating a Python str yields).</summary>
    public static List<object?> CodePoints(string s)
    {
        var result = new List<object?>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                result.Add(s.Substring(i, 2));
                i++;
            }
            else
            {
                result.Add(s[i].ToString());
            }
        }

        return result;
    }

    // ---------------------------------------------------------------- arithmetic

    private static PyException Unsupported(string op, object? a, object? b) =>
        new($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");

    private static long Checked(Func<long> f)
    {
        try
        {
            return f();
        }
        catch (OverflowException)
        {
            throw new PyException("integer overflow: Hearth's template integers are 64-bit");
        }
    }

    public static object? Add(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (IsInt(a) && IsInt(b)) return Checked(() => checked(AsLong(a) + AsLong(b)));
        if (IsNumber(a) && IsNumber(b)) return AsDouble(a) + AsDouble(b);
        switch (a)
        {
            case string sa:
                if (b is not string sb) throw new PyException($"can only concatenate str (not \"{TypeName(b)}\") to str");
                return Concat(sa, sb);
            case List<object?> la:
                if (b is not List<object?> lb) throw new PyException($"can only concatenate list (not \"{TypeName(b)}\") to list");
                return new List<object?>(la.Concat(lb));
            case PyTuple ta:
                if (b is not PyTuple tb) throw new PyException($"can only concatenate tuple (not \"{TypeName(b)}\") to tuple");
                return new PyTuple([.. ta.Items, .. tb.Items]);
        }

        throw Unsupported("+", a, b);
    }

    public static string Concat(string a, string b)
    {
        if ((long)a.Length + b.Length > MaxStringLength) throw TooLong();
        return a + b;
    }

    public static object? Sub(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (IsInt(a) && IsInt(b)) return Checked(() => checked(AsLong(a) - AsLong(b)));
        if (IsNumber(a) && IsNumber(b)) return AsDouble(a) - AsDouble(b);
        throw Unsupported("-", a, b);
    }

    public static object? Mul(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (IsInt(a) && IsInt(b)) return Checked(() => checked(AsLong(a) * AsLong(b)));
        if (IsNumber(a) && IsNumber(b)) return AsDouble(a) * AsDouble(b);
        if (IsInt(a) && b is string or List<object?> or PyTuple) (a, b) = (b, a);
        if (IsInt(b))
        {
            long n = Math.Max(0, AsLong(b));
            switch (a)
            {
                case string s:
                    if (s.Length * (double)n > MaxStringLength) throw TooLong();
                    return new StringBuilder(s.Length * (int)n).Insert(0, s, (int)n).ToString();
                case List<object?> l:
                    if (l.Count * (double)n > 10_000_000) throw new PyException("list longer than 10000000 items");
                    var list = new List<object?>();
                    for (long i = 0; i < n; i++) list.AddRange(l);
                    return list;
                case PyTuple t:
                    if (t.Count * (double)n > 10_000_000) throw new PyException("tuple longer than 10000000 items");
                    var items = new List<object?>();
                    for (long i = 0; i < n; i++) items.AddRange(t.Items);
                    return new PyTuple([.. items]);
            }
        }

        if (a is string or List<object?> or PyTuple) throw new PyException($"can't multiply sequence by non-int of type '{TypeName(b)}'");
        throw Unsupported("*", a, b);
    }

    public static object? TrueDiv(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("/", a, b);
        double y = AsDouble(b);
        if (y == 0) throw new PyException("division by zero");
        return AsDouble(a) / y;
    }

    public static object? FloorDiv(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("//", a, b);
        if (IsInt(a) && IsInt(b))
        {
            long x = AsLong(a), y = AsLong(b);
            if (y == 0) throw new PyException("integer division or modulo by zero");
            if (x == long.MinValue && y == -1) throw new PyException("integer overflow: Hearth's template integers are 64-bit");
            long q = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
            return q;
        }

        double dy = AsDouble(b);
        if (dy == 0) throw new PyException("float floor division by zero");
        return Math.Floor(AsDouble(a) / dy);
    }

    public static object? Mod(object? a, object? b)
    {
        ThrowIfUndefined(a);
        if (a is string format) return PyFormat.Percent(format, b);
        ThrowIfUndefined(b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("%", a, b);
        if (IsInt(a) && IsInt(b))
        {
            long x = AsLong(a), y = AsLong(b);
            if (y == 0) throw new PyException("integer division or modulo by zero");
            if (y == -1) return 0L;
            long r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return r;
        }

        double dx = AsDouble(a), dy = AsDouble(b);
        if (dy == 0) throw new PyException("float modulo");
        double m = dx % dy;
        if (m != 0 && ((m < 0) != (dy < 0))) m += dy;
        return m;
    }

    public static object? Pow(object? a, object? b)
    {
        ThrowIfUndefined(a);
        ThrowIfUndefined(b);
        if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("** or pow()", a, b);
        if (IsInt(a) && IsInt(b) && AsLong(b) >= 0)
        {
            long x = AsLong(a), y = AsLong(b), result = 1;
            return Checked(() =>
            {
                long r = result, bas = x, e = y;
                while (e > 0)
                {
                    if ((e & 1) != 0) r = checked(r * bas);
                    e >>= 1;
                    if (e > 0) bas = checked(bas * bas);
                }

                return r;
            });
        }

        double dx = AsDouble(a), dy = AsDouble(b);
        if (dx == 0 && dy < 0) throw new PyException("0.0 cannot be raised to a negative power");
        return Math.Pow(dx, dy);
    }

    public static object? Negate(object? a)
    {
        ThrowIfUndefined(a);
        return a switch
        {
            long l => (object)Checked(() => checked(-l)),
            bool b => b ? -1L : 0L,
            double d => -d,
            _ => throw new PyException($"bad operand type for unary -: '{TypeName(a)}'"),
        };
    }

    public static object? Plus(object? a)
    {
        ThrowIfUndefined(a);
        return a switch
        {
            long or double => a,
            bool b => b ? 1L : 0L,
            _ => throw new PyException($"bad operand type for unary +: '{TypeName(a)}'"),
        };
    }

    // ---------------------------------------------------------------- slicing

    /// <summary>Python's <c>slice.indices(length)</c>: the normalised start, stop and step of a slice.</summary>
    public static (long Start, long Stop, long Step) SliceBounds(long length, object? start, object? stop, object? step)
    {
        long st = step is null ? 1 : SliceInt(step);
        if (st == 0) throw new PyException("slice step cannot be zero");
        long lower = st > 0 ? 0 : -1;
        long upper = st > 0 ? length : length - 1;

        long Bound(object? v, long dflt)
        {
            if (v is null) return dflt;
            long x = SliceInt(v);
            if (x < 0)
            {
                x += length;
                if (x < lower) x = lower;
            }
            else if (x > upper)
            {
                x = upper;
            }

            return x;
        }

        return (Bound(start, st > 0 ? lower : upper), Bound(stop, st > 0 ? upper : lower), st);
    }

    /// <summary>The positions a slice selects from a sequence of <paramref name="length"/>.</summary>
    public static IEnumerable<int> SliceIndices(int length, object? start, object? stop, object? step)
    {
        var (s, e, st) = SliceBounds(length, start, stop, step);
        if (st > 0)
        {
            for (long i = s; i < e; i += st) yield return (int)i;
        }
        else
        {
            for (long i = s; i > e; i += st) yield return (int)i;
        }
    }

    private static long SliceInt(object? v) =>
        IsInt(v) ? AsLong(v) : throw new PyException("slice indices must be integers or None or have an __index__ method");

    /// <summary>
    /// <c>target[start:stop:step]</c>. As in Jinja2, a target that cannot be sliced or indices that are not integers
    /// give Undefined (Jinja2 swallows the TypeError); a zero step is an error.
    /// </summary>
    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        if (target is Undefined u0) throw u0.Fail();
        if ((start is not null && !IsInt(start)) || (stop is not null && !IsInt(stop)) || (step is not null && !IsInt(step))
            || target is not (string or List<object?> or PyTuple or PyRange))
        {
            return new Undefined($"'{ObjectTypeRepr(target)}' cannot be sliced with those indices");
        }

        switch (target)
        {
            case string s when !HasSurrogates(s):
            {
                var sb = new StringBuilder();
                foreach (int i in SliceIndices(s.Length, start, stop, step)) sb.Append(s[i]);
                return sb.ToString();
            }

            case string s:
            {
                var cps = CodePoints(s);
                var sb = new StringBuilder();
                foreach (int i in SliceIndices(cps.Count, start, stop, step)) sb.Append((string)cps[i]!);
                return sb.ToString();
            }

            case List<object?> l:
                return SliceIndices(l.Count, start, stop, step).Select(i => l[i]).ToList();
            case PyTuple t:
                return new PyTuple([.. SliceIndices(t.Count, start, stop, step).Select(i => t.Items[i])]);
            case PyRange r:
            {
                var (s, e, st) = SliceBounds(r.Count, start, stop, step);
                return new PyRange(r.Start + s * r.Step, r.Start + e * r.Step, r.Step * st);
            }

            default: throw new PyException($"'{TypeName(target)}' object is not subscriptable");
        }
    }

    // ---------------------------------------------------------------- attribute and item access

    /// <summary>Jinja2's <c>getattr</c>: the Python attribute (methods included), else the item, else Undefined.</summary>
    public static object? GetAttr(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case UnsupportedMember m: throw m.Fail();
            case PyDict d:
                if (Methods.TryBind(obj, name, out var dm)) return dm;
                return d.GetOrUndefined(name);
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : Undefined.Attribute(obj, name);
            case LoopContext loop:
                return loop.GetAttribute(name);
        }

        if (Methods.TryBind(obj, name, out var method)) return method;
        return Undefined.Attribute(obj, name);
    }

    /// <summary>Jinja2's <c>getitem</c>: the item, else (for a string key) the attribute, else Undefined.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u: throw u.Fail();
            case UnsupportedMember m: throw m.Fail();
            case PyDict d:
                // Jinja2 turns the TypeError of an unhashable key into Undefined, like a missing key.
                if (PyKeyComparer.IsHashable(key) && key is not null && d.TryGetValue(key, out var v)) return v;
                break;
            case List<object?> or PyTuple or string or PyRange when IsInt(key):
            {
                long i = AsLong(key);
                long n = Length(obj);
                if (i < 0) i += n;
                if (i < 0 || i >= n) return Undefined.Item(obj, key);
                return obj switch
                {
                    List<object?> l => l[(int)i],
                    PyTuple t => t.Items[i],
                    PyRange r => r[i],
                    string s when !HasSurrogates(s) => s[(int)i].ToString(),
                    string s => CodePoints(s)[(int)i],
                    _ => null,
                };
            }

            case Namespace ns when key is string name:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : Undefined.Item(obj, key);
            case LoopContext loop when key is string name:
                return loop.GetAttribute(name);
        }

        if (key is string attr && obj is not PyDict) return GetAttr(obj, attr);
        if (key is string dictAttr && Methods.TryBind(obj, dictAttr, out var method)) return method;
        return Undefined.Item(obj, key);
    }
}
