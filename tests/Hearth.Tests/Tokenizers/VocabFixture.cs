using System.Collections.Concurrent;
using Hearth.Gguf;
using Hearth.Tokenizers;

namespace Hearth.Tests.Tokenizers;

/// <summary>Loads each shared vocabulary once per test class.</summary>
public sealed class VocabFixture
{
    private readonly ConcurrentDictionary<string, Lazy<Tokenizer>> _cache = new(StringComparer.Ordinal);

    /// <summary>The tokenizer of <c>shared/tokenizers/ggml-vocab-{name}.gguf</c>.</summary>
    public Tokenizer Get(string name) => _cache.GetOrAdd(name, n => new Lazy<Tokenizer>(() => Load(VocabPath(n)))).Value;

    public static string VocabPath(string name) => TestData.Path("tokenizers", $"ggml-vocab-{name}.gguf");

    public static Tokenizer Load(string path)
    {
        using var file = GgufFile.Open(path);
        return Tokenizer.FromGguf(file);
    }

    /// <summary>Names of every ggml-vocab-*.gguf in the shared data.</summary>
    public static IEnumerable<string> VocabNames()
    {
        var dir = TestData.Path("tokenizers");
        return Directory.GetFiles(dir, "ggml-vocab-*.gguf")
            .Select(p => Path.GetFileName(p)["ggml-vocab-".Length..^".gguf".Length])
            .Order(StringComparer.Ordinal);
    }

    /// <summary>The reference cases of one vocabulary: text and expected ids.</summary>
    public static List<(string Text, int[] Ids)> Cases(string name)
    {
        string path = VocabPath(name);
        string inp = File.ReadAllText(path + ".inp", System.Text.Encoding.UTF8);
        var texts = inp.Split("\n__ggml_vocab_test__\n").ToList();
        if (texts.Count > 0 && texts[^1].Length == 0) texts.RemoveAt(texts.Count - 1);

        var lines = File.ReadAllText(path + ".out").Split('\n');
        var cases = new List<(string, int[])>();
        for (int k = 0; k < texts.Count; k++)
        {
            var ids = lines[k].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
            cases.Add((texts[k], ids));
        }

        return cases;
    }
}
