using Hearth.Agents.Code;
using Hearth.Agents.Documents;
using Hearth.Agents.Policy;

namespace Hearth.Agents.Tests;

/// <summary>The policies <c>hearth agent extract</c> and <c>hearth agent code</c> derive when no policy file is given.</summary>
public sealed class DerivedPolicyTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private string Docs => Path.Combine(_box.Root, "docs");

    [Fact]
    public void ExtractionKeepsTheDocumentsReadOnlyWhereverTheWorkbookGoes()
    {
        Directory.CreateDirectory(Path.Combine(Docs, "existing"));
        string docs = Docs, root = _box.Root;
        (string Path, RootAccess Access)[] Roots(string output) =>
            [.. ExtractionPolicy.For(docs, output, _box.State).Roots.Select(r => (r.Path, r.Access))];

        // Beside the folder, in a folder that does not exist yet: its nearest existing parent is the writable root.
        Assert.Equal([(docs, RootAccess.ReadOnly), (root, RootAccess.ReadWrite)], Roots(Path.Combine(root, "out", "new", "sheet.xlsx")));
        // In an existing subfolder: only that subfolder is writable.
        Assert.Equal([(docs, RootAccess.ReadOnly), (Path.Combine(docs, "existing"), RootAccess.ReadWrite)], Roots(Path.Combine(docs, "existing", "sheet.xlsx")));
        // In the folder itself: one read-write root.
        Assert.Equal([(docs, RootAccess.ReadWrite)], Roots(Path.Combine(docs, "sheet.xlsx")));

        var p = ExtractionPolicy.For(docs, Path.Combine(root, "sheet.xlsx"), _box.State);
        Assert.Equal(
            [ApprovalMode.Auto, ApprovalMode.Auto, ApprovalMode.Deny, ApprovalMode.Ask, ApprovalMode.Deny, ApprovalMode.Deny],
            Enum.GetValues<AgentOperation>().Select(p.ModeOf)); // read, create, move, overwrite, delete, run
        Assert.Empty(p.Commands);
        Assert.Equal(new DocumentTextOptions().MaxFileBytes, p.Limits.MaxFileBytes);
        Assert.Throws<DirectoryNotFoundException>(() => ExtractionPolicy.For(Path.Combine(root, "missing"), Path.Combine(root, "s.xlsx"), _box.State));
    }

    [Fact]
    public void CodeAllowsTheRepositoryAndExactlyTheCheck()
    {
        var p = CodeEditPolicy.For(_box.Root, CommandSpec.Parse("dotnet test --filter 'A B*'"), TimeSpan.FromSeconds(90), _box.State);
        Assert.Equal([(_box.Root, RootAccess.ReadWrite)], p.Roots.Select(r => (r.Path, r.Access)));
        Assert.Equal(
            [ApprovalMode.Auto, ApprovalMode.Auto, ApprovalMode.Ask, ApprovalMode.Auto, ApprovalMode.Ask, ApprovalMode.Auto],
            Enum.GetValues<AgentOperation>().Select(p.ModeOf)); // read, create, move, overwrite, delete, run
        Assert.Equal(TimeSpan.FromSeconds(90), p.Limits.MaxCommandTime);
        var rule = Assert.Single(p.Commands);
        Assert.Equal("dotnet", rule.Program);
        Assert.Equal(["test", "--filter", "A B*"], Assert.Single(rule.Arguments).Tokens);

        string Never(string path) => throw new InvalidOperationException("an exact pattern resolves no path");
        Assert.Equal(["test", "--filter", "A B*"], CommandAllowList.Match(p.Commands, "dotnet", ["test", "--filter", "A B*"], Never));
        Assert.Throws<PermissionDeniedException>(() => CommandAllowList.Match(p.Commands, "dotnet", ["test", "--filter", "A Bxyz"], Never));
        Assert.Throws<PermissionDeniedException>(() => CommandAllowList.Match(p.Commands, "dotnet", ["test"], Never));

        var none = CodeEditPolicy.For(_box.Root, null, TimeSpan.FromSeconds(1), _box.State);
        Assert.Equal(ApprovalMode.Deny, none.ModeOf(AgentOperation.Run));
        Assert.Empty(none.Commands);
    }
}
