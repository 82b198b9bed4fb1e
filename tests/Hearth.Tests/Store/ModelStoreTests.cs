using Hearth.Store;

namespace Hearth.Tests.Store;

/// <summary>Listing, showing, removing and resolving, and the name rules that keep every path inside the store.</summary>
public sealed class ModelStoreTests : StoreTestKit
{
    [Fact]
    public async Task ListShowAndRemove()
    {
        var a = TestGguf(1);
        Server.AddFile("org", "repo", "a-Q4_K_M.gguf", a);
        Server.AddFile("org", "repo", "b-Q8_0.gguf", TestGguf(2, "Q8_0"));
        Assert.Empty(Store.List());
        await Store.PullAsync("hf:org/repo/b-Q8_0.gguf", Hub());
        await Store.PullAsync("hf:org/repo/a-Q4_K_M.gguf", Hub());

        var list = Store.List();
        Assert.Equal(["hf:org/repo/a-q4_k_m.gguf", "hf:org/repo/b-q8_0.gguf"], list.Select(m => m.Name));
        Assert.Equal(["Q4_K_M", "Q8_0"], list.Select(m => m.FileType));
        Assert.All(list, m => Assert.Equal("llama", m.Architecture));

        var d = Store.Show("hf:org/repo/a-Q4_K_M.gguf");
        Assert.Equal("llama", d.Architecture);
        Assert.Equal("test model 1", d.DisplayName);
        Assert.Equal(64 * 1024, d.ParameterCount);
        Assert.Equal("Q4_K_M", d.FileType);
        Assert.Equal(512, d.ContextLength);
        Assert.True(d.HasChatTemplate);
        Assert.Equal(1, d.TensorCount);
        Assert.Equal(FakeHub.Sha256(a), d.Model.Sha256);
        Assert.Equal(a.Length, d.Model.Size);

        var removed = Store.Remove("hf:org/repo/a-q4_k_m.gguf");
        Assert.False(File.Exists(removed.Path));
        Assert.Equal(["hf:org/repo/b-q8_0.gguf"], Store.List().Select(m => m.Name));
        Assert.Throws<ModelNotFoundException>(() => Store.Remove("hf:org/repo/a-q4_k_m.gguf"));
        Assert.Throws<ModelNotFoundException>(() => Store.Show("hf:org/repo/a-q4_k_m.gguf"));
        Store.Remove("hf:org/repo/b-q8_0.gguf");
        Assert.Empty(StoreFiles());
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("a/../../b")]
    [InlineData("/etc/passwd")]
    [InlineData("C:\\Windows\\win.ini")]
    [InlineData("a\\..\\b")]
    [InlineData("hf:org/repo/../../x.gguf")]
    [InlineData("hf:../repo/x.gguf")]
    [InlineData("hf:org/repo/%2e%2e/x.gguf")]
    [InlineData("models/../../x")]
    [InlineData("a//b")]
    [InlineData("x\0y")]
    [InlineData("")]
    [InlineData("con")]
    [InlineData("name with spaces")]
    [InlineData("~/x")]
    public void PathLikeNamesAreRejected(string name)
    {
        Assert.Throws<InvalidModelNameException>(() => Store.Resolve(name));
        Assert.False(ModelName.IsValid(name) && ModelName.FileStem(name).Contains('/'));
        Assert.ThrowsAny<ModelStoreException>(() => ModelReference.Parse(name));
    }

    [Fact]
    public async Task AManifestWhoseNameDoesNotMatchItsFileIsIgnored()
    {
        Server.AddFile("org", "repo", "a.gguf", TestGguf(3));
        var model = await Store.PullAsync("hf:org/repo/a.gguf", Hub());
        // A tampered manifest copied under another name must not make a second name resolve to the file.
        File.Copy(Path.ChangeExtension(model.Path, ".json"), Path.Combine(Store.ModelsDirectory, "evil.json"));
        Assert.Single(Store.List());
        Assert.Throws<ModelNotFoundException>(() => Store.Resolve("evil"));
    }

    [Fact]
    public void FileStemsAreInjectiveAndFlat()
    {
        var names = new[] { "a:b", "a/b", "a-b", "a_b", "a.b", "hf:a/b/c.gguf", "hf:a/b:q4_k_m" };
        var stems = names.Select(ModelName.FileStem).ToList();
        Assert.Equal(stems.Count, stems.Distinct().Count());
        Assert.All(stems, s => Assert.DoesNotContain('/', s));
        Assert.All(stems, s => Assert.DoesNotContain(':', s));
    }

    [Fact]
    public void HearthHomeChoosesTheRoot()
    {
        var home = Path.Combine(Path.GetTempPath(), "hearth-home-test");
        Assert.Equal(home, ModelStore.DefaultRoot(v => v == "HEARTH_HOME" ? home : null));
        Assert.Equal(Path.Combine(home, "models"), ModelStore.FromEnvironment(v => v == "HEARTH_HOME" ? home : null).ModelsDirectory);
        var fallback = ModelStore.DefaultRoot(_ => null);
        Assert.Equal(".hearth", Path.GetFileName(fallback));
    }

    [Fact]
    public void HubOptionsComeFromTheEnvironment()
    {
        var options = HubOptions.FromEnvironment(v => v switch { "HF_ENDPOINT" => "http://mirror.local:8080", "HF_TOKEN" => "hf_abc", _ => null });
        Assert.Equal(new Uri("http://mirror.local:8080"), options.Endpoint);
        Assert.Equal("hf_abc", options.Token);
        Assert.Equal(HubOptions.DefaultEndpoint, HubOptions.FromEnvironment(_ => null).Endpoint);
        Assert.Throws<ModelStoreException>(() => HubOptions.FromEnvironment(v => v == "HF_ENDPOINT" ? "file:///etc" : null));
    }

    [Fact]
    public void DownloadAddressesEscapeEachSegment()
    {
        using var http = new HttpClient();
        var hub = new HubClient(http, new HubOptions { Endpoint = new Uri("https://hub.example/mirror") });
        Assert.Equal("https://hub.example/mirror/o/r/resolve/main/dir/a%20b.gguf", hub.FileUri("o", "r", "main", "dir/a b.gguf").AbsoluteUri);
    }
}
