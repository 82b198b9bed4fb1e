using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary>Which optional parts a family's decoder blocks carry, and under which tensor names.</summary>
internal sealed record LayerLayout
{
    public bool FusedQkv { get; init; }
    public bool QkvBias { get; init; }
    public bool QkNorm { get; init; }
    public bool FusedGateUp { get; init; }

    /// <summary>Tensor base names of the post-attention and post-FFN norms (Gemma), or null.</summary>
    public string? PostAttnNormName { get; init; }
    public string? PostFfnNormName { get; init; }
}

/// <summary>Binds the tensors shared by all families, by ggml name and expected shape.</summary>
internal static class LayerBinding
{
    /// <summary>token_embd.weight: [n_embd, n_vocab].</summary>
    public static Weight TokenEmbedding(WeightBinder b, HyperParameters hp)
    {
        var info = b.File.FindTensor("token_embd.weight") ?? throw new ModelFormatException($"{b.File.Path}: tensor 'token_embd.weight' is missing");
        long vocab = info.Shape.Length >= 2 ? info.Shape[1] : 0;
        if (vocab <= 0 || vocab > int.MaxValue) throw new ModelFormatException($"{b.File.Path}: tensor 'token_embd.weight' has shape {info.ShapeText}, expected [{hp.EmbeddingLength}, n_vocab]");
        return b.Require("token_embd.weight", hp.EmbeddingLength, vocab);
    }

    /// <summary>output.weight [n_embd, n_vocab], or the token embedding when the head is tied.</summary>
    public static Weight Output(WeightBinder b, HyperParameters hp, Weight embedding) =>
        b.Optional("output.weight", hp.EmbeddingLength, embedding.Rows) ?? embedding;

    /// <summary>
    /// An absent optional vector. (A bare <c>null</c> in a conditional next to a ReadOnlyMemory would convert through
    /// the array operator into an empty, present value.)
    /// </summary>
    private static readonly ReadOnlyMemory<float>? None = null;

    public static ReadOnlyMemory<float> Vector(WeightBinder b, string name, long length) => b.Require(name, length).ToFloats();

    public static ReadOnlyMemory<float>? OptionalVector(WeightBinder b, string name, long length) => b.Optional(name, length)?.ToFloats();

    /// <summary>Binds block <paramref name="il"/> according to <paramref name="layout"/>.</summary>
    public static LayerWeights Layer(WeightBinder b, HyperParameters hp, int il, LayerLayout layout, Rope rope, bool sliding)
    {
        string P(string name) => $"blk.{il}.{name}";
        long e = hp.EmbeddingLength;
        long f = hp.FeedForwardLength;
        Weight? wq = null, wk = null, wv = null, wqkv = null;
        if (layout.FusedQkv && b.File.FindTensor(P("attn_qkv.weight")) != null)
        {
            wqkv = b.Require(P("attn_qkv.weight"), e, hp.QueryWidth + hp.KvWidth + hp.ValueWidth);
        }
        else
        {
            wq = b.Require(P("attn_q.weight"), e, hp.QueryWidth);
            wk = b.Require(P("attn_k.weight"), e, hp.KvWidth);
            wv = b.Require(P("attn_v.weight"), e, hp.ValueWidth);
        }

        Weight? gate = null, up = null, gateUp = null;
        if (layout.FusedGateUp && b.File.FindTensor(P("ffn_gate.weight")) == null)
        {
            gateUp = b.Require(P("ffn_up.weight"), e, 2 * f);
        }
        else
        {
            gate = b.Require(P("ffn_gate.weight"), e, f);
            up = b.Require(P("ffn_up.weight"), e, f);
        }

        return new LayerWeights
        {
            AttnNorm = Vector(b, P("attn_norm.weight"), e),
            Wq = wq,
            Wk = wk,
            Wv = wv,
            Wqkv = wqkv,
            Bq = layout.QkvBias ? OptionalVector(b, P("attn_q.bias"), hp.QueryWidth) : None,
            Bk = layout.QkvBias ? OptionalVector(b, P("attn_k.bias"), hp.KvWidth) : None,
            Bv = layout.QkvBias ? OptionalVector(b, P("attn_v.bias"), hp.ValueWidth) : None,
            QNorm = layout.QkNorm ? Vector(b, P("attn_q_norm.weight"), hp.KeyLength) : None,
            KNorm = layout.QkNorm ? Vector(b, P("attn_k_norm.weight"), hp.KeyLength) : None,
            Wo = b.Require(P("attn_output.weight"), hp.HeadCount * hp.ValueLength, e),
            PostAttnNorm = layout.PostAttnNormName is { } pa ? Vector(b, P(pa + ".weight"), e) : None,
            FfnNorm = Vector(b, P("ffn_norm.weight"), e),
            Gate = gate,
            Up = up,
            GateUp = gateUp,
            Down = b.Require(P("ffn_down.weight"), f, e),
            PostFfnNorm = layout.PostFfnNormName is { } pf ? Vector(b, P(pf + ".weight"), e) : None,
            Rope = rope,
            Sliding = sliding,
        };
    }

    /// <summary>Builds a model whose layers all share one RoPE and layout (every family but Gemma).</summary>
    public static Transformer Uniform(GgufFile file, HyperParameters hp, TransformerSpec spec, LayerLayout layout, Rope rope)
    {
        var b = new WeightBinder(file);
        var embedding = TokenEmbedding(b, hp);
        var layers = new LayerWeights[hp.BlockCount];
        for (int il = 0; il < layers.Length; il++) layers[il] = Layer(b, hp, il, layout, rope, sliding: false);
        return new Transformer(hp, spec, embedding, Vector(b, "output_norm.weight", hp.EmbeddingLength), Output(b, hp, embedding), layers);
    }

    /// <summary>1/√head_dim, the usual attention scale.</summary>
    public static float DefaultAttentionScale(HyperParameters hp) => 1f / MathF.Sqrt(hp.KeyLength);
}
