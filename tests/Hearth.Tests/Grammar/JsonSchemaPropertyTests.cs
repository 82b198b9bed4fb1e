using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Grammar;
using Xunit.Abstractions;
using static Hearth.Tests.Grammar.GrammarTestHelpers;

namespace Hearth.Tests.Grammar;

/// <summary>
/// Random schemas × random constrained generation: whatever the matcher lets through and completes must parse as JSON
/// and validate against the schema.
/// </summary>
public sealed class JsonSchemaPropertyTests(ITestOutputHelper output)
{
    /// <summary>A small vocabulary with single characters, multi-character JSON pieces, multi-byte and split characters.</summary>
    private static readonly Lazy<TokenVocabulary> s_synthetic = new(() =>
    {
        var tokens = new List<byte[]>();
        for (int c = 0x20; c < 0x7F; c++) tokens.Add([(byte)c]);
        foreach (var s in new[]
        {
            "\n", "\t", "\r", "\u0001", "{\"", "\"}", "\": ", "\", \"", "\",", "\":", ", ", "[\"", "\"]", "true", "false", "null",
            "12", "-3", "0.", ".5", "e+", "E-1", "00", "2024-", "-02-", "T12:", ":00", "Z\"", "+01:00", "abc", "hello", " world",
            "\\n", "\\\"", "\\\\", "\\u00e9", "\\ud83d", "\\t", "é", "日本", "語", "ü", "😀", "foo", "bar", "a-b", "deadbeef", "-4a2b-",
        })
        {
            tokens.Add(Encoding.UTF8.GetBytes(s));
        }

        // Split characters: 日 = E6 97 A5, 😀 = F0 9F 98 80.
        tokens.Add([0xE6]);
        tokens.Add([0xE6, 0x97]);
        tokens.Add([0x97, 0xA5]);
        tokens.Add([0xA5]);
        tokens.Add([0xF0, 0x9F]);
        tokens.Add([0x98, 0x80]);
        tokens.Add([0xA5, 0x22]); // end of 日 then a quote
        // Every continuation byte, as byte-level vocabularies have, so that any started character can be finished.
        for (int b = 0x80; b < 0xC0; b++) tokens.Add([(byte)b]);
        tokens.Add([]);
        return TokenVocabulary.FromTokens(tokens, [tokens.Count - 1]);
    });

    [Fact]
    public void RandomSchemasSyntheticVocabulary()
    {
        var vocab = s_synthetic.Value;
        var stats = Run(vocab, seed: 12345, schemas: 300, runsPerSchema: 3, maxTokens: 300);
        output.WriteLine(stats.ToString());
        Assert.True(stats.Completed >= stats.Runs / 2, $"too few generations completed: {stats}");
    }

    [Fact]
    public void RandomSchemasQwenVocabulary()
    {
        var stats = Run(Qwen, seed: 777, schemas: 12, runsPerSchema: 1, maxTokens: 120);
        output.WriteLine(stats.ToString());
        Assert.True(stats.Completed >= stats.Runs / 3, $"too few generations completed: {stats}");
    }

    private sealed record Stats(int Runs, int Completed, int DuplicateKeys, int Capped)
    {
        public override string ToString() => $"runs {Runs}, completed {Completed}, duplicate additional keys {DuplicateKeys}, capped {Capped}";
    }

    private static Stats Run(TokenVocabulary vocab, int seed, int schemas, int runsPerSchema, int maxTokens)
    {
        var random = new Random(seed);
        var generator = new SchemaGenerator(random);
        // Tokens the generation prefers, so that strings and containers get closed: anything with a quote or a closer.
        var structural = new bool[vocab.Count];
        for (int id = 0; id < vocab.Count; id++)
        {
            foreach (byte b in vocab.TokenBytes(id))
            {
                if (b is (byte)'"' or (byte)'}' or (byte)']' or (byte)',' or (byte)':' or (byte)'n' or (byte)'t' or (byte)'f') structural[id] = true;
            }
        }

        int runs = 0, completed = 0, duplicates = 0, capped = 0;
        var mask = new bool[vocab.Count];
        var candidates = new List<int>();
        var structuralCandidates = new List<int>();
        for (int s = 0; s < schemas; s++)
        {
            var schema = generator.Schema();
            string schemaText = schema.ToJsonString();
            Hearth.Grammar.Grammar grammar;
            try
            {
                grammar = JsonSchemaGrammar.FromSchema(schema);
            }
            catch (GrammarException e)
            {
                throw new Xunit.Sdk.XunitException($"schema {schemaText} was rejected: {e.Message}");
            }

            var matcher = new GrammarMatcher(grammar, vocab);
            for (int r = 0; r < runsPerSchema; r++)
            {
                runs++;
                matcher.Reset();
                var bytes = new List<byte>();
                bool done = false;
                for (int step = 0; step < maxTokens && !done; step++)
                {
                    if (matcher.MustStop)
                    {
                        done = true;
                        break;
                    }

                    matcher.ComputeMask(mask);
                    candidates.Clear();
                    structuralCandidates.Clear();
                    int eog = -1;
                    for (int id = 0; id < vocab.Count; id++)
                    {
                        if (!mask[id]) continue;
                        if (vocab.IsEndOfGeneration(id)) eog = id;
                        else
                        {
                            candidates.Add(id);
                            if (structural[id]) structuralCandidates.Add(id);
                        }
                    }

                    double roll = random.NextDouble();
                    int token;
                    if (eog >= 0 && (roll < 0.5 || candidates.Count == 0)) token = eog;
                    else if (structuralCandidates.Count > 0 && roll < 0.8) token = structuralCandidates[random.Next(structuralCandidates.Count)];
                    else token = candidates[random.Next(candidates.Count)];

                    Assert.True(matcher.IsAllowed(token));
                    if (vocab.IsEndOfGeneration(token))
                    {
                        Assert.True(matcher.IsComplete);
                        done = true;
                        break;
                    }

                    matcher.AcceptToken(token);
                    bytes.AddRange(vocab.TokenBytes(token).ToArray());
                }

                if (!done)
                {
                    capped++;
                    continue;
                }

                Assert.True(matcher.IsComplete);
                completed++;
                string text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
                JsonNode? instance;
                try
                {
                    using (JsonDocument.Parse(text)) { }
                    instance = JsonNode.Parse(text);
                }
                catch (JsonException e)
                {
                    throw new Xunit.Sdk.XunitException($"schema {schemaText}\noutput {text}\nis not JSON: {e.Message}");
                }

                if (HasDuplicateKeys(text))
                {
                    // A context-free grammar cannot keep additional property names apart from each other.
                    Assert.Contains("additionalProperties", schemaText, StringComparison.Ordinal);
                    duplicates++;
                    continue;
                }

                var errors = JsonSchemaValidator.Validate(instance, schema);
                if (errors.Count > 0)
                {
                    throw new Xunit.Sdk.XunitException($"schema {schemaText}\noutput {text}\nis invalid: {string.Join("; ", errors)}\ngrammar:\n{grammar.ToGbnf()}");
                }
            }
        }

        return new Stats(runs, completed, duplicates, capped);
    }

    private static bool HasDuplicateKeys(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return Dup(doc.RootElement);

        static bool Dup(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var p in e.EnumerateObject())
                    {
                        if (!seen.Add(p.Name) || Dup(p.Value)) return true;
                    }

                    return false;
                case JsonValueKind.Array:
                    return e.EnumerateArray().Any(Dup);
                default:
                    return false;
            }
        }
    }

    /// <summary>Seeded random schemas over the keywords the converter supports.</summary>
    private sealed class SchemaGenerator(Random random)
    {
        private static readonly string[] s_patterns =
        [
            "^[a-z]{1,5}$", "^\\d{3}-\\d{2}$", "^(foo|bar)+$", "ab", "^x", "y$", "^[A-Z][a-z]*( [A-Z][a-z]*)?$",
            "^(\\+|-)?\\d+(\\.\\d+)?$", "^.{2,4}$", "^[\\s\\S]{0,3}$", "^[^a-z]*$", "^\"q\\\\$", "^\\w+@\\w+\\.com$",
            "^(?:ab|cd)?[0-9a-f]{2}$", "^日本?$",
        ];

        private static readonly string[] s_names = ["a", "b", "name", "x y", "ü", "q\"t", "id", "na", "value", "日本", "b2", "\\"];

        private JsonObject _defs = [];
        private int _defCount;

        public JsonObject Schema()
        {
            _defs = [];
            _defCount = 0;
            var schema = Node(0) as JsonObject ?? new JsonObject { ["allOf"] = new JsonArray(Node(0)) };
            if (_defs.Count > 0) schema["$defs"] = _defs;
            if (random.Next(8) == 0) schema["title"] = "ignored";
            return schema;
        }

        private JsonNode Node(int depth)
        {
            int pick = depth >= 3 ? random.Next(7) : random.Next(18);
            switch (pick)
            {
                case 0: return StringSchema();
                case 1: return IntegerSchema();
                case 2: return new JsonObject { ["type"] = "number" };
                case 3: return new JsonObject { ["type"] = "boolean" };
                case 4: return new JsonObject { ["type"] = "null" };
                case 5: return EnumSchema();
                case 6: return new JsonObject { ["const"] = RandomValue(1) };
                case 7:
                case 8: return ObjectSchema(depth);
                case 9:
                case 10: return ArraySchema(depth);
                case 11: return new JsonObject { ["anyOf"] = new JsonArray(Node(depth + 1), Node(depth + 1)) };
                case 12: return OneOf(depth);
                case 13: return AllOf(depth);
                case 14:
                {
                    string name = $"d{_defCount++}";
                    _defs[name] = Node(depth + 1);
                    return new JsonObject { ["$ref"] = $"#/$defs/{name}", ["description"] = "a reference" };
                }

                case 15: return new JsonObject { ["type"] = new JsonArray(random.Next(2) == 0 ? "string" : "integer", "null") };
                case 16: return new JsonObject { ["type"] = "string", ["nullable"] = true, ["maxLength"] = random.Next(1, 6) };
                default: return random.Next(3) == 0 ? JsonValue.Create(true)! : new JsonObject();
            }
        }

        private JsonObject StringSchema()
        {
            var s = new JsonObject { ["type"] = "string" };
            switch (random.Next(6))
            {
                case 0:
                    s["minLength"] = random.Next(0, 4);
                    break;
                case 1:
                    s["maxLength"] = random.Next(0, 8);
                    break;
                case 2:
                    int min = random.Next(0, 3);
                    s["minLength"] = min;
                    s["maxLength"] = min + random.Next(0, 4);
                    break;
                case 3:
                    s["pattern"] = s_patterns[random.Next(s_patterns.Length)];
                    break;
                case 4:
                    s["format"] = new[] { "date", "time", "date-time", "uuid" }[random.Next(4)];
                    break;
            }

            return s;
        }

        private JsonObject IntegerSchema()
        {
            var s = new JsonObject { ["type"] = "integer" };
            int lo = random.Next(-1200, 1200);
            switch (random.Next(6))
            {
                case 0: s["minimum"] = lo; break;
                case 1: s["maximum"] = lo; break;
                case 2:
                    s["minimum"] = lo;
                    s["maximum"] = lo + random.Next(0, 3000);
                    break;
                case 3:
                    s["exclusiveMinimum"] = lo;
                    s["exclusiveMaximum"] = lo + random.Next(2, 50);
                    break;
                case 4:
                    s["minimum"] = lo + 0.5;
                    break;
            }

            return s;
        }

        private JsonNode? RandomValue(int depth) => random.Next(depth > 1 ? 5 : 7) switch
        {
            0 => JsonValue.Create(s_names[random.Next(s_names.Length)]),
            1 => JsonValue.Create(random.Next(-50, 50)),
            2 => JsonValue.Create(random.Next(2) == 0),
            3 => null,
            4 => JsonValue.Create(random.Next(100) / 8.0),
            5 => new JsonArray(RandomValue(depth + 1), RandomValue(depth + 1)),
            _ => new JsonObject { ["k"] = RandomValue(depth + 1) },
        };

        private JsonObject EnumSchema()
        {
            var values = new JsonArray();
            int n = random.Next(1, 5);
            for (int i = 0; i < n; i++) values.Add(RandomValue(1));
            var s = new JsonObject { ["enum"] = values };
            if (random.Next(3) == 0) s["type"] = new JsonArray("string", "null", "integer", "boolean", "number", "array", "object");
            return s;
        }

        private JsonObject ObjectSchema(int depth)
        {
            var properties = new JsonObject();
            var required = new JsonArray();
            var names = s_names.OrderBy(_ => random.Next()).Take(random.Next(0, 4)).ToList();
            foreach (var name in names)
            {
                properties[name] = Node(depth + 1);
                if (random.Next(2) == 0) required.Add(name);
            }

            var s = new JsonObject { ["type"] = "object", ["properties"] = properties };
            if (required.Count > 0) s["required"] = required;
            switch (random.Next(6))
            {
                case 0: s["additionalProperties"] = false; break;
                case 1: s["additionalProperties"] = true; break;
                case 2: s["additionalProperties"] = Node(depth + 2); break;
            }

            return s;
        }

        private JsonObject ArraySchema(int depth)
        {
            var s = new JsonObject { ["type"] = "array" };
            if (random.Next(4) == 0)
            {
                var prefix = new JsonArray();
                int n = random.Next(1, 3);
                for (int i = 0; i < n; i++) prefix.Add(Node(depth + 1));
                s["prefixItems"] = prefix;
                switch (random.Next(3))
                {
                    case 0: s["items"] = false; break;
                    case 1: s["items"] = Node(depth + 1); break;
                }
            }
            else if (random.Next(4) != 0)
            {
                s["items"] = Node(depth + 1);
            }

            if (random.Next(2) == 0)
            {
                int min = random.Next(0, 3);
                s["minItems"] = min;
                if (random.Next(2) == 0) s["maxItems"] = min + random.Next(0, 3);
            }
            else if (random.Next(2) == 0)
            {
                s["maxItems"] = random.Next(0, 4);
            }

            if (s.ContainsKey("prefixItems") && s["items"] is JsonValue f && !f.GetValue<bool>() && s["minItems"] is JsonNode m)
            {
                int prefix = s["prefixItems"]!.AsArray().Count;
                if (m.GetValue<int>() > prefix) s["minItems"] = prefix;
            }

            return s;
        }

        private JsonObject OneOf(int depth)
        {
            if (random.Next(2) == 0)
            {
                // Objects told apart by a const discriminator.
                var a = ObjectSchema(depth + 1);
                var b = ObjectSchema(depth + 1);
                foreach (var (o, tag) in new[] { (a, "A"), (b, "B") })
                {
                    o["properties"]!.AsObject()["kind"] = new JsonObject { ["const"] = tag };
                    var req = o["required"] as JsonArray ?? new JsonArray();
                    req.Add("kind");
                    o["required"] = req;
                }

                return new JsonObject { ["oneOf"] = new JsonArray(a, b) };
            }

            var types = new[] { "string", "integer", "boolean", "null", "array" }.OrderBy(_ => random.Next()).Take(random.Next(2, 4));
            var options = new JsonArray();
            foreach (var t in types)
            {
                options.Add(t switch
                {
                    "string" => StringSchema(),
                    "integer" => IntegerSchema(),
                    "array" => ArraySchema(depth + 1),
                    _ => new JsonObject { ["type"] = t },
                });
            }

            return new JsonObject { ["oneOf"] = options };
        }

        private JsonObject AllOf(int depth)
        {
            if (random.Next(2) == 0)
            {
                return new JsonObject
                {
                    ["allOf"] = new JsonArray(
                        new JsonObject { ["type"] = "string", ["minLength"] = random.Next(0, 3) },
                        new JsonObject { ["maxLength"] = random.Next(3, 7) }),
                };
            }

            var a = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["left"] = Node(depth + 1) }, ["required"] = new JsonArray("left") };
            var b = new JsonObject { ["properties"] = new JsonObject { ["right"] = Node(depth + 1) } };
            if (random.Next(2) == 0) b["required"] = new JsonArray("right");
            return new JsonObject { ["allOf"] = new JsonArray(a, b), ["description"] = "merged" };
        }
    }
}
