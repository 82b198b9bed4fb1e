using System.Text.Json.Nodes;
using Hearth.Agents.Documents;

namespace Hearth.Agents.Tests.Documents;

/// <summary>Reading fields.json: the fields and their cell kinds, and clear errors for schemas that cannot be a sheet.</summary>
public sealed class ExtractionSchemaTests
{
    [Fact]
    public void TheInvoiceSchemaGivesItsFieldsInOrderWithTheirKinds()
    {
        var schema = ExtractionSchema.Parse(TestDocuments.InvoiceSchema);
        Assert.Equal(["invoice_number", "date", "amount", "items", "name", "paid"], schema.Fields.Select(f => f.Name));
        Assert.Equal([FieldKind.Text, FieldKind.Date, FieldKind.Number, FieldKind.Integer, FieldKind.Text, FieldKind.Boolean], schema.Fields.Select(f => f.Kind));
        Assert.Equal([true, true, true, false, true, false], schema.Fields.Select(f => f.Required));
        Assert.Equal("the invoice date", schema.Fields[1].Description);
        Assert.False(schema.Schema["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public void NullableTypesAndDateTimesAreAccepted()
    {
        var schema = ExtractionSchema.Parse("""{"type":"object","properties":{"note":{"type":["string","null"]},"at":{"type":"string","format":"date-time"}}}""");
        Assert.True(schema.Fields[0].Nullable);
        Assert.Equal(FieldKind.DateTime, schema.Fields[1].Kind);
    }

    [Fact]
    public void ValidationNamesAMissingRequiredField()
    {
        var schema = ExtractionSchema.Parse(TestDocuments.InvoiceSchema);
        var errors = schema.Validate(JsonNode.Parse("""{"invoice_number":"A","date":"2024-01-02","amount":1}"""));
        Assert.Contains(errors, e => e.Message.Contains("'name'"));
        Assert.Empty(schema.Validate(JsonNode.Parse("""{"invoice_number":"A","date":"2024-01-02","amount":1,"name":"B"}""")));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1]", "must be a JSON object")]
    [InlineData("""{"type":"array"}""", "\"type\": \"object\"")]
    [InlineData("""{"type":"object"}""", "needs \"properties\"")]
    [InlineData("""{"type":"object","properties":{}}""", "needs \"properties\"")]
    [InlineData("""{"type":"object","properties":{"lines":{"type":"array"}}}""", "field 'lines': type 'array' is not a cell type")]
    [InlineData("""{"type":"object","properties":{"who":{}}}""", "field 'who': needs a \"type\"")]
    [InlineData("""{"type":"object","properties":{"n":{"type":"number","format":"date"}}}""", "field 'n': \"format\" applies to strings")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}},"required":["b"]}""", "\"required\" names 'b'")]
    [InlineData("""{"type":"object","properties":{"source_file":{"type":"string"}}}""", "field 'source_file': the name is taken")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":true}""", "\"additionalProperties\" must be false")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","not":{"const":"x"}}}}""", "cannot be enforced")]
    public void UnusableSchemasAreRefusedWithTheReason(string json, string expected)
    {
        var e = Assert.Throws<ExtractionSchemaException>(() => ExtractionSchema.Parse(json));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void TooManyFieldsAreRefused()
    {
        var properties = new JsonObject();
        for (int i = 0; i <= ExtractionSchema.MaxFields; i++) properties[$"f{i}"] = new JsonObject { ["type"] = "string" };
        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties };
        var e = Assert.Throws<ExtractionSchemaException>(() => ExtractionSchema.Parse(schema.ToJsonString()));
        Assert.Contains($"at most {ExtractionSchema.MaxFields}", e.Message);
    }
}
