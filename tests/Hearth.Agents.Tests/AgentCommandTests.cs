using Hearth.Agents.Policy;
using Hearth.Agents.State;
using CliRunner = Hearth.Tests.Cli;

namespace Hearth.Agents.Tests;

public sealed class AgentCommandTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private void Seed()
    {
        _box.Write("acme.txt", "INVOICE\nInvoice date: 2024-03-15\n");
        _box.Write("notes.txt", "notes");
    }

    private (int Code, string Out, string Err) Organize(string stdin, params string[] extra) =>
        CliRunner.RunWithInput(stdin, ["agent", "organize", _box.Root, "-i", "invoices by year", "--state", _box.State, .. extra]);

    [Fact]
    public void TheCliHasAnAgentCommand()
    {
        var (code, stdout, _) = CliRunner.Run("agent", "--help");
        Assert.Equal(0, code);
        Assert.Contains("permission policy", stdout);
        foreach (var sub in new[] { "organize", "apply", "run", "undo", "recover", "runs", "log", "policy" }) Assert.Contains(sub, stdout);
        Assert.Equal(0, CliRunner.Run("mcp", "--help").Code);
    }

    [Fact]
    public void DryRunPrintsThePlanAndChangesNothing()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        var (code, stdout, _) = Organize("", "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("move   acme.txt -> Invoices/2024/acme.txt", stdout);
        Assert.Contains("nothing was changed", stdout);
        Assert.Equal(before, Sandbox.Tree(_box.Root));
    }

    [Fact]
    public void TheApprovalPromptAppearsAndNoChangesNothing()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        var (code, stdout, stderr) = Organize("n\n");
        Assert.Equal(2, code);
        Assert.Contains("move      acme.txt -> Invoices/2024/acme.txt", stderr);
        Assert.Contains("Allow? [y]es / [n]o / [a]lways", stderr);
        Assert.Contains("Not approved", stdout);
        Assert.Equal(before, Sandbox.Tree(_box.Root));
    }

    [Fact]
    public void YesAppliesAndUndoPutsItBack()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        var (code, stdout, _) = Organize("y\n");
        Assert.Equal(0, code);
        Assert.True(File.Exists(Path.Combine(_box.Root, "Invoices", "2024", "acme.txt")));
        var runId = stdout.Split('\n').Single(l => l.StartsWith("Undo with: ", StringComparison.Ordinal))["Undo with: hearth agent undo ".Length..].Trim();

        var runs = CliRunner.Run("agent", "runs", "--state", _box.State);
        Assert.Contains($"{runId}\t", runs.Out);
        Assert.Contains("1 changes\tcompleted", runs.Out);
        var log = CliRunner.Run("agent", "log", runId, "--state", _box.State, "--verify");
        Assert.Contains("audit log intact", log.Out);
        Assert.Contains("move_file\tapproved", log.Out);
        var json = CliRunner.Run("agent", "log", runId, "--state", _box.State, "--json");
        Assert.Contains("\"tool\":\"move_file\"", json.Out);

        var undo = CliRunner.Run("agent", "undo", "--state", _box.State);
        Assert.Equal(0, undo.Code);
        Assert.Contains($"Run {runId} undone.", undo.Out);
        Assert.Equal(before, Sandbox.Tree(_box.Root));
        Assert.False(Directory.Exists(Path.Combine(_box.Root, "Invoices")));
    }

    [Fact]
    public void OrganizeReadsWordFilesAndImagesThroughTheDocumentsExtractor()
    {
        // Names that say nothing and modification times of another year: only the text (Word, OCR) can place them.
        string[] invoice = ["ACME Ltd", "INVOICE", "Invoice date: 2023-11-02", "Total: 120 EUR"];
        File.WriteAllBytes(Path.Combine(_box.Root, "letter.docx"), Documents.TestDocuments.Docx(invoice));
        var scratch = Path.Combine(_box.Dir, "render");
        var scan = Documents.TestDocuments.ScannedPdf(Documents.TestDocuments.RenderTiff(scratch, invoice, "DejaVu Sans"));
        File.WriteAllBytes(Path.Combine(_box.Root, "scan-0001.png"), Documents.TestDocuments.RenderPdf(scratch, scan, "png"));
        var holiday = Documents.TestDocuments.ScannedPdf(Documents.TestDocuments.RenderTiff(scratch, ["Sunny beach"], "DejaVu Sans"));
        File.WriteAllBytes(Path.Combine(_box.Root, "holiday.png"), Documents.TestDocuments.RenderPdf(scratch, holiday, "png"));
        foreach (var f in Directory.GetFiles(_box.Root)) File.SetLastWriteTimeUtc(f, new DateTime(2019, 1, 1, 0, 0, 0, DateTimeKind.Utc));

        var (code, stdout, stderr) = Organize("", "--yes", "--lang", "eng");
        Assert.True(code == 0, stdout + stderr);
        Assert.True(File.Exists(Path.Combine(_box.Root, "Invoices", "2023", "letter.docx")), stdout);
        Assert.True(File.Exists(Path.Combine(_box.Root, "Invoices", "2023", "scan-0001.png")), stdout);
        Assert.True(File.Exists(Path.Combine(_box.Root, "holiday.png"))); // its text says nothing of invoices
    }

    [Fact]
    public void APolicyThatDeniesMovesMakesTheStepsFail()
    {
        Seed();
        var policy = Path.Combine(_box.Dir, "policy.yaml");
        File.WriteAllText(policy, "roots:\n  - path: root\n    access: read-write\noperations:\n  move: deny\nstate: state\n");
        var (code, stdout, _) = CliRunner.Run("agent", "organize", _box.Root, "-i", "invoices by year", "--policy", policy, "--yes");
        Assert.Equal(2, code);
        Assert.Contains("FAIL 1/1", stdout);
        Assert.Contains("denies 'move'", stdout);
        Assert.True(File.Exists(Path.Combine(_box.Root, "acme.txt")));
    }

    [Fact]
    public void ApplyRunsASavedPlan()
    {
        Seed();
        var planFile = Path.Combine(_box.Dir, "plan.json");
        Assert.Equal(0, Organize("", "--dry-run", "--plan-out", planFile).Code);
        var policy = Path.Combine(_box.Dir, "policy.yaml");
        File.WriteAllText(policy, "roots:\n  - path: root\n    access: read-write\nstate: state\n");
        var (code, stdout, _) = CliRunner.Run("agent", "apply", planFile, "--policy", policy, "--yes");
        Assert.Equal(0, code);
        Assert.Contains("done 1/1", stdout);
        Assert.True(File.Exists(Path.Combine(_box.Root, "Invoices", "2024", "acme.txt")));
    }

    [Fact]
    public void PolicyCommandPrintsAnExampleThatParsesAndChecksAFile()
    {
        var (code, stdout, _) = CliRunner.Run("agent", "policy");
        Assert.Equal(0, code);
        var example = AgentPolicyLoader.Parse(stdout, _box.Root);
        Assert.Equal(ApprovalMode.Deny, example.ModeOf(AgentOperation.Delete));
        Assert.Equal(_box.Root, example.Roots.Single().Path);

        var file = Path.Combine(_box.Dir, "p.yaml");
        File.WriteAllText(file, "roots:\n  - path: root\n    access: read-only\noperations:\n  delete: ask\n");
        var check = CliRunner.Run("agent", "policy", file);
        Assert.Contains("(read-only)", check.Out);
        Assert.Contains("delete     ask", check.Out);
        File.WriteAllText(file, "roots:\n  - path: root\n    access: sometimes\n");
        var bad = CliRunner.Run("agent", "policy", file);
        Assert.Equal(1, bad.Code);
        Assert.Contains("p.yaml:3:", bad.Err);
    }

    [Fact]
    public void TheReadmeShowsThePolicyHearthAgentPolicyPrints()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "Hearth.sln"))) dir = dir.Parent;
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md")).ReplaceLineEndings("\n");
        const string marker = "<!-- agent-policy-example -->\n```yaml\n";
        int start = readme.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md lacks the agent policy example");
        start += marker.Length;
        var shown = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        Assert.Equal(CliRunner.Run("agent", "policy").Out.ReplaceLineEndings("\n").TrimEnd(), shown.TrimEnd());
    }

    [Fact]
    public void RunDrivesTheRealEngineOneStepUnderThePolicy()
    {
        _box.Write("story.txt", "Once upon a time.");
        var before = Sandbox.Tree(_box.Root);
        var policy = Path.Combine(_box.Dir, "policy.yaml");
        File.WriteAllText(policy, "roots:\n  - path: root\n    access: read-write\nlimits:\n  max_steps: 1\nstate: state\n");
        var (code, stdout, stderr) = CliRunner.Run("agent", "run", Hearth.Tests.TestData.Path("models", "stories260K.gguf"), "--policy", policy, "--task", "Tidy up.",
            "--template", Hearth.Tests.TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"), "--ctx", "8192", "--force-tool", "--seed", "1", "-n", "600");
        Assert.Equal(2, code); // one step, spent on the forced call: the step budget ends the run
        Assert.Contains("StepBudgetExhausted after 1 steps", stderr);
        Assert.StartsWith("call ", stdout);
        Assert.Equal(before, Sandbox.Tree(_box.Root)); // changes are asked for and nobody answers "yes" on an empty stdin
        using var state = AgentStateStore.Open(_box.State);
        var row = Assert.Single(state.Audit.Read());
        Assert.Equal("model", row.Actor);
        Assert.StartsWith($"call {row.Tool}:", stdout);
    }

    [Fact]
    public void UndoWithNothingToUndoSaysSo()
    {
        using (AgentStateStore.Open(_box.State))
        {
        }

        var (code, _, stderr) = CliRunner.Run("agent", "undo", "--state", _box.State);
        Assert.Equal(1, code);
        Assert.Contains("no agent run with changes", stderr);
    }
}
