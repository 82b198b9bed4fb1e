using Hearth.Store;
using Hearth.Serving;

namespace Hearth.Server.Tests;

/// <summary>The models directory: names map to files inside it and nothing else.</summary>
public sealed class DirectoryModelSourceTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("hearth-source-test-");
    private readonly string _models;

    public DirectoryModelSourceTests()
    {
        _models = Directory.CreateDirectory(Path.Combine(_root.FullName, "models")).FullName;
        File.WriteAllText(Path.Combine(_models, "tiny.gguf"), "x");
        File.WriteAllText(Path.Combine(_models, "notes.txt"), "x");
        File.WriteAllText(Path.Combine(_models, "bad name.gguf"), "x");
        Directory.CreateDirectory(Path.Combine(_models, "sub"));
        File.WriteAllText(Path.Combine(_models, "sub", "nested.gguf"), "x");
        File.WriteAllText(Path.Combine(_root.FullName, "secret.gguf"), "x");
    }

    public void Dispose() => _root.Delete(recursive: true);

    [Fact]
    public void ListsTheGgufFilesDirectlyInsideByName()
    {
        var source = new DirectoryModelSource(_models);
        var entry = Assert.Single(source.List());
        Assert.Equal("tiny", entry.Name);
        Assert.Equal(1, entry.Size);
        Assert.Equal(Path.Combine(_models, "tiny.gguf"), source.Resolve("tiny"));
        Assert.Equal(Path.Combine(_models, "tiny.gguf"), source.Resolve("tiny:latest"));
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("..")]
    [InlineData("sub/nested")]
    [InlineData("sub\\nested")]
    [InlineData("/etc/passwd")]
    [InlineData("tiny.gguf")]
    [InlineData("Tiny")]
    [InlineData("tiny\n")]
    [InlineData("bad name")]
    [InlineData("notes")]
    [InlineData("")]
    public void EverythingElseIsNotFound(string name) =>
        Assert.Throws<ModelNotFoundException>(() => new DirectoryModelSource(_models).Resolve(name));

    [Fact]
    public async Task ItCannotPullOrDelete()
    {
        var source = new DirectoryModelSource(_models);
        Assert.Throws<NotSupportedException>(() => source.Delete("tiny"));
        await Assert.ThrowsAsync<NotSupportedException>(() => source.PullAsync("tiny", new Progress<PullStatus>(), CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(_models, "tiny.gguf")));
    }

    [Fact]
    public void AMissingDirectoryIsAnError() =>
        Assert.Throws<DirectoryNotFoundException>(() => new DirectoryModelSource(Path.Combine(_root.FullName, "nope")));
}
