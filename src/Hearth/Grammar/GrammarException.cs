namespace Hearth.Grammar;

/// <summary>
/// A grammar cannot be used: a GBNF syntax error, a reference to an undefined rule, left recursion, a repetition too
/// large to expand, or (through <see cref="JsonSchemaException"/>) a JSON schema that cannot be turned into a grammar.
/// Raised before any token is generated. When the problem has a place in the grammar text, <see cref="Line"/> and
/// <see cref="Column"/> (1-based, columns counted in Unicode code points) say where, and the message names them too.
/// </summary>
public class GrammarException : HearthException
{
    public GrammarException(string message) : base(message) { }

    public GrammarException(string message, int line, int column)
        : base($"{message} (line {line}, column {column})")
    {
        Line = line;
        Column = column;
        Problem = message;
    }

    /// <summary>1-based line of the problem in the grammar text, or null when it has no single place.</summary>
    public int? Line { get; }

    /// <summary>1-based column (in code points) of the problem, or null.</summary>
    public int? Column { get; }

    /// <summary>The problem without its position, when it has one; otherwise the message.</summary>
    public string? Problem { get; }
}

/// <summary>
/// A JSON schema uses a keyword or combination Hearth cannot enforce, is malformed, or admits no value at all. The
/// message names the schema location as a JSON pointer (<see cref="SchemaPath"/>), e.g. <c>#/properties/age</c>.
/// Keywords that change which values are valid are never silently ignored.
/// </summary>
public sealed class JsonSchemaException : GrammarException
{
    public JsonSchemaException(string schemaPath, string problem)
        : base($"JSON schema at {schemaPath}: {problem}")
    {
        SchemaPath = schemaPath;
    }

    /// <summary>Where in the schema the problem is, as a JSON pointer fragment (<c>#</c> is the root).</summary>
    public string SchemaPath { get; }
}

/// <summary>
/// Constrained decoding cannot go on without breaking the grammar: no token of the vocabulary can continue the text
/// generated so far, or a token the grammar does not allow was given to <see cref="GrammarMatcher.AcceptToken"/>.
/// Generation must stop with an error rather than continue unconstrained.
/// </summary>
public sealed class GrammarConstraintException : GrammarException
{
    public GrammarConstraintException(string message) : base(message) { }
}
