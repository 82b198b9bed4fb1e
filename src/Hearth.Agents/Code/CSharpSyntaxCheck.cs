using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Hearth.Agents.Code;

/// <summary>One syntax error Roslyn found.</summary>
/// <param name="File">The file as the caller named it.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column (in UTF-16 code units).</param>
/// <param name="Id">The compiler's diagnostic id, such as <c>CS1002</c>.</param>
/// <param name="Message">The compiler's message, in English.</param>
public sealed record SyntaxProblem(string File, int Line, int Column, string Id, string Message)
{
    /// <summary>The compiler's own format: <c>path(line,column): error CS1002: ; expected</c>.</summary>
    public override string ToString() => $"{File}({Line},{Column}): error {Id}: {Message}";
}

/// <summary>
/// Parses C# source with Roslyn (syntax only: no references, no binding), the check an edit passes before a .cs file is
/// written. The newest language version is used, so new syntax is not refused; code inside inactive <c>#if</c> blocks is
/// not checked.
/// </summary>
public static class CSharpSyntaxCheck
{
    private static readonly CSharpParseOptions s_options = new(LanguageVersion.Preview, DocumentationMode.None);

    /// <summary>Whether <paramref name="path"/> names a C# source file (<c>.cs</c>, any case).</summary>
    public static bool Applies(string path) => path.EndsWith(".cs", StringComparison.OrdinalIgnoreCase);

    /// <summary>The syntax errors in <paramref name="text"/>, in source order; empty when it parses.</summary>
    public static IReadOnlyList<SyntaxProblem> Check(string path, string text, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(text);
        var tree = CSharpSyntaxTree.ParseText(text, s_options, path, cancellationToken: cancel);
        return [.. tree.GetDiagnostics(cancel)
            .Where(d => d.Severity == DiagnosticSeverity.Error)
            .OrderBy(d => d.Location.SourceSpan.Start)
            .Select(d =>
            {
                var at = d.Location.GetLineSpan().StartLinePosition;
                return new SyntaxProblem(path, at.Line + 1, at.Character + 1, d.Id, d.GetMessage(CultureInfo.InvariantCulture));
            })];
    }
}
