using System.Text;

namespace Hearth.Grammar;

/// <summary>
/// A context-free grammar over Unicode code points in llama.cpp's GBNF syntax, checked and compiled for matching.
/// Immutable and thread-safe; create a <see cref="GrammarMatcher"/> per sequence to constrain generation with it.
/// </summary>
/// <remarks>
/// Syntax (as llama.cpp's <c>grammars/README.md</c>): rules <c>name ::= ...</c> with names of ASCII letters, digits,
/// <c>-</c> and <c>_</c>; the start rule is <c>root</c>; alternatives <c>|</c>; groups <c>( )</c>; repetitions
/// <c>*</c>, <c>+</c>, <c>?</c>, <c>{m}</c>, <c>{m,}</c>, <c>{m,n}</c>; string literals <c>"..."</c> and character
/// classes <c>[a-z0-9_]</c>, <c>[^"\\]</c> with the escapes <c>\n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH</c>;
/// <c>.</c> for any character; <c>#</c> comments. A newline ends a rule except inside parentheses or after <c>|</c>.
/// Differences from llama.cpp, all of them stricter: a rule defined twice, an empty class <c>[]</c>/<c>[^]</c>, a
/// root that no finite text completes, and repetitions too large to expand are errors; <c>{m,n}</c> keeps its exact
/// bound however large (llama.cpp treats a maximum above 2000 as unbounded). Token references <c>&lt;...&gt;</c> are
/// not supported.
/// </remarks>
public sealed class Grammar
{
    private readonly List<GbnfRule> _rules;

    private Grammar(List<GbnfRule> rules)
    {
        _rules = rules;
        Compiled = CompiledGrammar.Compile(rules);
    }

    internal CompiledGrammar Compiled { get; }

    /// <summary>The names of the rules as written, in order of definition.</summary>
    public IReadOnlyList<string> RuleNames => _rules.Select(r => r.Name).ToArray();

    /// <summary>
    /// Parses and checks GBNF text.
    /// </summary>
    /// <exception cref="GrammarException">A syntax error, a rule defined twice, a reference to an undefined rule, no
    /// <c>root</c> rule, left recursion, a root no finite text completes, or a grammar too large once its repetitions
    /// are expanded. The message, <see cref="GrammarException.Line"/> and <see cref="GrammarException.Column"/> say
    /// where.</exception>
    public static Grammar Parse(string gbnf)
    {
        ArgumentNullException.ThrowIfNull(gbnf);
        return new Grammar(GbnfParser.Parse(gbnf));
    }

    /// <summary>
    /// A grammar whose sentences are exactly the given strings (<c>root ::= "A" | "B" | ...</c>), for classification
    /// into a fixed set of labels. Use <see cref="ChoiceSet"/> to map generated text back to a choice.
    /// </summary>
    /// <exception cref="ArgumentException">No choices, or an empty or null choice.</exception>
    public static Grammar Choices(IReadOnlyList<string> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        if (choices.Count == 0) throw new ArgumentException("at least one choice is needed", nameof(choices));
        var alternatives = new List<List<GbnfExpr>>();
        foreach (var choice in choices)
        {
            if (string.IsNullOrEmpty(choice)) throw new ArgumentException("choices must be non-empty strings", nameof(choices));
            var cps = new List<int>();
            for (int i = 0; i < choice.Length;)
            {
                if (Rune.DecodeFromUtf16(choice.AsSpan(i), out var rune, out int used) != System.Buffers.OperationStatus.Done)
                {
                    throw new ArgumentException($"choice '{choice}' is not valid UTF-16 (it has a lone surrogate)", nameof(choices));
                }

                cps.Add(rune.Value);
                i += used;
            }

            alternatives.Add([new GbnfLiteral(cps.ToArray(), 1, 1)]);
        }

        return new Grammar([new GbnfRule("root", alternatives, 1, 1)]);
    }

    /// <summary>The grammar as GBNF text; <see cref="Parse"/> reads it back to an equivalent grammar.</summary>
    public string ToGbnf() => GbnfWriter.Write(_rules);

    public override string ToString() => ToGbnf();
}
