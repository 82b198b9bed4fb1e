using System.Text.Json;
using Hearth.Gguf;
using Hearth.Tokenizers;

namespace Hearth.Conversion;

/// <summary>
/// A Hugging Face tokenizer (<c>tokenizer.json</c> plus <c>tokenizer_config.json</c>) turned into GGUF
/// <c>tokenizer.ggml.*</c> metadata. Byte-level BPE becomes model <c>gpt2</c> with ranked merges and a
/// <c>tokenizer.ggml.pre</c> recognised from the pre-tokenizer; Unigram, and BPE with byte fallback (SentencePiece
/// models exported to tokenizer.json), become model <c>llama</c> with scores and token types.
/// </summary>
public sealed class HfTokenizer
{
    // The split expressions of the pre-tokenizers Hearth recognises, as tokenizer.json spells them.
    private const string Llama3Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    private const string Qwen2Regex = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private HfTokenizer(string model, string? pre, List<string> tokens, List<TokenType> types, List<float>? scores, string[]? merges)
    {
        Model = model;
        Pre = pre;
        _tokens = tokens;
        _types = types;
        _scores = scores;
        Merges = merges;
    }

    /// <summary><c>gpt2</c> (byte-level BPE) or <c>llama</c> (SentencePiece).</summary>
    public string Model { get; }

    /// <summary>The <c>tokenizer.ggml.pre</c> name for byte-level BPE, else null.</summary>
    public string? Pre { get; }

    /// <summary>Token texts by id.</summary>
    public IReadOnlyList<string> Tokens => _tokens;

    /// <summary>Token types by id.</summary>
    public IReadOnlyList<TokenType> Types => _types;

    /// <summary>SentencePiece scores by id (null for byte-level BPE).</summary>
    public IReadOnlyList<float>? Scores => _scores;

    /// <summary>Merges as <c>"a b"</c>, highest priority first (null for SentencePiece).</summary>
    public IReadOnlyList<string>? Merges { get; }

    public int? BosId { get; private set; }
    public int? EosId { get; private set; }
    public int? UnknownId { get; private set; }
    public int? PaddingId { get; private set; }
    public bool? AddBos { get; private set; }
    public bool? AddEos { get; private set; }
    public bool? AddSpacePrefix { get; private set; }
    public string? ChatTemplate { get; private set; }

    private readonly List<string> _tokens;
    private readonly List<TokenType> _types;
    private readonly List<float>? _scores;

    /// <summary>Reads <c>tokenizer.json</c> (required) and <c>tokenizer_config.json</c> (optional) of a model directory.</summary>
    /// <exception cref="HearthException">The tokenizer is missing, malformed or of a kind Hearth cannot convert.</exception>
    public static HfTokenizer Load(string directory)
    {
        string path = Path.Combine(directory, "tokenizer.json");
        if (!File.Exists(path)) throw new HearthException($"{directory}: no tokenizer.json (only the fast-tokenizer format can be converted)");
        using var doc = ParseJson(path);
        var root = doc.RootElement;
        var config = Path.Combine(directory, "tokenizer_config.json");
        using var cfgDoc = File.Exists(config) ? ParseJson(config) : null;
        var cfg = cfgDoc?.RootElement;

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new HearthException($"{path}: 'model' is missing");
        string type = model.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
        bool byteFallback = model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True;
        var added = ReadAdded(path, root);

        HfTokenizer result = type switch
        {
            "BPE" when !byteFallback => ByteLevel(path, root, model, added, cfg),
            "BPE" => SentencePieceFromBpe(path, model, added),
            "Unigram" => SentencePieceFromUnigram(path, model, added),
            _ => throw new HearthException($"{path}: tokenizer model type '{type}' is not supported (BPE, Unigram)"),
        };

        if (result.Model == "llama") result.AddSpacePrefix = ReadAddSpacePrefix(root);
        if (cfg is { } c)
        {
            int? Id(string key) => TokenText(c, key) is { } text ? result.Find(text) ?? throw new HearthException($"{config}: {key} '{text}' is not in the vocabulary") : null;
            result.BosId = Id("bos_token");
            result.EosId = Id("eos_token");
            result.UnknownId = Id("unk_token");
            result.PaddingId = Id("pad_token");
            if (c.TryGetProperty("add_bos_token", out var ab) && ab.ValueKind is JsonValueKind.True or JsonValueKind.False) result.AddBos = ab.GetBoolean();
            if (c.TryGetProperty("add_eos_token", out var ae) && ae.ValueKind is JsonValueKind.True or JsonValueKind.False) result.AddEos = ae.GetBoolean();
            result.ChatTemplate = ReadChatTemplate(c);
        }

        if (result.UnknownId == null && model.TryGetProperty("unk_id", out var uid) && uid.ValueKind == JsonValueKind.Number) result.UnknownId = uid.GetInt32();
        return result;
    }

    /// <summary>The id of a token text, or null.</summary>
    public int? Find(string text)
    {
        int i = _tokens.IndexOf(text);
        return i < 0 ? null : i;
    }

    /// <summary>
    /// Writes the <c>tokenizer.ggml.*</c> keys. With <paramref name="vocabSize"/> larger than the token count, the
    /// vocabulary is padded with unused <c>[PAD{id}]</c> tokens, as llama.cpp's converter does.
    /// </summary>
    /// <exception cref="HearthException">The tokenizer has more tokens than <paramref name="vocabSize"/>.</exception>
    public void WriteTo(GgufWriter writer, int? vocabSize = null)
    {
        var tokens = new List<string>(_tokens);
        var types = new List<TokenType>(_types);
        var scores = _scores == null ? null : new List<float>(_scores);
        if (vocabSize is { } n)
        {
            if (tokens.Count > n) throw new HearthException($"the tokenizer has {tokens.Count} tokens but the model's vocabulary has {n} rows");
            for (int i = tokens.Count; i < n; i++)
            {
                tokens.Add($"[PAD{i}]");
                types.Add(TokenType.Unused);
                scores?.Add(-1000f);
            }
        }

        writer.Set(Tokenizer.KeyModel, Model);
        if (Pre != null) writer.Set(Tokenizer.KeyPre, Pre);
        writer.Set(Tokenizer.KeyTokens, GgufArray.Of(tokens.ToArray()));
        if (scores != null) writer.Set(Tokenizer.KeyScores, GgufArray.Of(scores.ToArray()));
        writer.Set(Tokenizer.KeyTokenType, GgufArray.Of(types.Select(x => (int)x).ToArray()));
        if (Merges != null) writer.Set(Tokenizer.KeyMerges, GgufArray.Of(Merges.ToArray()));
        if (BosId is { } bos) writer.Set(Tokenizer.KeyBosId, (uint)bos);
        if (EosId is { } eos) writer.Set(Tokenizer.KeyEosId, (uint)eos);
        if (UnknownId is { } unk) writer.Set(Tokenizer.KeyUnknownId, (uint)unk);
        if (PaddingId is { } pad) writer.Set(Tokenizer.KeyPaddingId, (uint)pad);
        if (AddBos is { } addBos) writer.Set(Tokenizer.KeyAddBos, addBos);
        if (AddEos is { } addEos) writer.Set(Tokenizer.KeyAddEos, addEos);
        if (AddSpacePrefix is { } asp) writer.Set(Tokenizer.KeyAddSpacePrefix, asp);
        if (ChatTemplate != null) writer.Set("tokenizer.chat_template", ChatTemplate);
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new HearthException($"{path}: not valid JSON: {e.Message}");
        }
    }

    private sealed record Added(int Id, string Content, bool Special);

    private static List<Added> ReadAdded(string path, JsonElement root)
    {
        var list = new List<Added>();
        if (!root.TryGetProperty("added_tokens", out var arr) || arr.ValueKind != JsonValueKind.Array) return list;
        foreach (var a in arr.EnumerateArray())
        {
            if (!a.TryGetProperty("id", out var id) || !id.TryGetInt32(out int i) || i < 0 || !a.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                throw new HearthException($"{path}: added_tokens entry {a} needs an id and a content");
            list.Add(new Added(i, c.GetString()!, a.TryGetProperty("special", out var s) && s.ValueKind == JsonValueKind.True));
        }

        return list;
    }

    /// <summary>Places every (id, text) pair; ids must be dense from 0.</summary>
    private static (List<string> Tokens, List<TokenType> Types) Place(string path, IEnumerable<(int Id, string Text)> vocab, List<Added> added, int maxTokens = 1 << 22)
    {
        var byId = new Dictionary<int, string>();
        foreach (var (id, text) in vocab)
        {
            if (id < 0 || id >= maxTokens) throw new HearthException($"{path}: token id {id} ('{text}') is out of range");
            if (!byId.TryAdd(id, text) && byId[id] != text) throw new HearthException($"{path}: token id {id} is both '{byId[id]}' and '{text}'");
        }

        var types = new Dictionary<int, TokenType>();
        foreach (var a in added)
        {
            if (a.Id >= maxTokens) throw new HearthException($"{path}: added token id {a.Id} is out of range");
            if (byId.TryGetValue(a.Id, out var existing) && existing != a.Content) throw new HearthException($"{path}: added token {a.Id} '{a.Content}' conflicts with vocabulary token '{existing}'");
            byId[a.Id] = a.Content;
            types[a.Id] = a.Special ? TokenType.Control : TokenType.UserDefined;
        }

        int count = byId.Count == 0 ? 0 : byId.Keys.Max() + 1;
        var tokens = new List<string>(count);
        var typeList = new List<TokenType>(count);
        for (int i = 0; i < count; i++)
        {
            if (byId.TryGetValue(i, out var text))
            {
                tokens.Add(text);
                typeList.Add(types.GetValueOrDefault(i, TokenType.Normal));
            }
            else
            {
                tokens.Add($"[PAD{i}]");
                typeList.Add(TokenType.Unused);
            }
        }

        return (tokens, typeList);
    }

    private static HfTokenizer ByteLevel(string path, JsonElement root, JsonElement model, List<Added> added, JsonElement? cfg)
    {
        var vocab = ReadBpeVocab(path, model);
        var (tokens, types) = Place(path, vocab, added);
        var merges = ReadMerges(path, model);
        string pre = RecognisePre(path, root, cfg);
        return new HfTokenizer("gpt2", pre, tokens, types, null, merges);
    }

    private static List<(int, string)> ReadBpeVocab(string path, JsonElement model)
    {
        if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object) throw new HearthException($"{path}: model.vocab is not an object");
        var list = new List<(int, string)>();
        foreach (var p in v.EnumerateObject())
        {
            if (!p.Value.TryGetInt32(out int id)) throw new HearthException($"{path}: model.vocab['{p.Name}'] is not an integer id");
            list.Add((id, p.Name));
        }

        return list;
    }

    private static string[] ReadMerges(string path, JsonElement model)
    {
        if (!model.TryGetProperty("merges", out var m) || m.ValueKind != JsonValueKind.Array) throw new HearthException($"{path}: model.merges is missing");
        var merges = new string[m.GetArrayLength()];
        int i = 0;
        foreach (var e in m.EnumerateArray())
        {
            merges[i] = e.ValueKind switch
            {
                JsonValueKind.String => e.GetString()!,
                JsonValueKind.Array when e.GetArrayLength() == 2 && e[0].ValueKind == JsonValueKind.String && e[1].ValueKind == JsonValueKind.String
                    => e[0].GetString() + " " + e[1].GetString(),
                _ => throw new HearthException($"{path}: merge {i} ({e}) is neither \"a b\" nor [\"a\", \"b\"]"),
            };
            if (merges[i].Split(' ').Length != 2) throw new HearthException($"{path}: merge {i} '{merges[i]}' is not two symbols");
            i++;
        }

        return merges;
    }

    private static string RecognisePre(string path, JsonElement root, JsonElement? cfg)
    {
        var steps = new List<JsonElement>();
        if (root.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            if (p.TryGetProperty("type", out var pt) && pt.GetString() == "Sequence" && p.TryGetProperty("pretokenizers", out var seq))
                steps.AddRange(seq.EnumerateArray());
            else
                steps.Add(p);
        }

        string Type(JsonElement e) => e.TryGetProperty("type", out var x) ? x.GetString() ?? "" : "";
        bool Flag(JsonElement e, string key) => e.TryGetProperty(key, out var x) && x.ValueKind == JsonValueKind.True;
        var regexes = steps.Where(s => Type(s) == "Split" && s.TryGetProperty("pattern", out var pat) && pat.TryGetProperty("Regex", out _))
            .Select(s => s.GetProperty("pattern").GetProperty("Regex").GetString()).ToList();
        var byteLevel = steps.FirstOrDefault(s => Type(s) == "ByteLevel");
        bool byteLevelRegex = byteLevel.ValueKind == JsonValueKind.Object && Flag(byteLevel, "use_regex");
        bool digits = steps.Any(s => Type(s) == "Digits" && Flag(s, "individual_digits"));

        if (regexes.Count == 1 && regexes[0] == Llama3Regex && !byteLevelRegex) return "llama-bpe";
        if (regexes.Count == 1 && regexes[0] == Qwen2Regex && !byteLevelRegex) return "qwen2";
        if (regexes.Count == 0 && byteLevelRegex && digits)
        {
            bool clean = cfg is { } c && c.TryGetProperty("clean_up_tokenization_spaces", out var cu) && cu.ValueKind == JsonValueKind.True;
            return clean ? "starcoder" : "smollm";
        }

        if (regexes.Count == 0 && byteLevelRegex && steps.Count == 1) return "gpt-2";
        string described = steps.Count == 0 ? "none" : string.Join(", ", steps.Select(s => Type(s) + (Type(s) == "Split" ? $"({SplitPattern(s)})" : "")));
        throw new HearthException($"{path}: the pre-tokenizer ({described}) is not one Hearth recognises (Llama 3, Qwen2, SmolLM/StarCoder, GPT-2)");
    }

    private static string SplitPattern(JsonElement split)
    {
        if (!split.TryGetProperty("pattern", out var p)) return "";
        foreach (var key in new[] { "Regex", "String" })
        {
            if (p.ValueKind == JsonValueKind.Object && p.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String) return $"{key} '{v.GetString()}'";
        }

        return p.ToString();
    }

    private static HfTokenizer SentencePieceFromUnigram(string path, JsonElement model, List<Added> added)
    {
        if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Array) throw new HearthException($"{path}: model.vocab is not an array of [piece, score]");
        var vocab = new List<(int, string)>();
        var scoreById = new List<float>();
        int id = 0;
        foreach (var e in v.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e[0].ValueKind != JsonValueKind.String || e[1].ValueKind != JsonValueKind.Number)
                throw new HearthException($"{path}: model.vocab entry {id} is not [piece, score]");
            vocab.Add((id++, e[0].GetString()!));
            scoreById.Add((float)e[1].GetDouble());
        }

        int? unk = model.TryGetProperty("unk_id", out var u) && u.ValueKind == JsonValueKind.Number ? u.GetInt32() : null;
        return SentencePiece(path, vocab, added, i => i < scoreById.Count ? scoreById[i] : 0f, unk);
    }

    private static HfTokenizer SentencePieceFromBpe(string path, JsonElement model, List<Added> added)
    {
        // A SentencePiece BPE model exported to tokenizer.json keeps its pieces in score order: the id is the rank.
        var vocab = ReadBpeVocab(path, model);
        string? unkText = model.TryGetProperty("unk_token", out var ut) && ut.ValueKind == JsonValueKind.String ? ut.GetString() : null;
        int? unk = unkText == null ? null : vocab.Where(x => x.Item2 == unkText).Select(x => (int?)x.Item1).FirstOrDefault();
        return SentencePiece(path, vocab, added, i => -i, unk);
    }

    private static HfTokenizer SentencePiece(string path, List<(int, string)> vocab, List<Added> added, Func<int, float> score, int? unk)
    {
        var (tokens, types) = Place(path, vocab, added);
        var scores = new List<float>(tokens.Count);
        for (int i = 0; i < tokens.Count; i++)
        {
            scores.Add(score(i));
            if (i == unk) types[i] = TokenType.Unknown;
            else if (types[i] == TokenType.Normal && IsByteToken(tokens[i])) types[i] = TokenType.Byte;
        }

        return new HfTokenizer("llama", null, tokens, types, scores, null) { UnknownId = unk };
    }

    private static bool IsByteToken(string s) =>
        s.Length == 6 && s.StartsWith("<0x", StringComparison.Ordinal) && s[5] == '>' && Uri.IsHexDigit(s[3]) && Uri.IsHexDigit(s[4]);

    private static bool? ReadAddSpacePrefix(JsonElement root)
    {
        foreach (var key in new[] { "pre_tokenizer", "normalizer" })
        {
            if (!root.TryGetProperty(key, out var e) || e.ValueKind != JsonValueKind.Object) continue;
            var items = e.TryGetProperty("pretokenizers", out var a) ? a.EnumerateArray().ToList()
                : e.TryGetProperty("normalizers", out var b) ? b.EnumerateArray().ToList() : [e];
            foreach (var s in items)
            {
                string type = s.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
                if (type == "Metaspace")
                {
                    if (s.TryGetProperty("prepend_scheme", out var ps) && ps.GetString() == "never") return false;
                    if (s.TryGetProperty("add_prefix_space", out var ap) && ap.ValueKind == JsonValueKind.False) return false;
                    return true;
                }

                if (type == "Prepend") return true;
            }
        }

        return null;
    }

    private static string? TokenText(JsonElement cfg, string key)
    {
        if (!cfg.TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) => c.GetString(),
            _ => null,
        };
    }

    private static string? ReadChatTemplate(JsonElement cfg)
    {
        if (!cfg.TryGetProperty("chat_template", out var t)) return null;
        if (t.ValueKind == JsonValueKind.String) return t.GetString();
        if (t.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var e in t.EnumerateArray())
        {
            if (!e.TryGetProperty("template", out var tt) || tt.ValueKind != JsonValueKind.String) continue;
            first ??= tt.GetString();
            if (e.TryGetProperty("name", out var n) && n.GetString() == "default") return tt.GetString();
        }

        return first;
    }
}
