using System.Text;
using Hearth.Tests;

namespace Hearth.Agents.Tests.Documents;

/// <summary><c>hearth agent extract</c> end to end, in-process, with stories260K filling the fields under the schema.</summary>
public sealed class AgentExtractCommandTests : IDisposable
{
    private readonly string _root = TestDocuments.Scratch();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (string Docs, string Schema, string Out) Setup(string schemaJson)
    {
        var docs = Path.Combine(_root, "docs");
        Directory.CreateDirectory(docs);
        File.WriteAllText(Path.Combine(docs, "ja.txt"), string.Join("\n", TestDocuments.JapaneseInvoice));
        File.WriteAllBytes(Path.Combine(docs, "ne.docx"), TestDocuments.Docx(TestDocuments.NepaliInvoice));
        File.WriteAllBytes(Path.Combine(docs, "broken.pdf"), Encoding.ASCII.GetBytes("%PDF-1.4 broken"));
        var schema = Path.Combine(_root, "fields.json");
        File.WriteAllText(schema, schemaJson);
        return (docs, schema, Path.Combine(_root, "out", "sheet.xlsx"));
    }

    [Fact]
    public void ExtractWritesTheWorkbookWithARowPerDocumentAndReportsFailures()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        var (code, stdout, stderr) = Hearth.Tests.Cli.Run("agent", "extract", docs, "--schema", schema, "--out", output, "--model", TestData.Path("models", "stories260K.gguf"), "--threads", "2");
        Assert.True(code == 0, stderr);
        Assert.Contains("ok     ja.txt", stdout);
        Assert.Contains("failed broken.pdf (text)", stderr);
        Assert.Contains("2 row(s), 1 failed, 0 skipped", stdout);

        using var book = new WorkbookReader(File.ReadAllBytes(output));
        Assert.Equal(["ja.txt", "ne.docx"], book.Rows("Data").Select(r => r["source_file"].Value));
        Assert.Equal("broken.pdf", Assert.Single(book.Rows("Failed"))["source_file"].Value);
    }

    [Fact]
    public void ABadSchemaIsAnErrorNamingTheField()
    {
        var (docs, schema, output) = Setup("""{"type":"object","properties":{"lines":{"type":"array"}}}""");
        var (code, _, stderr) = Hearth.Tests.Cli.Run("agent", "extract", docs, "--schema", schema, "--out", output, "--model", TestData.Path("models", "stories260K.gguf"));
        Assert.Equal(1, code);
        Assert.Contains("field 'lines'", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void APolicyFileNeedsTheAgentRuntime()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        var (code, _, stderr) = Hearth.Tests.Cli.Run("agent", "extract", docs, "--schema", schema, "--out", output, "--model", TestData.Path("models", "stories260K.gguf"),
            "--policy", Path.Combine(_root, "policy.yaml"));
        Assert.Equal(1, code);
        Assert.Contains("--policy", stderr);
    }

    [Fact]
    public void TheHelpNamesTheCommand()
    {
        var (code, stdout, _) = Hearth.Tests.Cli.Run("agent", "extract", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--schema", stdout);
        Assert.Contains("--lang", stdout);
    }
}
