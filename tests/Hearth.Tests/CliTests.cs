using System.Text.Json;
using Hearth.Cli;

namespace Hearth.Tests;

/// <summary>The CLI's commands, run in-process with captured output.</summary>
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Run(string stdin, params string[] args) => Cli.RunWithInput(stdin, args);

    private static string Stories => TestData.Path("models", "stories260K.gguf");

    [Fact]
    public void InspectPrintsMetadataAndTensorTable()
    {
        var (code, output, _) = Run("", "inspect", Stories);
        Assert.Equal(0, code);
        Assert.Contains("general.architecture", output);
        Assert.Contains("[String; 512]", output);
        Assert.Contains("… 504 more", output);
        Assert.Matches(@"token_embd\.weight\s+F32\s+\[64, 512\]\s+131072", output);
    }

    [Fact]
    public void InspectJsonIsValidAndSummarisesLongArrays()
    {
        var (code, output, _) = Run("", "inspect", Stories, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        var tokens = doc.RootElement.GetProperty("metadata").GetProperty("tokenizer.ggml.tokens");
        Assert.Equal(512, tokens.GetProperty("count").GetInt32());
        Assert.Equal("<unk>", tokens.GetProperty("first")[0].GetString());
        var tensors = doc.RootElement.GetProperty("tensors");
        Assert.Equal(48, tensors.GetArrayLength());
        Assert.Equal("F32", tensors[0].GetProperty("type").GetString());
    }

    [Fact]
    public void RunStreamsTheGreedyStoryFromStdin()
    {
        var reference = File.ReadAllText(TestData.Path("golden", "stories260K.greedy64.txt"));
        var expected = reference[(reference.IndexOf("text: ", StringComparison.Ordinal) + 6)..].TrimEnd('\n');
        var (code, output, err) = Run("", "run", Stories, "--temp", "0", "-n", "64", "--verbose");
        Assert.Equal(0, code);
        Assert.Equal(expected + "\n", output);
        Assert.Contains("prompt 1 tokens", err);
        Assert.Contains("generated 64 tokens", err);
    }

    [Fact]
    public void TokenizePrintsIdsWithAndWithoutBos()
    {
        var (_, withBos, _) = Run("", "tokenize", Stories, "Once upon a time", "--ids");
        var (_, noBos, _) = Run("Once upon a time", "tokenize", Stories, "--ids", "--no-bos");
        Assert.StartsWith("[1, ", withBos);
        Assert.Equal(withBos.Replace("[1, ", "["), noBos);
    }

    [Fact]
    public void LogitsWritesTheGoldenLayout()
    {
        var path = Path.GetTempFileName();
        try
        {
            var (code, _, _) = Run("", "logits", Stories, "--tokens", "1,15,27,100,200,300,42,7,511,3,64,128", "--out", path);
            Assert.Equal(0, code);
            var ours = File.ReadAllBytes(path);
            var reference = File.ReadAllBytes(TestData.Path("golden", "logits", "stories260K.kvf32.bin"));
            Assert.Equal(reference.Length, ours.Length);
            var a = new float[ours.Length / 4];
            var b = new float[a.Length];
            Buffer.BlockCopy(ours, 0, a, 0, ours.Length);
            Buffer.BlockCopy(reference, 0, b, 0, reference.Length);
            Models.LogitComparison.AssertMatches(a, b, 512, 1e-6, "hearth logits");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("inspect", "/nonexistent/model.gguf")]
    [InlineData("logits", "STORIES", "--tokens", "1,x")]
    [InlineData("logits", "STORIES", "--tokens", "1,999")]
    public void BadInputIsAClearErrorNotACrash(params string[] args)
    {
        var (code, _, err) = Run("", args.Select(a => a == "STORIES" ? Stories : a).ToArray());
        Assert.NotEqual(0, code);
        Assert.StartsWith("error: ", err);
    }
}

/// <summary>The constrained-output flags of <c>hearth run</c>.</summary>
public sealed class CliConstraintTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    private static string Stories => TestData.Path("models", "stories260K.gguf");

    [Fact]
    public void JsonSchemaOutputValidates()
    {
        var schema = Path.GetTempFileName();
        try
        {
            const string text = """{"type":"object","properties":{"n":{"type":"integer"},"ok":{"type":"boolean"}},"required":["n","ok"]}""";
            File.WriteAllText(schema, text);
            var (code, output, err) = Run("run", Stories, "Once", "--json-schema", schema, "-n", "200", "--seed", "4");
            Assert.True(code == 0, err);
            var errors = Hearth.Grammar.JsonSchemaValidator.Validate(System.Text.Json.Nodes.JsonNode.Parse(output), System.Text.Json.Nodes.JsonNode.Parse(text)!);
            Assert.Empty(errors);
        }
        finally
        {
            File.Delete(schema);
        }
    }

    [Fact]
    public void TruncatedConstrainedOutputIsAnErrorExit()
    {
        var schema = Path.GetTempFileName();
        try
        {
            File.WriteAllText(schema, """{"type":"object","properties":{"story":{"type":"string"}},"required":["story"]}""");
            var (code, _, err) = Run("run", Stories, "Once", "--json-schema", schema, "-n", "4", "--seed", "4");
            Assert.Equal(3, code);
            Assert.Contains("truncated", err);
        }
        finally
        {
            File.Delete(schema);
        }
    }

    [Fact]
    public void BadGrammarFailsBeforeGenerating()
    {
        var grammar = Path.GetTempFileName();
        try
        {
            File.WriteAllText(grammar, "root ::= \"a\" missing-rule\n");
            var (code, output, err) = Run("run", Stories, "Once", "--grammar", grammar);
            Assert.NotEqual(0, code);
            Assert.Equal("", output);
            Assert.Contains("missing-rule", err);
        }
        finally
        {
            File.Delete(grammar);
        }
    }

    [Fact]
    public void ChoicesPrintTheChoiceAndItsProbability()
    {
        var (code, output, _) = Run("run", Stories, "Once upon a time there was a little", "--choices", "girl|spaceship");
        Assert.Equal(0, code);
        var parts = output.TrimEnd('\n').Split('\t');
        Assert.Contains(parts[0], new[] { "girl", "spaceship" });
        Assert.InRange(double.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), 0.5, 1.0);
    }
}
