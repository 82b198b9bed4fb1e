using System.Text;
using Hearth.Tokenizers;

namespace Hearth.Tests.Tokenizers;

/// <summary>Every case in shared/tokenizers must tokenize to llama.cpp's reference ids.</summary>
public sealed class ReferenceVocabTests(VocabFixture vocabs) : IClassFixture<VocabFixture>
{
    public static TheoryData<string> Vocabs => new(VocabFixture.VocabNames());

    [Theory]
    [MemberData(nameof(Vocabs))]
    public void EncodeMatchesReference(string vocab)
    {
        var tokenizer = vocabs.Get(vocab);
        var cases = VocabFixture.Cases(vocab);
        Assert.NotEmpty(cases);

        var failures = new StringBuilder();
        int failed = 0;
        for (int k = 0; k < cases.Count; k++)
        {
            var (text, expected) = cases[k];
            var got = tokenizer.Encode(text, addSpecial: false, parseSpecial: false);
            if (got.SequenceEqual(expected)) continue;
            failed++;
            failures.AppendLine($"case {k} {Quote(text)}:");
            failures.AppendLine($"  expected: {string.Join(' ', expected)}");
            failures.AppendLine($"  got:      {string.Join(' ', got)}");
        }

        Assert.True(failed == 0, $"{vocab}: {failed} of {cases.Count} cases differ\n{failures}");
    }

    /// <summary>
    /// decode(encode(text)) gives the text back, except where llama.cpp's own decode changes it: with CleanSpaces, a
    /// space before ?!., or around an apostrophe is removed.
    /// </summary>
    [Theory]
    [MemberData(nameof(Vocabs))]
    public void DecodeRoundTrips(string vocab)
    {
        var tokenizer = vocabs.Get(vocab);
        var failures = new StringBuilder();
        int checkedCases = 0;
        foreach (var (text, _) in VocabFixture.Cases(vocab))
        {
            if (tokenizer.CleanSpaces && HasCleanUpPattern(text)) continue;
            checkedCases++;
            var decoded = tokenizer.Decode(tokenizer.Encode(text, addSpecial: false));
            if (decoded != text) failures.AppendLine($"{Quote(text)} -> {Quote(decoded)}");
        }

        Assert.True(checkedCases > 10, $"{vocab}: only {checkedCases} cases checked");
        Assert.True(failures.Length == 0, $"{vocab}: round trip differs\n{failures}");
    }

    private static bool HasCleanUpPattern(string text) =>
        text.Contains(" ?") || text.Contains(" !") || text.Contains(" .") || text.Contains(" ,") || text.Contains(" '");

    internal static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (char c in s)
        {
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '"' => "\\\"",
                _ => c.ToString(),
            });
        }

        return sb.Append('"').ToString();
    }
}
