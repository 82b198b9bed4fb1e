namespace Hearth.Chat.Templates;

/// <summary>Jinja2's built-in tests (<c>x is defined</c>, <c>x is divisibleby 3</c>, ...), with Jinja2's semantics.</summary>
internal static class Tests
{
    private static readonly HashSet<string> s_supported =
    [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "==", "even", "false", "filter", "float", "ge",
        ">=", "gt", "greaterthan", ">", "in", "integer", "iterable", "le", "<=", "lower", "lt", "lessthan", "<",
        "mapping", "ne", "!=", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper",
    ];

    // Jinja2 built-ins Hearth does not implement (it does not track "safe" strings).
    private static readonly HashSet<string> s_unsupported = ["escaped"];

    /// <summary>Null when the test exists; otherwise the error text.</summary>
    public static string? Check(string name) =>
        s_supported.Contains(name) ? null : s_unsupported.Contains(name) ? $"unsupported test '{name}'" : $"unknown test '{name}'";

    public static bool Apply(string name, object? value, CallArguments a)
    {
        object? Arg() => a.Bind($"test '{name}'", "other")[0] is var v && v is CallArguments.Missing
            ? throw new PyException($"test '{name}' needs an argument")
            : v;

        void NoArgs() => a.Bind($"test '{name}'");

        switch (name)
        {
            case "defined": NoArgs(); return value is not Undefined;
            case "undefined": NoArgs(); return value is Undefined;
            case "none": NoArgs(); return value is null;
            case "boolean": NoArgs(); return value is bool;
            case "true": NoArgs(); return value is true;
            case "false": NoArgs(); return value is false;
            case "integer": NoArgs(); return value is long;
            case "float": NoArgs(); return value is double;
            case "number": NoArgs(); return value is long or double or bool;
            case "string": NoArgs(); return value is string;
            case "mapping": NoArgs(); return value is PyDict;
            case "iterable":
                NoArgs();
                return value is string or List<object?> or PyTuple or PyDict or PyView or PyRange or PyIterator or Undefined or LoopContext;
            case "sequence":
                NoArgs();
                return value is string or List<object?> or PyTuple or PyDict or PyRange or Undefined;
            case "callable": NoArgs(); return value is PyCallable or Undefined or UnsupportedMember;
            case "odd": NoArgs(); return Py.AsLong(Py.Mod(value, 2L)) == 1;
            case "even": NoArgs(); return Py.AsLong(Py.Mod(value, 2L)) == 0;
            case "divisibleby":
            {
                var num = a.Bind($"test '{name}'", "num")[0];
                if (num is CallArguments.Missing) throw new PyException("test 'divisibleby' needs an argument");
                return Py.Eq(Py.Mod(value, num), 0L);
            }

            case "eq" or "equalto" or "==": return Py.Eq(value, Arg());
            case "ne" or "!=": return !Py.Eq(value, Arg());
            case "lt" or "lessthan" or "<": return Py.CompareOp("<", value, Arg());
            case "le" or "<=": return Py.CompareOp("<=", value, Arg());
            case "gt" or "greaterthan" or ">": return Py.CompareOp(">", value, Arg());
            case "ge" or ">=": return Py.CompareOp(">=", value, Arg());
            case "in": return Py.Contains(Arg(), value);
            case "sameas":
            {
                var other = Arg();
                return value is null or bool ? Equals(value, other) : ReferenceEquals(value, other);
            }

            case "lower":
            {
                NoArgs();
                string s = Py.Str(value);
                return s.Any(char.IsLower) && !s.Any(char.IsUpper);
            }

            case "upper":
            {
                NoArgs();
                string s = Py.Str(value);
                return s.Any(char.IsUpper) && !s.Any(char.IsLower);
            }

            case "filter": NoArgs(); return value is string f && Filters.Check(f) == null;
            case "test": NoArgs(); return value is string t && Check(t) == null;
        }

        throw new PyException(Check(name) ?? $"unsupported test '{name}'");
    }
}
