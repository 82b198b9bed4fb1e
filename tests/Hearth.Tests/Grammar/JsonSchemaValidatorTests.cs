using System.Text.Json.Nodes;
using Hearth.Grammar;

namespace Hearth.Tests.Grammar;

public sealed class JsonSchemaValidatorTests
{
    private static IReadOnlyList<JsonSchemaError> Check(string schema, string instance) => JsonSchemaValidator.Validate(JsonNode.Parse(instance), schema);

    [Theory]
    [InlineData("""{"type":"integer"}""", "1.0", true)]
    [InlineData("""{"type":"integer"}""", "1.5", false)]
    [InlineData("""{"type":["string","null"]}""", "null", true)]
    [InlineData("""{"type":"string","nullable":true}""", "null", true)]
    [InlineData("""{"type":"string","minLength":2}""", "\"😀\"", false)]
    [InlineData("""{"type":"string","maxLength":1}""", "\"😀\"", true)]
    [InlineData("""{"pattern":"^a+$"}""", "\"aaa\"", true)]
    [InlineData("""{"pattern":"^a+$"}""", "\"aaa\\n\"", false)]
    [InlineData("""{"pattern":"b"}""", "\"abc\"", true)]
    [InlineData("""{"format":"date"}""", "\"2024-02-29\"", true)]
    [InlineData("""{"format":"date"}""", "\"2023-02-29\"", false)]
    [InlineData("""{"format":"date-time"}""", "\"2023-02-28T23:59:60.5-05:30\"", true)]
    [InlineData("""{"format":"time"}""", "\"12:00:00\"", false)]
    [InlineData("""{"format":"email"}""", "\"not checked\"", true)]
    [InlineData("""{"minimum":1,"exclusiveMaximum":3}""", "3", false)]
    [InlineData("""{"minimum":1,"exclusiveMaximum":3}""", "2.99", true)]
    [InlineData("""{"maximum":5,"exclusiveMaximum":true}""", "5", false)]
    [InlineData("""{"multipleOf":0.5}""", "2.5", true)]
    [InlineData("""{"multipleOf":0.5}""", "2.25", false)]
    [InlineData("""{"enum":[1,"a"]}""", "1.0", true)]
    [InlineData("""{"const":{"a":[1,2]}}""", "{\"a\":[1,2.0]}", true)]
    [InlineData("""{"required":["a"],"properties":{"a":{"type":"string"}},"additionalProperties":false}""", "{\"a\":\"x\",\"b\":1}", false)]
    [InlineData("""{"patternProperties":{"^x":{"type":"integer"}},"additionalProperties":false}""", "{\"x1\":1}", true)]
    [InlineData("""{"propertyNames":{"maxLength":2}}""", "{\"abc\":1}", false)]
    [InlineData("""{"minProperties":1}""", "{}", false)]
    [InlineData("""{"prefixItems":[{"type":"string"}],"items":false}""", "[\"a\",1]", false)]
    [InlineData("""{"items":[{"type":"string"}],"additionalItems":false}""", "[\"a\"]", true)]
    [InlineData("""{"uniqueItems":true}""", "[1,1.0]", false)]
    [InlineData("""{"contains":{"type":"string"},"minContains":2}""", "[\"a\",1,\"b\"]", true)]
    [InlineData("""{"anyOf":[{"type":"string"},{"minimum":3}]}""", "2", false)]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"number"}]}""", "1", false)]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"string"}]}""", "1", true)]
    [InlineData("""{"not":{"type":"string"}}""", "1", true)]
    [InlineData("""{"if":{"type":"string"},"then":{"minLength":2},"else":{"type":"integer"}}""", "\"a\"", false)]
    [InlineData("""{"if":{"type":"string"},"then":{"minLength":2},"else":{"type":"integer"}}""", "3", true)]
    [InlineData("""{"dependentRequired":{"a":["b"]}}""", "{\"a\":1}", false)]
    [InlineData("""{"$defs":{"p":{"type":"integer","minimum":0}},"type":"array","items":{"$ref":"#/$defs/p"}}""", "[1,-1]", false)]
    [InlineData("""false""", "1", false)]
    [InlineData("""true""", "1", true)]
    public void Validates(string schema, string instance, bool valid)
    {
        var errors = Check(schema, instance);
        Assert.True(valid == (errors.Count == 0), string.Join("; ", errors));
    }

    [Fact]
    public void ErrorsNameInstanceAndSchemaPaths()
    {
        var errors = Check("""{"type":"object","properties":{"items":{"type":"array","items":{"type":"integer","maximum":10}}}}""", "{\"items\":[1,20]}");
        var e = Assert.Single(errors);
        Assert.Equal("/items/1", e.InstancePath);
        Assert.Equal("#/properties/items/items/maximum", e.SchemaPath);
        Assert.Contains("maximum", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicatePropertyNamesAreAnError()
    {
        var errors = JsonSchemaValidator.Validate(JsonNode.Parse("{\"a\":1,\"a\":2}"), """{"type":"object"}""");
        Assert.Contains(errors, e => e.Message.Contains("more than once", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"frobnicate":true}""")]
    [InlineData("""{"$ref":"other.json#/x"}""")]
    [InlineData("""{"type":"integer","minimum":"zero"}""")]
    [InlineData("""{"$ref":"#"}""")]
    public void UnsupportedSchemasThrow(string schema)
    {
        Assert.Throws<JsonSchemaException>(() => Check(schema, "1"));
    }
}
