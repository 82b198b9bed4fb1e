using Hearth.Store;
using Hearth.Tests;
using Hearth.Tests.Store;

namespace Hearth.Server.Tests;

/// <summary>The server's view of the model store: pull through a hub imitation, list, resolve by name only, delete.</summary>
public sealed class StoreModelSourceTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-source-test-");
    private readonly FakeHub _hub = new();
    private readonly HttpClient _http = new();

    public void Dispose()
    {
        _hub.Dispose();
        _http.Dispose();
        _dir.Delete(recursive: true);
    }

    private sealed class Statuses : IProgress<PullStatus>
    {
        public List<PullStatus> Seen { get; } = [];

        public void Report(PullStatus value)
        {
            lock (Seen) Seen.Add(value);
        }
    }

    [Fact]
    public async Task PullListResolveAndDeleteGoThroughTheStore()
    {
        var bytes = File.ReadAllBytes(TestData.Path("models", "stories260K.gguf"));
        _hub.AddFile("test", "stories-GGUF", "stories260K.gguf", bytes);
        var store = new ModelStore(Path.Combine(_dir.FullName, "home"));
        var source = new StoreModelSource(store, new HubClient(_http, new HubOptions { Endpoint = _hub.Endpoint, RetryDelay = _ => TimeSpan.Zero }));

        var statuses = new Statuses();
        await source.PullAsync("hf:test/stories-GGUF/stories260K.gguf", statuses, CancellationToken.None);
        Assert.Contains(statuses.Seen, s => s.Status.StartsWith("pulling", StringComparison.Ordinal) && s.Total == bytes.Length);
        Assert.Equal("sha256:" + FakeHub.Sha256(bytes), statuses.Seen[^1].Digest);

        var entry = Assert.Single(source.List());
        Assert.Equal(bytes.Length, entry.Size);
        var path = source.Resolve(entry.Name);
        Assert.Equal(bytes, File.ReadAllBytes(path));

        foreach (var bad in new[] { "../../etc/passwd", "/etc/passwd", "..", "nothing-here" })
        {
            Assert.Throws<Hearth.Store.ModelNotFoundException>(() => source.Resolve(bad));
        }

        Assert.True(source.Delete(entry.Name));
        Assert.False(source.Delete(entry.Name));
        Assert.Empty(source.List());
    }

    [Fact]
    public void ACompositeSourceResolvesInOrderAndReportsTheLastMiss()
    {
        var empty = new StoreModelSource(new ModelStore(Path.Combine(_dir.FullName, "empty")), new HubClient(_http));
        var composite = new CompositeModelSource(empty, empty);
        var e = Assert.Throws<Hearth.Store.ModelNotFoundException>(() => composite.Resolve("qwen2.5:0.5b"));
        Assert.Contains("qwen2.5:0.5b", e.Message);
        Assert.Empty(composite.List());
        Assert.False(composite.Delete("x"));
    }
}
