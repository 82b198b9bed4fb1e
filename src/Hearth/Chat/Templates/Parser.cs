using System.Runtime.CompilerServices;

namespace Hearth.Chat.Templates;

/// <summary>
/// Recursive-descent parser for the Jinja2 subset, following Jinja2's own grammar and operator precedence
/// (or &lt; and &lt; not &lt; comparisons &lt; + - &lt; ~ &lt; * / // % &lt; ** &lt; unary &lt; filters, tests, postfix).
/// Unknown or unsupported tags, filters and tests are errors here, at parse time, naming the line.
/// </summary>
internal sealed class Parser
{
    private const int MaxNesting = 400;

    private static readonly HashSet<string> s_unsupportedTags = ["block", "extends", "include", "import", "from", "autoescape"];

    private readonly List<Token> _tokens;
    private readonly Stack<MacroFrame> _macros = new();
    private readonly Stack<string> _openTags = new();
    private int _pos;
    private int _loopDepth;
    private int _nesting;

    private Parser(List<Token> tokens) => _tokens = tokens;

    public static List<Stmt> Parse(string source)
    {
        var parser = new Parser(Lexer.Tokenize(source));
        var body = parser.Subparse([]);
        if (parser.Current.Kind != TokenKind.Eof) throw parser.Error(parser.Current.Line, $"unexpected {parser.Current}");
        return body;
    }

    private sealed class MacroFrame
    {
        public bool Varargs;
        public bool Kwargs;
        public bool Caller;
    }

    private Token Current => _tokens[_pos];

    private Token PeekToken(int k = 1) => _tokens[Math.Min(_pos + k, _tokens.Count - 1)];

    private Token Next()
    {
        var t = _tokens[_pos];
        if (_pos < _tokens.Count - 1) _pos++;
        return t;
    }

    private TemplateSyntaxException Error(int line, string detail) => new(line, detail);

    private Token Expect(TokenKind kind, string? text = null)
    {
        var t = Current;
        if (t.Kind != kind || (text != null && t.Text != text))
        {
            string wanted = text != null ? $"'{text}'" : kind switch
            {
                TokenKind.Name => "a name",
                TokenKind.BlockEnd => "end of statement block",
                TokenKind.VariableEnd => "end of print statement",
                _ => kind.ToString(),
            };
            throw Error(t.Line, $"expected {wanted}, got {t}");
        }

        return Next();
    }

    private bool SkipOp(string op)
    {
        if (!Current.IsOp(op)) return false;
        Next();
        return true;
    }

    private bool SkipName(string name)
    {
        if (!Current.IsName(name)) return false;
        Next();
        return true;
    }

    // ---------------------------------------------------------------- statements

    /// <summary>Parses data and tags until a block tag whose name is one of <paramref name="endTags"/> (left current).</summary>
    private List<Stmt> Subparse(string[] endTags)
    {
        var body = new List<Stmt>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    return body;
                case TokenKind.Data:
                    body.Add(new TextStmt(t.Line, t.Text));
                    Next();
                    break;
                case TokenKind.VariableBegin:
                    Next();
                    body.Add(new PrintStmt(t.Line, ParseTuple()));
                    Expect(TokenKind.VariableEnd);
                    break;
                case TokenKind.BlockBegin:
                    Next();
                    if (Current.Kind == TokenKind.Name && endTags.Contains(Current.Text)) return body;
                    if (Current.Kind == TokenKind.BlockEnd) throw Error(Current.Line, "tag name expected");
                    var stmt = ParseStatement(endTags);
                    if (stmt != null) body.Add(stmt);
                    Expect(TokenKind.BlockEnd);
                    break;
                default:
                    throw Error(t.Line, $"unexpected {t}");
            }
        }
    }

    private List<Stmt> ParseStatements(string[] endTags, bool dropNeedle)
    {
        SkipOp(":");
        Expect(TokenKind.BlockEnd);
        var body = Subparse(endTags);
        if (Current.Kind == TokenKind.Eof)
        {
            string open = _openTags.Count > 0 ? $"; the innermost block that needs to be closed is '{_openTags.Peek()}'" : "";
            throw Error(Current.Line, $"unexpected end of template, expected {string.Join(" or ", endTags.Select(e => $"'{e}'"))}{open}");
        }

        if (dropNeedle) Next();
        return body;
    }

    private Stmt? ParseStatement(string[] endTags)
    {
        var t = Current;
        if (t.Kind != TokenKind.Name) throw Error(t.Line, "tag name expected");
        if (_openTags.Count > MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw Error(t.Line, "blocks nested too deeply");
        _openTags.Push(t.Text);
        try
        {
            switch (t.Text)
            {
                case "if": return ParseIf();
                case "for": return ParseFor();
                case "set": return ParseSet();
                case "macro": return ParseMacro();
                case "call": return ParseCallBlock();
                case "filter": return ParseFilterBlock();
                case "with": return ParseWith();
                case "print":
                {
                    Next();
                    var items = new List<Expr>();
                    while (Current.Kind != TokenKind.BlockEnd)
                    {
                        if (items.Count > 0) Expect(TokenKind.Operator, ",");
                        items.Add(ParseExpression());
                    }

                    return items.Count == 1 ? new PrintStmt(t.Line, items[0]) : new PrintStmt(t.Line, new TupleExpr(t.Line, items));
                }

                case "do":
                    Next();
                    return new DoStmt(t.Line, ParseTuple());
                case "break" or "continue":
                    Next();
                    if (_loopDepth == 0) throw Error(t.Line, $"'{t.Text}' outside of a loop");
                    return t.Text == "break" ? new BreakStmt(t.Line) : new ContinueStmt(t.Line);
                case "generation":
                    // transformers' AssistantTracker extension: marks assistant text; renders its body unchanged.
                    Next();
                    return new FilterBlockStmt(t.Line, [], ParseStatements(["endgeneration"], true));
            }

            if (s_unsupportedTags.Contains(t.Text)) throw Error(t.Line, $"unsupported tag '{t.Text}'");
            string expected = endTags.Length > 0 ? $"; expected {string.Join(" or ", endTags.Select(e => $"'{e}'"))}" : "";
            throw Error(t.Line, $"unknown tag '{t.Text}'{expected}");
        }
        finally
        {
            _openTags.Pop();
        }
    }

    private IfStmt ParseIf()
    {
        int line = Expect(TokenKind.Name, "if").Line;
        var branches = new List<(Expr, List<Stmt>)>();
        List<Stmt> elseBody = [];
        while (true)
        {
            var test = ParseTuple(withCondexpr: false);
            var body = ParseStatements(["elif", "else", "endif"], false);
            branches.Add((test, body));
            var token = Next();
            if (token.IsName("elif")) continue;
            if (token.IsName("else")) elseBody = ParseStatements(["endif"], true);
            break;
        }

        return new IfStmt(line, branches, elseBody);
    }

    private ForStmt ParseFor()
    {
        int line = Expect(TokenKind.Name, "for").Line;
        var target = ParseAssignTarget(extraEnd: "in");
        Expect(TokenKind.Name, "in");
        var iterable = ParseTuple(withCondexpr: false, extraEnd: "recursive");
        Expr? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        if (Current.IsName("recursive")) throw Error(Current.Line, "unsupported: recursive for loops");
        _loopDepth++;
        var body = ParseStatements(["endfor", "else"], false);
        _loopDepth--;
        List<Stmt> elseBody = [];
        if (Next().IsName("else")) elseBody = ParseStatements(["endfor"], true);
        return new ForStmt(line, target, iterable, filter, body, elseBody);
    }

    private Stmt ParseSet()
    {
        int line = Expect(TokenKind.Name, "set").Line;
        var target = ParseAssignTarget(withNamespace: true);
        if (SkipOp("=")) return new SetStmt(line, target, ParseTuple());
        var filters = new List<FilterCall>();
        while (Current.IsOp("|"))
        {
            Next();
            filters.Add(ParseFilterCall());
        }

        var body = ParseStatements(["endset"], true);
        return new SetBlockStmt(line, target, filters, body);
    }

    private MacroStmt ParseMacro()
    {
        int line = Expect(TokenKind.Name, "macro").Line;
        string name = Expect(TokenKind.Name).Text;
        var parameters = ParseSignature();
        var definition = ParseMacroBody(line, name, parameters, "endmacro");
        return new MacroStmt(line, definition);
    }

    private MacroDefinition ParseMacroBody(int line, string name, List<(string, Expr?)> parameters, string endTag)
    {
        var frame = new MacroFrame();
        _macros.Push(frame);
        int savedLoops = _loopDepth;
        _loopDepth = 0;
        var body = ParseStatements([endTag], true);
        _loopDepth = savedLoops;
        _macros.Pop();
        return new MacroDefinition(line, name, parameters, body, frame.Varargs, frame.Kwargs, frame.Caller);
    }

    private List<(string, Expr?)> ParseSignature()
    {
        var parameters = new List<(string, Expr?)>();
        Expect(TokenKind.Operator, "(");
        while (!Current.IsOp(")"))
        {
            if (parameters.Count > 0) Expect(TokenKind.Operator, ",");
            var nameToken = Expect(TokenKind.Name);
            Expr? dflt = null;
            if (SkipOp("=")) dflt = ParseExpression();
            else if (parameters.Any(p => p.Item2 != null)) throw Error(nameToken.Line, "non-default argument follows default argument");
            parameters.Add((nameToken.Text, dflt));
        }

        Expect(TokenKind.Operator, ")");
        return parameters;
    }

    private CallBlockStmt ParseCallBlock()
    {
        int line = Expect(TokenKind.Name, "call").Line;
        var parameters = Current.IsOp("(") ? ParseSignature() : [];
        var call = ParseExpression();
        if (call is not CallExpr callExpr) throw Error(line, "expected a call after 'call'");
        var caller = ParseMacroBody(line, "caller", parameters, "endcall");
        return new CallBlockStmt(line, caller, callExpr);
    }

    private FilterBlockStmt ParseFilterBlock()
    {
        int line = Expect(TokenKind.Name, "filter").Line;
        var filters = new List<FilterCall> { ParseFilterCall() };
        while (Current.IsOp("|"))
        {
            Next();
            filters.Add(ParseFilterCall());
        }

        return new FilterBlockStmt(line, filters, ParseStatements(["endfilter"], true));
    }

    private WithStmt ParseWith()
    {
        int line = Expect(TokenKind.Name, "with").Line;
        var assignments = new List<(Target, Expr)>();
        while (Current.Kind != TokenKind.BlockEnd)
        {
            if (assignments.Count > 0) Expect(TokenKind.Operator, ",");
            var target = ParseAssignTarget();
            Expect(TokenKind.Operator, "=");
            assignments.Add((target, ParseExpression()));
        }

        return new WithStmt(line, assignments, ParseStatements(["endwith"], true));
    }

    private Target ParseAssignTarget(string? extraEnd = null, bool withNamespace = false)
    {
        int line = Current.Line;
        var items = new List<Target>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(ParseSimpleTarget(withNamespace));
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }

        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            throw Error(line, $"expected an assignment target, got {Current}");
        }

        return new TupleTarget(line, items);
    }

    private Target ParseSimpleTarget(bool withNamespace)
    {
        var t = Current;
        if (t.Kind == TokenKind.Operator && t.Text == "(")
        {
            Next();
            var inner = ParseAssignTarget();
            Expect(TokenKind.Operator, ")");
            return inner;
        }

        if (t.Kind != TokenKind.Name) throw Error(t.Line, $"can't assign to {t}");
        if (t.Text is "true" or "false" or "True" or "False" or "none" or "None") throw Error(t.Line, "can't assign to const");
        Next();
        if (withNamespace && Current.IsOp("."))
        {
            Next();
            return new NamespaceTarget(t.Line, t.Text, Expect(TokenKind.Name).Text);
        }

        return new NameTarget(t.Line, t.Text);
    }

    // ---------------------------------------------------------------- expressions

    private bool IsTupleEnd(string? extraEnd) =>
        Current.Kind is TokenKind.VariableEnd or TokenKind.BlockEnd or TokenKind.Eof
        || Current.IsOp(")")
        || (extraEnd != null && Current.IsName(extraEnd));

    private Expr ParseTuple(bool withCondexpr = true, string? extraEnd = null, bool explicitParentheses = false)
    {
        int line = Current.Line;
        var items = new List<Expr>();
        bool isTuple = false;
        while (true)
        {
            if (items.Count > 0) Expect(TokenKind.Operator, ",");
            if (IsTupleEnd(extraEnd)) break;
            items.Add(withCondexpr ? ParseExpression() : ParseOr());
            if (Current.IsOp(",")) isTuple = true;
            else break;
        }

        if (!isTuple)
        {
            if (items.Count == 1) return items[0];
            if (!explicitParentheses) throw Error(Current.Line, $"expected an expression, got {Current}");
        }

        return new TupleExpr(line, items);
    }

    private Expr ParseExpression()
    {
        Enter();
        try
        {
            int line = Current.Line;
            var expr = ParseOr();
            while (SkipName("if"))
            {
                var test = ParseOr();
                Expr? otherwise = SkipName("else") ? ParseExpression() : null;
                expr = new CondExpr(line, test, expr, otherwise);
                line = Current.Line;
            }

            return expr;
        }
        finally
        {
            _nesting--;
        }
    }

    private void Enter()
    {
        if (++_nesting > MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw Error(Current.Line, "expression nested too deeply");
    }

    private Expr ParseOr()
    {
        int line = Current.Line;
        var left = ParseAnd();
        while (SkipName("or"))
        {
            left = new BinaryExpr(line, "or", left, ParseAnd());
            line = Current.Line;
        }

        return left;
    }

    private Expr ParseAnd()
    {
        int line = Current.Line;
        var left = ParseNot();
        while (SkipName("and"))
        {
            left = new BinaryExpr(line, "and", left, ParseNot());
            line = Current.Line;
        }

        return left;
    }

    private Expr ParseNot()
    {
        if (Current.IsName("not"))
        {
            int line = Next().Line;
            Enter();
            try
            {
                return new UnaryExpr(line, "not", ParseNot());
            }
            finally
            {
                _nesting--;
            }
        }

        return ParseCompare();
    }

    private Expr ParseCompare()
    {
        int line = Current.Line;
        var first = ParseMath1();
        var rest = new List<(string, Expr)>();
        while (true)
        {
            var t = Current;
            if (t.Kind == TokenKind.Operator && t.Text is "==" or "!=" or "<" or "<=" or ">" or ">=")
            {
                Next();
                rest.Add((t.Text, ParseMath1()));
            }
            else if (SkipName("in"))
            {
                rest.Add(("in", ParseMath1()));
            }
            else if (t.IsName("not") && PeekToken().IsName("in"))
            {
                Next();
                Next();
                rest.Add(("notin", ParseMath1()));
            }
            else
            {
                break;
            }
        }

        return rest.Count == 0 ? first : new CompareExpr(line, first, rest);
    }

    private Expr ParseMath1()
    {
        int line = Current.Line;
        var left = ParseConcat();
        while (Current.Kind == TokenKind.Operator && Current.Text is "+" or "-")
        {
            string op = Next().Text;
            left = new BinaryExpr(line, op, left, ParseConcat());
            line = Current.Line;
        }

        return left;
    }

    private Expr ParseConcat()
    {
        int line = Current.Line;
        var items = new List<Expr> { ParseMath2() };
        while (SkipOp("~")) items.Add(ParseMath2());
        return items.Count == 1 ? items[0] : new ConcatExpr(line, items);
    }

    private Expr ParseMath2()
    {
        int line = Current.Line;
        var left = ParsePow();
        while (Current.Kind == TokenKind.Operator && Current.Text is "*" or "/" or "//" or "%")
        {
            string op = Next().Text;
            left = new BinaryExpr(line, op, left, ParsePow());
            line = Current.Line;
        }

        return left;
    }

    private Expr ParsePow()
    {
        int line = Current.Line;
        var left = ParseUnary(true);
        while (SkipOp("**"))
        {
            left = new BinaryExpr(line, "**", left, ParseUnary(true));
            line = Current.Line;
        }

        return left;
    }

    private Expr ParseUnary(bool withFilter)
    {
        Enter();
        try
        {
            int line = Current.Line;
            Expr node;
            if (Current.IsOp("-"))
            {
                Next();
                node = new UnaryExpr(line, "-", ParseUnary(false));
            }
            else if (Current.IsOp("+"))
            {
                Next();
                node = new UnaryExpr(line, "+", ParseUnary(false));
            }
            else
            {
                node = ParsePrimary();
            }

            node = ParsePostfix(node);
            if (withFilter) node = ParseFilterExpr(node);
            return node;
        }
        finally
        {
            _nesting--;
        }
    }

    private Expr ParsePrimary()
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                Next();
                switch (t.Text)
                {
                    case "true" or "True": return new ConstExpr(t.Line, true);
                    case "false" or "False": return new ConstExpr(t.Line, false);
                    case "none" or "None": return new ConstExpr(t.Line, null);
                }

                if (_macros.Count > 0)
                {
                    var frame = _macros.Peek();
                    if (t.Text == "varargs") frame.Varargs = true;
                    else if (t.Text == "kwargs") frame.Kwargs = true;
                    else if (t.Text == "caller") frame.Caller = true;
                }

                return new NameExpr(t.Line, t.Text);
            case TokenKind.String:
            {
                Next();
                string value = (string)t.Value!;
                while (Current.Kind == TokenKind.String) value += (string)Next().Value!;
                return new ConstExpr(t.Line, value);
            }

            case TokenKind.Integer or TokenKind.Float:
                Next();
                return new ConstExpr(t.Line, t.Value);
            case TokenKind.Operator when t.Text == "(":
            {
                Next();
                var inner = ParseTuple(explicitParentheses: true);
                Expect(TokenKind.Operator, ")");
                return inner;
            }

            case TokenKind.Operator when t.Text == "[":
            {
                Next();
                var items = new List<Expr>();
                while (!Current.IsOp("]"))
                {
                    if (items.Count > 0) Expect(TokenKind.Operator, ",");
                    if (Current.IsOp("]")) break;
                    items.Add(ParseExpression());
                }

                Expect(TokenKind.Operator, "]");
                return new ListExpr(t.Line, items);
            }

            case TokenKind.Operator when t.Text == "{":
            {
                Next();
                var items = new List<(Expr, Expr)>();
                while (!Current.IsOp("}"))
                {
                    if (items.Count > 0) Expect(TokenKind.Operator, ",");
                    if (Current.IsOp("}")) break;
                    var key = ParseExpression();
                    Expect(TokenKind.Operator, ":");
                    items.Add((key, ParseExpression()));
                }

                Expect(TokenKind.Operator, "}");
                return new DictExpr(t.Line, items);
            }
        }

        throw Error(t.Line, $"unexpected {t}");
    }

    private Expr ParsePostfix(Expr node)
    {
        while (true)
        {
            if (Current.IsOp(".") || Current.IsOp("[")) node = ParseSubscript(node);
            else if (Current.IsOp("(")) node = new CallExpr(Current.Line, node, ParseCallArguments());
            else return node;
        }
    }

    private Expr ParseFilterExpr(Expr node)
    {
        while (true)
        {
            if (Current.IsOp("|"))
            {
                Next();
                var filter = ParseFilterCall();
                node = new FilterExpr(filter.Line, node, filter);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOp("("))
            {
                node = new CallExpr(Current.Line, node, ParseCallArguments());
            }
            else
            {
                return node;
            }
        }
    }

    private Expr ParseSubscript(Expr node)
    {
        var t = Next();
        if (t.IsOp("."))
        {
            var attr = Next();
            if (attr.Kind == TokenKind.Name) return new GetAttrExpr(t.Line, node, attr.Text);
            if (attr.Kind == TokenKind.Integer) return new GetItemExpr(t.Line, node, new ConstExpr(attr.Line, attr.Value));
            throw Error(attr.Line, "expected name or number");
        }

        var args = new List<Expr>();
        while (!Current.IsOp("]"))
        {
            if (args.Count > 0) Expect(TokenKind.Operator, ",");
            args.Add(ParseSubscribed());
        }

        Expect(TokenKind.Operator, "]");
        if (args.Count == 0) throw Error(t.Line, "expected subscript expression");
        return new GetItemExpr(t.Line, node, args.Count == 1 ? args[0] : new TupleExpr(t.Line, args));
    }

    private Expr ParseSubscribed()
    {
        int line = Current.Line;
        Expr? start = null;
        if (!Current.IsOp(":"))
        {
            var node = ParseExpression();
            if (!Current.IsOp(":")) return node;
            start = node;
        }

        Next(); // ':'
        Expr? stop = null, step = null;
        if (!Current.IsOp(":") && !Current.IsOp("]") && !Current.IsOp(",")) stop = ParseExpression();
        if (SkipOp(":"))
        {
            if (!Current.IsOp("]") && !Current.IsOp(",")) step = ParseExpression();
        }

        return new SliceExpr(line, start, stop, step);
    }

    private ArgumentList ParseCallArguments()
    {
        var open = Expect(TokenKind.Operator, "(");
        var positional = new List<Expr>();
        var keywords = new List<(string, Expr)>();
        Expr? starArgs = null, starKwargs = null;
        bool requireComma = false;
        while (!Current.IsOp(")"))
        {
            if (requireComma)
            {
                Expect(TokenKind.Operator, ",");
                if (Current.IsOp(")")) break;
            }

            if (Current.IsOp("*"))
            {
                if (starArgs != null || starKwargs != null) throw Error(open.Line, "invalid syntax for function call expression");
                Next();
                starArgs = ParseExpression();
            }
            else if (Current.IsOp("**"))
            {
                if (starKwargs != null) throw Error(open.Line, "invalid syntax for function call expression");
                Next();
                starKwargs = ParseExpression();
            }
            else if (Current.Kind == TokenKind.Name && PeekToken().IsOp("="))
            {
                if (starKwargs != null) throw Error(open.Line, "invalid syntax for function call expression");
                string key = Next().Text;
                Next();
                keywords.Add((key, ParseExpression()));
            }
            else
            {
                if (starArgs != null || starKwargs != null || keywords.Count > 0) throw Error(open.Line, "invalid syntax for function call expression");
                positional.Add(ParseExpression());
            }

            requireComma = true;
        }

        Expect(TokenKind.Operator, ")");
        return new ArgumentList(positional, keywords, starArgs, starKwargs);
    }

    private FilterCall ParseFilterCall()
    {
        var t = Expect(TokenKind.Name);
        string name = t.Text;
        while (Current.IsOp("."))
        {
            Next();
            name += "." + Expect(TokenKind.Name).Text;
        }

        if (Filters.Check(name) is { } problem) throw Error(t.Line, problem);
        var args = Current.IsOp("(") ? ParseCallArguments() : ArgumentList.Empty;
        return new FilterCall(t.Line, name, args);
    }

    private Expr ParseTest(Expr node)
    {
        int line = Next().Line; // 'is'
        bool negated = SkipName("not");
        var nameToken = Expect(TokenKind.Name);
        string name = nameToken.Text;
        while (Current.IsOp("."))
        {
            Next();
            name += "." + Expect(TokenKind.Name).Text;
        }

        if (Tests.Check(name) is { } problem) throw Error(nameToken.Line, problem);
        ArgumentList args;
        var t = Current;
        if (t.IsOp("("))
        {
            args = ParseCallArguments();
        }
        else if ((t.Kind is TokenKind.Name or TokenKind.String or TokenKind.Integer or TokenKind.Float
                  || (t.Kind == TokenKind.Operator && t.Text is "(" or "[" or "{"))
                 && !t.IsName("else") && !t.IsName("or") && !t.IsName("and"))
        {
            if (t.IsName("is")) throw Error(t.Line, "you cannot chain multiple tests with is");
            var arg = ParsePostfix(ParsePrimary());
            args = new ArgumentList([arg], [], null, null);
        }
        else
        {
            args = ArgumentList.Empty;
        }

        Expr test = new TestExpr(line, node, name, args);
        return negated ? new UnaryExpr(line, "not", test) : test;
    }
}
