using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary>
/// <c>llama</c>: Llama 2 and 3.x, SmolLM2, TinyLlama, Mistral. RMS norm, SwiGLU, grouped-query attention, RoPE in the
/// normal (adjacent pairs) layout. Llama 3.1+ frequency scaling comes from the <c>rope_freqs.weight</c> tensor that
/// converters write, or is computed from <c>rope.scaling.*</c> when the file declares type <c>llama3</c> without it.
/// </summary>
public sealed class LlamaArchitecture : IModelArchitecture
{
    public string Name => "llama";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        var rope = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, FrequencyFactors(file, hp), RopeLayout.Normal);
        var spec = new TransformerSpec { AttentionScale = LayerBinding.DefaultAttentionScale(hp) };
        return LayerBinding.Uniform(file, hp, spec, new LayerLayout(), rope);
    }

    private static float[]? FrequencyFactors(GgufFile file, HyperParameters hp)
    {
        var b = new WeightBinder(file);
        if (b.Optional("rope_freqs.weight", hp.RopeDimensionCount / 2) is { } stored) return stored.ToFloats().ToArray();
        if (hp.RopeScalingType != "llama3") return null;
        string P(string key) => $"{hp.Architecture}.rope.scaling.{key}";
        return Rope.Llama3Factors(
            hp.RopeDimensionCount,
            hp.RopeFreqBase,
            hp.RopeScalingFactor == 0 ? 8f : hp.RopeScalingFactor,
            (float)(file.GetNumber(P("low_freq_factor")) ?? 1.0),
            (float)(file.GetNumber(P("high_freq_factor")) ?? 4.0),
            hp.RopeOriginalContext);
    }
}
