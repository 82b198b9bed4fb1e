using System.Text.Json;
using Hearth.Agents.Approval;
using Hearth.Agents.Audit;
using Hearth.Agents.Organizer;
using Hearth.Agents.Plans;
using Hearth.Agents.Policy;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Tests;
using Microsoft.Extensions.AI;
using static Hearth.Agents.Tests.ScriptedChatClientDouble;

namespace Hearth.Agents.Tests;

public sealed class FileOrganizerTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private void Seed()
    {
        _box.Write("acme.txt", "ACME GmbH\nINVOICE no. 17\nInvoice date: 15.03.2024\nDue date: 2025-01-15\nTotal: 120 EUR\n");
        _box.Write("rechnung-telekom.md", "# Rechnung\nDatum: 2023-11-02\n");
        _box.Write("invoice_2022_power.txt", "kWh 1200");
        _box.Write("notes.txt", "shopping list: milk, bread");
        _box.Write("holiday.jpg", "\u00ff\u00d8\u00ff not really a jpeg");
        _box.Write("sub/old-invoice.txt", "Invoice 2019-01-01"); // below the folder: not organized
    }

    private PolicyWorkspace Open(bool dryRun = false, IApprovalProvider? approval = null) =>
        _box.Open(_box.Policy((AgentOperation.Create, ApprovalMode.Auto), (AgentOperation.Move, ApprovalMode.Auto)), approval, dryRun);

    private static Dictionary<string, (PlanStepKind Kind, string To)> Steps(OrganizeProposal p) => p.Plan.Steps.ToDictionary(s => s.Path, s => (s.Kind, s.To!));

    [Fact]
    public async Task InvoicesByYearTakesTheYearFromTheTextThenTheNameAndLeavesTheRest()
    {
        Seed();
        File.SetLastWriteTimeUtc(Path.Combine(_box.Root, "invoice_2022_power.txt"), new DateTime(2021, 6, 1, 0, 0, 0, DateTimeKind.Utc));
        using var ws = Open();
        var proposal = await new FileOrganizer(ws).ProposeAsync(".", "Please sort my invoices by year.");
        var steps = Steps(proposal);
        Assert.Equal((PlanStepKind.Move, "Invoices/2024/acme.txt"), steps["acme.txt"]); // the invoice date, not the due date
        Assert.Equal((PlanStepKind.Move, "Invoices/2023/rechnung-telekom.md"), steps["rechnung-telekom.md"]);
        Assert.Equal((PlanStepKind.Move, "Invoices/2022/invoice_2022_power.txt"), steps["invoice_2022_power.txt"]); // from the name
        Assert.Equal(3, steps.Count);
        Assert.Equal(5, proposal.Files.Count);

        var results = await new FileOrganizer(ws).ApplyAsync(proposal);
        Assert.All(results!, r => Assert.True(r.Ok, r.Message));
        Assert.True(File.Exists(Path.Combine(_box.Root, "Invoices", "2024", "acme.txt")));
        Assert.True(File.Exists(Path.Combine(_box.Root, "notes.txt")));
        Assert.True(File.Exists(Path.Combine(_box.Root, "sub", "old-invoice.txt")));
    }

    [Fact]
    public async Task KeepOriginalsCopiesAndNeverMovesOrDeletes()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        using var ws = Open();
        var organizer = new FileOrganizer(ws);
        var proposal = await organizer.ProposeAsync(".", "invoices by year, everything else by type; keep the originals");
        Assert.All(proposal.Plan.Steps, s => Assert.Equal(PlanStepKind.Copy, s.Kind));
        Assert.Equal("Text/notes.txt", Steps(proposal)["notes.txt"].To);
        Assert.Equal("Images/holiday.jpg", Steps(proposal)["holiday.jpg"].To);
        await organizer.ApplyAsync(proposal);
        var after = Sandbox.Tree(_box.Root);
        Assert.All(before, f => Assert.Equal(f.Value, after[f.Key])); // every original still in place, unchanged
        Assert.Equal(before["acme.txt"], after[Path.Combine("Invoices", "2024", "acme.txt")]);
        Assert.DoesNotContain(ws.State.Audit.Read(ws.RunId), r => r.Tool is "move_file" or "delete_file");
    }

    [Fact]
    public async Task KeepOriginalsRefusesAPlanThatWouldMove()
    {
        Seed();
        using var ws = Open();
        var organizer = new FileOrganizer(ws);
        var proposal = await organizer.ProposeAsync(".", "invoices by year, keep originals");
        var tampered = proposal with { Plan = proposal.Plan with { Steps = [new PlanStep(PlanStepKind.Move, "acme.txt", "x.txt")] } };
        await Assert.ThrowsAsync<PermissionDeniedException>(() => organizer.ApplyAsync(tampered));
        Assert.True(File.Exists(Path.Combine(_box.Root, "acme.txt")));
    }

    [Fact]
    public async Task TheRulesHoldWhenTheScriptedModelProposesOtherwise()
    {
        Seed();
        var model = new ScriptedChatClientDouble(Say(JsonSerializer.Serialize(new
        {
            steps = new object[]
            {
                new { from = "acme.txt", to = "Misc/acme-invoice.txt" }, // breaks "invoices by year": corrected, its name kept
                new { from = "notes.txt", to = "../../outside/notes.txt" }, // leaves the folder: dropped
                new { from = "holiday.jpg", to = "/etc/holiday.jpg" }, // absolute: dropped
                new { from = "rechnung-telekom.md", to = "Invoices/2023/telekom.pdf" }, // changes the extension: original name kept
                new { from = "acme.txt", to = "Again/acme.txt" }, // second proposal for the same file: dropped
            },
        })));
        using var ws = Open();
        var proposal = await new FileOrganizer(ws).ProposeAsync(".", "invoices by year, keep originals", model);
        var steps = Steps(proposal);
        Assert.Equal((PlanStepKind.Copy, "Invoices/2024/acme-invoice.txt"), steps["acme.txt"]);
        Assert.Equal((PlanStepKind.Copy, "Invoices/2023/rechnung-telekom.md"), steps["rechnung-telekom.md"]);
        Assert.Equal((PlanStepKind.Copy, "Invoices/2022/invoice_2022_power.txt"), steps["invoice_2022_power.txt"]); // the model forgot it
        Assert.False(steps.ContainsKey("notes.txt"));
        Assert.False(steps.ContainsKey("holiday.jpg"));
        Assert.Contains(proposal.Notes, n => n.Contains("../../outside/notes.txt") && n.Contains("leaves the folder"));
        Assert.Contains(proposal.Notes, n => n.Contains("/etc/holiday.jpg"));
        Assert.Contains(proposal.Notes, n => n.Contains("'acme.txt': the model proposed 'Misc/acme-invoice.txt'"));
        Assert.Contains(proposal.Notes, n => n.Contains("second proposal"));

        // The model was asked for JSON under a schema whose "from" can only name the files it was shown.
        var format = Assert.IsType<ChatResponseFormatJson>(model.Options.Single()!.ResponseFormat);
        var fromEnum = format.Schema!.Value.GetProperty("properties").GetProperty("steps").GetProperty("items").GetProperty("properties").GetProperty("from").GetProperty("enum");
        Assert.Equal(proposal.Files.Select(f => f.Path), fromEnum.EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("rechnung-telekom.md", model.Seen[0].Single().Text);
    }

    [Theory]
    [InlineData("this is not JSON", "not JSON")]
    [InlineData("""{"steps":[{"from":"missing.txt","to":"x.txt"}]}""", "does not match the plan schema")]
    [InlineData("""{"steps":[{"from":"acme.txt","to":"x.txt","delete":true}]}""", "does not match the plan schema")]
    public async Task AnAnswerOutsideTheSchemaFallsBackToTheRules(string answer, string note)
    {
        Seed();
        using var ws = Open();
        var proposal = await new FileOrganizer(ws).ProposeAsync(".", "invoices by year", new ScriptedChatClientDouble(Say(answer)));
        Assert.Contains(proposal.Notes, n => n.Contains(note));
        Assert.Equal(3, proposal.Plan.Steps.Count);
        Assert.All(proposal.Plan.Steps, s => Assert.StartsWith("Invoices/", s.To));
    }

    [Fact]
    public async Task ThePlanIsApprovedOnceAndDeniedMeansNothingMoves()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        var approval = new RecordingApprovalProvider(ApprovalDecision.Deny);
        using (var ws = _box.Open(_box.Policy(), approval))
        {
            var organizer = new FileOrganizer(ws);
            var proposal = await organizer.ProposeAsync(".", "invoices by year");
            Assert.Null(await organizer.ApplyAsync(proposal));
            Assert.Equal(3, Assert.Single(approval.Requests).Actions.Count);
        }

        Assert.Equal(before, Sandbox.Tree(_box.Root));
        var yes = new RecordingApprovalProvider(ApprovalDecision.Approve);
        using (var ws = _box.Open(_box.Policy(), yes))
        {
            var organizer = new FileOrganizer(ws);
            var results = await organizer.ApplyAsync(await organizer.ProposeAsync(".", "invoices by year"));
            Assert.All(results!, r => Assert.True(r.Ok));
            Assert.Single(yes.Requests);
            Assert.Equal(3, ws.State.Audit.Read(ws.RunId).Count(r => r.Tool == "move_file" && r.Decision == AuditDecision.Approved));
        }
    }

    [Fact]
    public async Task DryRunProposesAndChangesNothing()
    {
        Seed();
        var before = Sandbox.Tree(_box.Root);
        using var ws = Open(dryRun: true);
        var organizer = new FileOrganizer(ws);
        var results = await organizer.ApplyAsync(await organizer.ProposeAsync(".", "invoices by year, date prefix"));
        Assert.Equal(5, results!.Count); // the date prefix renames every file
        Assert.Contains(results, r => r.Step.To == "Invoices/2024/2024-03-15 acme.txt");
        Assert.All(results, r => Assert.True(r.Ok, r.Message));
        Assert.Equal(before, Sandbox.Tree(_box.Root));
    }

    [Fact]
    public async Task ClashingTargetsGetDistinctNames()
    {
        _box.Write("a/invoice.txt", "Invoice date 2024-01-02");
        _box.Write("invoice.txt", "Invoice date 2024-05-06");
        _box.Write("Invoices/2024/invoice.txt", "already sorted");
        using var ws = Open();
        var proposal = await new FileOrganizer(ws).ProposeAsync(".", "invoices by year");
        Assert.Equal("Invoices/2024/invoice (2).txt", Steps(proposal)["invoice.txt"].To);
    }

    [Fact]
    public async Task TheRealEngineProposesUnderTheSchemaAndTheRulesStillHold()
    {
        // stories260K writes schema-constrained JSON (its "from" can only name real files); it is no planner, so only the
        // plumbing and the rules are checked.
        Seed();
        using var lm = Hearth.Models.LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new Hearth.Models.ModelLoadOptions { Threads = 2 });
        using var client = new HearthChatClient(lm, ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"))),
            new GrammarChatConstraints());
        using var ws = Open();
        var proposal = await new FileOrganizer(ws).ProposeAsync(".", "invoices by year, keep originals", client,
            new ChatOptions { Seed = 4, Temperature = 1f, MaxOutputTokens = 1200 });
        Assert.DoesNotContain(proposal.Notes, n => n.Contains("not JSON") || n.Contains("does not match"));
        Assert.All(proposal.Plan.Steps, s => Assert.Equal(PlanStepKind.Copy, s.Kind));
        Assert.All(proposal.Plan.Steps, s => Assert.DoesNotContain("..", s.To));
        var invoices = proposal.Plan.Steps.Where(s => s.Path is "acme.txt" or "rechnung-telekom.md" or "invoice_2022_power.txt").ToList();
        Assert.Equal(3, invoices.Count);
        Assert.Contains(invoices, s => s.To!.StartsWith("Invoices/2024/", StringComparison.Ordinal));
    }
}

public sealed class OrganizerRulesTests
{
    [Theory]
    [InlineData("invoices by year", true, false, false, false)]
    [InlineData("Put INVOICES into years and keep the originals.", true, true, false, false)]
    [InlineData("sort by type, copy everything", false, true, true, false)]
    [InlineData("organize by file type; don't delete anything", false, true, true, false)]
    [InlineData("rechnungen... no: receipts per year, prefix names with the date", false, false, false, true)]
    [InlineData("tidy up", false, false, false, false)]
    public void InstructionsBecomeRules(string instructions, bool invoicesByYear, bool keep, bool byType, bool datePrefix)
    {
        var rules = OrganizerRules.Parse(instructions);
        Assert.Equal(invoicesByYear, rules.ByYear.Any(c => c.Folder == "Invoices"));
        Assert.Equal(keep, rules.KeepOriginals);
        Assert.Equal(byType, rules.ByType);
        Assert.Equal(datePrefix, rules.DatePrefix);
    }

    [Fact]
    public void ReceiptsPerYearIsACategoryRule() => Assert.Equal(["Receipts"], OrganizerRules.Parse("receipts per year").ByYear.Select(c => c.Folder));

    [Theory]
    [InlineData("Invoice date: 2024-03-15", 2024, 3, 15)]
    [InlineData("Datum 15.03.2024", 2024, 3, 15)]
    [InlineData("dated 03/15/2024", 2024, 3, 15)]
    [InlineData("issued March 5th, 2023", 2023, 3, 5)]
    [InlineData("5 Dec 2021", 2021, 12, 5)]
    [InlineData("ref 2024-13-45, then 1.2.2020", 2020, 2, 1)]
    public void DatesAreFoundInTheirCommonForms(string text, int y, int m, int d) =>
        Assert.Equal(new DateOnly(y, m, d), DocumentDates.FirstDate(text));

    [Fact]
    public void ADueDateIsNotTheDocumentsDate()
    {
        var (date, source) = DocumentDates.Find("x.txt", "Due date: 2025-01-31\nInvoice date: 2024-12-01\n", DateTime.UnixEpoch);
        Assert.Equal((new DateOnly(2024, 12, 1), "text"), (date, source));
        Assert.Equal((new DateOnly(1970, 1, 1), "modified"), DocumentDates.Find("x.txt", null, DateTime.UnixEpoch));
    }
}
