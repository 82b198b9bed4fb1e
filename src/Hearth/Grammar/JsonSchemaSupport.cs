using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Grammar;

/// <summary>Helpers shared by the schema-to-grammar converter and the validator: keyword tables, local
/// <c>$ref</c> resolution, typed keyword access with clear errors, JSON equality.</summary>
internal static class JsonSchemaSupport
{
    /// <summary>Annotations that never change which values are valid.</summary>
    public static readonly HashSet<string> Descriptive = new(StringComparer.Ordinal)
    {
        "title", "description", "examples", "$schema", "default", "$comment", "readOnly", "writeOnly", "deprecated",
        "contentMediaType", "contentEncoding", "$id",
    };

    public static readonly string[] TypeNames = ["null", "boolean", "object", "array", "number", "string", "integer"];

    public static readonly JsonSerializerOptions CompactJson = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = false,
    };

    /// <summary>The JSON text of a value, compact, with non-ASCII characters unescaped.</summary>
    public static string ToJson(JsonNode? node) => node is null ? "null" : node.ToJsonString(CompactJson);

    public static string Child(string path, string key) => path + "/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    public static string Child(string path, int index) => path + "/" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>Resolves a local reference (<c>#</c>, <c>#/$defs/x</c>, any JSON pointer into the root document).</summary>
    public static JsonNode Resolve(JsonNode root, string reference, string path)
    {
        if (!reference.StartsWith('#')) throw new JsonSchemaException(path, $"$ref '{reference}' is not local: only references into this schema ('#/...') are supported");
        string pointer = Uri.UnescapeDataString(reference[1..]);
        if (pointer.Length == 0) return root;
        if (pointer[0] != '/') throw new JsonSchemaException(path, $"$ref '{reference}': anchors are not supported, only JSON pointers such as '#/$defs/name'");
        JsonNode? node = root;
        foreach (var rawToken in pointer[1..].Split('/'))
        {
            string token = rawToken.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject obj when obj.TryGetPropertyValue(token, out var child) => child,
                JsonArray array when int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int i) && i < array.Count => array[i],
                _ => throw new JsonSchemaException(path, $"$ref '{reference}' points to nothing in this schema"),
            };
            if (node is null) throw new JsonSchemaException(path, $"$ref '{reference}' points to null, not a schema");
        }

        return node!;
    }

    public static string RefPath(string reference) => reference.Length == 0 ? "#" : Uri.UnescapeDataString(reference);

    public static JsonSchemaException Error(string path, string problem) => new(path, problem);

    public static int NonNegativeInt(JsonNode? value, string path, string keyword)
    {
        if (value is JsonValue v && TryNumber(v, out decimal d) && d >= 0 && d == decimal.Truncate(d))
        {
            return d > int.MaxValue ? int.MaxValue : (int)d;
        }

        throw Error(path, $"'{keyword}' must be a non-negative integer, not {ToJson(value)}");
    }

    public static decimal Number(JsonNode? value, string path, string keyword)
    {
        if (value is JsonValue v && TryNumber(v, out decimal d)) return d;
        throw Error(path, $"'{keyword}' must be a number, not {ToJson(value)}");
    }

    public static string String(JsonNode? value, string path, string keyword)
    {
        if (value is JsonValue v && v.GetValueKind() == JsonValueKind.String) return v.GetValue<string>();
        throw Error(path, $"'{keyword}' must be a string, not {ToJson(value)}");
    }

    public static bool Bool(JsonNode? value, string path, string keyword)
    {
        if (value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False) return v.GetValue<bool>();
        throw Error(path, $"'{keyword}' must be true or false, not {ToJson(value)}");
    }

    public static JsonArray Array(JsonNode? value, string path, string keyword) =>
        value as JsonArray ?? throw Error(path, $"'{keyword}' must be an array, not {ToJson(value)}");

    public static JsonObject Object(JsonNode? value, string path, string keyword) =>
        value as JsonObject ?? throw Error(path, $"'{keyword}' must be an object, not {ToJson(value)}");

    /// <summary>The type names of a <c>type</c> keyword (a string or an array of strings).</summary>
    public static List<string> Types(JsonNode? value, string path)
    {
        var names = new List<string>();
        if (value is JsonArray array)
        {
            foreach (var item in array) names.Add(String(item, path, "type"));
        }
        else
        {
            names.Add(String(value, path, "type"));
        }

        foreach (var n in names)
        {
            if (System.Array.IndexOf(TypeNames, n) < 0) throw Error(path, $"unknown type '{n}' (the types are {string.Join(", ", TypeNames)})");
        }

        if (names.Count == 0) throw Error(path, "'type' is an empty array: no value can match");
        return names.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>A JSON number as a decimal (false when it does not fit one).</summary>
    public static bool TryNumber(JsonValue value, out decimal d)
    {
        d = 0;
        if (value.GetValueKind() != JsonValueKind.Number) return false;
        if (value.TryGetValue(out d)) return true;
        if (value.TryGetValue(out JsonElement e)) return e.TryGetDecimal(out d);
        // Values built in code (JsonValue.Create(5), from a double, ...): read their JSON text.
        return decimal.TryParse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out d);
    }

    /// <summary>A JSON number as a double (infinite when out of range).</summary>
    public static double ToDouble(JsonValue value)
    {
        if (value.TryGetValue(out double x)) return x;
        if (value.TryGetValue(out JsonElement e))
        {
            return double.Parse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        return double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    /// <summary>JSON equality: numbers by value (1 equals 1.0), objects regardless of property order.</summary>
    public static bool JsonEquals(JsonNode? a, JsonNode? b)
    {
        if (a is null || b is null) return a is null && b is null;
        var ka = a.GetValueKind();
        var kb = b.GetValueKind();
        if (ka != kb) return false;
        switch (ka)
        {
            case JsonValueKind.Object:
            {
                var oa = a.AsObject();
                var ob = b.AsObject();
                if (oa.Count != ob.Count) return false;
                foreach (var (key, value) in oa)
                {
                    if (!ob.TryGetPropertyValue(key, out var other) || !JsonEquals(value, other)) return false;
                }

                return true;
            }

            case JsonValueKind.Array:
            {
                var aa = a.AsArray();
                var ab = b.AsArray();
                if (aa.Count != ab.Count) return false;
                for (int i = 0; i < aa.Count; i++)
                {
                    if (!JsonEquals(aa[i], ab[i])) return false;
                }

                return true;
            }

            case JsonValueKind.Number:
            {
                var va = a.AsValue();
                var vb = b.AsValue();
                if (TryNumber(va, out decimal da) && TryNumber(vb, out decimal db)) return da == db;
                return ToDouble(va).Equals(ToDouble(vb));
            }

            case JsonValueKind.String:
                return a.GetValue<string>() == b.GetValue<string>();
            default:
                return true; // true, false, null
        }
    }
}
