using System.Collections;

namespace Hearth.Chat.Templates;

// The interpreter's values mirror the Python objects Jinja2 hands around, as plain CLR objects:
//   None -> null, bool -> bool, int -> long, float -> double, str -> string, list -> List<object?>,
//   tuple -> PyTuple, dict -> PyDict, and the small classes below for everything else.

/// <summary>An error in Python's terms (a TypeError, an UndefinedError, ...); the renderer adds the line.</summary>
internal sealed class PyException(string message) : Exception(message);

/// <summary>Jinja2's default <c>Undefined</c>: prints as "", is false, iterates as empty; most other uses fail with its hint.</summary>
internal sealed class Undefined(string hint)
{
    public string Hint { get; } = hint;

    public static Undefined Name(string name) => new($"'{name}' is undefined");

    public static Undefined Attribute(object? owner, string name) => new($"'{Py.ObjectTypeRepr(owner)}' has no attribute '{name}'");

    public static Undefined Item(object? owner, object? key) => key is string s
        ? Attribute(owner, s)
        : new($"'{Py.ObjectTypeRepr(owner)}' has no element {Py.Repr(key)}");

    public PyException Fail() => new(Hint);
}

/// <summary>A Python tuple: an immutable sequence.</summary>
internal sealed class PyTuple(object?[] items) : IReadOnlyList<object?>
{
    public static readonly PyTuple Empty = new([]);

    public object?[] Items { get; } = items;

    public int Count => Items.Length;

    public object? this[int index] => Items[index];

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)Items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => Items.GetEnumerator();
}

/// <summary>A Python dict: insertion-ordered, keys compared with Python equality (1 == 1.0 == True).</summary>
internal sealed class PyDict : OrderedDictionary<object, object?>
{
    public PyDict() : base(PyKeyComparer.Instance) { }

    public static object CheckKey(object? key) => key switch
    {
        null => throw new PyException("unsupported: None as a dict key"),
        string or long or bool or double or PyTuple => key,
        _ => throw new PyException($"unhashable type: '{Py.TypeName(key)}'"),
    };

    public object? GetOrUndefined(object? key)
    {
        if (key is null || !PyKeyComparer.IsHashable(key)) return Undefined.Item(this, key);
        return TryGetValue(key, out var v) ? v : Undefined.Item(this, key);
    }
}

/// <summary>Equality and hashing of dict keys (and <c>unique</c>), with Python's numeric unification.</summary>
internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public static bool IsHashable(object? v) => v is null or string or long or bool or double
        || (v is PyTuple t && t.Items.All(IsHashable));

    public new bool Equals(object? x, object? y) => Py.Eq(x, y);

    public int GetHashCode(object obj) => obj switch
    {
        string s => StringComparer.Ordinal.GetHashCode(s),
        bool b => b ? 1 : 0,
        long l => l.GetHashCode(),
        double d => d == Math.Floor(d) && Math.Abs(d) < 9.2e18 ? ((long)d).GetHashCode() : d.GetHashCode(),
        PyTuple t => t.Items.Aggregate(17, (h, item) => h * 31 + (item is null ? 0 : GetHashCode(item))),
        _ => throw new PyException($"unhashable type: '{Py.TypeName(obj)}'"),
    };
}

/// <summary>A one-shot iterator (what Python's generators, <c>map</c>, <c>select</c> and <c>reversed</c> return).</summary>
internal sealed class PyIterator(IEnumerable<object?> source, string typeName) : IEnumerable<object?>
{
    private IEnumerator<object?>? _enumerator = source.GetEnumerator();

    public string TypeName { get; } = typeName;

    public IEnumerator<object?> GetEnumerator()
    {
        var e = _enumerator;
        _enumerator = null; // a second iteration sees nothing, as in Python
        if (e == null) yield break;
        while (e.MoveNext()) yield return e.Current;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary><c>dict.items()</c>, <c>dict.keys()</c>, <c>dict.values()</c>: sized, iterable, printed as <c>dict_items([...])</c>.</summary>
internal sealed class PyView(string typeName, List<object?> items)
{
    public string TypeName { get; } = typeName;

    public List<object?> Items { get; } = items;
}

/// <summary>Python's <c>range</c> object.</summary>
internal sealed class PyRange
{
    public PyRange(long start, long stop, long step)
    {
        if (step == 0) throw new PyException("range() arg 3 must not be zero");
        Start = start;
        Stop = stop;
        Step = step;
        long n = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
        Count = Math.Max(0, n);
    }

    public long Start { get; }

    public long Stop { get; }

    public long Step { get; }

    public long Count { get; }

    public long this[long i] => Start + i * Step;

    public IEnumerable<object?> Items()
    {
        for (long i = 0; i < Count; i++) yield return Start + i * Step;
    }
}

/// <summary>Jinja2's <c>namespace()</c>: an object whose attributes can be assigned from inner scopes.</summary>
internal sealed class Namespace
{
    public PyDict Attributes { get; } = new();
}

/// <summary>Something a template can call: a macro, a global function, a bound method.</summary>
internal abstract class PyCallable
{
    public abstract string Name { get; }

    public abstract object? Invoke(Renderer renderer, CallArguments args);
}

/// <summary>A built-in function (a Jinja global, a method bound to its object).</summary>
internal sealed class BuiltinFunction(string name, Func<Renderer, CallArguments, object?> body) : PyCallable
{
    public override string Name { get; } = name;

    public override object? Invoke(Renderer renderer, CallArguments args) => body(renderer, args);
}

/// <summary>
/// A Python attribute Hearth knows exists but does not implement (a rarely used string method, a Jinja global such
/// as <c>cycler</c>). It is "defined", but any use of it fails with an "unsupported" error rather than going wrong quietly.
/// </summary>
internal sealed class UnsupportedMember(string description)
{
    public string Description { get; } = description;

    public PyException Fail() => new($"unsupported: {Description}");
}

/// <summary>Positional and keyword arguments of a call, filter or test, with Python-style binding helpers.</summary>
internal sealed class CallArguments
{
    public CallArguments(List<object?> positional, List<KeyValuePair<string, object?>> keywords)
    {
        Positional = positional;
        Keywords = keywords;
    }

    public List<object?> Positional { get; }

    public List<KeyValuePair<string, object?>> Keywords { get; }

    public int Count => Positional.Count + Keywords.Count;

    /// <summary>Binds arguments to parameter names in order; fails on unknown keywords, duplicates or too many values.</summary>
    public object?[] Bind(string what, params string[] names) => Bind(what, 0, names);

    /// <summary>As <see cref="Bind(string, string[])"/>, with the first <paramref name="required"/> parameters required.</summary>
    public object?[] Bind(string what, int required, params string[] names)
    {
        var result = new object?[names.Length];
        var set = new bool[names.Length];
        if (Positional.Count > names.Length)
            throw new PyException($"{what} takes at most {names.Length} argument(s) ({Positional.Count} given)");
        for (int i = 0; i < Positional.Count; i++)
        {
            result[i] = Positional[i];
            set[i] = true;
        }

        foreach (var (key, value) in Keywords)
        {
            int i = Array.IndexOf(names, key);
            if (i < 0) throw new PyException($"{what} got an unexpected keyword argument '{key}'");
            if (set[i]) throw new PyException($"{what} got multiple values for argument '{key}'");
            result[i] = value;
            set[i] = true;
        }

        for (int i = 0; i < names.Length; i++)
        {
            if (set[i]) continue;
            if (i < required) throw new PyException($"{what} missing required argument '{names[i]}'");
            result[i] = Missing.Value;
        }

        return result;
    }

    /// <summary>Marks a parameter nobody passed (distinct from None).</summary>
    public sealed class Missing
    {
        public static readonly Missing Value = new();
    }
}

/// <summary>Thrown by <c>raise_exception(message)</c>; the renderer turns it into <see cref="TemplateRaisedException"/>.</summary>
internal sealed class RaisedByTemplate(string message) : Exception(message);
