using BenchmarkDotNet.Attributes;
using Hearth.Gguf;
using Hearth.Grammar;
using Hearth.Tokenizers;

namespace Hearth.Bench;

/// <summary>
/// Grammar masking over the real 151k-token Qwen2 vocabulary with a JSON-schema grammar, one mask at representative
/// states: cold (a fresh matcher, caches empty: the first time a state is met) and cached (the state's mask already
/// computed: states recur, e.g. after every character of a string body).
/// Needs the shared data (<c>../shared/tokenizers/ggml-vocab-qwen2.gguf</c>, or <c>$HEARTH_TESTDATA</c>).
/// </summary>
[MemoryDiagnoser]
public class GrammarMaskBenchmarks
{
    internal const string Schema = """
        {
          "type": "object",
          "properties": {
            "name": { "type": "string" },
            "nick": { "type": "string", "maxLength": 24 },
            "age": { "type": "integer", "minimum": 0, "maximum": 150 },
            "city": { "enum": ["Zürich", "東京", "New York"] },
            "born": { "type": "string", "format": "date" },
            "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 5 }
          },
          "required": ["name", "nick", "age", "tags"]
        }
        """;

    internal const string Answer = """{"name": "Jonathan Livingston Seagull", "nick": "jon the bird", "age": 42, "tags": ["flight", "freedom", "東京の空"], "city": "東京", "born": "1970-08-01"}""";

    private static readonly Dictionary<string, string> s_prefixes = new()
    {
        ["start"] = "",
        ["object-open"] = "{",
        ["key"] = "{\"na",
        ["value"] = "{\"name\": ",
        ["string-body"] = "{\"name\": \"Jonathan Liv",
        ["counted-string"] = "{\"name\": \"J\", \"nick\": \"jon t",
        ["counted-string-end"] = "{\"name\": \"J\", \"nick\": \"jon the bird of the s",
        ["integer"] = "{\"name\": \"J\", \"nick\": \"j\", \"age\": 4",
        ["array"] = "{\"name\": \"J\", \"nick\": \"j\", \"age\": 42, \"tags\": [",
        ["enum"] = "{\"name\": \"J\", \"nick\": \"j\", \"age\": 42, \"tags\": [], \"city\": \"",
        ["after-value"] = "{\"name\": \"J\", \"nick\": \"j\", \"age\": 42, \"tags\": []",
    };

    private GrammarFixture _f = null!;
    private GrammarMatcher _cached = null!;
    private bool[] _mask = [];

    [Params("start", "object-open", "key", "value", "string-body", "counted-string", "counted-string-end", "integer", "array", "enum", "after-value")]
    public string State { get; set; } = "start";

    [GlobalSetup]
    public void Setup()
    {
        _f = GrammarFixture.Load();
        _mask = new bool[_f.Vocabulary.Count];
        _cached = At(State);
        _cached.ComputeMask(_mask);
    }

    private GrammarMatcher At(string state)
    {
        var m = new GrammarMatcher(_f.Grammar, _f.Vocabulary);
        if (!m.TryAcceptText(s_prefixes[state])) throw new InvalidOperationException($"state '{state}' is not reachable");
        return m;
    }

    /// <summary>A fresh matcher brought to the state, without a mask: subtract from <see cref="MaskCold"/>.</summary>
    [Benchmark]
    public bool PrefixOnly() => At(State).IsComplete;

    /// <summary>A fresh matcher brought to the state, then its mask with empty caches (as the first time a state is met).</summary>
    [Benchmark]
    public int MaskCold() => At(State).ComputeMask(_mask);

    /// <summary>The mask at the state once it has been computed (states recur: every character of a string body).</summary>
    [Benchmark]
    public int MaskCached() => _cached.ComputeMask(_mask);

}

/// <summary>
/// The masking cost of a whole constrained answer (a mask and an accept for every token of a JSON document tokenized by
/// Qwen2): per-token cost = time / <see cref="GrammarFixture.AnswerTokenCount"/>. Cold: a fresh matcher (every state
/// met for the first time); warm: the same schema again on a matcher whose states are cached. Plus the one-off cost of
/// the per-vocabulary data.
/// </summary>
[MemoryDiagnoser]
public class GrammarGenerationBenchmarks
{
    private GrammarFixture _f = null!;
    private GrammarMatcher _warm = null!;
    private bool[] _mask = [];

    [GlobalSetup]
    public void Setup()
    {
        _f = GrammarFixture.Load();
        _mask = new bool[_f.Vocabulary.Count];
        _warm = new GrammarMatcher(_f.Grammar, _f.Vocabulary);
        Generate(_warm);
    }

    private int Generate(GrammarMatcher m)
    {
        m.Reset();
        int total = 0;
        foreach (int token in _f.AnswerTokens)
        {
            total += m.ComputeMask(_mask);
            m.AcceptToken(token);
        }

        return total + m.ComputeMask(_mask);
    }

    [Benchmark]
    public int GenerationCold() => Generate(new GrammarMatcher(_f.Grammar, _f.Vocabulary));

    [Benchmark]
    public int GenerationWarm() => Generate(_warm);

    /// <summary>Building the per-vocabulary data (once per model).</summary>
    [Benchmark]
    public int BuildVocabulary() => TokenVocabulary.FromTokenizer(_f.Tokenizer).TextTokenCount;
}

/// <summary>The Qwen2 vocabulary, the schema grammar and the tokenized answer, loaded once per process.</summary>
internal sealed class GrammarFixture
{
    private static readonly Lazy<GrammarFixture> s_instance = new(() => new GrammarFixture());

    private GrammarFixture()
    {
        using (var file = GgufFile.Open(FindVocabulary()))
        {
            Tokenizer = Tokenizer.FromGguf(file);
        }

        Vocabulary = TokenVocabulary.FromTokenizer(Tokenizer);
        Grammar = JsonSchemaGrammar.FromSchema(GrammarMaskBenchmarks.Schema);
        AnswerTokens = Tokenizer.Encode(GrammarMaskBenchmarks.Answer, addSpecial: false);
    }

    public static GrammarFixture Load() => s_instance.Value;

    public Tokenizer Tokenizer { get; }

    public TokenVocabulary Vocabulary { get; }

    public Hearth.Grammar.Grammar Grammar { get; }

    public int[] AnswerTokens { get; }

    /// <summary>Masks computed per generation: one per answer token plus the final one (where EOG is allowed).</summary>
    public int AnswerTokenCount => AnswerTokens.Length + 1;

    private static string FindVocabulary()
    {
        const string name = "ggml-vocab-qwen2.gguf";
        var env = Environment.GetEnvironmentVariable("HEARTH_TESTDATA");
        if (!string.IsNullOrEmpty(env)) return Path.Combine(env, "tokenizers", name);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "tokenizers", name);
            if (File.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "tokenizers", name);
            if (File.Exists(candidate)) return Path.GetFullPath(candidate);
        }

        throw new FileNotFoundException($"{name} not found: put the shared data beside the repository or set HEARTH_TESTDATA");
    }
}
