using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Models;

/// <summary>Bad models fail at load with a message naming the tensor or key; variants of real files load the same.</summary>
public sealed class ModelLoadingTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Golden(string name) => TestData.Path("golden", "models", name);

    private string Variant(string source, Action<GgufWriter> metadata, Func<GgufTensorInfo, GgufTensorInfo?>? tensors = null) =>
        ModelVariants.Write(_files, source, metadata, tensors);

    [Fact]
    public void UnknownArchitectureIsNamed()
    {
        var path = Variant(Golden("parity-llama-tied.F32.gguf"), w => w.Set("general.architecture", "mamba9"));
        using var f = GgufFile.Open(path);
        var e = Assert.Throws<ModelFormatException>(() => ArchitectureRegistry.Resolve(f));
        Assert.Contains("unknown architecture 'mamba9'", e.Message);
        Assert.Contains("llama", e.Message);
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var path = Variant(Golden("parity-qwen2.F32.gguf"), _ => { }, t => t.Name == "blk.1.ffn_down.weight" ? null : t);
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(path));
        Assert.Contains("'blk.1.ffn_down.weight' is missing", e.Message);
    }

    [Fact]
    public void MisshapenTensorIsNamedWithBothShapes()
    {
        // Swap the two dimensions of a square-incompatible tensor: [256, 64] becomes [64, 256] (same byte count).
        var path = Variant(Golden("parity-llama-tied.F32.gguf"), _ => { }, t => t.Name == "blk.0.attn_k.weight" ? t with { Shape = [64, 256] } : t);
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(path));
        Assert.Contains("'blk.0.attn_k.weight' has shape [64, 256], expected [256, 64]", e.Message);
    }

    [Fact]
    public void MissingHyperParameterIsNamed()
    {
        var path = Variant(Golden("parity-gemma2.F32.gguf"), w => w.Remove("gemma2.block_count"));
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(path));
        Assert.Contains("gemma2.block_count", e.Message);
    }

    [Fact]
    public void AdapterFilesAreNotModels()
    {
        var e = Assert.Throws<ModelFormatException>(() => LanguageModel.Load(Golden("parity-llama-untied.lora-r8-a16.F32.gguf")));
        Assert.Contains("adapter", e.Message);
    }

    [Fact]
    public void EveryArchitectureIsRegisteredUnderItsName()
    {
        Assert.Equal(["gemma2", "gemma3", "llama", "phi3", "qwen2", "qwen3"], ArchitectureRegistry.Names);
    }

    [Fact]
    public void UntiedModelUsesItsOwnOutputAndTiedModelTheEmbedding()
    {
        using var tied = LanguageModel.Load(Golden("parity-llama-tied.F32.gguf"));
        using var untied = LanguageModel.Load(Golden("parity-llama-untied.F32.gguf"));
        Assert.Same(tied.Transformer.TokenEmbedding, tied.Transformer.LmHead);
        Assert.NotSame(untied.Transformer.TokenEmbedding, untied.Transformer.LmHead);
        Assert.Equal("output.weight", untied.Transformer.LmHead.Name);
    }
}
