using System.Text;
using Hearth.Agents.Audit;
using Hearth.Agents.State;
using Hearth.Tests;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// <c>hearth agent extract</c> end to end, in-process, with stories260K filling the fields under the schema, through
/// the real policy-backed workspace; then <c>hearth agent undo</c> on the same state directory.
/// </summary>
public sealed class AgentExtractCommandTests : IDisposable
{
    private readonly string _root = TestDocuments.Scratch();

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string State => Path.Combine(_root, "state");

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

    private (int Code, string Out, string Err) Extract(string stdin, string docs, string schema, string output, params string[] extra) =>
        Hearth.Tests.Cli.RunWithInput(stdin, ["agent", "extract", docs, "--schema", schema, "--out", output, "--model", TestData.Path("models", "stories260K.gguf"),
            "--threads", "2", "--state", State, .. extra]);

    [Fact]
    public void ExtractWritesTheWorkbookWithARowPerDocumentAndUndoTakesItBack()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        var before = Sandbox.Tree(docs);
        var (code, stdout, stderr) = Extract("", docs, schema, output);
        Assert.True(code == 0, stderr);
        Assert.Contains("read 3 document(s), skip 0, then create", stdout);
        Assert.Contains("ok     ja.txt", stdout);
        Assert.Contains("failed broken.pdf (text)", stderr);
        Assert.Contains("2 row(s), 1 failed, 0 skipped", stdout);

        using (var book = new WorkbookReader(File.ReadAllBytes(output)))
        {
            Assert.Equal(["ja.txt", "ne.docx"], book.Rows("Data").Select(r => r["source_file"].Value));
            Assert.Equal("broken.pdf", Assert.Single(book.Rows("Failed"))["source_file"].Value);
        }

        var runId = stdout.Split('\n').Single(l => l.StartsWith("Undo with: ", StringComparison.Ordinal))["Undo with: hearth agent undo ".Length..].Trim();
        using (var state = AgentStateStore.Open(State))
        {
            // Every read and the write are audited, allowed by the derived policy.
            var rows = state.Audit.Read(runId);
            Assert.Single(rows, r => r.Tool == "list_files"); // the plan shown is the plan run
            Assert.Equal(3, rows.Count(r => r.Tool == "read_file" && r.Decision == AuditDecision.Allowed));
            Assert.Single(rows, r => r.Tool == "write_file" && r.Decision == AuditDecision.Allowed);
        }

        var undo = Hearth.Tests.Cli.Run("agent", "undo", runId, "--state", State);
        Assert.Equal(0, undo.Code);
        Assert.False(File.Exists(output));
        Assert.False(Directory.Exists(Path.GetDirectoryName(output)));
        Assert.Equal(before, Sandbox.Tree(docs));
    }

    [Fact]
    public void ADryRunPrintsThePlanAndChangesNothing()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        var (code, stdout, stderr) = Extract("", docs, schema, output, "--dry-run");
        Assert.True(code == 0, stderr);
        Assert.Contains("  read   broken.pdf", stdout);
        Assert.Contains("  read   ja.txt", stdout);
        Assert.Contains("nothing was changed", stdout);
        Assert.False(Directory.Exists(Path.GetDirectoryName(output)));
        using var state = AgentStateStore.Open(State);
        Assert.True(Assert.Single(state.Runs()).DryRun);
        Assert.Single(state.Audit.Read(), r => r.Tool == "write_file" && r.Decision == AuditDecision.DryRun);
        Assert.Empty(state.Journal.Entries());
    }

    [Fact]
    public void ReplacingAWorkbookIsAskedForAndNoChangesNothing()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        File.WriteAllText(output, "an older workbook");
        var (code, stdout, stderr) = Extract("n\n", docs, schema, output);
        Assert.Equal(2, code);
        Assert.Contains("overwrite", stderr);
        Assert.Contains("Allow? [y]es / [n]o / [a]lways", stderr);
        Assert.Contains("Not approved: nothing was changed.", stdout);
        Assert.Equal("an older workbook", File.ReadAllText(output));
    }

    [Fact]
    public void APolicyFileDecidesAndAWorkbookItForbidsIsRefusedBeforeTheModelRuns()
    {
        var (docs, schema, output) = Setup(StoriesExtractionTests.BoundedSchema);
        var policy = Path.Combine(_root, "policy.yaml");
        File.WriteAllText(policy, $"roots:\n  - path: {docs}\n    access: read-only\n  - path: {_root}\n    access: read-only\n");
        var (code, stdout, stderr) = Extract("", docs, schema, output, "--policy", policy);
        Assert.Equal(2, code);
        Assert.Contains("is read-only; nothing was changed", stderr);
        Assert.DoesNotContain("ok     ", stdout);
        Assert.False(File.Exists(output));
        using var state = AgentStateStore.Open(State);
        var refused = Assert.Single(state.Audit.Read(), r => r.Decision == AuditDecision.Denied);
        Assert.Equal(("write_file", "refused: checked before running"), (refused.Tool, refused.Result));
    }

    [Fact]
    public void ABadSchemaIsAnErrorNamingTheField()
    {
        var (docs, schema, output) = Setup("""{"type":"object","properties":{"lines":{"type":"array"}}}""");
        var (code, _, stderr) = Extract("", docs, schema, output);
        Assert.Equal(1, code);
        Assert.Contains("field 'lines'", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void TheHelpNamesTheCommand()
    {
        var (code, stdout, _) = Hearth.Tests.Cli.Run("agent", "extract", "--help");
        Assert.Equal(0, code);
        foreach (var option in new[] { "--schema", "--lang", "--policy", "--state", "--dry-run", "--yes" }) Assert.Contains(option, stdout);
    }
}
