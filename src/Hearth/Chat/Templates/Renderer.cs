using System.Runtime.CompilerServices;
using System.Text;

namespace Hearth.Chat.Templates;

/// <summary>
/// A chain of variable scopes with Jinja2's rules: the template's top level is one scope, every for-loop iteration,
/// macro call, call/filter/set block body and <c>with</c> block gets a fresh child scope, and <c>if</c> does not.
/// Assignments always go to the innermost scope, so they do not leak out of loops (use a namespace for that).
/// </summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = new(StringComparer.Ordinal);

    public Scope? Parent { get; } = parent;

    public bool TryGet(string name, out object? value)
    {
        for (var s = this; s != null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value)) return true;
        }

        value = null;
        return false;
    }

    public void Set(string name, object? value) => _vars[name] = value;
}

/// <summary>State one for loop shares across its iterations (what <c>loop.changed</c> last saw).</summary>
internal sealed class LoopState(List<object?> items)
{
    public static readonly object Never = new();

    public List<object?> Items { get; } = items;

    public object? LastChanged { get; set; } = Never;
}

/// <summary>The <c>loop</c> variable of a for loop, for one iteration.</summary>
internal sealed class LoopContext(LoopState state, int index0)
{
    private List<object?> Items => state.Items;

    public int Index0 { get; } = index0;

    public int Length => Items.Count;

    public object? GetAttribute(string name) => name switch
    {
        "index" => (long)Index0 + 1,
        "index0" => (long)Index0,
        "revindex" => (long)(Length - Index0),
        "revindex0" => (long)(Length - Index0 - 1),
        "first" => Index0 == 0,
        "last" => Index0 == Length - 1,
        "length" => (long)Length,
        "depth" => 1L,
        "depth0" => 0L,
        "previtem" => Index0 > 0 ? Items[Index0 - 1] : new Undefined("there is no previous item"),
        "nextitem" => Index0 < Length - 1 ? Items[Index0 + 1] : new Undefined("there is no next item"),
        "cycle" => new BuiltinFunction("cycle", (_, a) =>
        {
            if (a.Keywords.Count > 0) throw new PyException("loop.cycle() takes no keyword arguments");
            if (a.Positional.Count == 0) throw new PyException("no items for cycling given");
            return a.Positional[Index0 % a.Positional.Count];
        }),
        "changed" => new BuiltinFunction("changed", (_, a) =>
        {
            var value = new PyTuple([.. a.Positional]);
            if (state.LastChanged != LoopState.Never && Py.Eq(state.LastChanged, value)) return false;
            state.LastChanged = value;
            return true;
        }),
        _ => Undefined.Attribute(this, name),
    };
}

/// <summary>A macro (or a call block's <c>caller</c>) closed over the scope it was defined in.</summary>
internal sealed class MacroValue(MacroDefinition definition, Scope closure) : PyCallable
{
    public MacroDefinition Definition { get; } = definition;

    public Scope Closure { get; } = closure;

    public override string Name => Definition.Name;

    public override object? Invoke(Renderer renderer, CallArguments args) => renderer.CallMacro(this, args, null);
}

/// <summary>Executes a parsed template against variables. One instance renders once; nothing is shared between renders.</summary>
internal sealed class Renderer
{
    private const int MaxCallDepth = 200;
    private const long MaxSteps = 5_000_000;
    private const string StackExhausted = "template nested too deeply for the thread's stack (runaway recursion?)";

    private enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    private StringBuilder _out = new();
    private Scope _scope;
    private int _callDepth;
    private long _steps;

    private Renderer(Scope scope, DateTime now)
    {
        _scope = scope;
        Now = now;
    }

    /// <summary>The instant <c>strftime_now</c> formats.</summary>
    public DateTime Now { get; }

    public static string Render(List<Stmt> body, IEnumerable<KeyValuePair<string, object?>> variables, DateTime now)
    {
        var globals = new Scope(null);
        foreach (var (name, fn) in Globals.Create()) globals.Set(name, fn);
        var context = new Scope(globals);
        foreach (var (name, value) in variables) context.Set(name, value);
        var renderer = new Renderer(new Scope(context), now);
        renderer.ExecBlock(body);
        return renderer._out.ToString();
    }

    private void Step()
    {
        if (++_steps > MaxSteps) throw new PyException($"template ran more than {MaxSteps} loop iterations and calls");
    }

    private void Append(string s)
    {
        if ((long)_out.Length + s.Length > Py.MaxStringLength) throw new PyException($"output longer than {Py.MaxStringLength} characters");
        _out.Append(s);
    }

    // ---------------------------------------------------------------- statements

    private Flow ExecBlock(List<Stmt> body)
    {
        foreach (var stmt in body)
        {
            var flow = Exec(stmt);
            if (flow != Flow.Normal) return flow;
        }

        return Flow.Normal;
    }

    private Flow Exec(Stmt stmt)
    {
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException(stmt.Line, StackExhausted);
        try
        {
            switch (stmt)
            {
                case TextStmt t:
                    Append(t.Text);
                    return Flow.Normal;
                case PrintStmt p:
                    Append(Py.Str(Eval(p.Value)));
                    return Flow.Normal;
                case IfStmt i:
                    foreach (var (test, body) in i.Branches)
                    {
                        if (Py.Truthy(Eval(test))) return ExecBlock(body);
                    }

                    return ExecBlock(i.Else);
                case ForStmt f:
                    ExecFor(f);
                    return Flow.Normal;
                case SetStmt s:
                    Assign(s.Target, Eval(s.Value));
                    return Flow.Normal;
                case SetBlockStmt sb:
                {
                    object? value = Capture(sb.Body, new Scope(_scope), sb.Line);
                    foreach (var filter in sb.Filters) value = ApplyFilter(filter, value);
                    Assign(sb.Target, value);
                    return Flow.Normal;
                }

                case MacroStmt m:
                    _scope.Set(m.Definition.Name, new MacroValue(m.Definition, _scope));
                    return Flow.Normal;
                case CallBlockStmt cb:
                {
                    var caller = new MacroValue(cb.Caller, _scope);
                    var callee = Eval(cb.Call.Callee);
                    var args = EvalArguments(cb.Call.Arguments);
                    if (callee is not MacroValue macro) throw new PyException("a call block must call a macro");
                    Append(Py.Str(CallMacro(macro, args, caller)));
                    return Flow.Normal;
                }

                case FilterBlockStmt fb:
                {
                    object? value = Capture(fb.Body, new Scope(_scope), fb.Line);
                    foreach (var filter in fb.Filters) value = ApplyFilter(filter, value);
                    Append(Py.Str(value));
                    return Flow.Normal;
                }

                case WithStmt w:
                {
                    var values = w.Assignments.Select(a => Eval(a.Value)).ToList();
                    var saved = _scope;
                    _scope = new Scope(saved);
                    try
                    {
                        for (int k = 0; k < values.Count; k++) Assign(w.Assignments[k].Target, values[k]);
                        return ExecBlock(w.Body);
                    }
                    finally
                    {
                        _scope = saved;
                    }
                }

                case DoStmt d:
                    Eval(d.Value);
                    return Flow.Normal;
                case BreakStmt:
                    return Flow.Break;
                case ContinueStmt:
                    return Flow.Continue;
                default:
                    throw new PyException($"unsupported statement {stmt.GetType().Name}");
            }
        }
        catch (PyException e)
        {
            throw new TemplateException(stmt.Line, e.Message);
        }
    }

    /// <summary>Renders a body into a string in its own scope (set blocks, filter blocks, macro bodies).</summary>
    private string Capture(List<Stmt> body, Scope scope, int line)
    {
        var savedOut = _out;
        var savedScope = _scope;
        _out = new StringBuilder();
        _scope = scope;
        try
        {
            if (ExecBlock(body) != Flow.Normal) throw new TemplateException(line, "unsupported: break or continue inside a block that captures output");
            return _out.ToString();
        }
        finally
        {
            _out = savedOut;
            _scope = savedScope;
        }
    }

    private void ExecFor(ForStmt f)
    {
        var iterable = Eval(f.Iterable);
        var outer = _scope;
        var items = Py.ToList(iterable);
        if (f.Filter != null)
        {
            var kept = new List<object?>(items.Count);
            foreach (var item in items)
            {
                _scope = new Scope(outer);
                try
                {
                    Assign(f.Target, item);
                    if (Py.Truthy(Eval(f.Filter))) kept.Add(item);
                }
                finally
                {
                    _scope = outer;
                }
            }

            items = kept;
        }

        if (items.Count == 0)
        {
            _scope = new Scope(outer);
            try
            {
                ExecBlock(f.Else);
            }
            finally
            {
                _scope = outer;
            }

            return;
        }

        var state = new LoopState(items);
        for (int i = 0; i < items.Count; i++)
        {
            Step();
            _scope = new Scope(outer);
            try
            {
                Assign(f.Target, items[i]);
                _scope.Set("loop", new LoopContext(state, i));
                if (ExecBlock(f.Body) == Flow.Break) break;
            }
            finally
            {
                _scope = outer;
            }
        }
    }

    private void Assign(Target target, object? value)
    {
        switch (target)
        {
            case NameTarget n:
                _scope.Set(n.Name, value);
                break;
            case TupleTarget t:
            {
                var items = Py.ToList(value);
                if (items.Count > t.Items.Count) throw new PyException($"too many values to unpack (expected {t.Items.Count})");
                if (items.Count < t.Items.Count) throw new PyException($"not enough values to unpack (expected {t.Items.Count}, got {items.Count})");
                for (int i = 0; i < items.Count; i++) Assign(t.Items[i], items[i]);
                break;
            }

            case NamespaceTarget ns:
                if (!_scope.TryGet(ns.Name, out var obj) || obj is not Namespace space)
                    throw new PyException($"cannot assign attribute on non-namespace object '{ns.Name}'");
                space.Attributes[ns.Attribute] = value;
                break;
        }
    }

    // ---------------------------------------------------------------- macros

    public object? CallMacro(MacroValue macro, CallArguments args, MacroValue? caller)
    {
        var def = macro.Definition;
        if (_callDepth >= MaxCallDepth) throw new PyException($"macro calls nested deeper than {MaxCallDepth} (runaway recursion?)");
        Step();
        var scope = new Scope(macro.Closure);
        int n = def.Parameters.Count;
        var given = new bool[n];
        for (int i = 0; i < Math.Min(n, args.Positional.Count); i++)
        {
            scope.Set(def.Parameters[i].Name, args.Positional[i]);
            given[i] = true;
        }

        if (args.Positional.Count > n && !def.UsesVarargs)
            throw new PyException($"macro '{def.Name}' takes not more than {n} argument(s)");
        var varargs = new PyTuple([.. args.Positional.Skip(n)]);
        var kwargs = new PyDict();
        foreach (var (key, value) in args.Keywords)
        {
            int i = def.Parameters.FindIndex(p => p.Name == key);
            if (i >= 0)
            {
                if (given[i]) throw new PyException($"macro '{def.Name}' got multiple values for argument '{key}'");
                scope.Set(key, value);
                given[i] = true;
            }
            else if (key == "caller" && def.UsesCaller)
            {
                caller = value as MacroValue ?? caller;
                scope.Set("caller", value);
            }
            else if (def.UsesKwargs)
            {
                kwargs[key] = value;
            }
            else
            {
                throw new PyException($"macro '{def.Name}' takes no keyword argument '{key}'");
            }
        }

        if (caller != null)
        {
            if (!def.UsesCaller) throw new PyException($"macro '{def.Name}' was invoked with a caller but never calls caller()");
            scope.Set("caller", caller);
        }

        scope.Set("varargs", varargs);
        scope.Set("kwargs", kwargs);

        var savedScope = _scope;
        _callDepth++;
        try
        {
            _scope = scope;
            for (int i = 0; i < n; i++)
            {
                if (given[i]) continue;
                var (name, dflt) = def.Parameters[i];
                scope.Set(name, dflt != null ? Eval(dflt) : new Undefined($"parameter '{name}' was not provided"));
            }

            return Capture(def.Body, scope, def.Line);
        }
        finally
        {
            _callDepth--;
            _scope = savedScope;
        }
    }

    // ---------------------------------------------------------------- expressions

    public object? Eval(Expr expr)
    {
        // Deep recursion (macros calling macros) must end in an error, never a process-killing stack overflow,
        // whatever stack the caller's thread has.
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new TemplateException(expr.Line, StackExhausted);
        try
        {
            return EvalCore(expr);
        }
        catch (PyException e)
        {
            throw new TemplateException(expr.Line, e.Message);
        }
        catch (RaisedByTemplate r)
        {
            throw new TemplateRaisedException(expr.Line, r.Message);
        }
    }

    private object? EvalCore(Expr expr)
    {
        switch (expr)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return _scope.TryGet(n.Name, out var v) ? v : Undefined.Name(n.Name);
            case ListExpr l:
                return l.Items.Select(Eval).ToList();
            case TupleExpr t:
                return new PyTuple([.. t.Items.Select(Eval)]);
            case DictExpr d:
            {
                var dict = new PyDict();
                foreach (var (key, value) in d.Items) dict[PyDict.CheckKey(Eval(key))] = Eval(value);
                return dict;
            }

            case GetAttrExpr ga:
                return Py.GetAttr(Eval(ga.Target), ga.Name);
            case GetItemExpr gi:
            {
                var target = Eval(gi.Target);
                if (gi.Key is SliceExpr s)
                {
                    return Py.Slice(target, s.Start is null ? null : Eval(s.Start), s.Stop is null ? null : Eval(s.Stop), s.Step is null ? null : Eval(s.Step));
                }

                return Py.GetItem(target, Eval(gi.Key));
            }

            case SliceExpr:
                throw new PyException("a slice is only valid inside []");
            case CallExpr call:
            {
                var callee = Eval(call.Callee);
                var args = EvalArguments(call.Arguments);
                return Call(callee, args);
            }

            case FilterExpr f:
                return ApplyFilter(f.Filter, Eval(f.Value));
            case TestExpr t:
                return Tests.Apply(t.Name, Eval(t.Value), EvalArguments(t.Arguments));
            case UnaryExpr u:
            {
                var operand = Eval(u.Operand);
                return u.Op switch
                {
                    "not" => !Py.Truthy(operand),
                    "-" => Py.Negate(operand),
                    _ => Py.Plus(operand),
                };
            }

            case BinaryExpr b:
                return EvalBinary(b);
            case CompareExpr c:
            {
                var left = Eval(c.First);
                foreach (var (op, operandExpr) in c.Rest)
                {
                    var right = Eval(operandExpr);
                    bool ok = op switch
                    {
                        "in" => Py.Contains(right, left),
                        "notin" => !Py.Contains(right, left),
                        _ => Py.CompareOp(op, left, right),
                    };
                    if (!ok) return false;
                    left = right;
                }

                return true;
            }

            case ConcatExpr c:
            {
                var sb = new StringBuilder();
                foreach (var item in c.Items)
                {
                    sb.Append(Py.Str(Eval(item)));
                    if (sb.Length > Py.MaxStringLength) throw Py.TooLong();
                }

                return sb.ToString();
            }

            case CondExpr c:
                if (Py.Truthy(Eval(c.Test))) return Eval(c.Then);
                return c.Else is null ? new Undefined("the inline if-expression evaluated to false and no else section was defined") : Eval(c.Else);
            default:
                throw new PyException($"unsupported expression {expr.GetType().Name}");
        }
    }

    private object? EvalBinary(BinaryExpr b)
    {
        if (b.Op == "and")
        {
            var left = Eval(b.Left);
            return Py.Truthy(left) ? Eval(b.Right) : left;
        }

        if (b.Op == "or")
        {
            var left = Eval(b.Left);
            return Py.Truthy(left) ? left : Eval(b.Right);
        }

        var x = Eval(b.Left);
        var y = Eval(b.Right);
        return b.Op switch
        {
            "+" => Py.Add(x, y),
            "-" => Py.Sub(x, y),
            "*" => Py.Mul(x, y),
            "/" => Py.TrueDiv(x, y),
            "//" => Py.FloorDiv(x, y),
            "%" => Py.Mod(x, y),
            "**" => Py.Pow(x, y),
            _ => throw new PyException($"unknown operator '{b.Op}'"),
        };
    }

    public object? Call(object? callee, CallArguments args) => callee switch
    {
        PyCallable f => f.Invoke(this, args),
        Undefined u => throw u.Fail(),
        UnsupportedMember m => throw m.Fail(),
        _ => throw new PyException($"'{Py.TypeName(callee)}' object is not callable"),
    };

    private CallArguments EvalArguments(ArgumentList list)
    {
        if (list.Positional.Count == 0 && list.Keywords.Count == 0 && list.StarArgs == null && list.StarKwargs == null) return new CallArguments([], []);
        var positional = list.Positional.Select(Eval).ToList();
        var keywords = list.Keywords.Select(k => new KeyValuePair<string, object?>(k.Name, Eval(k.Value))).ToList();
        if (list.StarArgs != null) positional.AddRange(Py.Iterate(Eval(list.StarArgs)));
        if (list.StarKwargs != null)
        {
            if (Eval(list.StarKwargs) is not PyDict extra) throw new PyException("argument after ** must be a mapping");
            foreach (var (key, value) in extra)
            {
                if (key is not string name) throw new PyException("keywords must be strings");
                keywords.Add(new(name, value));
            }
        }

        return new CallArguments(positional, keywords);
    }

    private object? ApplyFilter(FilterCall filter, object? value)
    {
        try
        {
            return Filters.Apply(this, filter.Name, value, EvalArguments(filter.Arguments));
        }
        catch (PyException e)
        {
            throw new TemplateException(filter.Line, e.Message);
        }
    }

    /// <summary>Applies a filter by name (for <c>map('upper')</c> and friends).</summary>
    public object? ApplyFilter(string name, object? value, CallArguments args)
    {
        if (Filters.Check(name) is { } problem) throw new PyException(problem);
        return Filters.Apply(this, name, value, args);
    }

    /// <summary>Runs a test by name (for <c>select('odd')</c> and friends).</summary>
    public bool RunTest(string name, object? value, CallArguments args)
    {
        if (Tests.Check(name) is { } problem) throw new PyException(problem);
        return Tests.Apply(name, value, args);
    }
}
