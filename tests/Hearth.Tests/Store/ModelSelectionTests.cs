using Hearth.Store;

namespace Hearth.Tests.Store;

/// <summary>Quantization tags and catalog names, resolved against a local server's repository listing.</summary>
public sealed class ModelSelectionTests : StoreTestKit
{
    private readonly Dictionary<string, byte[]> _files = [];

    private void ServeRepo(params string[] names)
    {
        int seed = 10;
        foreach (var name in names)
        {
            var bytes = name.EndsWith(".gguf", StringComparison.Ordinal) ? TestGguf(seed++, name.Contains("Q8_0", StringComparison.OrdinalIgnoreCase) ? "Q8_0" : "Q4_K_M") : "readme"u8.ToArray();
            _files[name] = bytes;
            Server.AddFile("org", "multi-GGUF", name, bytes);
        }
    }

    private static readonly string[] s_repo =
    [
        "README.md", "model-Q4_K_M.gguf", "model-Q4_K_S.gguf", "model-Q8_0.gguf", "model-IQ4_XS.gguf", "mmproj-model-f16.gguf",
        "model-Q6_K-00001-of-00002.gguf", "model-Q6_K-00002-of-00002.gguf",
    ];

    [Theory]
    [InlineData("hf:org/multi-GGUF:Q4_K_M", "model-Q4_K_M.gguf")]
    [InlineData("hf:org/multi-GGUF:q4_k_m", "model-Q4_K_M.gguf")]
    [InlineData("hf:org/multi-GGUF:Q8_0", "model-Q8_0.gguf")]
    [InlineData("hf:org/multi-GGUF:iq4_xs", "model-IQ4_XS.gguf")]
    [InlineData("hf:org/multi-GGUF", "model-Q4_K_M.gguf")]
    public async Task QuantizationTagSelectsTheFile(string reference, string expected)
    {
        ServeRepo(s_repo);
        var model = await Store.PullAsync(reference, Hub());
        Assert.Equal(expected, model.File);
        Assert.Equal(_files[expected], File.ReadAllBytes(model.Path));
        Assert.Equal(reference.ToLowerInvariant(), model.Name);
        Assert.Equal(model.Path, Store.Resolve(reference.ToUpperInvariant().Replace("HF:", "hf:")));
    }

    [Fact]
    public async Task AnUnknownTagListsTheAvailableQuantizations()
    {
        ServeRepo(s_repo);
        var e = await Assert.ThrowsAsync<QuantizationSelectionException>(() => Store.PullAsync("hf:org/multi-GGUF:Q5_K_M", Hub()));
        Assert.Equal(["IQ4_XS", "Q4_K_M", "Q4_K_S", "Q8_0"], e.AvailableQuantizations);
        Assert.Contains("available: IQ4_XS, Q4_K_M, Q4_K_S, Q8_0", e.Message);
        Assert.Empty(StoreFiles());
    }

    [Fact]
    public async Task APartialTagDoesNotMatchALongerOne()
    {
        ServeRepo(s_repo);
        await Assert.ThrowsAsync<QuantizationSelectionException>(() => Store.PullAsync("hf:org/multi-GGUF:Q4_K", Hub()));
        await Assert.ThrowsAsync<QuantizationSelectionException>(() => Store.PullAsync("hf:org/multi-GGUF:Q4_XS", Hub()));
    }

    [Fact]
    public async Task ASplitOnlyQuantizationOrSeveralMatchesAreErrors()
    {
        ServeRepo([.. s_repo, "other-Q8_0.gguf"]);
        var split = await Assert.ThrowsAsync<QuantizationSelectionException>(() => Store.PullAsync("hf:org/multi-GGUF:Q6_K", Hub()));
        Assert.Contains("split", split.Message);
        var ambiguous = await Assert.ThrowsAsync<QuantizationSelectionException>(() => Store.PullAsync("hf:org/multi-GGUF:Q8_0", Hub()));
        Assert.Contains("model-Q8_0.gguf", ambiguous.Message);
        Assert.Contains("other-Q8_0.gguf", ambiguous.Message);
    }

    [Fact]
    public async Task ASingleFileIsPreferredOverASplitOneWithTheSameTag()
    {
        ServeRepo("m-Q5_K_M.gguf", "m-Q5_K_M-00001-of-00002.gguf", "m-Q5_K_M-00002-of-00002.gguf");
        var model = await Store.PullAsync("hf:org/multi-GGUF:Q5_K_M", Hub());
        Assert.Equal("m-Q5_K_M.gguf", model.File);
    }

    private static readonly ModelCatalog s_catalog = new(
    [
        new CatalogEntry("tiny:1m", "org", "multi-GGUF", "model-Q4_K_M.gguf", "a tiny test model"),
        new CatalogEntry("solo", "org", "multi-GGUF", "model-Q8_0.gguf", "no colon in the name"),
    ]);

    [Fact]
    public async Task CatalogNamesAndTagSuffixesPullAndResolve()
    {
        ServeRepo(s_repo);
        var store = new ModelStore(StoreRoot, s_catalog);
        var tiny = await store.PullAsync("tiny:1m", Hub());
        Assert.Equal("tiny:1m", tiny.Name);
        Assert.Equal("model-Q4_K_M.gguf", tiny.File);
        Assert.Equal("hf:org/multi-GGUF/model-Q4_K_M.gguf", tiny.Source);

        var q8 = await store.PullAsync("tiny:1m-q8_0", Hub());
        Assert.Equal("tiny:1m-q8_0", q8.Name);
        Assert.Equal("model-Q8_0.gguf", q8.File);
        var solo = await store.PullAsync("solo:iq4_xs", Hub());
        Assert.Equal("model-IQ4_XS.gguf", solo.File);

        Assert.Equal(tiny.Path, store.Resolve("TINY:1M"));
        // The same file under its hf: name resolves to the catalog pull, and the other way round.
        Assert.Equal(tiny.Path, store.Resolve("hf:org/multi-GGUF/model-Q4_K_M.gguf"));
        Assert.Equal(["solo:iq4_xs", "tiny:1m", "tiny:1m-q8_0"], store.List().Select(m => m.Name));
        // "solo" stands for model-Q8_0.gguf, which is in the store as tiny:1m-q8_0.
        Assert.Equal(q8.Path, store.Resolve("solo"));
        Assert.Throws<ModelNotFoundException>(() => store.Resolve("tiny:1m-q4_k_s"));
    }

    [Fact]
    public async Task APinnedCatalogHashIsEnforced()
    {
        ServeRepo(s_repo);
        var pinned = new ModelCatalog([new CatalogEntry("pinned:1m", "org", "multi-GGUF", "model-Q4_K_M.gguf", "", Sha256: new string('0', 64))]);
        var e = await Assert.ThrowsAsync<ModelIntegrityException>(() => new ModelStore(StoreRoot, pinned).PullAsync("pinned:1m", Hub()));
        Assert.Contains(new string('0', 64), e.Message);
        Assert.Empty(StoreFiles());
    }

    [Theory]
    [InlineData("qwen2.5:0.5b", "Qwen", "Qwen2.5-0.5B-Instruct-GGUF", "qwen2.5-0.5b-instruct-q4_k_m.gguf", null)]
    [InlineData("Qwen2.5:0.5B-Q8_0", "Qwen", "Qwen2.5-0.5B-Instruct-GGUF", null, "Q8_0")]
    [InlineData("smollm2:135m", "HuggingFaceTB", "SmolLM2-135M-Instruct-GGUF", "smollm2-135m-instruct-q8_0.gguf", null)]
    [InlineData("phi4-mini", "bartowski", "microsoft_Phi-4-mini-instruct-GGUF", "microsoft_Phi-4-mini-instruct-Q4_K_M.gguf", null)]
    [InlineData("phi4-mini:q8_0", "bartowski", "microsoft_Phi-4-mini-instruct-GGUF", null, "Q8_0")]
    [InlineData("phi4-mini-q8_0", "bartowski", "microsoft_Phi-4-mini-instruct-GGUF", null, "Q8_0")]
    [InlineData("hf:a/b/dir/c.gguf", "a", "b", "dir/c.gguf", null)]
    [InlineData("hf:a/b:Q4_K_M", "a", "b", null, "Q4_K_M")]
    public void ReferencesParse(string text, string owner, string repo, string? file, string? quant)
    {
        var r = ModelReference.Parse(text);
        Assert.Equal(owner, r.Owner);
        Assert.Equal(repo, r.Repository);
        Assert.Equal(file, r.File);
        Assert.Equal(quant, r.Quantization);
        Assert.Equal(text.ToLowerInvariant(), r.Name);
    }

    [Fact]
    public void TheBuiltInCatalogHasTheAdvertisedNames()
    {
        foreach (var name in new[] { "qwen2.5:0.5b", "qwen3:0.6b", "llama3.2:1b", "smollm2:135m", "phi4-mini", "gemma3:1b" })
        {
            var entry = ModelCatalog.Default.Find(name);
            Assert.NotNull(entry);
            Assert.EndsWith(".gguf", entry.File, StringComparison.Ordinal);
        }

        var unknown = Assert.Throws<ModelNotFoundException>(() => ModelReference.Parse("mystery:7b"));
        Assert.Contains("qwen2.5:0.5b", unknown.Message);
    }
}
