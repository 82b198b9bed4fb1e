using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary><c>qwen2</c>: Qwen2 and Qwen2.5. Llama-like with biases on the q, k and v projections and NeoX RoPE.</summary>
public sealed class Qwen2Architecture : IModelArchitecture
{
    public string Name => "qwen2";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        var rope = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, null, RopeLayout.NeoX);
        var spec = new TransformerSpec { AttentionScale = LayerBinding.DefaultAttentionScale(hp) };
        return LayerBinding.Uniform(file, hp, spec, new LayerLayout { QkvBias = true }, rope);
    }
}
