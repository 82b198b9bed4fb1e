using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary>
/// <c>phi3</c>: Phi-3, Phi-3.5 and Phi-4-mini. Fused <c>attn_qkv</c> (q, k, v rows stacked), fused gate+up in
/// <c>ffn_up</c> (gate rows first), partial NeoX rotary, and LongRoPE: <c>rope_factors_short</c> while the context
/// stays within <c>rope.scaling.original_context_length</c>, <c>rope_factors_long</c> beyond it, with cos/sin
/// scaled by <c>rope.scaling.attn_factor</c>. The file's sliding-window key is ignored, as the reference does.
/// </summary>
public sealed class Phi3Architecture : IModelArchitecture
{
    public string Name => "phi3";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        var b = new WeightBinder(file);
        int half = hp.RopeDimensionCount / 2;
        var factorsName = context > hp.RopeOriginalContext ? "rope_factors_long.weight" : "rope_factors_short.weight";
        var factors = b.Optional(factorsName, half)?.ToFloats().ToArray();
        var rope = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, factors, RopeLayout.NeoX);
        var spec = new TransformerSpec { AttentionScale = LayerBinding.DefaultAttentionScale(hp) };
        return LayerBinding.Uniform(file, hp, spec, new LayerLayout { FusedQkv = true, FusedGateUp = true }, rope);
    }
}
