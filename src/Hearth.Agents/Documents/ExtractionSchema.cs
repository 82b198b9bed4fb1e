using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Grammar;

namespace Hearth.Agents.Documents;

/// <summary>The kind of a field, which decides its cell type.</summary>
public enum FieldKind
{
    /// <summary>A string (a text cell).</summary>
    Text,

    /// <summary>A JSON number (a numeric cell).</summary>
    Number,

    /// <summary>A JSON integer (a numeric cell).</summary>
    Integer,

    /// <summary>A boolean (a TRUE/FALSE cell).</summary>
    Boolean,

    /// <summary>A string with <c>"format": "date"</c>, <c>YYYY-MM-DD</c> (a date cell).</summary>
    Date,

    /// <summary>A string with <c>"format": "date-time"</c>, RFC 3339 (a date-and-time cell, in the time written).</summary>
    DateTime,
}

/// <summary>One field of the schema: one column of the sheet.</summary>
/// <param name="Name">The property name, also the column header.</param>
/// <param name="Kind">What it holds.</param>
/// <param name="Required">Whether the schema requires it (a document's answer without it fails).</param>
/// <param name="Nullable">Whether null is allowed (written as an empty cell).</param>
/// <param name="Description">The schema's description, shown to the model.</param>
public sealed record SchemaField(string Name, FieldKind Kind, bool Required, bool Nullable, string? Description);

/// <summary>
/// The fields to extract, from a fields.json file: a JSON Schema object whose properties are the columns. Each property
/// has a <c>type</c> of string, number, integer or boolean (or that type and "null"); strings may have
/// <c>"format": "date"</c> or <c>"date-time"</c> (date cells); <c>description</c> tells the model what to look for;
/// <c>required</c> lists the fields every document must give. Other keywords that the constrained decoder supports
/// (enum, maxLength, pattern, integer bounds, ...) narrow the answers. <c>additionalProperties</c> is false (added when absent).
/// </summary>
public sealed class ExtractionSchema
{
    /// <summary>Most fields one schema may have.</summary>
    public const int MaxFields = 256;

    /// <summary>The column that names each row's document; no field may take this name.</summary>
    public const string SourceFileColumn = "source_file";

    private readonly JsonObject _schema;

    private ExtractionSchema(JsonObject schema, IReadOnlyList<SchemaField> fields)
    {
        _schema = schema;
        Fields = fields;
    }

    /// <summary>The fields, in the order the schema lists them.</summary>
    public IReadOnlyList<SchemaField> Fields { get; }

    /// <summary>A copy of the schema as it is enforced (with <c>additionalProperties: false</c>).</summary>
    public JsonObject Schema => (JsonObject)_schema.DeepClone();

    /// <summary>The schema's JSON text as it is enforced.</summary>
    public string SchemaJson => _schema.ToJsonString();

    /// <summary>Reads and checks a fields schema.</summary>
    /// <exception cref="ExtractionSchemaException">It is not JSON, not an object schema, has no fields or too many, a
    /// field's type is not a cell type, <c>required</c> names an unknown field, or the constrained decoder cannot enforce
    /// a keyword it uses. The message names the field.</exception>
    public static ExtractionSchema Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ExtractionSchemaException($"the fields schema is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject schema) throw new ExtractionSchemaException("the fields schema must be a JSON object ({\"type\": \"object\", \"properties\": {...}})");
        if (schema["type"] is not JsonValue t || t.GetValueKind() != JsonValueKind.String || t.GetValue<string>() != "object")
        {
            throw new ExtractionSchemaException("the fields schema must have \"type\": \"object\"");
        }

        if (schema["properties"] is not JsonObject properties || properties.Count == 0)
        {
            throw new ExtractionSchemaException("the fields schema needs \"properties\": an object with one entry per field to extract");
        }

        if (properties.Count > MaxFields) throw new ExtractionSchemaException($"the fields schema has {properties.Count} fields; at most {MaxFields}");
        var required = RequiredNames(schema, properties);
        var fields = properties.Select(p => Field(p.Key, p.Value, required.Contains(p.Key))).ToList();

        var enforced = (JsonObject)schema.DeepClone();
        switch (schema["additionalProperties"])
        {
            case null when !schema.ContainsKey("additionalProperties"):
                enforced["additionalProperties"] = false;
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.False:
                break;
            default:
                throw new ExtractionSchemaException("\"additionalProperties\" must be false or left out: the sheet has one column per listed property");
        }

        try
        {
            // Both the decoder and the validator must accept it now, not halfway through a folder of documents.
            JsonSchemaGrammar.FromSchema(enforced);
            JsonSchemaValidator.Validate(new JsonObject(), enforced);
        }
        catch (JsonSchemaException e)
        {
            throw new ExtractionSchemaException($"the fields schema cannot be enforced: {e.Message}", e);
        }
        catch (GrammarException e)
        {
            throw new ExtractionSchemaException($"the fields schema cannot be enforced: {e.Message}", e);
        }

        return new ExtractionSchema(enforced, fields);
    }

    /// <summary>The ways <paramref name="answer"/> breaks the schema (empty when it is valid).</summary>
    public IReadOnlyList<JsonSchemaError> Validate(JsonNode? answer) => JsonSchemaValidator.Validate(answer, _schema);

    private static HashSet<string> RequiredNames(JsonObject schema, JsonObject properties)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        switch (schema["required"])
        {
            case null:
                return names;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not JsonValue v || v.GetValueKind() != JsonValueKind.String) throw new ExtractionSchemaException("\"required\" must be an array of field names");
                    var name = v.GetValue<string>();
                    if (!properties.ContainsKey(name)) throw new ExtractionSchemaException($"\"required\" names '{name}', which is not among the properties");
                    names.Add(name);
                }

                return names;
            default:
                throw new ExtractionSchemaException("\"required\" must be an array of field names");
        }
    }

    private static SchemaField Field(string name, JsonNode? node, bool required)
    {
        if (name.Length is 0 or > 200 || name.Any(char.IsControl) || name.Trim().Length != name.Length)
        {
            throw new ExtractionSchemaException($"field '{name}': a field name must be 1 to 200 characters, without control characters or surrounding spaces");
        }

        if (name.Equals(SourceFileColumn, StringComparison.OrdinalIgnoreCase))
        {
            throw new ExtractionSchemaException($"field '{name}': the name is taken by the column that names each row's document");
        }

        if (node is not JsonObject field) throw new ExtractionSchemaException($"field '{name}': must be a schema object such as {{\"type\": \"string\"}}");
        var (type, nullable) = TypeOf(name, field["type"]);
        string? format = field["format"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? f.GetValue<string>() : null;
        if (format != null && type != "string") throw new ExtractionSchemaException($"field '{name}': \"format\" applies to strings, not to {type}");
        var kind = (type, format) switch
        {
            ("string", "date") => FieldKind.Date,
            ("string", "date-time") => FieldKind.DateTime,
            ("string", _) => FieldKind.Text,
            ("number", _) => FieldKind.Number,
            ("integer", _) => FieldKind.Integer,
            ("boolean", _) => FieldKind.Boolean,
            _ => throw new ExtractionSchemaException($"field '{name}': type '{type}' is not a cell type (use string, number, integer or boolean; a string with \"format\": \"date\" for dates)"),
        };
        string? description = field["description"] is JsonValue d && d.GetValueKind() == JsonValueKind.String ? d.GetValue<string>() : null;
        return new SchemaField(name, kind, required, nullable, description);
    }

    private static (string Type, bool Nullable) TypeOf(string name, JsonNode? type)
    {
        switch (type)
        {
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                return (v.GetValue<string>(), false);
            case JsonArray array:
                var names = array.Select(n => n is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : "").ToList();
                var others = names.Where(n => n != "null").ToList();
                if (others.Count == 1 && names.Count == others.Count + 1) return (others[0], true);
                break;
        }

        throw new ExtractionSchemaException($"field '{name}': needs a \"type\" of string, number, integer or boolean (or one of them and \"null\", as [\"string\", \"null\"])");
    }
}
