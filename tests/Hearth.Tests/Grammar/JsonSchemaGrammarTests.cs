using System.Text.Json.Nodes;
using Hearth.Grammar;
using static Hearth.Tests.Grammar.GrammarTestHelpers;
using G = Hearth.Grammar.Grammar;

namespace Hearth.Tests.Grammar;

public sealed class JsonSchemaGrammarTests
{
    private static G Schema(string json) => JsonSchemaGrammar.FromSchema(json);

    [Theory]
    [InlineData("""{"type":"string"}""", "\"hi\"", true)]
    [InlineData("""{"type":"string"}""", "\"a\\\"b\\\\c\\n\\u00e9\"", true)]
    [InlineData("""{"type":"string"}""", "\"raw\nnewline\"", false)]
    [InlineData("""{"type":"string"}""", "\"\\ud800\"", false)]
    [InlineData("""{"type":"string"}""", "\"日本😀\"", true)]
    [InlineData("""{"type":"string"}""", "hi", false)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"a\"", false)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"ab\"", true)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"a\\nb\"", true)]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"abcd\"", false)]
    [InlineData("""{"type":"integer"}""", "-42", true)]
    [InlineData("""{"type":"integer"}""", "042", false)]
    [InlineData("""{"type":"integer"}""", "1.5", false)]
    [InlineData("""{"type":"integer"}""", "12345678901234567", false)]
    [InlineData("""{"type":"number"}""", "-0.5e+10", true)]
    [InlineData("""{"type":"number"}""", ".5", false)]
    [InlineData("""{"type":"number"}""", "1.", false)]
    [InlineData("""{"type":"boolean"}""", "true", true)]
    [InlineData("""{"type":"null"}""", "null", true)]
    [InlineData("""{"type":["integer","null"]}""", "null", true)]
    [InlineData("""{"type":["integer","null"]}""", "7", true)]
    [InlineData("""{"type":"integer","nullable":true}""", "null", true)]
    [InlineData("""{"type":"integer","minimum":-15,"maximum":230}""", "-15", true)]
    [InlineData("""{"type":"integer","minimum":-15,"maximum":230}""", "-16", false)]
    [InlineData("""{"type":"integer","minimum":-15,"maximum":230}""", "230", true)]
    [InlineData("""{"type":"integer","minimum":-15,"maximum":230}""", "231", false)]
    [InlineData("""{"type":"integer","minimum":-15,"maximum":230}""", "-0", false)]
    [InlineData("""{"type":"integer","exclusiveMinimum":0}""", "0", false)]
    [InlineData("""{"type":"integer","exclusiveMinimum":0}""", "1", true)]
    [InlineData("""{"enum":["a",1,null,{"k":[true]}]}""", "{\"k\":[true]}", true)]
    [InlineData("""{"enum":["a",1,null,{"k":[true]}]}""", "\"b\"", false)]
    [InlineData("""{"const":"ANOMALY"}""", "\"ANOMALY\"", true)]
    [InlineData("""{"type":"string","enum":["a",1]}""", "1", false)]
    [InlineData("""{"type":"string","format":"date"}""", "\"2024-02-28\"", true)]
    [InlineData("""{"type":"string","format":"date"}""", "\"2024-02-30\"", false)]
    [InlineData("""{"type":"string","format":"date"}""", "\"2024-13-01\"", false)]
    [InlineData("""{"type":"string","format":"time"}""", "\"23:59:59.123+01:00\"", true)]
    [InlineData("""{"type":"string","format":"time"}""", "\"24:00:00Z\"", false)]
    [InlineData("""{"type":"string","format":"date-time"}""", "\"2024-01-31T12:00:00Z\"", true)]
    [InlineData("""{"type":"string","format":"uuid"}""", "\"123e4567-e89b-12d3-a456-426614174000\"", true)]
    [InlineData("""{"type":"string","format":"uuid"}""", "\"123e4567e89b12d3a456426614174000\"", false)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"}""", "\"AB-123\"", true)]
    [InlineData("""{"type":"string","pattern":"^[A-Z]{2}-\\d{3}$"}""", "\"AB-12\"", false)]
    [InlineData("""{"type":"string","pattern":"^a\"b$"}""", "\"a\\\"b\"", true)]
    [InlineData("""{"type":"string","pattern":"^(x|yz)+$"}""", "\"xyzx\"", true)]
    [InlineData("""{"type":"string","pattern":"mid"}""", "\"in the middle\"", true)]
    [InlineData("""{"type":"string","pattern":"mid"}""", "\"nope\"", false)]
    [InlineData("""{"type":"string","pattern":"^a.c$"}""", "\"a\\nc\"", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2}""", "[]", false)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2}""", "[1, 2]", true)]
    [InlineData("""{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":2}""", "[1,2,3]", false)]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}""", "[\"a\", 1]", true)]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}""", "[\"a\", 1, 2]", false)]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"boolean"}}""", "[\"a\", true, false]", true)]
    [InlineData("""{"type":"array","items":[{"type":"string"}],"additionalItems":{"type":"null"}}""", "[\"a\",null]", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}""", "{\"a\": 1}", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}""", "{\"a\": 1, \"b\": \"x\"}", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}""", "{\"b\": \"x\"}", false)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},"required":["a"]}""", "{\"a\": 1, \"c\": 2}", false)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}""", "{}", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}}}""", "{\"b\":\"x\"}", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}""", "{\"a\":1,\"ab\":true,\"\":false}", true)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}""", "{\"a\":1,\"a\":true}", false)]
    [InlineData("""{"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}""", "{\"x\":1}", false)]
    [InlineData("""{"type":"object","additionalProperties":true}""", "{\"x\":[1,{\"y\":null}]}", true)]
    [InlineData("""{"type":"object","properties":{"a b\"":{"const":1}},"required":["a b\""]}""", "{\"a b\\\"\":1}", true)]
    [InlineData("""{}""", "[1,{\"a\":\"b\"},null]", true)]
    [InlineData("""true""", "\"anything\"", true)]
    [InlineData("""{"type":"object"}""", "{}", true)]
    [InlineData("""{"type":"object"}""", "{\"x\":1}", false)]
    public void SchemaAcceptsAndRejects(string schema, string text, bool expected)
    {
        Assert.Equal(expected, Accepts(Schema(schema), text));
    }

    [Fact]
    public void WhitespaceIsAllowedButBounded()
    {
        var g = Schema("""{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}""");
        Assert.True(Accepts(g, "{\n  \"a\" : 1}"));
        Assert.False(Accepts(g, "{\"a\":  1}"));
        Assert.True(Accepts(g, "{\"a\":1}\n"));
        Assert.False(Accepts(g, "{" + new string(' ', 5) + "\"a\":1}"));
        Assert.False(Accepts(g, "{\n" + new string(' ', 21) + "\"a\":1}"));
        Assert.False(Accepts(g, " {\"a\":1}"));
    }

    [Fact]
    public void RefsDefsAndRecursion()
    {
        var g = Schema("""
            {
              "$defs": { "node": { "type": "object", "properties": { "v": { "type": "integer" }, "kids": { "type": "array", "items": { "$ref": "#/$defs/node" } } }, "required": ["v"] } },
              "definitions": { "name": { "type": "string", "maxLength": 3 } },
              "type": "object",
              "properties": { "root": { "$ref": "#/$defs/node" }, "label": { "$ref": "#/definitions/name" } },
              "required": ["root", "label"]
            }
            """);
        Assert.True(Accepts(g, "{\"root\":{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]},\"label\":\"abc\"}"));
        Assert.False(Accepts(g, "{\"root\":{\"v\":1,\"kids\":[{\"kids\":[]}]},\"label\":\"abc\"}"));
        Assert.False(Accepts(g, "{\"root\":{\"v\":1},\"label\":\"abcd\"}"));
    }

    [Fact]
    public void AllOfObjectsAreMerged()
    {
        var g = Schema("""
            { "allOf": [
                { "type": "object", "properties": { "a": { "type": "string" } }, "required": ["a"] },
                { "properties": { "b": { "type": "integer" }, "a": { "maxLength": 2 } }, "required": ["b"] } ] }
            """);
        Assert.True(Accepts(g, "{\"a\":\"xy\",\"b\":1}"));
        Assert.False(Accepts(g, "{\"a\":\"xyz\",\"b\":1}"));
        Assert.False(Accepts(g, "{\"a\":\"xy\"}"));
    }

    [Fact]
    public void AnyOfAndDisjointOneOf()
    {
        var any = Schema("""{"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]}""");
        Assert.True(Accepts(any, "5"));
        Assert.True(Accepts(any, "\"x\""));
        Assert.False(Accepts(any, "\"xy\""));

        var one = Schema("""
            {"oneOf":[
              {"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number"}},"required":["kind","r"]},
              {"type":"object","properties":{"kind":{"const":"square"},"side":{"type":"number"}},"required":["kind","side"]}]}
            """);
        Assert.True(Accepts(one, "{\"kind\":\"circle\",\"r\":1}"));
        Assert.True(Accepts(one, "{\"kind\":\"square\",\"side\":2}"));
        Assert.False(Accepts(one, "{\"kind\":\"square\",\"r\":2}"));
    }

    [Fact]
    public void SiblingKeywordsApplyToEveryAnyOfBranch()
    {
        var g = Schema("""{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"],"anyOf":[{"properties":{"a":{"type":"null"}},"required":["a"]},{"properties":{"b":{"type":"null"}},"required":["b"]}]}""");
        Assert.True(Accepts(g, "{\"id\":1,\"a\":null}"));
        Assert.True(Accepts(g, "{\"id\":1,\"b\":null}"));
        Assert.False(Accepts(g, "{\"a\":null}"));
    }

    [Fact]
    public void DescriptiveKeywordsAreIgnored()
    {
        var g = Schema("""{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","title":"T","description":"D","examples":[1],"default":2,"$comment":"c","type":"integer","readOnly":true,"deprecated":false}""");
        Assert.True(Accepts(g, "3"));
    }

    [Theory]
    [InlineData("""{"type":"string","format":"email"}""", "format 'email'")]
    [InlineData("""{"not":{"type":"string"}}""", "'not'")]
    [InlineData("""{"type":"object","patternProperties":{"^a":{}}}""", "patternProperties")]
    [InlineData("""{"if":{"type":"string"},"then":{"minLength":1}}""", "conditionals")]
    [InlineData("""{"type":"array","contains":{"type":"integer"}}""", "contains")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems")]
    [InlineData("""{"type":"number","minimum":0}""", "only supported for integers")]
    [InlineData("""{"type":"integer","multipleOf":5}""", "multipleOf")]
    [InlineData("""{"type":"string","frobnicate":1}""", "unknown keyword 'frobnicate'")]
    [InlineData("""{"$ref":"https://example.com/schema.json"}""", "not local")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "points to nothing")]
    [InlineData("""{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}""", "circular")]
    [InlineData("""{"allOf":[{"$ref":"#"}]}""", "circular")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"number"}]}""", "may match the same value")]
    [InlineData("""{"oneOf":[{"type":"object","properties":{"a":{}}},{"type":"object","properties":{"b":{}}}]}""", "may match the same value")]
    [InlineData("""{"allOf":[{"type":"string"},{"type":"integer"}]}""", "admits no value")]
    [InlineData("""{"enum":[1,2],"type":"string"}""", "enum")]
    [InlineData("""false""", "admits no value")]
    [InlineData("""{"type":"object","properties":{"a":false},"required":["a"]}""", "required but its schema is false")]
    [InlineData("""{"type":"string","pattern":"(a)\\1"}""", "back-references")]
    [InlineData("""{"type":"string","pattern":"(?=a)"}""", "look-around")]
    [InlineData("""{"type":"string","pattern":"a^b"}""", "anchor")]
    [InlineData("""{"type":"string","pattern":"\\bword"}""", "word boundaries")]
    [InlineData("""{"type":"string","pattern":"\\p{L}"}""", "Unicode property")]
    [InlineData("""{"type":"string","pattern":"^a$","maxLength":3}""", "pattern")]
    [InlineData("""{"type":"string","minLength":5,"maxLength":2}""", "below minLength")]
    [InlineData("""{"type":"strin"}""", "unknown type")]
    [InlineData("""{"type":"object","minProperties":2}""", "minProperties")]
    [InlineData("""{"properties":{"a":{"$id":"inner","type":"string"}}}""", "$id")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":4}""", "no integer")]
    [InlineData("""{"type":"string","maxLength":1000000}""", "maxLength above")]
    [InlineData("""not json""", "not valid JSON")]
    public void UnsupportedOrBadSchemasFailClosed(string schema, string fragment)
    {
        var ex = Assert.Throws<JsonSchemaException>(() => Schema(schema));
        Assert.Contains(fragment, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("#", ex.SchemaPath, StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorNamesTheSchemaLocation()
    {
        var ex = Assert.Throws<JsonSchemaException>(() => Schema("""{"type":"object","properties":{"when":{"type":"string","format":"hostname"}}}"""));
        Assert.Equal("#/properties/when", ex.SchemaPath);
    }

    [Fact]
    public void AnyJsonObjectAndValue()
    {
        Assert.True(Accepts(JsonSchemaGrammar.AnyJsonObject, "{\"a\": [1, 2.5e3, \"x\", {\"b\": null}], \"c\": true}"));
        Assert.False(Accepts(JsonSchemaGrammar.AnyJsonObject, "[1]"));
        Assert.False(Accepts(JsonSchemaGrammar.AnyJsonObject, "{\"a\":}"));
        Assert.True(Accepts(JsonSchemaGrammar.AnyJsonValue, "[1]"));
        Assert.True(Accepts(JsonSchemaGrammar.AnyJsonValue, "\"s\""));
    }

    [Fact]
    public void GeneratedGbnfParsesAndNamesRulesAfterTheSchema()
    {
        string gbnf = JsonSchemaGrammar.ToGbnf("""{"type":"object","properties":{"user_name":{"type":"string"}},"required":["user_name"]}""");
        Assert.Contains("root ::= ", gbnf, StringComparison.Ordinal);
        Assert.Contains("root-user-name-kv ::= ", gbnf, StringComparison.Ordinal);
        Assert.Contains("space ::= | \" \" | \"\\n\"{1,2} [ \\t]{0,20}", gbnf, StringComparison.Ordinal);
        G.Parse(gbnf);
    }

    [Theory]
    [InlineData(-15, 230)]
    [InlineData(0, 0)]
    [InlineData(7, 7)]
    [InlineData(-99, -10)]
    [InlineData(95, 1203)]
    [InlineData(-1000, 999)]
    [InlineData(1999, 2001)]
    public void IntegerRangesAreExact(long lo, long hi)
    {
        var g = G.Parse("root ::= " + JsonSchemaGrammar.Converter.IntegerRange(lo, hi));
        for (long v = lo - 30; v <= hi + 30; v++)
        {
            Assert.Equal(v >= lo && v <= hi, Accepts(g, v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        Assert.False(Accepts(g, "0" + hi));
    }

    [Fact]
    public void SchemaFromJsonNodeMatchesSchemaFromText()
    {
        const string text = """{"type":"array","items":{"type":"boolean"},"maxItems":2}""";
        Assert.Equal(JsonSchemaGrammar.ToGbnf(text), JsonSchemaGrammar.ToGbnf(JsonNode.Parse(text)!));
    }
}
