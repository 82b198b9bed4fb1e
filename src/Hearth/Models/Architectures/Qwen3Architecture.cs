using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary><c>qwen3</c>: no projection biases; each head of q and k is RMS-normalised before NeoX RoPE.</summary>
public sealed class Qwen3Architecture : IModelArchitecture
{
    public string Name => "qwen3";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        var rope = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, null, RopeLayout.NeoX);
        var spec = new TransformerSpec { AttentionScale = LayerBinding.DefaultAttentionScale(hp) };
        return LayerBinding.Uniform(file, hp, spec, new LayerLayout { QkNorm = true }, rope);
    }
}
