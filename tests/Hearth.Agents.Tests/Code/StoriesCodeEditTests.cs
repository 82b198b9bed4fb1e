using Hearth.Agents.Code;
using Hearth.Chat;
using Hearth.Generation;
using Hearth.Models;
using Hearth.Tests;
using Microsoft.Extensions.AI;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// The plumbing on the real engine: stories260K (a tiny story model, not instruction-tuned) with a real tool-calling
/// template, under constrained tool-call decoding, through the real policy-backed workspace. Its calls must be
/// well-formed; its diffs are validated and refused cleanly, and nothing is written.
/// </summary>
public sealed class StoriesCodeEditTests : IClassFixture<StoriesCodeEditTests.Model>, IDisposable
{
    /// <summary>A diff of the right shape whose removed line (lower-case words) cannot be in Calc.cs.</summary>
    public const string DiffShape = @"^--- a/Calc\.cs\n\+\+\+ b/Calc\.cs\n@@ -5 \+5 @@\n-[a-z ]{1,24}\n\+[a-z ]{1,24}\n$";

    private static readonly byte[] s_calc = "namespace Demo;\n\npublic static class Calc\n{\n    public static int Add(int a, int b) => a - b;\n}\n"u8.ToArray();

    private readonly LanguageModel _model;
    private readonly string _repo = Directory.CreateTempSubdirectory("hearth-stories-edit-").FullName;

    public StoriesCodeEditTests(Model model)
    {
        _model = model.Loaded;
        File.WriteAllBytes(Path.Combine(_repo, "Calc.cs"), s_calc);
    }

    public sealed class Model : IDisposable
    {
        // The prompt (template, three tools, the listing and Calc.cs) is longer than the model's 512 training positions.
        public LanguageModel Loaded { get; } = LanguageModel.Load(TestData.Path("models", "stories260K.gguf"), new ModelLoadOptions { Threads = 2, Context = 4096 });

        public void Dispose() => Loaded.Dispose();
    }

    public void Dispose() => Directory.Delete(_repo, recursive: true);

    internal static IChatClient Client(LanguageModel model) =>
        new HearthChatClient(model, ChatTemplate.Parse(File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"))), new GrammarChatConstraints());

    [Fact]
    public async Task ConstrainedCallsAreWellFormedAndTheirDiffsAreRefusedCleanly()
    {
        using var run = new TestRun(state => CodeEditPolicy.For(_repo, CommandSpec.Parse("dotnet build"), TimeSpan.FromMinutes(5), state));
        var options = new CodeEditOptions
        {
            Repository = _repo,
            Task = "Calc.Add in Calc.cs subtracts; make it add.",
            Check = CommandSpec.Parse("dotnet build"),
            MaxSteps = 3,
            RequireToolCalls = true,
            FirstToolMode = ChatToolMode.RequireSpecific(CodeEditSession.ProposeEditTool),
            DiffPattern = DiffShape,
            ChatOptions = new ChatOptions { Seed = 7, Temperature = 1f, MaxOutputTokens = 300 },
        };
        var result = await new CodeEditSession(Client(_model), run.Workspace, options).RunAsync();

        var calls = result.History.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
        Assert.NotEmpty(calls);
        Assert.All(calls, c => Assert.Null(c.Exception));
        Assert.All(calls, c => Assert.Contains(c.Name, new[] { CodeEditSession.ReadFileTool, CodeEditSession.ProposeEditTool, CodeEditSession.FinishTool }));
        Assert.Equal(CodeEditSession.ProposeEditTool, calls[0].Name);

        // The first call's diff has the forced shape, parses, and is refused because its removed line is not in the file.
        var first = result.Attempts[0];
        Assert.Matches(DiffShape, first.Diff);
        Assert.Equal((EditStatus.Refused, EditRefusal.DoesNotApply), (first.Status, first.Refusal));
        Assert.StartsWith("refused: Calc.cs, hunk 1 (diff line 3):", first.Message);
        Assert.Contains("line 5 of the file is \"    public static int Add(int a, int b) => a - b;\"", first.Message);
        Assert.All(result.Attempts, a => Assert.Equal(EditStatus.Refused, a.Status));

        Assert.Equal(s_calc, File.ReadAllBytes(Path.Combine(_repo, "Calc.cs")));
        Assert.Empty(run.Changes);
    }
}
