using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary>
/// <c>gemma2</c>: embeddings scaled by √n_embd, GeGLU (tanh GELU), norms after attention and after the FFN,
/// attention and final logit soft-capping, and a sliding window on even layers. NeoX RoPE; tied output head.
/// </summary>
public sealed class Gemma2Architecture : IModelArchitecture
{
    public string Name => "gemma2";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        var rope = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, null, RopeLayout.NeoX);
        var spec = new TransformerSpec
        {
            Activation = Activation.GeluTanh,
            EmbeddingScale = MathF.Sqrt(hp.EmbeddingLength),
            AttentionScale = GemmaCommon.AttentionScale(hp, largeModelLayers: 46),
            AttentionSoftCap = (float)(file.GetNumber($"{Name}.attn_logit_softcapping") ?? 50.0),
            FinalSoftCap = (float)(file.GetNumber($"{Name}.final_logit_softcapping") ?? 30.0),
            SlidingWindow = hp.SlidingWindow == 0 ? 4096 : hp.SlidingWindow,
        };
        return GemmaCommon.Build(file, hp, spec, new LayerLayout(), il => (rope, il % 2 == 0));
    }
}

/// <summary>What Gemma 2 and Gemma 3 share.</summary>
internal static class GemmaCommon
{
    /// <summary>
    /// 1/√head_dim, except for the 27B models (recognised, as the reference does, by their layer count), which use
    /// 1/√(n_embd / n_head).
    /// </summary>
    public static float AttentionScale(HyperParameters hp, int largeModelLayers) =>
        hp.BlockCount == largeModelLayers
            ? 1f / MathF.Sqrt(hp.EmbeddingLength / (float)hp.HeadCount)
            : 1f / MathF.Sqrt(hp.KeyLength);

    public static Transformer Build(GgufFile file, HyperParameters hp, TransformerSpec spec, LayerLayout extra, Func<int, (Rope Rope, bool Sliding)> perLayer)
    {
        var b = new WeightBinder(file);
        var layout = extra with { PostAttnNormName = "post_attention_norm", PostFfnNormName = "post_ffw_norm" };
        var embedding = LayerBinding.TokenEmbedding(b, hp);
        var layers = new LayerWeights[hp.BlockCount];
        for (int il = 0; il < layers.Length; il++)
        {
            var (rope, sliding) = perLayer(il);
            layers[il] = LayerBinding.Layer(b, hp, il, layout, rope, sliding);
        }

        return new Transformer(hp, spec, embedding, LayerBinding.Vector(b, "output_norm.weight", hp.EmbeddingLength), LayerBinding.Output(b, hp, embedding), layers);
    }
}
