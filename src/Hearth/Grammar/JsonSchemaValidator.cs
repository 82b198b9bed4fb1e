using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Hearth.Grammar.JsonSchemaSupport;

namespace Hearth.Grammar;

/// <summary>One way an instance fails a schema.</summary>
/// <param name="InstancePath">Where in the instance, as a JSON pointer ("" is the whole instance).</param>
/// <param name="SchemaPath">The schema location of the failing keyword, as a JSON pointer fragment (<c>#/properties/age/minimum</c>).</param>
/// <param name="Message">What is wrong.</param>
public sealed record JsonSchemaError(string InstancePath, string SchemaPath, string Message)
{
    public override string ToString() => $"{(InstancePath.Length == 0 ? "the value" : $"'{InstancePath}'")}: {Message} ({SchemaPath})";
}

/// <summary>
/// Validates JSON values against a JSON Schema (draft 2020-12 keywords, plus draft-4/7 and OpenAPI spellings Hearth
/// meets in tool definitions). For checking constrained output and tool-call arguments. Fails closed: an unknown
/// keyword, a remote reference or a malformed schema is a <see cref="JsonSchemaException"/>, never ignored.
/// </summary>
/// <remarks>
/// Keywords: type, enum, const, properties, required, additionalProperties, patternProperties, propertyNames,
/// minProperties, maxProperties, dependentRequired, dependentSchemas, items (schema, boolean or draft-7 array),
/// prefixItems, additionalItems, contains, minContains, maxContains, minItems, maxItems, uniqueItems, minLength,
/// maxLength (in code points), pattern (ECMAScript semantics through .NET's ECMAScript mode; unanchored),
/// format (date, time, date-time, uuid checked; other formats are annotations, as the specification's default),
/// minimum, maximum, exclusiveMinimum, exclusiveMaximum (numeric or draft-4 boolean), multipleOf, anyOf, oneOf, allOf,
/// not, if/then/else, local $ref, $defs/definitions, nullable, boolean schemas; annotations are ignored.
/// </remarks>
public static class JsonSchemaValidator
{
    private const int MaxDepth = 256;

    private static readonly HashSet<string> s_keywords = new(StringComparer.Ordinal)
    {
        "type", "enum", "const", "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
        "minProperties", "maxProperties", "dependentRequired", "dependentSchemas", "items", "prefixItems",
        "additionalItems", "contains", "minContains", "maxContains", "minItems", "maxItems", "uniqueItems", "minLength",
        "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "anyOf", "oneOf", "allOf", "not", "if", "then", "else", "$ref", "$defs", "definitions", "nullable",
    };

    /// <summary>The ways <paramref name="instance"/> fails <paramref name="schema"/> (empty when valid).</summary>
    /// <exception cref="JsonSchemaException">The schema is malformed or uses an unsupported keyword or reference.</exception>
    public static IReadOnlyList<JsonSchemaError> Validate(JsonNode? instance, JsonNode schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return ValidateAgainst(instance, schema, schema);
    }

    /// <inheritdoc cref="Validate(JsonNode?, JsonNode)"/>
    public static IReadOnlyList<JsonSchemaError> Validate(JsonNode? instance, string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        return Validate(instance, JsonSchemaGrammar.ParseSchema(schemaJson));
    }

    /// <summary>Validates against a subschema whose references resolve in <paramref name="root"/>.</summary>
    internal static IReadOnlyList<JsonSchemaError> ValidateAgainst(JsonNode? instance, JsonNode schema, JsonNode root)
    {
        var context = new Context(root);
        context.Check(instance, schema, "", "#", 0);
        return context.Errors;
    }

    private sealed class Context(JsonNode root)
    {
        private readonly Dictionary<string, Regex> _regexes = new(StringComparer.Ordinal);

        public List<JsonSchemaError> Errors { get; } = [];

        private void Fail(string instancePath, string schemaPath, string message) => Errors.Add(new JsonSchemaError(instancePath, schemaPath, message));

        /// <summary>True when valid, without recording errors.</summary>
        private bool Valid(JsonNode? instance, JsonNode? schema, string instancePath, string schemaPath, int depth)
        {
            int count = Errors.Count;
            Check(instance, schema, instancePath, schemaPath, depth);
            bool ok = Errors.Count == count;
            Errors.RemoveRange(count, Errors.Count - count);
            return ok;
        }

        public void Check(JsonNode? instance, JsonNode? schema, string ip, string sp, int depth)
        {
            if (depth > MaxDepth) throw new JsonSchemaException(sp, "the schema nests too deeply (or its $refs loop without consuming the value)");
            switch (schema)
            {
                case JsonValue b when b.GetValueKind() == JsonValueKind.True:
                    return;
                case JsonValue b when b.GetValueKind() == JsonValueKind.False:
                    Fail(ip, sp, "no value is allowed here (the schema is false)");
                    return;
                case JsonObject:
                    break;
                default:
                    throw new JsonSchemaException(sp, $"a schema must be an object or a boolean, not {ToJson(schema)}");
            }

            var s = (JsonObject)schema;
            foreach (var (key, _) in s)
            {
                if (!s_keywords.Contains(key) && !Descriptive.Contains(key)) throw new JsonSchemaException(sp, $"unsupported keyword '{key}' (refusing to ignore it)");
            }

            var kind = instance?.GetValueKind() ?? JsonValueKind.Null;

            if (s.TryGetPropertyValue("$ref", out var refNode))
            {
                string reference = String(refNode, sp, "$ref");
                Check(instance, Resolve(root, reference, sp), ip, RefPath(reference), depth + 1);
            }

            if (s.TryGetPropertyValue("type", out var typeNode))
            {
                var types = Types(typeNode, sp);
                bool nullable = s.TryGetPropertyValue("nullable", out var n) && Bool(n, sp, "nullable");
                if (!types.Any(t => HasType(instance, kind, t)) && !(nullable && kind == JsonValueKind.Null))
                {
                    Fail(ip, Child(sp, "type"), $"expected {string.Join(" or ", types)}, found {Describe(kind)}");
                }
            }

            if (s.TryGetPropertyValue("enum", out var enumNode) && !Array(enumNode, sp, "enum").Any(v => JsonEquals(v, instance)))
            {
                Fail(ip, Child(sp, "enum"), $"{Short(instance)} is not one of {ToJson(enumNode)}");
            }

            if (s.TryGetPropertyValue("const", out var constNode) && !JsonEquals(constNode, instance))
            {
                Fail(ip, Child(sp, "const"), $"{Short(instance)} is not {ToJson(constNode)}");
            }

            switch (kind)
            {
                case JsonValueKind.String:
                    string text;
                    try
                    {
                        text = instance!.GetValue<string>();
                    }
                    catch (InvalidOperationException)
                    {
                        Fail(ip, sp, "the string is not valid Unicode (it has a lone surrogate escape)");
                        break;
                    }

                    CheckString(text, s, ip, sp);
                    break;
                case JsonValueKind.Number:
                    CheckNumber(instance!.AsValue(), s, ip, sp);
                    break;
                case JsonValueKind.Array:
                    CheckArray(instance!.AsArray(), s, ip, sp, depth);
                    break;
                case JsonValueKind.Object:
                    CheckObject(instance!.AsObject(), s, ip, sp, depth);
                    break;
            }

            if (s.TryGetPropertyValue("allOf", out var allOf))
            {
                var items = Array(allOf, sp, "allOf");
                for (int i = 0; i < items.Count; i++) Check(instance, items[i], ip, Child(Child(sp, "allOf"), i), depth + 1);
            }

            if (s.TryGetPropertyValue("anyOf", out var anyOf))
            {
                var items = Array(anyOf, sp, "anyOf");
                bool any = false;
                for (int i = 0; i < items.Count && !any; i++) any = Valid(instance, items[i], ip, Child(Child(sp, "anyOf"), i), depth + 1);
                if (!any) Fail(ip, Child(sp, "anyOf"), "matches none of the anyOf alternatives");
            }

            if (s.TryGetPropertyValue("oneOf", out var oneOf))
            {
                var items = Array(oneOf, sp, "oneOf");
                int matches = 0;
                for (int i = 0; i < items.Count; i++)
                {
                    if (Valid(instance, items[i], ip, Child(Child(sp, "oneOf"), i), depth + 1)) matches++;
                }

                if (matches != 1) Fail(ip, Child(sp, "oneOf"), matches == 0 ? "matches none of the oneOf alternatives" : $"matches {matches} of the oneOf alternatives, not exactly one");
            }

            if (s.TryGetPropertyValue("not", out var not) && Valid(instance, not, ip, Child(sp, "not"), depth + 1))
            {
                Fail(ip, Child(sp, "not"), "matches the schema under 'not'");
            }

            if (s.TryGetPropertyValue("if", out var ifNode))
            {
                if (Valid(instance, ifNode, ip, Child(sp, "if"), depth + 1))
                {
                    if (s.TryGetPropertyValue("then", out var then)) Check(instance, then, ip, Child(sp, "then"), depth + 1);
                }
                else if (s.TryGetPropertyValue("else", out var elseNode))
                {
                    Check(instance, elseNode, ip, Child(sp, "else"), depth + 1);
                }
            }
        }

        private static bool HasType(JsonNode? instance, JsonValueKind kind, string type) => type switch
        {
            "null" => kind == JsonValueKind.Null,
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False,
            "object" => kind == JsonValueKind.Object,
            "array" => kind == JsonValueKind.Array,
            "string" => kind == JsonValueKind.String,
            "number" => kind == JsonValueKind.Number,
            "integer" => kind == JsonValueKind.Number && IsInteger(instance!.AsValue()),
            _ => false,
        };

        private static bool IsInteger(JsonValue v)
        {
            if (TryNumber(v, out decimal d)) return d == decimal.Truncate(d);
            double x = ToDouble(v);
            return double.IsFinite(x) && x == Math.Floor(x);
        }

        private static string Describe(JsonValueKind kind) => kind switch
        {
            JsonValueKind.Null => "null",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            _ => kind.ToString(),
        };

        private static string Short(JsonNode? value)
        {
            string text = ToJson(value);
            return text.Length <= 60 ? text : text[..57] + "...";
        }

        // ------------------------------------------------------------------ strings

        private void CheckString(string value, JsonObject s, string ip, string sp)
        {
            int length = 0;
            foreach (var _ in value.EnumerateRunes()) length++;
            if (s.TryGetPropertyValue("minLength", out var min) && length < NonNegativeInt(min, sp, "minLength"))
            {
                Fail(ip, Child(sp, "minLength"), $"has {length} characters, fewer than {NonNegativeInt(min, sp, "minLength")}");
            }

            if (s.TryGetPropertyValue("maxLength", out var max) && length > NonNegativeInt(max, sp, "maxLength"))
            {
                Fail(ip, Child(sp, "maxLength"), $"has {length} characters, more than {NonNegativeInt(max, sp, "maxLength")}");
            }

            if (s.TryGetPropertyValue("pattern", out var patternNode))
            {
                string pattern = String(patternNode, sp, "pattern");
                bool match;
                try
                {
                    match = Regex(pattern, sp).IsMatch(value);
                }
                catch (RegexMatchTimeoutException)
                {
                    throw new JsonSchemaException(sp, $"pattern '{pattern}' takes too long to match");
                }

                if (!match) Fail(ip, Child(sp, "pattern"), $"{Short(JsonValue.Create(value))} does not match the pattern '{pattern}'");
            }

            if (s.TryGetPropertyValue("format", out var formatNode))
            {
                string format = String(formatNode, sp, "format");
                bool? ok = format switch
                {
                    "date" => IsDate(value),
                    "time" => IsTime(value),
                    "date-time" => IsDateTime(value),
                    "uuid" => IsUuid(value),
                    _ => null, // other formats are annotations
                };
                if (ok == false) Fail(ip, Child(sp, "format"), $"{Short(JsonValue.Create(value))} is not a valid {format}");
            }
        }

        private Regex Regex(string pattern, string sp)
        {
            if (_regexes.TryGetValue(pattern, out var regex)) return regex;
            // ECMA-262: '$' matches only at the very end (not before a final newline, as .NET's does).
            string translated = EndAnchors(pattern);
            try
            {
                regex = new Regex(translated, RegexOptions.ECMAScript | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
            }
            catch (ArgumentException)
            {
                try
                {
                    regex = new Regex(translated, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(2));
                }
                catch (ArgumentException e)
                {
                    throw new JsonSchemaException(sp, $"pattern '{pattern}' is not a supported regular expression: {e.Message}");
                }
            }

            _regexes[pattern] = regex;
            return regex;
        }

        private static string EndAnchors(string pattern)
        {
            var sb = new StringBuilder(pattern.Length + 4);
            bool inClass = false;
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                if (c == '\\' && i + 1 < pattern.Length)
                {
                    sb.Append(c).Append(pattern[++i]);
                    continue;
                }

                if (inClass)
                {
                    if (c == ']') inClass = false;
                    sb.Append(c);
                }
                else if (c == '[')
                {
                    inClass = true;
                    sb.Append(c);
                }
                else if (c == '$')
                {
                    sb.Append("\\z");
                }
                else
                {
                    sb.Append(c);
                }
            }

            return sb.ToString();
        }

        internal static bool IsDate(string s) =>
            s.Length == 10 && s[4] == '-' && s[7] == '-' &&
            DateOnly.TryParseExact(s, "yyyy'-'MM'-'dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

        internal static bool IsTime(string s)
        {
            if (s.Length < 9 || s[2] != ':' || s[5] != ':') return false;
            if (!TwoDigits(s, 0, 23) || !TwoDigits(s, 3, 59) || !TwoDigits(s, 6, 60)) return false;
            int i = 8;
            if (i < s.Length && s[i] == '.')
            {
                int start = ++i;
                while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
                if (i == start) return false;
            }

            if (i == s.Length) return false;
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == s.Length) return true;
            return (s[i] == '+' || s[i] == '-') && s.Length == i + 6 && s[i + 3] == ':' && TwoDigits(s, i + 1, 23) && TwoDigits(s, i + 4, 59);
        }

        private static bool TwoDigits(string s, int at, int max) =>
            at + 1 < s.Length && char.IsAsciiDigit(s[at]) && char.IsAsciiDigit(s[at + 1]) && (s[at] - '0') * 10 + (s[at + 1] - '0') <= max;

        internal static bool IsDateTime(string s)
        {
            int t = s.IndexOfAny(['T', 't']);
            return t == 10 && IsDate(s[..10]) && IsTime(s[11..]);
        }

        internal static bool IsUuid(string s)
        {
            if (s.Length != 36) return false;
            for (int i = 0; i < 36; i++)
            {
                bool dash = i is 8 or 13 or 18 or 23;
                if (dash ? s[i] != '-' : !char.IsAsciiHexDigit(s[i])) return false;
            }

            return true;
        }

        // ------------------------------------------------------------------ numbers

        private void CheckNumber(JsonValue value, JsonObject s, string ip, string sp)
        {
            bool exact = TryNumber(value, out decimal d);
            double x = exact ? (double)d : ToDouble(value);
            int Compare(JsonNode? bound, string keyword)
            {
                decimal b = Number(bound, sp, keyword);
                return exact ? d.CompareTo(b) : x.CompareTo((double)b);
            }

            bool draft4Min = s.TryGetPropertyValue("exclusiveMinimum", out var xmin) && xmin is JsonValue bmin && bmin.GetValueKind() is JsonValueKind.True;
            bool draft4Max = s.TryGetPropertyValue("exclusiveMaximum", out var xmax) && xmax is JsonValue bmax && bmax.GetValueKind() is JsonValueKind.True;
            if (s.TryGetPropertyValue("minimum", out var min))
            {
                int c = Compare(min, "minimum");
                if (c < 0 || (draft4Min && c == 0)) Fail(ip, Child(sp, "minimum"), $"{Short(value)} is below the minimum {ToJson(min)}{(draft4Min ? " (exclusive)" : "")}");
            }

            if (s.TryGetPropertyValue("maximum", out var max))
            {
                int c = Compare(max, "maximum");
                if (c > 0 || (draft4Max && c == 0)) Fail(ip, Child(sp, "maximum"), $"{Short(value)} is above the maximum {ToJson(max)}{(draft4Max ? " (exclusive)" : "")}");
            }

            if (xmin is JsonValue nmin && nmin.GetValueKind() == JsonValueKind.Number && Compare(xmin, "exclusiveMinimum") <= 0)
            {
                Fail(ip, Child(sp, "exclusiveMinimum"), $"{Short(value)} is not above {ToJson(xmin)}");
            }

            if (xmax is JsonValue nmax && nmax.GetValueKind() == JsonValueKind.Number && Compare(xmax, "exclusiveMaximum") >= 0)
            {
                Fail(ip, Child(sp, "exclusiveMaximum"), $"{Short(value)} is not below {ToJson(xmax)}");
            }

            if (s.TryGetPropertyValue("multipleOf", out var multiple))
            {
                decimal m = Number(multiple, sp, "multipleOf");
                if (m <= 0) throw new JsonSchemaException(sp, "'multipleOf' must be above 0");
                bool ok = exact ? d % m == 0 : Math.Abs(Math.IEEERemainder(x, (double)m)) < 1e-9 * Math.Max(1, Math.Abs(x));
                if (!ok) Fail(ip, Child(sp, "multipleOf"), $"{Short(value)} is not a multiple of {ToJson(multiple)}");
            }
        }

        // ------------------------------------------------------------------ arrays

        private void CheckArray(JsonArray array, JsonObject s, string ip, string sp, int depth)
        {
            int prefixCount = 0;
            if (s.TryGetPropertyValue("prefixItems", out var prefixNode))
            {
                var prefix = Array(prefixNode, sp, "prefixItems");
                prefixCount = prefix.Count;
                for (int i = 0; i < Math.Min(prefix.Count, array.Count); i++) Check(array[i], prefix[i], Child(ip, i), Child(Child(sp, "prefixItems"), i), depth + 1);
            }

            if (s.TryGetPropertyValue("items", out var items))
            {
                if (items is JsonArray tuple)
                {
                    prefixCount = tuple.Count;
                    for (int i = 0; i < Math.Min(tuple.Count, array.Count); i++) Check(array[i], tuple[i], Child(ip, i), Child(Child(sp, "items"), i), depth + 1);
                    if (s.TryGetPropertyValue("additionalItems", out var additional))
                    {
                        for (int i = tuple.Count; i < array.Count; i++) Check(array[i], additional, Child(ip, i), Child(sp, "additionalItems"), depth + 1);
                    }
                }
                else
                {
                    for (int i = prefixCount; i < array.Count; i++) Check(array[i], items, Child(ip, i), Child(sp, "items"), depth + 1);
                }
            }

            if (s.TryGetPropertyValue("minItems", out var min) && array.Count < NonNegativeInt(min, sp, "minItems"))
            {
                Fail(ip, Child(sp, "minItems"), $"has {array.Count} items, fewer than {NonNegativeInt(min, sp, "minItems")}");
            }

            if (s.TryGetPropertyValue("maxItems", out var max) && array.Count > NonNegativeInt(max, sp, "maxItems"))
            {
                Fail(ip, Child(sp, "maxItems"), $"has {array.Count} items, more than {NonNegativeInt(max, sp, "maxItems")}");
            }

            if (s.TryGetPropertyValue("uniqueItems", out var unique) && Bool(unique, sp, "uniqueItems"))
            {
                for (int i = 0; i < array.Count; i++)
                {
                    for (int j = i + 1; j < array.Count; j++)
                    {
                        if (JsonEquals(array[i], array[j]))
                        {
                            Fail(ip, Child(sp, "uniqueItems"), $"items {i} and {j} are equal");
                            i = array.Count;
                            break;
                        }
                    }
                }
            }

            if (s.TryGetPropertyValue("contains", out var contains))
            {
                int matches = 0;
                for (int i = 0; i < array.Count; i++)
                {
                    if (Valid(array[i], contains, Child(ip, i), Child(sp, "contains"), depth + 1)) matches++;
                }

                int minContains = s.TryGetPropertyValue("minContains", out var mc) ? NonNegativeInt(mc, sp, "minContains") : 1;
                if (matches < minContains) Fail(ip, Child(sp, "contains"), $"has {matches} items matching 'contains', fewer than {minContains}");
                if (s.TryGetPropertyValue("maxContains", out var xc) && matches > NonNegativeInt(xc, sp, "maxContains"))
                {
                    Fail(ip, Child(sp, "maxContains"), $"has {matches} items matching 'contains', more than {NonNegativeInt(xc, sp, "maxContains")}");
                }
            }
        }

        // ------------------------------------------------------------------ objects

        private void CheckObject(JsonObject obj, JsonObject s, string ip, string sp, int depth)
        {
            try
            {
                _ = obj.Count; // a parsed object with a repeated name fails when first materialized
            }
            catch (ArgumentException)
            {
                Fail(ip, sp, "the object has a property name more than once");
                return;
            }

            var properties = s.TryGetPropertyValue("properties", out var p) ? Object(p, sp, "properties") : null;
            var patterns = s.TryGetPropertyValue("patternProperties", out var pp) ? Object(pp, sp, "patternProperties") : null;
            s.TryGetPropertyValue("additionalProperties", out var additional);

            if (s.TryGetPropertyValue("required", out var required))
            {
                foreach (var name in Array(required, sp, "required"))
                {
                    string key = String(name, sp, "required");
                    if (!obj.ContainsKey(key)) Fail(ip, Child(sp, "required"), $"the required property '{key}' is missing");
                }
            }

            foreach (var (key, value) in obj)
            {
                bool matched = false;
                if (properties is not null && properties.TryGetPropertyValue(key, out var propertySchema))
                {
                    matched = true;
                    Check(value, propertySchema, Child(ip, key), Child(Child(sp, "properties"), key), depth + 1);
                }

                if (patterns is not null)
                {
                    foreach (var (pattern, schema) in patterns)
                    {
                        if (!Regex(pattern, sp).IsMatch(key)) continue;
                        matched = true;
                        Check(value, schema, Child(ip, key), Child(Child(sp, "patternProperties"), pattern), depth + 1);
                    }
                }

                if (!matched && additional is not null)
                {
                    if (additional is JsonValue f && f.GetValueKind() == JsonValueKind.False)
                    {
                        Fail(Child(ip, key), Child(sp, "additionalProperties"), $"the property '{key}' is not allowed");
                    }
                    else
                    {
                        Check(value, additional, Child(ip, key), Child(sp, "additionalProperties"), depth + 1);
                    }
                }

                if (s.TryGetPropertyValue("propertyNames", out var names))
                {
                    Check(JsonValue.Create(key), names, Child(ip, key), Child(sp, "propertyNames"), depth + 1);
                }
            }

            if (s.TryGetPropertyValue("minProperties", out var min) && obj.Count < NonNegativeInt(min, sp, "minProperties"))
            {
                Fail(ip, Child(sp, "minProperties"), $"has {obj.Count} properties, fewer than {NonNegativeInt(min, sp, "minProperties")}");
            }

            if (s.TryGetPropertyValue("maxProperties", out var max) && obj.Count > NonNegativeInt(max, sp, "maxProperties"))
            {
                Fail(ip, Child(sp, "maxProperties"), $"has {obj.Count} properties, more than {NonNegativeInt(max, sp, "maxProperties")}");
            }

            if (s.TryGetPropertyValue("dependentRequired", out var dr))
            {
                foreach (var (key, list) in Object(dr, sp, "dependentRequired"))
                {
                    if (!obj.ContainsKey(key)) continue;
                    foreach (var n in Array(list, sp, "dependentRequired"))
                    {
                        string other = String(n, sp, "dependentRequired");
                        if (!obj.ContainsKey(other)) Fail(ip, Child(Child(sp, "dependentRequired"), key), $"'{key}' requires '{other}'");
                    }
                }
            }

            if (s.TryGetPropertyValue("dependentSchemas", out var ds))
            {
                foreach (var (key, schema) in Object(ds, sp, "dependentSchemas"))
                {
                    if (obj.ContainsKey(key)) Check(obj, schema, ip, Child(Child(sp, "dependentSchemas"), key), depth + 1);
                }
            }
        }
    }
}
