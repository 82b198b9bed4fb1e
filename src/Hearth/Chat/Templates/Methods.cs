using System.Globalization;
using System.Text;

namespace Hearth.Chat.Templates;

/// <summary>The Python methods of str, list, tuple and dict that templates call, with Python's semantics.</summary>
internal static class Methods
{
    // Python methods that exist but Hearth does not implement: accessing them gives a value that fails when used.
    private static readonly HashSet<string> s_unsupportedStr =
        ["encode", "expandtabs", "format_map", "isidentifier", "isprintable", "maketrans", "translate"];

    private static readonly HashSet<string> s_unsupportedDict = ["fromkeys"];

    public static bool TryBind(object? target, string name, out object? method)
    {
        method = target switch
        {
            string s => BindString(s, name),
            List<object?> l => BindList(l, name),
            PyTuple t => BindTuple(t, name),
            PyDict d => BindDict(d, name),
            _ => null,
        };
        return method != null;
    }

    private static BuiltinFunction F(string name, Func<CallArguments, object?> body) => new(name, (_, a) => body(a));

    private static object?[] Bind(CallArguments a, string method, params string[] names) => a.Bind(method + "()", names);

    private static object?[] Bind(CallArguments a, string method, int required, params string[] names) => a.Bind(method + "()", required, names);

    private static bool Has(object? v) => v is not CallArguments.Missing;

    private static object? Opt(object? v, object? dflt = null) => v is CallArguments.Missing ? dflt : v;

    // ---------------------------------------------------------------- str

    private static object? BindString(string s, string name)
    {
        switch (name)
        {
            case "strip": return F(name, a => Strip(s, Opt(Bind(a, name, "chars")[0]), true, true));
            case "lstrip": return F(name, a => Strip(s, Opt(Bind(a, name, "chars")[0]), true, false));
            case "rstrip": return F(name, a => Strip(s, Opt(Bind(a, name, "chars")[0]), false, true));
            case "split":
                return F(name, a =>
                {
                    var p = Bind(a, name, "sep", "maxsplit");
                    return Split(s, Opt(p[0]), Has(p[1]) ? Py.AsLong(p[1]) : -1);
                });
            case "rsplit":
                return F(name, a =>
                {
                    var p = Bind(a, name, "sep", "maxsplit");
                    return RSplit(s, Opt(p[0]), Has(p[1]) ? Py.AsLong(p[1]) : -1);
                });
            case "splitlines":
                return F(name, a => SplitLines(s, Py.Truthy(Opt(Bind(a, name, "keepends")[0], false))).Cast<object?>().ToList());
            case "startswith": return F(name, a => Affix(s, Bind(a, name, 1, "prefix", "start", "end"), true));
            case "endswith": return F(name, a => Affix(s, Bind(a, name, 1, "suffix", "start", "end"), false));
            case "upper": return F(name, a => NoArgs(a, name, s.ToUpperInvariant()));
            case "lower": return F(name, a => NoArgs(a, name, s.ToLowerInvariant()));
            case "casefold": return F(name, a => NoArgs(a, name, s.ToLowerInvariant()));
            case "swapcase":
                return F(name, a => NoArgs(a, name, string.Concat(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)))));
            case "title": return F(name, a => NoArgs(a, name, Title(s)));
            case "capitalize": return F(name, a => NoArgs(a, name, Capitalize(s)));
            case "replace":
                return F(name, a =>
                {
                    var p = Bind(a, name, 2, "old", "new", "count");
                    return Replace(s, Py.AsString(p[0], "replace() argument 1"), Py.AsString(p[1], "replace() argument 2"), Has(p[2]) ? Py.AsLong(p[2]) : -1);
                });
            case "find": return F(name, a => Find(s, Bind(a, name, 1, "sub", "start", "end"), false, false));
            case "rfind": return F(name, a => Find(s, Bind(a, name, 1, "sub", "start", "end"), true, false));
            case "index": return F(name, a => Find(s, Bind(a, name, 1, "sub", "start", "end"), false, true));
            case "rindex": return F(name, a => Find(s, Bind(a, name, 1, "sub", "start", "end"), true, true));
            case "count":
                return F(name, a =>
                {
                    var p = Bind(a, name, 1, "sub", "start", "end");
                    string sub = Py.AsString(p[0], "count() argument");
                    string hay = (string)Py.Slice(s, Opt(p[1]), Opt(p[2]), null)!;
                    return (long)CountOccurrences(hay, sub);
                });
            case "join":
                return F(name, a =>
                {
                    var items = Py.ToList(Bind(a, name, 1, "iterable")[0]);
                    var sb = new StringBuilder();
                    for (int i = 0; i < items.Count; i++)
                    {
                        if (items[i] is not string item) throw new PyException($"sequence item {i}: expected str instance, {Py.TypeName(items[i])} found");
                        if (i > 0) sb.Append(s);
                        sb.Append(item);
                        if (sb.Length > Py.MaxStringLength) throw Py.TooLong();
                    }

                    return sb.ToString();
                });
            case "format": return F(name, a => PyFormat.Format(s, a));
            case "center": return F(name, a => Justify(s, Bind(a, name, 1, "width", "fillchar"), 'c'));
            case "ljust": return F(name, a => Justify(s, Bind(a, name, 1, "width", "fillchar"), 'l'));
            case "rjust": return F(name, a => Justify(s, Bind(a, name, 1, "width", "fillchar"), 'r'));
            case "zfill":
                return F(name, a =>
                {
                    int width = Py.AsIndex(Bind(a, name, 1, "width")[0], "width");
                    int n = Py.CodePointCount(s);
                    if (width <= n) return s;
                    int sign = s.Length > 0 && s[0] is '+' or '-' ? 1 : 0;
                    return s[..sign] + new string('0', width - n) + s[sign..];
                });
            case "partition": return F(name, a => Partition(s, Py.AsString(Bind(a, name, 1, "sep")[0], "sep"), false));
            case "rpartition": return F(name, a => Partition(s, Py.AsString(Bind(a, name, 1, "sep")[0], "sep"), true));
            case "removeprefix":
                return F(name, a =>
                {
                    string p = Py.AsString(Bind(a, name, 1, "prefix")[0], "removeprefix() argument");
                    return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s;
                });
            case "removesuffix":
                return F(name, a =>
                {
                    string p = Py.AsString(Bind(a, name, 1, "suffix")[0], "removesuffix() argument");
                    return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s;
                });
            case "isdigit" or "isdecimal" or "isnumeric":
                return F(name, a => NoArgs(a, name, s.Length > 0 && s.All(char.IsDigit)));
            case "isalpha": return F(name, a => NoArgs(a, name, s.Length > 0 && s.All(char.IsLetter)));
            case "isalnum": return F(name, a => NoArgs(a, name, s.Length > 0 && s.All(char.IsLetterOrDigit)));
            case "isspace": return F(name, a => NoArgs(a, name, s.Length > 0 && s.All(IsSpace)));
            case "isascii": return F(name, a => NoArgs(a, name, s.All(c => c < 0x80)));
            case "islower":
                return F(name, a => NoArgs(a, name, s.Any(char.IsLower) && !s.Any(c => char.IsUpper(c) || IsTitlecase(c))));
            case "isupper":
                return F(name, a => NoArgs(a, name, s.Any(char.IsUpper) && !s.Any(c => char.IsLower(c) || IsTitlecase(c))));
            case "istitle": return F(name, a => NoArgs(a, name, s.Any(char.IsLetter) && Title(s) == s));
        }

        return s_unsupportedStr.Contains(name) ? new UnsupportedMember($"str method '{name}'") : null;
    }

    private static object? NoArgs(CallArguments a, string name, object? result)
    {
        if (a.Count > 0) throw new PyException($"{name}() takes no arguments ({a.Count} given)");
        return result;
    }

    private static bool IsTitlecase(char c) => CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.TitlecaseLetter;

    /// <summary>Python's <c>str.isspace</c> for one character.</summary>
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

    public static string Strip(string s, object? chars, bool left, bool right)
    {
        Func<char, bool> drop;
        if (chars is null)
        {
            drop = IsSpace;
        }
        else
        {
            string set = Py.AsString(chars, "strip arg");
            drop = c => set.Contains(c);
        }

        int start = 0, end = s.Length;
        if (left)
        {
            while (start < end && drop(s[start])) start++;
        }

        if (right)
        {
            while (end > start && drop(s[end - 1])) end--;
        }

        return s[start..end];
    }

    public static List<object?> Split(string s, object? sep, long maxsplit)
    {
        var result = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && IsSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (maxsplit >= 0 && result.Count >= maxsplit)
                {
                    int end = s.Length;
                    while (end > i && IsSpace(s[end - 1])) end--;
                    result.Add(s[i..end]);
                    break;
                }

                int start = i;
                while (i < s.Length && !IsSpace(s[i])) i++;
                result.Add(s[start..i]);
            }

            return result;
        }

        string separator = Py.AsString(sep, "must be str or None");
        if (separator.Length == 0) throw new PyException("empty separator");
        int pos = 0;
        while (maxsplit < 0 || result.Count < maxsplit)
        {
            int next = s.IndexOf(separator, pos, StringComparison.Ordinal);
            if (next < 0) break;
            result.Add(s[pos..next]);
            pos = next + separator.Length;
        }

        result.Add(s[pos..]);
        return result;
    }

    public static List<object?> RSplit(string s, object? sep, long maxsplit)
    {
        if (maxsplit < 0) return Split(s, sep, -1);
        var result = new List<object?>();
        if (sep is null)
        {
            int i = s.Length;
            while (true)
            {
                while (i > 0 && IsSpace(s[i - 1])) i--;
                if (i <= 0) break;
                if (result.Count >= maxsplit)
                {
                    int start0 = 0;
                    while (start0 < i && IsSpace(s[start0])) start0++;
                    result.Add(s[start0..i]);
                    break;
                }

                int end = i;
                while (i > 0 && !IsSpace(s[i - 1])) i--;
                result.Add(s[i..end]);
            }

            result.Reverse();
            return result;
        }

        string separator = Py.AsString(sep, "must be str or None");
        if (separator.Length == 0) throw new PyException("empty separator");
        int stop = s.Length;
        while (result.Count < maxsplit)
        {
            int at = stop - separator.Length < 0 ? -1 : s.LastIndexOf(separator, stop - 1, stop, StringComparison.Ordinal);
            if (at < 0) break;
            result.Add(s[(at + separator.Length)..stop]);
            stop = at;
        }

        result.Add(s[..stop]);
        result.Reverse();
        return result;
    }

    /// <summary>Python's <c>str.splitlines</c>: splits at \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028 and \u2029.</summary>
    public static List<string> SplitLines(string s, bool keepEnds)
    {
        var lines = new List<string>();
        int start = 0, i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            int eol = c switch
            {
                '\r' when i + 1 < s.Length && s[i + 1] == '\n' => 2,
                '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029' => 1,
                _ => 0,
            };
            if (eol == 0)
            {
                i++;
                continue;
            }

            lines.Add(keepEnds ? s[start..(i + eol)] : s[start..i]);
            i += eol;
            start = i;
        }

        if (start < s.Length) lines.Add(s[start..]);
        return lines;
    }

    private static object? Affix(string s, object?[] p, bool prefix)
    {
        string hay = Has(p[1]) || Has(p[2]) ? (string)Py.Slice(s, Opt(p[1]), Opt(p[2]), null)! : s;
        IEnumerable<object?> candidates = p[0] is PyTuple t ? t.Items : [p[0]];
        foreach (var candidate in candidates)
        {
            if (candidate is not string affix)
                throw new PyException($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {Py.TypeName(candidate)}");
            if (prefix ? hay.StartsWith(affix, StringComparison.Ordinal) : hay.EndsWith(affix, StringComparison.Ordinal)) return true;
        }

        return false;
    }

    /// <summary>Jinja's and Python's <c>str.title</c>: a letter after a non-letter is upper-cased, others lower-cased.</summary>
    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool previousCased = false;
        foreach (char c in s)
        {
            bool cased = char.IsLetter(c);
            sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
            previousCased = cased;
        }

        return sb.ToString();
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python's <c>str.replace</c>, including the empty-needle case (insert between every character).</summary>
    public static string Replace(string s, string old, string replacement, long count)
    {
        if (count == 0) return s;
        if (old.Length == 0)
        {
            var cps = Py.CodePoints(s);
            var sb = new StringBuilder();
            long done = 0;
            for (int i = 0; i <= cps.Count; i++)
            {
                if (count < 0 || done < count)
                {
                    sb.Append(replacement);
                    done++;
                }

                if (i < cps.Count) sb.Append((string)cps[i]!);
                if (sb.Length > Py.MaxStringLength) throw Py.TooLong();
            }

            return sb.ToString();
        }

        if (count < 0)
        {
            string all = s.Replace(old, replacement, StringComparison.Ordinal);
            return all.Length > Py.MaxStringLength ? throw Py.TooLong() : all;
        }

        var result = new StringBuilder();
        int pos = 0;
        for (long n = 0; n < count; n++)
        {
            int at = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (at < 0) break;
            result.Append(s, pos, at - pos).Append(replacement);
            pos = at + old.Length;
        }

        return result.Append(s, pos, s.Length - pos).ToString();
    }

    private static int CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return Py.CodePointCount(s) + 1;
        int n = 0, pos = 0;
        while ((pos = s.IndexOf(sub, pos, StringComparison.Ordinal)) >= 0)
        {
            n++;
            pos += sub.Length;
        }

        return n;
    }

    private static object? Find(string s, object?[] p, bool fromRight, bool raise)
    {
        string sub = Py.AsString(p[0], "must be str");
        var cps = Py.CodePoints(s);
        int n = cps.Count;
        long start = Opt(p[1]) is { } a ? Py.AsLong(a) : 0;
        long end = Opt(p[2]) is { } b ? Py.AsLong(b) : n;
        if (start < 0) start = Math.Max(0, start + n);
        if (end < 0) end = Math.Max(0, end + n);
        end = Math.Min(end, n);
        int at = -1;
        string window = "";
        if (start <= end)
        {
            window = string.Concat(cps.Skip((int)start).Take((int)(end - start)).Select(c => (string)c!));
            at = fromRight ? window.LastIndexOf(sub, StringComparison.Ordinal) : window.IndexOf(sub, StringComparison.Ordinal);
        }

        if (at < 0)
        {
            if (raise) throw new PyException("substring not found");
            return -1L;
        }

        return start + Py.CodePointCount(window[..at]);
    }

    private static string Justify(string s, object?[] p, char how) =>
        Justify(s, Py.AsIndex(p[0], "width"), Has(p[1]) ? Py.AsString(p[1], "fillchar") : " ", how);

    /// <summary>Python's <c>str.ljust</c> ('l'), <c>rjust</c> ('r') and <c>center</c> ('c').</summary>
    public static string Justify(string s, int width, string fill, char how)
    {
        if (Py.CodePointCount(fill) != 1) throw new PyException("The fill character must be exactly one character long");
        int n = Py.CodePointCount(s);
        if (width <= n) return s;
        int marg = width - n;
        int left = how switch
        {
            'l' => 0,
            'r' => marg,
            _ => marg / 2 + (marg & width & 1), // CPython's centring rule
        };
        return string.Concat(Enumerable.Repeat(fill, left)) + s + string.Concat(Enumerable.Repeat(fill, marg - left));
    }

    private static PyTuple Partition(string s, string sep, bool fromRight)
    {
        if (sep.Length == 0) throw new PyException("empty separator");
        int at = fromRight ? s.LastIndexOf(sep, StringComparison.Ordinal) : s.IndexOf(sep, StringComparison.Ordinal);
        if (at < 0) return fromRight ? new PyTuple(["", "", s]) : new PyTuple([s, "", ""]);
        return new PyTuple([s[..at], sep, s[(at + sep.Length)..]]);
    }

    // ---------------------------------------------------------------- list and tuple

    private static object? BindList(List<object?> l, string name)
    {
        switch (name)
        {
            case "append":
                return F(name, a =>
                {
                    l.Add(Bind(a, name, 1, "object")[0]);
                    return null;
                });
            case "extend":
                return F(name, a =>
                {
                    l.AddRange(Py.ToList(Bind(a, name, 1, "iterable")[0]));
                    return null;
                });
            case "insert":
                return F(name, a =>
                {
                    var p = Bind(a, name, 2, "index", "object");
                    long i = Py.AsLong(p[0]);
                    if (i < 0) i = Math.Max(0, i + l.Count);
                    l.Insert((int)Math.Min(i, l.Count), p[1]);
                    return null;
                });
            case "pop":
                return F(name, a =>
                {
                    var p = Bind(a, name, "index");
                    if (l.Count == 0) throw new PyException("pop from empty list");
                    long i = Has(p[0]) ? Py.AsLong(p[0]) : -1;
                    if (i < 0) i += l.Count;
                    if (i < 0 || i >= l.Count) throw new PyException("pop index out of range");
                    var v = l[(int)i];
                    l.RemoveAt((int)i);
                    return v;
                });
            case "remove":
                return F(name, a =>
                {
                    var x = Bind(a, name, 1, "value")[0];
                    int i = l.FindIndex(v => Py.Eq(v, x));
                    if (i < 0) throw new PyException("list.remove(x): x not in list");
                    l.RemoveAt(i);
                    return null;
                });
            case "clear":
                return F(name, a =>
                {
                    NoArgs(a, name, null);
                    l.Clear();
                    return null;
                });
            case "copy": return F(name, a => NoArgs(a, name, new List<object?>(l)));
            case "reverse":
                return F(name, a =>
                {
                    NoArgs(a, name, null);
                    l.Reverse();
                    return null;
                });
            case "sort":
                return F(name, a =>
                {
                    var p = Bind(a, name, "key", "reverse");
                    if (Has(p[0]) && p[0] is not null) throw new PyException("unsupported: list.sort(key=...)");
                    bool reverse = Py.Truthy(Opt(p[1], false));
                    MergeSort.Sort(l, (x, y) => reverse ? Py.Compare(y, x, "<") : Py.Compare(x, y, "<"));
                    return null;
                });
        }

        return BindSequence(l, name);
    }

    private static object? BindTuple(PyTuple t, string name) => BindSequence(t.Items, name);

    private static object? BindSequence(IReadOnlyList<object?> items, string name) => name switch
    {
        "count" => F(name, a =>
        {
            var x = Bind(a, name, 1, "value")[0];
            return (long)items.Count(v => Py.Eq(v, x));
        }),
        "index" => F(name, a =>
        {
            var x = Bind(a, name, 1, "value")[0];
            for (int i = 0; i < items.Count; i++)
            {
                if (Py.Eq(items[i], x)) return (long)i;
            }

            throw new PyException($"{Py.Repr(x)} is not in list");
        }),
        _ => null,
    };

    // ---------------------------------------------------------------- dict

    private static object? BindDict(PyDict d, string name)
    {
        switch (name)
        {
            case "items":
                return F(name, a => NoArgs(a, name, new PyView("dict_items", [.. d.Select(kv => (object?)new PyTuple([kv.Key, kv.Value]))])));
            case "keys": return F(name, a => NoArgs(a, name, new PyView("dict_keys", [.. d.Keys])));
            case "values": return F(name, a => NoArgs(a, name, new PyView("dict_values", [.. d.Values])));
            case "get":
                return F(name, a =>
                {
                    var p = Bind(a, name, 1, "key", "default");
                    var v = d.GetOrUndefined(p[0]);
                    return v is Undefined ? Opt(p[1]) : v;
                });
            case "pop":
                return F(name, a =>
                {
                    var p = Bind(a, name, 1, "key", "default");
                    var key = PyDict.CheckKey(p[0]);
                    if (d.Remove(key, out var v)) return v;
                    if (Has(p[1])) return p[1];
                    throw new PyException($"KeyError: {Py.Repr(key)}");
                });
            case "setdefault":
                return F(name, a =>
                {
                    var p = Bind(a, name, 1, "key", "default");
                    var key = PyDict.CheckKey(p[0]);
                    if (d.TryGetValue(key, out var v)) return v;
                    d[key] = Opt(p[1]);
                    return Opt(p[1]);
                });
            case "update":
                return F(name, a =>
                {
                    if (a.Positional.Count > 1) throw new PyException($"update expected at most 1 argument, got {a.Positional.Count}");
                    if (a.Positional.Count == 1) Update(d, a.Positional[0]);
                    foreach (var (key, value) in a.Keywords) d[key] = value;
                    return null;
                });
            case "copy":
                return F(name, a =>
                {
                    NoArgs(a, name, null);
                    var copy = new PyDict();
                    foreach (var (key, value) in d) copy[key] = value;
                    return copy;
                });
            case "clear":
                return F(name, a =>
                {
                    NoArgs(a, name, null);
                    d.Clear();
                    return null;
                });
            case "popitem":
                return F(name, a =>
                {
                    NoArgs(a, name, null);
                    if (d.Count == 0) throw new PyException("KeyError: 'popitem(): dictionary is empty'");
                    var last = d.GetAt(d.Count - 1);
                    d.RemoveAt(d.Count - 1);
                    return new PyTuple([last.Key, last.Value]);
                });
        }

        return s_unsupportedDict.Contains(name) ? new UnsupportedMember($"dict method '{name}'") : null;
    }

    /// <summary><c>dict.update(other)</c> and <c>dict(other)</c>: from a mapping or an iterable of pairs.</summary>
    public static void Update(PyDict d, object? source)
    {
        if (source is PyDict other)
        {
            foreach (var (key, value) in other) d[key] = value;
            return;
        }

        int i = 0;
        foreach (var item in Py.Iterate(source))
        {
            var pair = Py.ToList(item);
            if (pair.Count != 2) throw new PyException($"dictionary update sequence element #{i} has length {pair.Count}; 2 is required");
            d[PyDict.CheckKey(pair[0])] = pair[1];
            i++;
        }
    }
}
