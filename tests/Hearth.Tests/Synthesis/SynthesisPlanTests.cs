using Hearth.Quantization;
using Hearth.Synthesis;
using Hearth.Tensors;

namespace Hearth.Tests.Synthesis;

/// <summary>
/// Tensor tables of the full-size shapes, computed without writing any data, against expectations written from the
/// models' configs and the GGUF files published for them.
/// </summary>
public sealed class SynthesisPlanTests
{
    [Theory]
    [InlineData("smollm2-135m", 272)] // 2 + 30 × 9
    [InlineData("qwen2.5-0.5b", 290)] // 2 + 24 × 12 (q/k/v biases)
    [InlineData("qwen3-0.6b", 310)] // 2 + 28 × 11 (q/k norms)
    [InlineData("llama-3.2-1b", 147)] // 3 (rope_freqs) + 16 × 9
    [InlineData("gemma-3-1b", 340)] // 2 + 26 × 13 (q/k norms, post-norms)
    [InlineData("phi-4-mini", 196)] // 4 (two LongRoPE factor sets) + 32 × 6 (fused qkv, fused gate+up)
    public void TensorCountsMatchTheReferenceConversions(string name, int count) =>
        Assert.Equal(count, SynthesisPlan.Create(ModelShapes.Get(name), LlamaFileType.F16).Tensors.Count);

    [Fact]
    public void Qwen25ShapesAndQ4KMMix()
    {
        var plan = SynthesisPlan.Create(ModelShapes.Get("qwen2.5-0.5b"), LlamaFileType.Q4_K_M);
        Assert.Equal([896L, 151936], plan["token_embd.weight"].Shape);
        Assert.Equal([128L], plan["blk.0.attn_k.bias"].Shape); // 2 KV heads × 64
        Assert.Equal([896L], plan["blk.0.attn_q.bias"].Shape);
        Assert.Equal([896L, 128], plan["blk.0.attn_k.weight"].Shape);
        Assert.Equal([4864L, 896], plan["blk.23.ffn_down.weight"].Shape);
        Assert.Null(plan.Find("output.weight"));

        // 896-wide rows cannot hold 256-element super-blocks: Q4_K targets become Q5_0, Q6_K targets Q8_0.
        Assert.Equal(GgmlType.Q8_0, plan["token_embd.weight"].Type);
        Assert.Equal(GgmlType.Q5_0, plan["blk.0.attn_q.weight"].Type);
        Assert.Equal(GgmlType.Q4_K, plan["blk.0.attn_q.weight"].PreferredType);
        Assert.Equal(GgmlType.Q5_0, plan["blk.0.ffn_gate.weight"].Type);
        Assert.Equal(GgmlType.Q5_0, plan["blk.0.attn_output.weight"].Type);
        Assert.Equal(GgmlType.Q8_0, plan["blk.0.attn_v.weight"].Type);
        Assert.Equal(GgmlType.Q6_K, plan["blk.0.attn_v.weight"].PreferredType);
        Assert.Equal(GgmlType.Q5_0, plan["blk.3.attn_v.weight"].Type);
        // ffn_down rows are 4864 = 19 × 256 wide: K-quants fit.
        Assert.Equal(GgmlType.Q6_K, plan["blk.0.ffn_down.weight"].Type);
        Assert.Equal(GgmlType.Q4_K, plan["blk.3.ffn_down.weight"].Type);
        Assert.Equal(GgmlType.Q6_K, plan["blk.23.ffn_down.weight"].Type);
        Assert.Equal(GgmlType.F32, plan["blk.0.attn_k.bias"].Type);
        Assert.Equal(GgmlType.F32, plan["blk.0.ffn_norm.weight"].Type);
    }

    [Fact]
    public void ParameterCountsFollowFromTheShapes()
    {
        // Qwen2.5-0.5B: embedding + 24 × (q, k, v, o, gate, up, down, biases, two norms) + final norm.
        long e = 896, kv = 128, f = 4864, v = 151936;
        long layer = e * e + 2 * e * kv + e * e + 3 * e * f + (e + 2 * kv) + 2 * e;
        Assert.Equal(e * v + 24 * layer + e, SynthesisPlan.Create(ModelShapes.Qwen25_05B, LlamaFileType.F16).ParameterCount);
        Assert.Equal(494_032_768L, e * v + 24 * layer + e);
    }

    [Fact]
    public void Llama32HasRopeFreqsAndATiedSixBitHead()
    {
        var plan = SynthesisPlan.Create(ModelShapes.Get("llama-3.2-1b"), LlamaFileType.Q4_K_M);
        Assert.Equal([32L], plan["rope_freqs.weight"].Shape); // head_dim 64 / 2
        Assert.Equal(GgmlType.F32, plan["rope_freqs.weight"].Type);
        Assert.Equal([2048L, 128256], plan["token_embd.weight"].Shape);
        Assert.Equal(GgmlType.Q6_K, plan["token_embd.weight"].Type);
        Assert.Equal([2048L, 512], plan["blk.0.attn_k.weight"].Shape);
        Assert.Equal([8192L, 2048], plan["blk.15.ffn_down.weight"].Shape);
        Assert.Equal(0, plan.FallbackCount);
    }

    [Fact]
    public void Gemma3HasNormsAroundBothSublayersAndAWideHead()
    {
        var plan = SynthesisPlan.Create(ModelShapes.Get("gemma-3-1b"), LlamaFileType.Q4_K_M);
        Assert.Equal([1152L, 1024], plan["blk.0.attn_q.weight"].Shape); // 4 heads × 256
        Assert.Equal([1152L, 256], plan["blk.0.attn_k.weight"].Shape);
        Assert.Equal([1024L, 1152], plan["blk.0.attn_output.weight"].Shape);
        Assert.Equal([256L], plan["blk.0.attn_q_norm.weight"].Shape);
        Assert.Equal([1152L], plan["blk.25.post_attention_norm.weight"].Shape);
        Assert.Equal([1152L], plan["blk.25.post_ffw_norm.weight"].Shape);
        Assert.Equal(GgmlType.Q8_0, plan["token_embd.weight"].Type); // 1152 = 4.5 × 256
        Assert.Equal(GgmlType.Q4_K, plan["blk.1.attn_output.weight"].Type); // 1024-wide rows fit Q4_K
        Assert.Equal(GgmlType.Q5_0, plan["blk.1.attn_q.weight"].Type);
    }

    [Fact]
    public void Phi4MiniIsFusedWithLongRope()
    {
        var plan = SynthesisPlan.Create(ModelShapes.Get("phi-4-mini"), LlamaFileType.Q4_K_M);
        Assert.Equal([3072L, 5120], plan["blk.0.attn_qkv.weight"].Shape); // (24 + 2 × 8) × 128
        Assert.Equal([3072L, 16384], plan["blk.0.ffn_up.weight"].Shape); // gate and up stacked
        Assert.Equal([8192L, 3072], plan["blk.0.ffn_down.weight"].Shape);
        Assert.Equal([48L], plan["rope_factors_long.weight"].Shape);
        Assert.Equal([48L], plan["rope_factors_short.weight"].Shape);
        Assert.Null(plan.Find("blk.0.ffn_gate.weight"));
        Assert.Equal(GgmlType.Q6_K, plan["token_embd.weight"].Type);
        Assert.Equal(GgmlType.Q5_K, plan["blk.0.attn_qkv.weight"].Type); // the fused projection: Q5_K on every layer
        Assert.Equal(GgmlType.Q5_K, plan["blk.4.attn_qkv.weight"].Type);
        Assert.Equal(GgmlType.Q4_K, plan["blk.4.ffn_down.weight"].Type);
        Assert.Equal(96, ModelShapes.Phi4Mini.RopeDimensionCount);
    }

    [Fact]
    public void SmolAndQwen3Shapes()
    {
        var smol = SynthesisPlan.Create(ModelShapes.Get("smollm2-135m"), LlamaFileType.Q8_0);
        Assert.Equal([576L, 576], smol["blk.0.attn_q.weight"].Shape);
        Assert.Equal([576L, 192], smol["blk.0.attn_k.weight"].Shape);
        Assert.Equal([576L, 49152], smol["token_embd.weight"].Shape);
        Assert.All(smol.Tensors.Where(t => t.Shape.Length == 2), t => Assert.Equal(GgmlType.Q8_0, t.Type));

        var qwen3 = SynthesisPlan.Create(ModelShapes.Get("qwen3-0.6b"), LlamaFileType.Q4_0);
        Assert.Equal([1024L, 2048], qwen3["blk.0.attn_q.weight"].Shape); // 16 heads × 128
        Assert.Equal([1024L, 1024], qwen3["blk.0.attn_k.weight"].Shape);
        Assert.Equal([2048L, 1024], qwen3["blk.0.attn_output.weight"].Shape);
        Assert.Equal([128L], qwen3["blk.0.attn_k_norm.weight"].Shape);
        Assert.Equal(GgmlType.Q6_K, qwen3["token_embd.weight"].Type);
        Assert.Equal(GgmlType.Q4_0, qwen3["blk.0.attn_v.weight"].Type);
    }

    [Fact]
    public void TensorsAreInReferenceOrder()
    {
        var names = SynthesisPlan.Create(ModelShapes.Get("llama-3.2-1b"), LlamaFileType.F16).Tensors.Select(t => t.Name).ToList();
        Assert.Equal(["output_norm.weight", "rope_freqs.weight", "token_embd.weight", "blk.0.attn_k.weight"], names.Take(4));
        Assert.Equal("blk.15.ffn_up.weight", names[^1]);
    }

    [Fact]
    public void InvalidShapesAndTypesAreRejected()
    {
        Assert.Throws<ArgumentException>(() => ModelShapes.Get("gpt-5"));
        Assert.Throws<ArgumentException>(() => ModelShapes.Qwen25_05B.Scaled(vocab: 100));
        Assert.Throws<ArgumentException>(() => ModelShapes.Qwen25_05B.Scaled(headDim: 33));
        Assert.Throws<ArgumentException>(() => ModelShapes.Qwen25_05B.Scaled(layers: 0));
        Assert.Throws<ArgumentException>(() => SynthesisPlan.Create(ModelShapes.Qwen25_05B, LlamaFileType.IQ2_XXS));
        // Q8_0 cannot store rows of 48 and llama.cpp defines no fallback for it.
        Assert.Throws<ArgumentException>(() => SynthesisPlan.Create(ModelShapes.Qwen25_05B.Scaled(embedding: 48, headDim: 16), LlamaFileType.Q8_0));
        Assert.Throws<ArgumentException>(() => (ModelShapes.Qwen25_05B with { Architecture = "falcon" }).Validate());
    }
}
