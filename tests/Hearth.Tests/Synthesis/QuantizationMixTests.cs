using Hearth.Quantization;
using Hearth.Tensors;

namespace Hearth.Tests.Synthesis;

/// <summary>The per-tensor type rules of llama.cpp's llama-quantize, checked against hand-derived expectations.</summary>
public sealed class QuantizationMixTests
{
    [Fact]
    public void MoreBitsLayersAreFirstAndLastEighthAndEveryThirdBetween()
    {
        // 24 layers: n/8 = 3, 7n/8 = 21; between them (i - 3) % 3 == 2 picks 5, 8, ..., 20.
        int[] expected24 = [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23];
        Assert.Equal(expected24, Enumerable.Range(0, 24).Where(i => QuantizationMix.UseMoreBits(i, 24)));

        // 30 layers: n/8 = 3, 7n/8 = 210/8 = 26.
        int[] expected30 = [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 28, 29];
        Assert.Equal(expected30, Enumerable.Range(0, 30).Where(i => QuantizationMix.UseMoreBits(i, 30)));

        // 16 layers: n/8 = 2, 7n/8 = 14.
        int[] expected16 = [0, 1, 4, 7, 10, 13, 14, 15];
        Assert.Equal(expected16, Enumerable.Range(0, 16).Where(i => QuantizationMix.UseMoreBits(i, 16)));
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 896, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q4_K, 576, GgmlType.Q5_0)]
    [InlineData(GgmlType.Q4_K, 1024, GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K, 896, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q6_K, 1152, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q5_K, 576, GgmlType.Q5_1)]
    [InlineData(GgmlType.Q2_K, 576, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q3_K, 896, GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_K, 48, GgmlType.F16)]
    [InlineData(GgmlType.Q8_0, 64, GgmlType.Q8_0)]
    public void FallbackFollowsTheReferenceTable(GgmlType type, long rowLength, GgmlType expected) =>
        Assert.Equal(expected, QuantizationMix.Fallback(type, rowLength));

    [Fact]
    public void LegacyTypesWithoutWholeBlocksHaveNoFallback()
    {
        var e = Assert.Throws<QuantizationException>(() => QuantizationMix.Fallback(GgmlType.Q8_0, 48));
        Assert.Contains("Q8_0", e.Message);
    }

    [Theory]
    [InlineData("blk.0.attn_q.weight", new long[] { 64, 64 }, true)]
    [InlineData("token_embd.weight", new long[] { 64, 512 }, true)]
    [InlineData("blk.0.attn_norm.weight", new long[] { 64 }, false)]
    [InlineData("blk.0.attn_q_norm.weight", new long[] { 64, 2 }, false)]
    [InlineData("blk.0.attn_q.bias", new long[] { 64, 2 }, false)]
    [InlineData("rope_freqs.weight", new long[] { 32 }, false)]
    [InlineData("blk.0.attn_q.weight", new long[] { 64, 1 }, false)]
    [InlineData("blk.0.ffn_gate_inp.weight", new long[] { 64, 8 }, false)]
    public void OnlyMatricesNamedWeightAreQuantized(string name, long[] shape, bool expected) =>
        Assert.Equal(expected, QuantizationMix.AllowsQuantization(name, shape));

    [Fact]
    public void TensorOrderIsGlobalsThenLayerByLayer()
    {
        string[] names = ["blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "blk.2.attn_k.weight", "output_norm.weight", "blk.1.attn_v.weight"];
        var sorted = names.ToList();
        sorted.Sort(QuantizationMix.CompareTensorNames);
        Assert.Equal(["output_norm.weight", "token_embd.weight", "blk.1.attn_v.weight", "blk.2.attn_k.weight", "blk.2.ffn_up.weight", "blk.10.attn_q.weight"], sorted);
    }

    private static TensorToQuantize T(string name, params long[] shape) => new(name, shape, GgmlType.F32);

    private static List<TensorToQuantize> Layers(int n, long e, long kv, long f, bool tied)
    {
        var list = new List<TensorToQuantize> { T("token_embd.weight", e, 1000), T("output_norm.weight", e) };
        if (!tied) list.Add(T("output.weight", e, 1000));
        for (int i = 0; i < n; i++)
        {
            list.Add(T($"blk.{i}.attn_norm.weight", e));
            list.Add(T($"blk.{i}.attn_q.weight", e, e));
            list.Add(T($"blk.{i}.attn_k.weight", e, kv));
            list.Add(T($"blk.{i}.attn_v.weight", e, kv));
            list.Add(T($"blk.{i}.attn_output.weight", e, e));
            list.Add(T($"blk.{i}.ffn_gate.weight", e, f));
            list.Add(T($"blk.{i}.ffn_up.weight", e, f));
            list.Add(T($"blk.{i}.ffn_down.weight", f, e));
        }

        return list;
    }

    private static Dictionary<string, GgmlType> Choose(List<TensorToQuantize> tensors, LlamaFileType ftype, int layers, int heads = 8, int kvHeads = 2) =>
        QuantizationMix.Choose(new QuantizationModel("llama", layers, heads, kvHeads), tensors, ftype).ToDictionary(c => c.Name, c => c.Type);

    [Fact]
    public void Q4_K_M_GivesSixBitsToTheHeadAndToHalfOfAttnVAndFfnDown()
    {
        var types = Choose(Layers(8, 256, 256, 512, tied: true), LlamaFileType.Q4_K_M, 8);
        Assert.Equal(GgmlType.Q6_K, types["token_embd.weight"]); // tied: the embedding is the head
        Assert.Equal(GgmlType.F32, types["output_norm.weight"]);
        // 8 layers: n/8 = 1, 7n/8 = 7 → layers 0, 3, 6, 7 get more bits.
        foreach (int i in new[] { 0, 3, 6, 7 })
        {
            Assert.Equal(GgmlType.Q6_K, types[$"blk.{i}.attn_v.weight"]);
            Assert.Equal(GgmlType.Q6_K, types[$"blk.{i}.ffn_down.weight"]);
        }

        foreach (int i in new[] { 1, 2, 4, 5 })
        {
            Assert.Equal(GgmlType.Q4_K, types[$"blk.{i}.attn_v.weight"]);
            Assert.Equal(GgmlType.Q4_K, types[$"blk.{i}.ffn_down.weight"]);
        }

        Assert.Equal(GgmlType.Q4_K, types["blk.0.attn_q.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["blk.0.attn_k.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["blk.0.attn_output.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["blk.0.ffn_gate.weight"]);
        Assert.Equal(GgmlType.Q4_K, types["blk.0.ffn_up.weight"]);
    }

    [Fact]
    public void UntiedEmbeddingKeepsTheDefaultTypeAndTheOutputGetsSixBits()
    {
        var types = Choose(Layers(2, 256, 256, 512, tied: false), LlamaFileType.Q4_K_M, 2);
        Assert.Equal(GgmlType.Q4_K, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q6_K, types["output.weight"]);
    }

    [Fact]
    public void HeadRowsThatAreNotWholeDefaultBlocksGoToQ8_0()
    {
        var types = Choose(Layers(2, 96, 32, 64, tied: true), LlamaFileType.Q4_K_M, 2);
        Assert.Equal(GgmlType.Q8_0, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q5_0, types["blk.1.attn_q.weight"]); // Q4_K cannot hold 96-wide rows
        // 2 layers: n/8 = 0 and 7n/8 = 1, so only layer 1 gets more bits: Q6_K → Q8_0; layer 0 Q4_K → Q5_0.
        Assert.Equal(GgmlType.Q8_0, types["blk.1.attn_v.weight"]);
        Assert.Equal(GgmlType.Q5_0, types["blk.0.attn_v.weight"]);
    }

    [Fact]
    public void Q8_0FilesKeepTheHeadInQ8_0AndLegacyHeadsGoToQ6_K()
    {
        var q8 = Choose(Layers(2, 256, 256, 512, tied: false), LlamaFileType.Q8_0, 2);
        Assert.All(q8.Where(kv => !kv.Key.Contains("norm")), kv => Assert.Equal(GgmlType.Q8_0, kv.Value));

        var q4 = Choose(Layers(2, 256, 256, 512, tied: false), LlamaFileType.Q4_0, 2);
        Assert.Equal(GgmlType.Q6_K, q4["output.weight"]);
        Assert.Equal(GgmlType.Q4_0, q4["token_embd.weight"]);
        Assert.Equal(GgmlType.Q4_0, q4["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.Q4_0, q4["blk.0.ffn_down.weight"]);

        // A 96-wide head in a Q4_0 file: Q6_K does not fit, so Q8_0.
        var narrow = Choose(Layers(2, 96, 32, 64, tied: true), LlamaFileType.Q4_0, 2);
        Assert.Equal(GgmlType.Q8_0, narrow["token_embd.weight"]);
    }

    [Fact]
    public void FloatFilesPutEveryMatrixInThatTypeAndLeaveVectorsAlone()
    {
        var f16 = Choose(Layers(2, 96, 32, 64, tied: true), LlamaFileType.F16, 2);
        Assert.Equal(GgmlType.F16, f16["token_embd.weight"]);
        Assert.Equal(GgmlType.F16, f16["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.F32, f16["blk.0.attn_norm.weight"]);
    }

    [Fact]
    public void FusedQkvHasItsOwnRuleOnEveryLayer()
    {
        // As llama-quantize wrote ../shared/golden/models/parity-phi3.Q4_K_M.gguf: Q5_K on every layer, not attn_v's
        // more-bits pattern.
        var list = new List<TensorToQuantize> { T("token_embd.weight", 256, 1000) };
        for (int i = 0; i < 8; i++) list.Add(T($"blk.{i}.attn_qkv.weight", 256, 768));
        var types = Choose(list, LlamaFileType.Q4_K_M, 8);
        for (int i = 0; i < 8; i++) Assert.Equal(GgmlType.Q5_K, types[$"blk.{i}.attn_qkv.weight"]);
        Assert.Equal(GgmlType.Q6_K, Choose(list, LlamaFileType.Q5_K_M, 8)["blk.0.attn_qkv.weight"]);
        Assert.Equal(GgmlType.Q4_K, Choose(list, LlamaFileType.Q3_K_M, 8)["blk.0.attn_qkv.weight"]);
        Assert.Equal(GgmlType.Q2_K, Choose(list, LlamaFileType.Q2_K, 8)["blk.0.attn_qkv.weight"]);
    }

    [Fact]
    public void LayerCountersFollowTheReferenceOrderWhateverTheInputOrder()
    {
        var list = Layers(8, 256, 256, 512, tied: true);
        var reversed = Enumerable.Reverse(list).ToList();
        Assert.Equal(Choose(list, LlamaFileType.Q4_K_M, 8), Choose(reversed, LlamaFileType.Q4_K_M, 8));
    }

    [Fact]
    public void OtherKMixesFollowTheirRules()
    {
        var list = Layers(16, 256, 256, 512, tied: false);
        var q3m = Choose(list, LlamaFileType.Q3_K_M, 16);
        Assert.Equal(GgmlType.Q5_K, q3m["blk.0.attn_v.weight"]);
        Assert.Equal(GgmlType.Q5_K, q3m["blk.1.attn_v.weight"]);
        Assert.Equal(GgmlType.Q4_K, q3m["blk.2.attn_v.weight"]);
        Assert.Equal(GgmlType.Q5_K, q3m["blk.0.ffn_down.weight"]); // i < n/16 = 1
        Assert.Equal(GgmlType.Q4_K, q3m["blk.1.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q4_K, q3m["blk.0.attn_output.weight"]);
        Assert.Equal(GgmlType.Q3_K, q3m["blk.0.attn_q.weight"]);

        var q2 = Choose(list, LlamaFileType.Q2_K, 16, heads: 8, kvHeads: 2); // n_gqa = 4
        Assert.Equal(GgmlType.Q4_K, q2["blk.5.attn_v.weight"]);
        Assert.Equal(GgmlType.Q3_K, q2["blk.5.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q3_K, q2["blk.5.attn_output.weight"]);
        Assert.Equal(GgmlType.Q2_K, q2["blk.5.attn_q.weight"]);
        var q2mha = Choose(list, LlamaFileType.Q2_K, 16, heads: 8, kvHeads: 8);
        Assert.Equal(GgmlType.Q3_K, q2mha["blk.5.attn_v.weight"]);

        var q4s = Choose(list, LlamaFileType.Q4_K_S, 16);
        Assert.Equal(GgmlType.Q5_K, q4s["blk.3.attn_v.weight"]);
        Assert.Equal(GgmlType.Q4_K, q4s["blk.4.attn_v.weight"]);
        Assert.Equal(GgmlType.Q5_K, q4s["blk.1.ffn_down.weight"]); // i < n/8 = 2
        Assert.Equal(GgmlType.Q4_K, q4s["blk.2.ffn_down.weight"]);

        var q5m = Choose(list, LlamaFileType.Q5_K_M, 16);
        Assert.Equal(GgmlType.Q6_K, q5m["blk.15.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q5_K, q5m["blk.5.ffn_down.weight"]);
        Assert.Equal(GgmlType.Q6_K, q5m["output.weight"]);
    }

    [Fact]
    public void FileTypeNamesParseAndUnsupportedOnesAreRejected()
    {
        Assert.Equal(LlamaFileType.Q4_K_M, LlamaFileTypes.Parse("q4_k_m"));
        Assert.Equal(LlamaFileType.F16, LlamaFileTypes.Parse("F16"));
        Assert.Equal(15u, (uint)LlamaFileType.Q4_K_M);
        Assert.Equal(7u, (uint)LlamaFileType.Q8_0);
        Assert.Equal(2u, (uint)LlamaFileType.Q4_0);
        Assert.Equal(1u, (uint)LlamaFileType.F16);
        Assert.Throws<ArgumentException>(() => LlamaFileTypes.Parse("15"));
        Assert.Throws<ArgumentException>(() => LlamaFileTypes.Parse("Q4_K_X"));
        Assert.Throws<ArgumentException>(() => LlamaFileTypes.Parse("F16,Q8_0"));
        Assert.False(QuantizationMix.IsSupported(LlamaFileType.IQ2_XXS));
        Assert.Throws<NotSupportedException>(() => QuantizationMix.DefaultType(LlamaFileType.IQ2_XXS));
        Assert.Equal("Q4_K_M", LlamaFileTypes.Name(15));
        Assert.Equal("ftype 99", LlamaFileTypes.Name(99));
    }
}
