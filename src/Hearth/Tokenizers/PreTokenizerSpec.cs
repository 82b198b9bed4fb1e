namespace Hearth.Tokenizers;

internal enum PreTokenizerExpressionKind
{
    /// <summary>A general regular expression.</summary>
    Regex,

    /// <summary>GPT-2's expression, matched by hand like llama.cpp does.</summary>
    Gpt2,

    /// <summary>Llama 3's expression, matched by hand like llama.cpp does.</summary>
    Llama3,
}

internal sealed record PreTokenizerExpression(PreTokenizerExpressionKind Kind, string Pattern);

/// <summary>
/// One byte-level BPE pre-tokenizer variant as llama.cpp defines it for a <c>tokenizer.ggml.pre</c> value: its split
/// expressions and the vocabulary flags the name implies (clean-up of spaces on decode, whole-word lookup before merging,
/// BOS by default, no BOS token).
/// </summary>
internal sealed record PreTokenizerSpec(
    string Name,
    PreTokenizerExpression[] Expressions,
    bool CleanSpaces = true,
    bool IgnoreMerges = false,
    bool AddBos = false,
    bool ClearBos = false)
{
    private const string Contractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

    public const string Llama3Pattern = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const string Qwen2Pattern = Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static readonly PreTokenizerExpression s_gpt2 = new(PreTokenizerExpressionKind.Gpt2, Gpt2Pattern);
    private static readonly PreTokenizerExpression s_llama3 = new(PreTokenizerExpressionKind.Llama3, Llama3Pattern);

    private static PreTokenizerExpression R(string pattern) => new(PreTokenizerExpressionKind.Regex, pattern);

    // Letters with case (the DeepSeek LLM tokenizer's letter class), spelled as escapes so no editor or tool can
    // normalise the Greek Extended and Letterlike Symbols code points into different characters.
    private const string DeepSeekLetters =
        "A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377" +
        "\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556" +
        "\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A" +
        "\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4" +
        "\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC" +
        "\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F" +
        "\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B" +
        "\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A" +
        "\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2" +
        "\U000118A0-\U000118DF\U0001E900-\U0001E943";

    private static PreTokenizerExpression[] Default => [R(@"[\p{P}\$\+<=>\^~\|]+"), s_gpt2, R(@"\p{N}+"), R("[0-9][0-9][0-9]")];

    private static PreTokenizerExpression[] Llama3 => [s_llama3];

    private static PreTokenizerExpression[] Gpt2 => [s_gpt2];

    private static PreTokenizerExpression[] StarCoder => [R(@"\p{N}"), s_gpt2];

    private static PreTokenizerExpression[] Qwen2 => [R(Qwen2Pattern)];

    private static PreTokenizerExpression[] Falcon => [R(@"[\p{P}\$\+<=>\^~\|`]+"), s_gpt2, R("[0-9][0-9][0-9]")];

    private static PreTokenizerExpression[] DeepSeekCoder =>
        [R("[\r\n]"), R(@"\s?\p{L}+"), R(@"\s?\p{P}+"), R("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"), R(@"\p{N}")];

    private static PreTokenizerExpression[] DeepSeekLlm =>
    [
        R("[\r\n]"),
        R(@"\s?[" + DeepSeekLetters + "]+"),
        R(@"\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+"),
        R(@"\s+$"),
        R("[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"),
        R(@"\p{N}+"),
    ];

    private static PreTokenizerExpression[] DeepSeekV3 =>
    [
        R(@"\p{N}{1,3}"),
        R("[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+"),
        R(@"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^" + "\r\n" + @"\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[" + "\r\n" + @"]*|\s*[" + "\r\n" + @"]+|\s+(?!\S)|\s+"),
    ];

    private static PreTokenizerExpression[] Poro => [R(@" ?[^(\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+")];

    private static PreTokenizerExpression[] Viking => [R(@" ?[^(\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+"), R(@"\p{N}")];

    private static PreTokenizerExpression[] Tekken =>
        [R(@"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] Gpt4o =>
    [
        R(@"[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+" + Contractions + @"?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*" + Contractions + @"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
    ];

    private static PreTokenizerExpression[] Chameleon =>
    [
        R("<sentinel:[0-9]+>"),
        R("(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"),
        R(@"([\t\n]|    |  )"),
        R(@"\p{N}"),
        R(@"[\p{P}!-/:-@\[-`{-~]"),
        s_gpt2,
    ];

    private static PreTokenizerExpression[] BailingMoe =>
        [R(@"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] SeedCoder =>
        [R(Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] Qwen35 =>
        [R(Contractions + @"|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] ExaoneMoe =>
        [R(Contractions + @"|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] Jais2 =>
        [R(Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}")];

    private static PreTokenizerExpression[] MiniCpm5 =>
        [R(@"\p{N}{1,3}"), R(Contractions + @"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] GraniteEmbedMulti =>
    [
        R(@"[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+" + Contractions + @"?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*" + Contractions + @"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"),
    ];

    private static PreTokenizerExpression[] Spark25 =>
    [
        R(@"\p{N}{1,3}"),
        R("[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+"),
        R(@"[!""#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^" + "\r\n" + @"\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+|[" + "\r\n" + @"]|\s+(?!\S)|\s+"),
        R(@"\p{N}"),
    ];

    private static PreTokenizerExpression[] Ufakzeka =>
        [R(@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")];

    private static PreTokenizerExpression[] Laguna =>
        [R(@"[^\n]+|[\n]+"), R(Qwen2Pattern)];

    /// <summary>Names llama.cpp knows whose pre-tokenizers need code Hearth does not have (custom splitters,
    /// non-byte-level encodings, empty-match expressions).</summary>
    private static readonly HashSet<string> s_unsupported = new(StringComparer.Ordinal)
    {
        "kimi-k2", "afmoe", "superbpe", "tiny_aya", "cohere2moe", "gemma4", "granite-embed-multi-311m", "sarvam-moe",
        "whitespace", "youtu",
    };

    /// <summary>True for a name llama.cpp accepts but Hearth does not implement.</summary>
    public static bool IsKnownButUnsupported(string? name) => name != null && s_unsupported.Contains(name);

    /// <summary>
    /// The variant for a <c>tokenizer.ggml.pre</c> value, or null when llama.cpp does not know the name (or Hearth does
    /// not implement it). A null or empty name means <c>default</c>, as in llama.cpp.
    /// </summary>
    public static PreTokenizerSpec? Find(string? name)
    {
        name = string.IsNullOrEmpty(name) ? "default" : name;
        return name switch
        {
            "default" => new(name, Default),
            "llama3" or "llama-v3" or "llama-bpe" or "falcon3" or "falcon-h1" or "pixtral" or "midm-2.0" or "lfm2"
                => new(name, Llama3, IgnoreMerges: true, AddBos: true),
            "dbrx" or "smaug-bpe" => new(name, Llama3),
            "deepseek-llm" => new(name, DeepSeekLlm, CleanSpaces: false),
            "deepseek-coder" => new(name, DeepSeekCoder, CleanSpaces: false),
            "deepseek-v3" or "hunyuan-dense" or "hy_v4" or "joyai-llm" => new(name, DeepSeekV3, CleanSpaces: false),
            "falcon" => new(name, Falcon),
            "mpt" or "olmo" or "jais" or "exaone4" => new(name, Gpt2),
            "trillion" or "granite-docling" => new(name, Gpt2, CleanSpaces: false),
            "gpt-2" or "phi-2" or "jina-es" or "jina-de" or "gigachat" or "jina-v2-es" or "jina-v2-de" or "a.x-4.0"
                or "mellum" or "modern-bert" or "jina-v1-en" or "jina-v2-code" or "roberta-bpe" => new(name, Gpt2),
            "starcoder" or "refact" or "codeshell" or "exaone" or "minerva-7b" or "mellum2" => new(name, StarCoder),
            "command-r" or "smollm" => new(name, StarCoder, CleanSpaces: false),
            "qwen2" or "deepseek-r1-qwen" or "kormo" or "f2llmv2" => new(name, Qwen2, CleanSpaces: false),
            "megrez" or "stablelm2" => new(name, Qwen2),
            "hunyuan" or "solar-open" => new(name, Qwen2, CleanSpaces: false),
            "qwen35" => new(name, Qwen35, CleanSpaces: false),
            "poro-chat" => new(name, Poro, CleanSpaces: false),
            "bloom" or "gpt3-finnish" => new(name, Poro),
            "glm4" or "chatglm-bpe" => new(name, Llama3, ClearBos: true),
            "viking" => new(name, Viking, CleanSpaces: false),
            "tekken" => new(name, Tekken, CleanSpaces: false, IgnoreMerges: true, AddBos: true),
            "chameleon" => new(name, Chameleon, CleanSpaces: false, AddBos: true),
            "gpt-4o" or "llama4" or "kanana2" or "talkie" or "minimax-m2" => new(name, Gpt4o, CleanSpaces: false),
            "granite-embed-multi-97m" => new(name, GraniteEmbedMulti, CleanSpaces: false, IgnoreMerges: true),
            "jais-2" => new(name, Jais2),
            "minicpm5" => new(name, MiniCpm5, IgnoreMerges: true),
            "spark2_5" => new(name, Spark25, CleanSpaces: false),
            "ufakzeka" => new(name, Ufakzeka, CleanSpaces: false),
            "laguna" => new(name, Laguna, CleanSpaces: false),
            "bailingmoe" or "bailingmoe2" or "llada-moe" => new(name, BailingMoe, CleanSpaces: false),
            "seed-coder" => new(name, SeedCoder, CleanSpaces: false),
            "grok-2" => new(name, Qwen2, CleanSpaces: false),
            "exaone-moe" => new(name, ExaoneMoe),
            _ => null,
        };
    }

    /// <summary>Every name <see cref="Find"/> accepts.</summary>
    public static IReadOnlyList<string> KnownNames { get; } =
    [
        "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "dbrx",
        "smaug-bpe", "deepseek-llm", "deepseek-coder", "deepseek-v3", "hunyuan-dense", "falcon", "mpt", "olmo", "jais",
        "exaone4", "trillion", "granite-docling", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
        "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "starcoder",
        "refact", "codeshell", "exaone", "minerva-7b", "command-r", "smollm", "qwen2", "deepseek-r1-qwen", "megrez",
        "stablelm2", "hunyuan", "solar-open", "qwen35", "poro-chat", "bloom", "gpt3-finnish", "glm4", "chatglm-bpe",
        "viking", "tekken", "chameleon", "gpt-4o", "llama4", "minimax-m2", "bailingmoe", "bailingmoe2", "llada-moe",
        "seed-coder", "grok-2", "exaone-moe", "kormo", "f2llmv2", "hy_v4", "joyai-llm", "mellum2", "kanana2", "talkie",
        "granite-embed-multi-97m", "jais-2", "minicpm5", "spark2_5", "ufakzeka", "laguna",
    ];
}
