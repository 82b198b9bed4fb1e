using Hearth.Grammar;
using static Hearth.Tests.Grammar.GrammarTestHelpers;
using G = Hearth.Grammar.Grammar;

namespace Hearth.Tests.Grammar;

/// <summary>Masks over the real 151k-token Qwen2 vocabulary against the brute-force reference (each token fed on its own clone).</summary>
public sealed class QwenMaskTests
{
    private const string PersonSchema = """
        {
          "type": "object",
          "properties": {
            "name": { "type": "string" },
            "nick": { "type": "string", "maxLength": 6 },
            "age": { "type": "integer", "minimum": 0, "maximum": 150 },
            "city": { "enum": ["Zürich", "東京", "New York"] },
            "tags": { "type": "array", "items": { "type": "string" } }
          },
          "required": ["name", "nick", "age"]
        }
        """;

    public static TheoryData<string, string> States() => new()
    {
        { "schema", "" },
        { "schema", "{" },
        { "schema", "{\"name\": " },
        { "schema", "{\"name\": \"Jo" },
        { "schema", "{\"name\": \"Jo\\" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"ab" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"abcdef" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"a\", \"age\": 1" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"a\", \"age\": 15" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"a\", \"age\": 15, \"city\": \"" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"a\", \"age\": 15, \"city\": \"東" },
        { "schema", "{\"name\": \"Jo\", \"nick\": \"a\", \"age\": 15}" },
        { "gbnf", "" },
        { "gbnf", "日" },
        { "gbnf", "日本語 " },
    };

    private static G Grammar(string kind) => kind == "schema"
        ? JsonSchemaGrammar.FromSchema(PersonSchema)
        : G.Parse("root ::= ([ぁ-ゟ] | [一-龯] | \"日本\" | [ -~]){1,12} \"。\"");

    [Theory]
    [MemberData(nameof(States))]
    public void MaskEqualsBruteForce(string kind, string prefix)
    {
        var m = new GrammarMatcher(Grammar(kind), Qwen);
        Assert.True(m.TryAcceptText(prefix), $"prefix '{prefix}'");
        var mask = new bool[Qwen.Count];
        int count = m.ComputeMask(mask);
        var reference = BruteForceMask(m);
        Assert.Equal(reference.Count(x => x), count);
        for (int id = 0; id < mask.Length; id++)
        {
            if (mask[id] != reference[id])
            {
                Assert.Fail($"token {id} ({QwenTokenizer.TokenText(id)}): mask {mask[id]}, reference {reference[id]}");
            }
        }

        // The cached mask is the same.
        var again = new bool[Qwen.Count];
        Assert.Equal(count, m.ComputeMask(again));
        Assert.Equal(mask, again);
    }

    [Fact]
    public void MaskAfterATokenEndingMidCharacterEqualsBruteForce()
    {
        // Pick a token that ends inside 東 (E6 9D B1) or any CJK character the grammar allows, and accept it.
        var m = new GrammarMatcher(Grammar("gbnf"), Qwen);
        int partialToken = -1;
        for (int id = 0; id < Qwen.Count && partialToken < 0; id++)
        {
            var b = Qwen.TokenBytes(id);
            if (b.Length >= 1 && b.Length <= 2 && b[0] >= 0xE0 && b[0] < 0xF0 && m.IsAllowed(id)) partialToken = id;
        }

        Assert.True(partialToken >= 0);
        m.AcceptToken(partialToken);
        Assert.True(m.PendingByteCount > 0);
        var mask = new bool[Qwen.Count];
        m.ComputeMask(mask);
        Assert.Equal(BruteForceMask(m), mask);
    }
}
