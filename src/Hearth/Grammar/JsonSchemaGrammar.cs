using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using static Hearth.Grammar.JsonSchemaSupport;

namespace Hearth.Grammar;

/// <summary>
/// Turns a JSON Schema into a <see cref="Grammar"/> whose sentences are JSON texts valid under the schema (in the
/// manner of llama.cpp's <c>json-schema-to-grammar</c>, stricter where that one is lax). Fails closed: a keyword that
/// would change which values are valid and that cannot be enforced is a <see cref="JsonSchemaException"/>, never
/// silently ignored.
/// </summary>
/// <remarks>
/// <para>Supported: <c>type</c> (one or an array), <c>properties</c>, <c>required</c>, <c>additionalProperties</c>
/// (false, true or a schema), <c>enum</c>, <c>const</c>, <c>items</c> (and the array form with <c>additionalItems</c>),
/// <c>prefixItems</c>, <c>minItems</c>, <c>maxItems</c>, <c>uniqueItems: false</c>, <c>minLength</c>,
/// <c>maxLength</c>, <c>pattern</c> (the subset described on <see cref="SchemaPattern"/>), <c>format</c> date, time,
/// date-time and uuid, integer <c>minimum</c>/<c>maximum</c>/<c>exclusiveMinimum</c>/<c>exclusiveMaximum</c>,
/// <c>anyOf</c>, <c>oneOf</c> (only when the alternatives provably cannot match the same value), <c>allOf</c>
/// (merged keyword by keyword), local <c>$ref</c> (<c>#</c>, <c>#/$defs/...</c>, <c>#/definitions/...</c>, any JSON
/// pointer; recursion allowed), <c>nullable</c>, and boolean schemas. Ignored as annotations: title, description,
/// examples, default, $schema, $comment, $id (at the root), readOnly, writeOnly, deprecated, contentMediaType,
/// contentEncoding.</para>
/// <para>Choices that narrow the output without breaking validity: properties come in the order the schema lists them,
/// required ones first; an object without <c>additionalProperties</c> gets no other properties (as llama.cpp); additional
/// property names use no escapes; strings are produced without <c>\uXXXX</c> escapes of surrogates; numbers have at
/// most 16 integer digits (bounded integers too); the dates generated never use February 29; whitespace between tokens
/// is bounded (<c>space ::= | " " | "\n"{1,2} [ \t]{0,20}</c>) so a model cannot loop on spaces.</para>
/// <para>Rejected: <c>not</c>, <c>if</c>/<c>then</c>/<c>else</c>, <c>patternProperties</c>, <c>propertyNames</c>,
/// <c>contains</c>, <c>uniqueItems: true</c>, <c>multipleOf</c>, bounds on non-integer numbers, <c>minProperties</c>
/// above the required count, <c>maxProperties</c> below what could be generated, remote or anchor references, a nested
/// <c>$id</c>, formats other than the four above, a pattern combined with a length or format, and anything else unknown.</para>
/// </remarks>
public static class JsonSchemaGrammar
{
    private static readonly Lazy<Grammar> s_anyObject = new(() => Grammar.Parse(new Converter(new JsonObject()).AnyObjectGbnf()));
    private static readonly Lazy<Grammar> s_anyValue = new(() => FromSchema(new JsonObject()));

    /// <summary>The grammar of a JSON text valid under <paramref name="schemaJson"/>.</summary>
    /// <exception cref="JsonSchemaException">The schema is not valid JSON, is malformed, uses something unsupported, or
    /// admits no value.</exception>
    public static Grammar FromSchema(string schemaJson)
    {
        ArgumentNullException.ThrowIfNull(schemaJson);
        return FromSchema(ParseSchema(schemaJson));
    }

    /// <inheritdoc cref="FromSchema(string)"/>
    public static Grammar FromSchema(JsonNode schema) => Grammar.Parse(ToGbnf(schema));

    /// <summary>The GBNF text <see cref="FromSchema(JsonNode)"/> compiles.</summary>
    public static string ToGbnf(JsonNode schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        return new Converter(schema).Convert();
    }

    /// <inheritdoc cref="ToGbnf(JsonNode)"/>
    public static string ToGbnf(string schemaJson) => ToGbnf(ParseSchema(schemaJson));

    /// <summary>Any JSON object (for <c>response_format: json_object</c>).</summary>
    public static Grammar AnyJsonObject => s_anyObject.Value;

    /// <summary>Any JSON value.</summary>
    public static Grammar AnyJsonValue => s_anyValue.Value;

    internal static JsonNode ParseSchema(string schemaJson)
    {
        try
        {
            return JsonNode.Parse(schemaJson) ?? throw new JsonSchemaException("#", "the schema is null");
        }
        catch (JsonException e)
        {
            throw new JsonSchemaException("#", $"the schema is not valid JSON: {e.Message}");
        }
    }

    /// <summary>One conversion: rules by name, references already named, the root document.</summary>
    internal sealed class Converter
    {
        private const string Space = "| \" \" | \"\\n\"{1,2} [ \\t]{0,20}";
        private const int MaxStringLength = 100_000;
        private const long IntegerCap = 9_999_999_999_999_999; // 16 digits, as the unbounded integer rule

        private static readonly HashSet<string> s_supported = new(StringComparer.Ordinal)
        {
            "type", "enum", "const", "properties", "required", "additionalProperties", "items", "prefixItems",
            "additionalItems", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format",
            "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref", "$defs",
            "definitions", "nullable", "minProperties", "maxProperties", "multipleOf",
        };

        private static readonly Dictionary<string, string> s_unsupportedHints = new(StringComparer.Ordinal)
        {
            ["not"] = "'not' cannot be enforced by a grammar",
            ["if"] = "conditionals (if/then/else) are not supported",
            ["then"] = "conditionals (if/then/else) are not supported",
            ["else"] = "conditionals (if/then/else) are not supported",
            ["patternProperties"] = "'patternProperties' is not supported",
            ["propertyNames"] = "'propertyNames' is not supported",
            ["contains"] = "'contains' is not supported",
            ["minContains"] = "'minContains' is not supported",
            ["maxContains"] = "'maxContains' is not supported",
            ["dependentRequired"] = "'dependentRequired' is not supported",
            ["dependentSchemas"] = "'dependentSchemas' is not supported",
            ["dependencies"] = "'dependencies' is not supported",
            ["unevaluatedProperties"] = "'unevaluatedProperties' is not supported",
            ["unevaluatedItems"] = "'unevaluatedItems' is not supported",
            ["$anchor"] = "'$anchor' is not supported (use '$ref' with a JSON pointer)",
            ["$dynamicRef"] = "'$dynamicRef' is not supported",
            ["$dynamicAnchor"] = "'$dynamicAnchor' is not supported",
            ["$recursiveRef"] = "'$recursiveRef' is not supported",
            ["$recursiveAnchor"] = "'$recursiveAnchor' is not supported",
        };

        private readonly JsonNode _root;
        private readonly Dictionary<string, string> _rules = new(StringComparer.Ordinal);
        private readonly List<string> _order = [];
        private readonly Dictionary<string, string> _refRules = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> _primitives = new(StringComparer.Ordinal);
        private readonly List<string> _pureRefChain = [];
        private readonly HashSet<string> _flattening = new(StringComparer.Ordinal);

        public Converter(JsonNode root) => _root = root;

        public string Convert()
        {
            string expr = Visit(_root, "#", "root");
            if (expr != "root")
            {
                _rules["root"] = expr;
                _order.Insert(0, "root");
            }

            var sb = new StringBuilder();
            foreach (var name in _order) sb.Append(name).Append(" ::= ").Append(_rules[name]).Append('\n');
            return sb.ToString();
        }

        public string AnyObjectGbnf()
        {
            string obj = Primitive("object");
            _rules["root"] = obj;
            _order.Insert(0, "root");
            var sb = new StringBuilder();
            foreach (var name in _order) sb.Append(name).Append(" ::= ").Append(_rules[name]).Append('\n');
            return sb.ToString();
        }

        // ------------------------------------------------------------------ rules

        private static string Sanitize(string name)
        {
            string s = Regex.Replace(name, "[^a-zA-Z0-9-]+", "-");
            return s.Length == 0 ? "rule" : s;
        }

        /// <summary>Adds a rule under <paramref name="name"/> (or a numbered variant if taken by another body).</summary>
        private string AddRule(string name, string body)
        {
            string baseName = Sanitize(name);
            string key = baseName;
            for (int i = 0; ; i++)
            {
                if (!_rules.TryGetValue(key, out var existing))
                {
                    _rules[key] = body;
                    _order.Add(key);
                    return key;
                }

                if (existing == body) return key;
                key = baseName + i.ToString(CultureInfo.InvariantCulture);
            }
        }

        /// <summary>Reserves a name for a rule whose body is set later (recursive references).</summary>
        private string ReserveRule(string name)
        {
            string baseName = Sanitize(name);
            string key = baseName;
            for (int i = 0; _rules.ContainsKey(key); i++) key = baseName + i.ToString(CultureInfo.InvariantCulture);
            _rules[key] = "";
            _order.Add(key);
            return key;
        }

        private string Primitive(string name)
        {
            if (_primitives.TryGetValue(name, out var existing)) return existing;
            if (name is "value" or "object" or "array")
            {
                // Recursive: name the rule before building the bodies that refer back to it.
                string reserved = ReserveRule(name);
                _primitives[name] = reserved;
                _rules[reserved] = PrimitiveBody(name);
                return reserved;
            }

            string actual = AddRule(name, PrimitiveBody(name));
            _primitives[name] = actual;
            return actual;
        }

        private string PrimitiveBody(string name)
        {
            switch (name)
            {
                case "space": return Space;
                case "char": return "[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\/bfnrt] | \"u\" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))";
                case "key-char": return "[^\"\\\\\\x7F\\x00-\\x1F]";
                case "integral-part": return "[0] | [1-9] [0-9]{0,15}";
                case "decimal-part": return "[0-9]{1,16}";
                case "integer": return $"(\"-\"? {Primitive("integral-part")}) {Primitive("space")}";
                case "number":
                {
                    string ip = Primitive("integral-part");
                    return $"(\"-\"? {ip}) (\".\" {Primitive("decimal-part")})? ([eE] [-+]? {ip})? {Primitive("space")}";
                }

                case "boolean": return $"(\"true\" | \"false\") {Primitive("space")}";
                case "null": return $"\"null\" {Primitive("space")}";
                case "string": return $"\"\\\"\" {Primitive("char")}* \"\\\"\" {Primitive("space")}";
                case "value":
                    return $"{Primitive("object")} | {Primitive("array")} | {Primitive("string")} | {Primitive("number")} | {Primitive("boolean")} | {Primitive("null")}";
                case "object":
                {
                    string sp = Primitive("space"), str = Primitive("string"), val = Primitive("value");
                    return $"\"{{\" {sp} ( {str} \":\" {sp} {val} (\",\" {sp} {str} \":\" {sp} {val})* )? \"}}\" {sp}";
                }

                case "array":
                {
                    string sp = Primitive("space"), val = Primitive("value");
                    return $"\"[\" {sp} ( {val} (\",\" {sp} {val})* )? \"]\" {sp}";
                }

                case "date":
                    return "[0-9]{4} \"-\" ( (\"0\" [13578] | \"1\" [02]) \"-\" (\"0\" [1-9] | [12] [0-9] | \"3\" [01]) | (\"0\" [469] | \"11\") \"-\" (\"0\" [1-9] | [12] [0-9] | \"30\") | \"02-\" (\"0\" [1-9] | \"1\" [0-9] | \"2\" [0-8]) )";
                case "time":
                    return "([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9] \":\" [0-5] [0-9] (\".\" [0-9]{1,9})? (\"Z\" | [+\\-] ([01] [0-9] | \"2\" [0-3]) \":\" [0-5] [0-9])";
                case "date-time":
                    return $"{Primitive("date")} \"T\" {Primitive("time")}";
                case "uuid":
                    return "[0-9a-fA-F]{8} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{4} \"-\" [0-9a-fA-F]{12}";
                default:
                    throw new InvalidOperationException($"no primitive rule '{name}'");
            }
        }

        private static string Literal(string text) => GbnfWriter.Literal(text);

        /// <summary>The GBNF literal for a JSON string's text, quotes included (e.g. <c>"\"name\""</c>).</summary>
        private static string JsonStringLiteral(string value) => Literal(JsonSerializer.Serialize(value, CompactJson));

        // ------------------------------------------------------------------ schema walking

        private static bool IsPureRef(JsonObject obj) =>
            obj.ContainsKey("$ref") && obj.All(kv => kv.Key == "$ref" || Descriptive.Contains(kv.Key) || kv.Key is "$defs" or "definitions");

        private string Visit(JsonNode? schema, string path, string name)
        {
            if (schema is JsonObject obj && IsPureRef(obj))
            {
                string reference = String(obj["$ref"], path, "$ref");
                if (_pureRefChain.Contains(reference)) throw Error(path, $"circular $ref '{reference}': the references lead back to themselves without any value in between");
                _pureRefChain.Add(reference);
                try
                {
                    return RefRule(reference, path);
                }
                finally
                {
                    _pureRefChain.RemoveAt(_pureRefChain.Count - 1);
                }
            }

            var saved = _pureRefChain.ToArray();
            _pureRefChain.Clear();
            try
            {
                var flat = Flatten(schema, path, path != "#");
                if (flat is null) throw Error(path, "the schema admits no value (it is false, or its constraints contradict each other)");
                return VisitFlat(flat, path, name);
            }
            finally
            {
                _pureRefChain.Clear();
                _pureRefChain.AddRange(saved);
            }
        }

        private string RefRule(string reference, string path)
        {
            if (_refRules.TryGetValue(reference, out var existing)) return existing;
            var target = Resolve(_root, reference, path);
            string hint = reference.Length <= 1 ? "root-ref" : reference[(reference.LastIndexOf('/') + 1)..];
            string name = ReserveRule(hint);
            _refRules[reference] = name;
            string body = Visit(target, RefPath(reference), name);
            if (body == name) throw Error(path, $"circular $ref '{reference}'");
            _rules[name] = body;
            return name;
        }

        /// <summary>
        /// One schema object with <c>$ref</c> (when it has siblings), <c>allOf</c>, <c>const</c>, <c>nullable</c> and the
        /// draft-4 boolean exclusive bounds folded in; null when it admits no value. Unknown keywords are errors here.
        /// </summary>
        private JsonObject? Flatten(JsonNode? schema, string path, bool nested)
        {
            switch (schema)
            {
                case JsonValue v when v.GetValueKind() == JsonValueKind.True:
                    return new JsonObject();
                case JsonValue v when v.GetValueKind() == JsonValueKind.False:
                    return null;
                case JsonObject:
                    break;
                default:
                    throw Error(path, $"a schema must be an object or a boolean, not {ToJson(schema)}");
            }

            var source = (JsonObject)schema;
            var own = new JsonObject();
            var members = new List<JsonObject?>();
            foreach (var (key, value) in source)
            {
                if (key == "$id" && nested) throw Error(path, "'$id' inside a schema is not supported (it changes how references resolve)");
                if (Descriptive.Contains(key) || key is "$defs" or "definitions") continue;
                if (!s_supported.Contains(key))
                {
                    if (s_unsupportedHints.TryGetValue(key, out var hint)) throw Error(path, hint);
                    throw Error(path, $"unknown keyword '{key}' (refusing to ignore it, since it might restrict the values)");
                }

                switch (key)
                {
                    case "$ref":
                    {
                        string reference = String(value, path, "$ref");
                        if (!_flattening.Add(reference)) throw Error(path, $"circular $ref '{reference}' in a schema that must be merged");
                        try
                        {
                            members.Add(Flatten(Resolve(_root, reference, path), RefPath(reference), nested: true));
                        }
                        finally
                        {
                            _flattening.Remove(reference);
                        }

                        break;
                    }

                    case "allOf":
                    {
                        var items = Array(value, path, "allOf");
                        if (items.Count == 0) throw Error(path, "'allOf' must not be empty");
                        for (int i = 0; i < items.Count; i++) members.Add(Flatten(items[i], Child(Child(path, "allOf"), i), nested: true));
                        break;
                    }

                    case "const":
                        own["enum"] = new JsonArray(value?.DeepClone());
                        if (source.ContainsKey("enum")) own["enum"] = IntersectEnums(own["enum"]!.AsArray(), Array(source["enum"], path, "enum"));
                        break;
                    case "enum":
                        if (!source.ContainsKey("const"))
                        {
                            var values = Array(value, path, "enum");
                            if (values.Count == 0) throw Error(path, "'enum' is empty: no value can match");
                            own["enum"] = values.DeepClone();
                        }

                        break;
                    case "nullable":
                        Bool(value, path, "nullable");
                        break;
                    case "exclusiveMinimum" or "exclusiveMaximum" when value is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                    {
                        // Draft 4: a boolean that makes minimum/maximum exclusive.
                        string bound = key == "exclusiveMinimum" ? "minimum" : "maximum";
                        if (b.GetValue<bool>())
                        {
                            if (!source.ContainsKey(bound)) throw Error(path, $"'{key}: true' without '{bound}'");
                            own[key] = source[bound]!.DeepClone();
                            own[bound + "-from-draft4"] = true;
                        }

                        break;
                    }

                    case "minimum" or "maximum":
                        Number(value, path, key);
                        if (!own.ContainsKey(key + "-from-draft4")) own[key] = value!.DeepClone();
                        break;
                    default:
                        own[key] = value?.DeepClone();
                        break;
                }
            }

            // Drop the draft-4 markers: the bound moved to the exclusive keyword.
            foreach (var bound in new[] { "minimum", "maximum" })
            {
                if (own.Remove(bound + "-from-draft4")) own.Remove(bound);
            }

            if (source.TryGetPropertyValue("nullable", out var nullable) && Bool(nullable, path, "nullable") && own.TryGetPropertyValue("type", out var type))
            {
                var types = Types(type, path);
                if (!types.Contains("null")) types.Add("null");
                own["type"] = new JsonArray(types.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
            }

            members.Insert(0, own);
            return Merge(members, path);
        }

        private static JsonArray IntersectEnums(JsonArray a, JsonArray b)
        {
            var result = new JsonArray();
            foreach (var x in a)
            {
                if (b.Any(y => JsonEquals(x, y))) result.Add(x?.DeepClone());
            }

            return result;
        }

        /// <summary>allOf: merges flattened schemas keyword by keyword; null when they contradict.</summary>
        private JsonObject? Merge(List<JsonObject?> members, string path)
        {
            if (members.Any(m => m is null)) return null;
            if (members.Count == 1) return members[0];
            var result = new JsonObject();
            foreach (var member in members)
            {
                foreach (var (key, value) in member!)
                {
                    if (!result.TryGetPropertyValue(key, out var current))
                    {
                        result[key] = value?.DeepClone();
                        continue;
                    }

                    switch (key)
                    {
                        case "type":
                        {
                            var a = Types(current, path);
                            var b = Types(value, path);
                            var both = new List<string>();
                            foreach (var t in a)
                            {
                                if (b.Contains(t)) both.Add(t);
                                else if (t == "number" && b.Contains("integer")) both.Add("integer");
                                else if (t == "integer" && b.Contains("number")) both.Add("integer");
                            }

                            if (both.Count == 0) return null;
                            result[key] = new JsonArray(both.Distinct().Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());
                            break;
                        }

                        case "properties":
                        {
                            var merged = Object(current, path, "properties");
                            foreach (var (name, schema) in Object(value, path, "properties"))
                            {
                                merged[name] = merged.TryGetPropertyValue(name, out var old)
                                    ? new JsonObject { ["allOf"] = new JsonArray(old?.DeepClone(), schema?.DeepClone()) }
                                    : schema?.DeepClone();
                            }

                            break;
                        }

                        case "required":
                        {
                            var merged = Array(current, path, "required");
                            foreach (var n in Array(value, path, "required"))
                            {
                                string s = String(n, path, "required");
                                if (!merged.Any(x => x?.GetValue<string>() == s)) merged.Add(s);
                            }

                            break;
                        }

                        case "additionalProperties" or "items":
                            result[key] = new JsonObject { ["allOf"] = new JsonArray(current?.DeepClone(), value?.DeepClone()) };
                            break;
                        case "minItems" or "minLength" or "minProperties":
                            result[key] = Math.Max(NonNegativeInt(current, path, key), NonNegativeInt(value, path, key));
                            break;
                        case "maxItems" or "maxLength" or "maxProperties":
                            result[key] = Math.Min(NonNegativeInt(current, path, key), NonNegativeInt(value, path, key));
                            break;
                        case "minimum" or "exclusiveMinimum":
                            result[key] = Math.Max(Number(current, path, key), Number(value, path, key));
                            break;
                        case "maximum" or "exclusiveMaximum":
                            result[key] = Math.Min(Number(current, path, key), Number(value, path, key));
                            break;
                        case "uniqueItems":
                            result[key] = Bool(current, path, key) || Bool(value, path, key);
                            break;
                        case "enum":
                        {
                            var both = IntersectEnums(Array(current, path, "enum"), Array(value, path, "enum"));
                            if (both.Count == 0) return null;
                            result[key] = both;
                            break;
                        }

                        case "anyOf":
                        {
                            var a = Array(current, path, "anyOf");
                            var b = Array(value, path, "anyOf");
                            if (a.Count * b.Count > 64) throw Error(path, "allOf of several anyOf lists is too large to expand (more than 64 combinations)");
                            var product = new JsonArray();
                            foreach (var x in a)
                            {
                                foreach (var y in b) product.Add(new JsonObject { ["allOf"] = new JsonArray(x?.DeepClone(), y?.DeepClone()) });
                            }

                            result[key] = product;
                            break;
                        }

                        default:
                            if (!JsonEquals(current, value))
                            {
                                throw Error(path, $"allOf combines different '{key}' values ({ToJson(current)} and {ToJson(value)}), which is not supported");
                            }

                            break;
                    }
                }
            }

            // additionalProperties of one member restricts the properties the other members add.
            foreach (var member in members)
            {
                if (!member!.TryGetPropertyValue("additionalProperties", out var additional)) continue;
                var own = member.TryGetPropertyValue("properties", out var p) ? Object(p, path, "properties") : new JsonObject();
                if (result["properties"] is not JsonObject all) continue;
                foreach (var name in all.Select(kv => kv.Key).ToList())
                {
                    if (own.ContainsKey(name)) continue;
                    if (additional is JsonValue f && f.GetValueKind() == JsonValueKind.False)
                    {
                        all.Remove(name);
                        if (result["required"] is JsonArray req && req.Any(r => r?.GetValue<string>() == name)) return null;
                    }
                    else
                    {
                        all[name] = new JsonObject { ["allOf"] = new JsonArray(all[name]?.DeepClone(), additional?.DeepClone()) };
                    }
                }
            }

            return result;
        }

        private string VisitFlat(JsonObject flat, string path, string name)
        {
            if (flat.ContainsKey("anyOf") || flat.ContainsKey("oneOf"))
            {
                string keyword = flat.ContainsKey("anyOf") ? "anyOf" : "oneOf";
                var options = Array(flat[keyword], path, keyword);
                if (options.Count == 0) throw Error(path, $"'{keyword}' must not be empty");
                var siblings = flat.DeepClone().AsObject();
                siblings.Remove(keyword);
                var branches = new List<(JsonObject Schema, string Path)>();
                for (int i = 0; i < options.Count; i++)
                {
                    string branchPath = Child(Child(path, keyword), i);
                    var branch = Merge([siblings.DeepClone().AsObject(), Flatten(options[i], branchPath, nested: true)], branchPath);
                    if (branch is not null) branches.Add((branch, branchPath));
                }

                if (branches.Count == 0) throw Error(path, $"no alternative of '{keyword}' admits a value");
                if (keyword == "oneOf") CheckDisjoint(branches, path);
                var alternatives = new List<string>();
                for (int i = 0; i < branches.Count; i++) alternatives.Add(VisitFlat(branches[i].Schema, branches[i].Path, $"{name}-{i}"));
                return alternatives.Count == 1 ? alternatives[0] : AddRule(name, string.Join(" | ", alternatives.Distinct()));
            }

            if (flat.TryGetPropertyValue("enum", out var enumNode))
            {
                var rest = flat.DeepClone().AsObject();
                rest.Remove("enum");
                var literals = new List<string>();
                foreach (var value in Array(enumNode, path, "enum"))
                {
                    if (JsonSchemaValidator.ValidateAgainst(value, rest, _root).Count > 0) continue;
                    literals.Add(Literal(ToJson(value)));
                }

                if (literals.Count == 0) throw Error(path, "no value of 'enum'/'const' satisfies the other constraints");
                return AddRule(name, $"({string.Join(" | ", literals.Distinct())}) {Primitive("space")}");
            }

            var types = TypeSet(flat, path);
            if (types is null) return Primitive("value");
            var alts = new List<string>();
            foreach (var type in types) alts.Add(TypeRule(type, flat, path, types.Count == 1 ? name : $"{name}-{type}"));
            return alts.Count == 1 ? alts[0] : AddRule(name, string.Join(" | ", alts));
        }

        /// <summary>The types to generate, in a fixed order; null for any value.</summary>
        private static List<string>? TypeSet(JsonObject flat, string path)
        {
            List<string> declared;
            if (flat.TryGetPropertyValue("type", out var type))
            {
                declared = Types(type, path);
            }
            else
            {
                declared = [];
                if (flat.Any(kv => kv.Key is "properties" or "required" or "additionalProperties" or "minProperties" or "maxProperties")) declared.Add("object");
                if (flat.Any(kv => kv.Key is "items" or "prefixItems" or "additionalItems" or "minItems" or "maxItems" or "uniqueItems")) declared.Add("array");
                if (flat.Any(kv => kv.Key is "minLength" or "maxLength" or "pattern" or "format")) declared.Add("string");
                if (flat.Any(kv => kv.Key is "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf")) declared.Add("integer");
                if (declared.Count == 0) return null;
            }

            if (declared.Contains("number")) declared.Remove("integer");
            string[] order = ["object", "array", "string", "number", "integer", "boolean", "null"];
            return order.Where(declared.Contains).ToList();
        }

        private string TypeRule(string type, JsonObject flat, string path, string name)
        {
            switch (type)
            {
                case "null": return Primitive("null");
                case "boolean": return Primitive("boolean");
                case "integer": return IntegerRule(flat, path, name);
                case "number":
                    foreach (var k in new[] { "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf" })
                    {
                        if (flat.ContainsKey(k)) throw Error(path, $"'{k}' is only supported for integers, not for type number");
                    }

                    return Primitive("number");
                case "string": return StringRule(flat, path, name);
                case "array": return ArrayRule(flat, path, name);
                case "object": return ObjectRule(flat, path, name);
                default: throw Error(path, $"unknown type '{type}'");
            }
        }

        // ------------------------------------------------------------------ integers

        private string IntegerRule(JsonObject flat, string path, string name)
        {
            if (flat.TryGetPropertyValue("multipleOf", out var multiple) && Number(multiple, path, "multipleOf") != 1)
            {
                throw Error(path, "'multipleOf' is not supported (except 1 for integers)");
            }

            decimal? lo = null, hi = null;
            if (flat.TryGetPropertyValue("minimum", out var min)) lo = Math.Ceiling(Number(min, path, "minimum"));
            if (flat.TryGetPropertyValue("exclusiveMinimum", out var xmin))
            {
                decimal v = Math.Floor(Number(xmin, path, "exclusiveMinimum")) + 1;
                lo = lo is null ? v : Math.Max(lo.Value, v);
            }

            if (flat.TryGetPropertyValue("maximum", out var max)) hi = Math.Floor(Number(max, path, "maximum"));
            if (flat.TryGetPropertyValue("exclusiveMaximum", out var xmax))
            {
                decimal v = Math.Ceiling(Number(xmax, path, "exclusiveMaximum")) - 1;
                hi = hi is null ? v : Math.Min(hi.Value, v);
            }

            if (lo is null && hi is null) return Primitive("integer");
            if (lo > IntegerCap || hi < -IntegerCap || lo > hi) throw Error(path, "no integer of at most 16 digits lies within the bounds");
            long l = (long)Math.Max(lo ?? -IntegerCap, -IntegerCap);
            long h = (long)Math.Min(hi ?? IntegerCap, IntegerCap);
            return AddRule(name, $"({IntegerRange(l, h)}) {Primitive("space")}");
        }

        /// <summary>GBNF for the decimal integers in [lo, hi] (no leading zeros, no "-0").</summary>
        internal static string IntegerRange(long lo, long hi)
        {
            var parts = new List<string>();
            if (lo < 0)
            {
                long a = hi < 0 ? -hi : 1;
                parts.Add($"\"-\" ({Magnitudes(a, -lo)})");
            }

            if (hi >= 0) parts.Add(Magnitudes(Math.Max(lo, 0), hi));
            return string.Join(" | ", parts);
        }

        private static string Magnitudes(long a, long b)
        {
            var alternatives = new List<string>();
            string sa = a.ToString(CultureInfo.InvariantCulture), sb = b.ToString(CultureInfo.InvariantCulture);
            for (int digits = sa.Length; digits <= sb.Length; digits++)
            {
                string from = digits == sa.Length ? sa : "1" + new string('0', digits - 1);
                string to = digits == sb.Length ? sb : new string('9', digits);
                alternatives.Add(SameLength(from, to));
            }

            return string.Join(" | ", alternatives);
        }

        private static string DigitRange(char a, char b) => a == b ? $"[{a}]" : $"[{a}-{b}]";

        private static string AnyDigits(int n) => n == 0 ? "" : n == 1 ? " [0-9]" : $" [0-9]{{{n}}}";

        /// <summary>The numbers from <paramref name="x"/> to <paramref name="y"/>, both of the same length.</summary>
        private static string SameLength(string x, string y)
        {
            int n = x.Length;
            if (n == 1) return DigitRange(x[0], y[0]);
            if (x[0] == y[0]) return $"[{x[0]}] ({SameLength(x[1..], y[1..])})";
            var alternatives = new List<string>();
            char low = x[0], high = y[0];
            if (x[1..].Any(c => c != '0'))
            {
                alternatives.Add($"[{x[0]}] ({SameLength(x[1..], new string('9', n - 1))})");
                low++;
            }

            string? tail = null;
            if (y[1..].Any(c => c != '9'))
            {
                tail = $"[{y[0]}] ({SameLength(new string('0', n - 1), y[1..])})";
                high--;
            }

            if (low <= high) alternatives.Add(DigitRange(low, high) + AnyDigits(n - 1));
            if (tail is not null) alternatives.Add(tail);
            return string.Join(" | ", alternatives);
        }

        // ------------------------------------------------------------------ strings

        private string StringRule(JsonObject flat, string path, string name)
        {
            string q = "\"\\\"\"";
            string sp = Primitive("space");
            bool hasMin = flat.TryGetPropertyValue("minLength", out var minNode);
            bool hasMax = flat.TryGetPropertyValue("maxLength", out var maxNode);
            int min = hasMin ? NonNegativeInt(minNode, path, "minLength") : 0;
            int? max = hasMax ? NonNegativeInt(maxNode, path, "maxLength") : null;
            if (max < min) throw Error(path, "maxLength is below minLength: no string can match");
            if (max > MaxStringLength) throw Error(path, $"maxLength above {MaxStringLength} is not supported");
            if (min > MaxStringLength) throw Error(path, $"minLength above {MaxStringLength} is not supported");
            bool lengths = min > 0 || max is not null;

            if (flat.TryGetPropertyValue("format", out var formatNode))
            {
                string format = String(formatNode, path, "format");
                if (lengths || flat.ContainsKey("pattern")) throw Error(path, "'format' together with 'pattern', 'minLength' or 'maxLength' is not supported");
                return format switch
                {
                    "date" or "time" or "date-time" or "uuid" => AddRule(name, $"{q} {Primitive(format)} {q} {sp}"),
                    _ => throw Error(path, $"format '{format}' is not supported (supported: date, time, date-time, uuid)"),
                };
            }

            if (flat.TryGetPropertyValue("pattern", out var patternNode))
            {
                if (lengths) throw Error(path, "'pattern' together with 'minLength' or 'maxLength' is not supported");
                string body = SchemaPattern.ToGbnf(String(patternNode, path, "pattern"), path, Primitive("char"));
                return AddRule(name, $"{q} {body} {q} {sp}");
            }

            if (!lengths) return Primitive("string");
            string ch = Primitive("char");
            string repeat = (min, max) switch
            {
                (0, null) => ch + "*",
                (1, null) => ch + "+",
                (_, null) => $"{ch}{{{min},}}",
                _ when min == max => $"{ch}{{{min}}}",
                _ => $"{ch}{{{min},{max}}}",
            };
            return AddRule(name, $"{q} {repeat} {q} {sp}");
        }

        // ------------------------------------------------------------------ arrays

        private string ArrayRule(JsonObject flat, string path, string name)
        {
            if (flat.TryGetPropertyValue("uniqueItems", out var unique) && Bool(unique, path, "uniqueItems"))
            {
                if (!(flat.TryGetPropertyValue("maxItems", out var mi) && NonNegativeInt(mi, path, "maxItems") <= 1))
                {
                    throw Error(path, "'uniqueItems: true' is not supported");
                }
            }

            var prefix = new List<JsonNode?>();
            JsonNode restSchema = JsonValue.Create(true); // the schema of items after the prefix
            bool restOpen = true;                          // whether to generate any number of them (else only as many as minItems needs)
            string restPath = Child(path, "items");
            string prefixKeyword = "prefixItems";
            if (flat.TryGetPropertyValue("prefixItems", out var prefixNode))
            {
                prefix.AddRange(Array(prefixNode, path, "prefixItems"));
                if (flat.TryGetPropertyValue("items", out var items))
                {
                    if (items is JsonArray) throw Error(path, "'items' must be a schema when 'prefixItems' is given");
                    restSchema = items ?? throw Error(path, "'items' must be a schema, not null");
                }
                else
                {
                    restOpen = false;
                }
            }
            else if (flat.TryGetPropertyValue("items", out var items))
            {
                if (items is JsonArray tuple)
                {
                    prefix.AddRange(tuple);
                    prefixKeyword = "items";
                    restPath = Child(path, "additionalItems");
                    if (flat.TryGetPropertyValue("additionalItems", out var additional)) restSchema = additional ?? throw Error(path, "'additionalItems' must be a schema, not null");
                    else restOpen = false;
                }
                else
                {
                    restSchema = items ?? throw Error(path, "'items' must be a schema, not null");
                }
            }

            int minItems = flat.TryGetPropertyValue("minItems", out var minNode) ? NonNegativeInt(minNode, path, "minItems") : 0;
            int? maxItems = flat.TryGetPropertyValue("maxItems", out var maxNode) ? NonNegativeInt(maxNode, path, "maxItems") : null;
            if (maxItems < minItems) throw Error(path, "maxItems is below minItems: no array can match");
            if (minItems > MaxStringLength || maxItems > MaxStringLength) throw Error(path, $"minItems or maxItems above {MaxStringLength} is not supported");

            bool restFalse = restSchema is JsonValue rv && rv.GetValueKind() == JsonValueKind.False;
            int tupleCount = Math.Min(prefix.Count, maxItems ?? prefix.Count);
            int extraMin = Math.Max(0, minItems - tupleCount);
            int? extraMax = restFalse ? 0 : !restOpen ? extraMin : maxItems - tupleCount;
            if (restFalse && extraMin > 0) throw Error(path, "minItems asks for more items than the tuple allows");

            var tupleRules = new List<string>();
            for (int i = 0; i < tupleCount; i++) tupleRules.Add(Visit(prefix[i], Child(Child(path, prefixKeyword), i), $"{name}-{i}"));

            string sp = Primitive("space");
            string sep = $"\",\" {sp}";
            string body;
            string? item = extraMax == 0 ? null : Visit(restSchema, restPath, $"{name}-item");
            var inner = new StringBuilder();
            if (tupleRules.Count > 0)
            {
                inner.Append(string.Join($" {sep} ", tupleRules));
                if (item is not null) inner.Append(' ').Append(Repetition($"({sep} {item})", extraMin, extraMax));
                body = inner.ToString();
            }
            else if (item is null)
            {
                body = "";
            }
            else
            {
                // item ("," item){min-1, max-1}, all optional when min is 0.
                string more = Repetition($"({sep} {item})", Math.Max(0, extraMin - 1), extraMax is null ? null : extraMax - 1);
                body = more.Length == 0 ? item : $"{item} {more}";
                if (extraMin == 0) body = $"({body})?";
            }

            return AddRule(name, body.Length == 0 ? $"\"[\" {sp} \"]\" {sp}" : $"\"[\" {sp} {body} \"]\" {sp}");
        }

        private static string Repetition(string item, int min, int? max) => (min, max) switch
        {
            (_, 0) => "",
            (0, null) => item + "*",
            (1, null) => item + "+",
            (0, 1) => item + "?",
            (_, null) => $"{item}{{{min},}}",
            _ when min == max => $"{item}{{{min}}}",
            _ => $"{item}{{{min},{max}}}",
        };

        // ------------------------------------------------------------------ objects

        private string ObjectRule(JsonObject flat, string path, string name)
        {
            var properties = flat.TryGetPropertyValue("properties", out var p) ? Object(p, path, "properties") : new JsonObject();
            var required = new List<string>();
            if (flat.TryGetPropertyValue("required", out var r))
            {
                foreach (var n in Array(r, path, "required")) required.Add(String(n, path, "required"));
            }

            flat.TryGetPropertyValue("additionalProperties", out var additional);
            bool additionalFalse = additional is JsonValue av && av.GetValueKind() == JsonValueKind.False;
            bool additionalAllowed = additional is not null && !additionalFalse;

            var entries = new List<(string Key, JsonNode? Schema, string Path, bool Required)>();
            foreach (var (key, schema) in properties)
            {
                bool isRequired = required.Contains(key);
                if (schema is JsonValue sv && sv.GetValueKind() == JsonValueKind.False)
                {
                    if (isRequired) throw Error(Child(Child(path, "properties"), key), $"property '{key}' is required but its schema is false");
                    continue;
                }

                entries.Add((key, schema, Child(Child(path, "properties"), key), isRequired));
            }

            foreach (var key in required.Distinct())
            {
                if (properties.ContainsKey(key)) continue;
                if (additionalFalse) throw Error(path, $"property '{key}' is required but additionalProperties is false and it is not among 'properties'");
                entries.Add((key, additional ?? JsonValue.Create(true), Child(path, "additionalProperties"), true));
            }

            int requiredCount = entries.Count(e => e.Required);
            if (flat.TryGetPropertyValue("minProperties", out var minP) && NonNegativeInt(minP, path, "minProperties") > requiredCount)
            {
                throw Error(path, "'minProperties' above the number of required properties is not supported");
            }

            if (flat.TryGetPropertyValue("maxProperties", out var maxP))
            {
                int limit = NonNegativeInt(maxP, path, "maxProperties");
                if (limit < requiredCount) throw Error(path, "maxProperties is below the number of required properties: no object can match");
                if (additionalAllowed || limit < entries.Count) throw Error(path, "'maxProperties' below the number of properties that could be generated is not supported");
            }

            string sp = Primitive("space");
            var kvs = new List<(string Rule, bool Required)>();
            foreach (var (key, schema, propertyPath, isRequired) in entries.Where(e => e.Required).Concat(entries.Where(e => !e.Required)))
            {
                string value = Visit(schema, propertyPath, $"{name}-{key}");
                kvs.Add((AddRule($"{name}-{key}-kv", $"{JsonStringLiteral(key)} {sp} \":\" {sp} {value}"), isRequired));
            }

            string? additionalKv = null;
            if (additionalAllowed)
            {
                string value = Visit(additional, Child(path, "additionalProperties"), $"{name}-additional");
                string keyRule = AdditionalKey(entries.Select(e => e.Key).ToList(), $"{name}-additional-k");
                additionalKv = AddRule($"{name}-additional-kv", $"{keyRule} \":\" {sp} {value}");
            }

            string sep = $"\",\" {sp}";
            var body = new StringBuilder($"\"{{\" {sp} ");
            var requiredRules = kvs.Where(k => k.Required).Select(k => k.Rule).ToList();
            var optionalRules = kvs.Where(k => !k.Required).Select(k => k.Rule).ToList();
            if (requiredRules.Count > 0)
            {
                body.Append(string.Join($" {sep} ", requiredRules));
                foreach (var o in optionalRules) body.Append($" ({sep} {o})?");
                if (additionalKv is not null) body.Append($" ({sep} {additionalKv})*");
                body.Append(' ');
            }
            else if (optionalRules.Count > 0 || additionalKv is not null)
            {
                body.Append('(').Append(OptionalChain(optionalRules, additionalKv, sep, name)).Append(")? ");
            }

            body.Append($"\"}}\" {sp}");
            return AddRule(name, body.ToString());
        }

        /// <summary>
        /// Any non-empty ordered selection of the optional properties (then any number of additional ones), with
        /// commas between: alternatives by which one comes first, each followed by an optional tail of the rest.
        /// </summary>
        private string OptionalChain(List<string> optional, string? additional, string sep, string name)
        {
            // tail(i): the optional properties from i on, each optional, each after a comma.
            string Tail(int i)
            {
                var sb = new StringBuilder();
                for (int k = i; k < optional.Count; k++) sb.Append($" ({sep} {optional[k]})?");
                if (additional is not null) sb.Append($" ({sep} {additional})*");
                return sb.ToString();
            }

            var alternatives = new List<string>();
            for (int i = 0; i < optional.Count; i++)
            {
                string tail = Tail(i + 1);
                alternatives.Add(tail.Length == 0 ? optional[i] : AddRule($"{name}-rest-{i}", optional[i] + tail));
            }

            if (additional is not null) alternatives.Add($"{additional} ({sep} {additional})*");
            return string.Join(" | ", alternatives);
        }

        /// <summary>
        /// A JSON string key (followed by space) that is none of <paramref name="excluded"/>, written without escapes:
        /// a trie of the excluded names where, at each node, the key may stop (unless a name ends there), go on along a
        /// name, or leave every name with some other character.
        /// </summary>
        private string AdditionalKey(List<string> excluded, string name)
        {
            string kc = Primitive("key-char");
            string sp = Primitive("space");
            string q = "\"\\\"\"";
            if (excluded.Count == 0) return AddRule(name, $"{q} {kc}* {q} {sp}");
            var names = excluded.Select(e => e.EnumerateRunes().Select(x => x.Value).ToArray()).ToList();
            int counter = 0;
            string Node(List<int[]> group, int depth)
            {
                var alternatives = new List<string>();
                bool endsHere = group.Any(g => g.Length == depth);
                if (!endsHere) alternatives.Add(q);
                var nextChars = group.Where(g => g.Length > depth).Select(g => g[depth]).Distinct().OrderBy(c => c).ToList();
                foreach (int c in nextChars)
                {
                    var sub = group.Where(g => g.Length > depth && g[depth] == c).ToList();
                    var cls = new StringBuilder("[");
                    GbnfWriter.AppendChar(cls, c, inClass: true);
                    cls.Append(']');
                    if (c is '"' or '\\' or < 0x20 or 0x7F) continue; // never generated: names with such characters cannot collide
                    alternatives.Add($"{cls} {Node(sub, depth + 1)}");
                }

                var other = new StringBuilder("[^\"\\\\\\x7F\\x00-\\x1F");
                foreach (int c in nextChars) GbnfWriter.AppendChar(other, c, inClass: true);
                other.Append(']');
                alternatives.Add($"{other} {kc}* {q}");
                return AddRule($"{name}-{counter++}", string.Join(" | ", alternatives));
            }

            return AddRule(name, $"{q} {Node(names, 0)} {sp}");
        }

        // ------------------------------------------------------------------ oneOf

        private void CheckDisjoint(List<(JsonObject Schema, string Path)> branches, string path)
        {
            for (int i = 0; i < branches.Count; i++)
            {
                for (int j = i + 1; j < branches.Count; j++)
                {
                    if (!Disjoint(branches[i].Schema, branches[j].Schema, 0))
                    {
                        throw Error(path, $"oneOf alternatives {i} and {j} may match the same value, which a grammar cannot exclude; use anyOf if either may match, or make them distinct (different types, const/enum values, or required properties)");
                    }
                }
            }
        }

        /// <summary>
        /// True when no value generated for one schema can be valid under the other, in both directions. Sufficient
        /// tests only: disjoint types, enum values invalid under the other schema, a required property the other never
        /// generates, or a shared required property whose schemas are disjoint.
        /// </summary>
        private bool Disjoint(JsonObject a, JsonObject b, int depth)
        {
            if (depth > 8) return false;
            var ta = TypeSet(a, "#");
            var tb = TypeSet(b, "#");
            if (ta is not null && tb is not null && !ta.Any(t => tb.Contains(t) || (t == "integer" && tb.Contains("number")) || (t == "number" && tb.Contains("integer"))))
            {
                // Explicit types only: inferred types do not restrict validity.
                if (a.ContainsKey("type") && b.ContainsKey("type")) return true;
            }

            if (a.TryGetPropertyValue("enum", out var ea) && ea is JsonArray va && va.All(v => JsonSchemaValidator.ValidateAgainst(v, b, _root).Count > 0)) return true;
            if (b.TryGetPropertyValue("enum", out var eb) && eb is JsonArray vb && vb.All(v => JsonSchemaValidator.ValidateAgainst(v, a, _root).Count > 0)) return true;

            var ra = RequiredNames(a);
            var rb = RequiredNames(b);
            if (NeverGenerates(a, rb) && NeverGenerates(b, ra)) return true;
            foreach (var key in ra.Intersect(rb))
            {
                var sa = PropertySchema(a, key);
                var sb = PropertySchema(b, key);
                if (sa is null || sb is null) continue;
                var fa = Flatten(sa, "#", nested: true);
                var fb = Flatten(sb, "#", nested: true);
                if (fa is null || fb is null) return true;
                if (Disjoint(fa, fb, depth + 1)) return true;
            }

            return false;
        }

        private static List<string> RequiredNames(JsonObject s) =>
            s.TryGetPropertyValue("required", out var r) && r is JsonArray a ? a.Select(x => x?.GetValue<string>() ?? "").ToList() : [];

        private static JsonNode? PropertySchema(JsonObject s, string key) =>
            s.TryGetPropertyValue("properties", out var p) && p is JsonObject o && o.TryGetPropertyValue(key, out var v) ? v : null;

        /// <summary>True when objects generated for <paramref name="s"/> never have one of <paramref name="names"/>.</summary>
        private static bool NeverGenerates(JsonObject s, List<string> names)
        {
            bool onlyObjects = s.TryGetPropertyValue("type", out var t) && t is JsonValue tv && tv.GetValueKind() == JsonValueKind.String && tv.GetValue<string>() == "object";
            if (!onlyObjects) return false;
            if (s.TryGetPropertyValue("additionalProperties", out var ap) && !(ap is JsonValue av && av.GetValueKind() == JsonValueKind.False)) return false;
            var own = s.TryGetPropertyValue("properties", out var p) && p is JsonObject o ? o : new JsonObject();
            return names.Any(n => !own.ContainsKey(n) && !RequiredNames(s).Contains(n));
        }
    }
}
