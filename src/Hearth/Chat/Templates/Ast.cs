namespace Hearth.Chat.Templates;

// ---------------------------------------------------------------- statements

internal abstract record Stmt(int Line);

internal sealed record TextStmt(int Line, string Text) : Stmt(Line);

internal sealed record PrintStmt(int Line, Expr Value) : Stmt(Line);

internal sealed record IfStmt(int Line, List<(Expr Test, List<Stmt> Body)> Branches, List<Stmt> Else) : Stmt(Line);

internal sealed record ForStmt(int Line, Target Target, Expr Iterable, Expr? Filter, List<Stmt> Body, List<Stmt> Else) : Stmt(Line);

internal sealed record SetStmt(int Line, Target Target, Expr Value) : Stmt(Line);

internal sealed record SetBlockStmt(int Line, Target Target, List<FilterCall> Filters, List<Stmt> Body) : Stmt(Line);

internal sealed record MacroStmt(int Line, MacroDefinition Definition) : Stmt(Line);

internal sealed record CallBlockStmt(int Line, MacroDefinition Caller, CallExpr Call) : Stmt(Line);

internal sealed record FilterBlockStmt(int Line, List<FilterCall> Filters, List<Stmt> Body) : Stmt(Line);

internal sealed record WithStmt(int Line, List<(Target Target, Expr Value)> Assignments, List<Stmt> Body) : Stmt(Line);

internal sealed record DoStmt(int Line, Expr Value) : Stmt(Line);

internal sealed record BreakStmt(int Line) : Stmt(Line);

internal sealed record ContinueStmt(int Line) : Stmt(Line);

/// <summary>A macro (or the body of a call block): parameters with optional defaults and what its body refers to.</summary>
internal sealed record MacroDefinition(
    int Line,
    string Name,
    List<(string Name, Expr? Default)> Parameters,
    List<Stmt> Body,
    bool UsesVarargs,
    bool UsesKwargs,
    bool UsesCaller);

// ---------------------------------------------------------------- assignment targets

internal abstract record Target(int Line);

internal sealed record NameTarget(int Line, string Name) : Target(Line);

internal sealed record TupleTarget(int Line, List<Target> Items) : Target(Line);

internal sealed record NamespaceTarget(int Line, string Name, string Attribute) : Target(Line);

// ---------------------------------------------------------------- expressions

internal abstract record Expr(int Line);

internal sealed record ConstExpr(int Line, object? Value) : Expr(Line);

internal sealed record NameExpr(int Line, string Name) : Expr(Line);

internal sealed record ListExpr(int Line, List<Expr> Items) : Expr(Line);

internal sealed record TupleExpr(int Line, List<Expr> Items) : Expr(Line);

internal sealed record DictExpr(int Line, List<(Expr Key, Expr Value)> Items) : Expr(Line);

internal sealed record GetAttrExpr(int Line, Expr Target, string Name) : Expr(Line);

internal sealed record GetItemExpr(int Line, Expr Target, Expr Key) : Expr(Line);

internal sealed record SliceExpr(int Line, Expr? Start, Expr? Stop, Expr? Step) : Expr(Line);

internal sealed record CallExpr(int Line, Expr Callee, ArgumentList Arguments) : Expr(Line);

internal sealed record FilterExpr(int Line, Expr Value, FilterCall Filter) : Expr(Line);

internal sealed record TestExpr(int Line, Expr Value, string Name, ArgumentList Arguments) : Expr(Line);

internal sealed record UnaryExpr(int Line, string Op, Expr Operand) : Expr(Line);

internal sealed record BinaryExpr(int Line, string Op, Expr Left, Expr Right) : Expr(Line);

internal sealed record CompareExpr(int Line, Expr First, List<(string Op, Expr Operand)> Rest) : Expr(Line);

internal sealed record ConcatExpr(int Line, List<Expr> Items) : Expr(Line);

internal sealed record CondExpr(int Line, Expr Test, Expr Then, Expr? Else) : Expr(Line);

/// <summary>A filter application: name and arguments (the value comes from the enclosing expression or block).</summary>
internal sealed record FilterCall(int Line, string Name, ArgumentList Arguments);

internal sealed record ArgumentList(List<Expr> Positional, List<(string Name, Expr Value)> Keywords, Expr? StarArgs, Expr? StarKwargs)
{
    public static readonly ArgumentList Empty = new([], [], null, null);
}
