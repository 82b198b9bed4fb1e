using Hearth.Tensors;

namespace Hearth.Quantization;

/// <summary>The model facts llama.cpp's type selection looks at.</summary>
/// <param name="Architecture"><c>general.architecture</c> (only <c>falcon</c> and 70B <c>llama</c> change the rules).</param>
/// <param name="LayerCount">n_layer: the layer count the ffn_down rules divide by.</param>
/// <param name="HeadCount">n_head.</param>
/// <param name="HeadCountKv">n_head_kv (n_gqa = n_head / n_head_kv decides Q2_K's attn_v type).</param>
public sealed record QuantizationModel(string Architecture, int LayerCount, int HeadCount, int HeadCountKv)
{
    /// <summary>Heads per KV head.</summary>
    public int GroupedQueryRatio => HeadCountKv > 0 ? HeadCount / HeadCountKv : 1;

    /// <summary>llama.cpp treats an 80-layer llama with grouped-query attention as its 70B model.</summary>
    public bool IsLlama70B => Architecture == "llama" && LayerCount == 80 && HeadCount != HeadCountKv;
}

/// <summary>One tensor of the source model: its name, ggml shape (ne[0] first) and current type.</summary>
public readonly record struct TensorToQuantize(string Name, long[] Shape, GgmlType Type);

/// <summary>The type chosen for one tensor.</summary>
/// <param name="Name">The tensor.</param>
/// <param name="Type">The type it is written in.</param>
/// <param name="Preferred">The type the mix asked for before the row-length fallback (equal to <see cref="Type"/> unless <see cref="FellBack"/>).</param>
/// <param name="Quantized">False for tensors the mix leaves alone (1-D tensors, norms, biases): they keep their type.</param>
public readonly record struct TensorTypeChoice(string Name, GgmlType Type, GgmlType Preferred, bool Quantized)
{
    /// <summary>True when the row length could not hold <see cref="Preferred"/> and a compatible type was used.</summary>
    public bool FellBack => Type != Preferred;
}

/// <summary>
/// Chooses each tensor's type for a target <see cref="LlamaFileType"/> the way llama.cpp's <c>llama-quantize</c> does
/// (<c>llama_tensor_get_type</c> in <c>llama-quant.cpp</c>, without importance matrix or user overrides), so that a file
/// Hearth writes has the same tensor types as the reference's for the same model.
/// </summary>
/// <remarks>
/// <para>The rules, for the file types Hearth can compute with:</para>
/// <list type="bullet">
/// <item>Only tensors of two or more dimensions whose name ends in <c>weight</c> (and not <c>_norm.weight</c>) are
/// quantized; everything else keeps its type.</item>
/// <item>F32, F16 and BF16 files put every such tensor in that type.</item>
/// <item>The output head (<c>output.weight</c>, or <c>token_embd.weight</c> when the file has no output head, i.e. the
/// embedding is tied) goes to Q6_K, except in Q8_0 files (stays Q8_0) and when its rows are not a whole number of
/// blocks of the file's default type (Q8_0).</item>
/// <item>attn_qkv (fused): Q3_K_M and Q3_K_L → Q4_K, Q4_K_M → Q5_K, Q5_K_M → Q6_K, on every layer.</item>
/// <item>attn_v: Q2_K → Q4_K when n_gqa ≥ 4 else Q3_K; Q3_K_M → Q5_K for the first two layers
/// then Q4_K; Q3_K_L → Q5_K; Q4_K_M and Q5_K_M → Q6_K on the "more bits" layers; Q4_K_S → Q5_K for the first four; a
/// 70B llama lifts Q3_K/Q4_K to Q5_K.</item>
/// <item>ffn_down: Q2_K → Q3_K; Q3_K_M → Q5_K below n/16, else Q4_K (Falcon: Q3_K off the more-bits layers);
/// Q3_K_L → Q5_K (Falcon Q4_K); Q4_K_M → Q6_K on the more-bits layers (Falcon: Q6_K below n/16, Q5_K on more-bits);
/// Q5_K_M → Q6_K on the more-bits layers; Q4_K_S → Q5_K below n/8 (not Falcon).</item>
/// <item>attn_output (not Falcon): Q2_K → Q3_K, Q3_K_M → Q4_K, Q3_K_L → Q5_K (Falcon: Q3_K_L → Q4_K).</item>
/// <item>"More bits" layers (<see cref="UseMoreBits"/>): the first eighth, the last eighth, and every third layer in
/// between.</item>
/// <item>Finally, when a row length is not a multiple of the chosen type's block size: Q4_K → Q5_0, Q5_K → Q5_1,
/// Q6_K → Q8_0, Q2_K/Q3_K → Q4_0, and F16 when even that does not fit.</item>
/// </list>
/// <para>The attn_v and ffn_down rules count layers in llama.cpp's tensor order (see <see cref="CompareTensorNames"/>),
/// which for one attn_v per layer is the layer index.</para>
/// </remarks>
public static class QuantizationMix
{
    private static readonly LlamaFileType[] s_supported =
    [
        LlamaFileType.F32, LlamaFileType.F16, LlamaFileType.BF16,
        LlamaFileType.Q4_0, LlamaFileType.Q4_1, LlamaFileType.Q5_0, LlamaFileType.Q5_1, LlamaFileType.Q8_0,
        LlamaFileType.Q2_K, LlamaFileType.Q3_K_S, LlamaFileType.Q3_K_M, LlamaFileType.Q3_K_L,
        LlamaFileType.Q4_K_S, LlamaFileType.Q4_K_M, LlamaFileType.Q5_K_S, LlamaFileType.Q5_K_M, LlamaFileType.Q6_K,
    ];

    /// <summary>The file types whose mixes Hearth knows and can write (every type they use is computable).</summary>
    public static IReadOnlyList<LlamaFileType> SupportedFileTypes => s_supported;

    public static bool IsSupported(LlamaFileType fileType) => Array.IndexOf(s_supported, fileType) >= 0;

    /// <summary>The type most tensors of a file type get (llama.cpp's <c>llama_ftype_get_default_type</c>).</summary>
    /// <exception cref="NotSupportedException">The file type is not one Hearth can write.</exception>
    public static GgmlType DefaultType(LlamaFileType fileType) => fileType switch
    {
        LlamaFileType.F32 => GgmlType.F32,
        LlamaFileType.F16 => GgmlType.F16,
        LlamaFileType.BF16 => GgmlType.BF16,
        LlamaFileType.Q4_0 => GgmlType.Q4_0,
        LlamaFileType.Q4_1 => GgmlType.Q4_1,
        LlamaFileType.Q5_0 => GgmlType.Q5_0,
        LlamaFileType.Q5_1 => GgmlType.Q5_1,
        LlamaFileType.Q8_0 => GgmlType.Q8_0,
        LlamaFileType.Q2_K => GgmlType.Q2_K,
        LlamaFileType.Q3_K_S or LlamaFileType.Q3_K_M or LlamaFileType.Q3_K_L => GgmlType.Q3_K,
        LlamaFileType.Q4_K_S or LlamaFileType.Q4_K_M => GgmlType.Q4_K,
        LlamaFileType.Q5_K_S or LlamaFileType.Q5_K_M => GgmlType.Q5_K,
        LlamaFileType.Q6_K => GgmlType.Q6_K,
        _ => throw Unsupported(fileType),
    };

    /// <summary>
    /// True for layer <paramref name="layer"/> of <paramref name="layers"/> when the mixes give it more bits: the first
    /// n/8, the last n/8 (from 7n/8 on), and every third layer in between (integer division throughout).
    /// </summary>
    public static bool UseMoreBits(int layer, int layers) =>
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;

    /// <summary>
    /// True when a tensor is one the mixes quantize: at least two dimensions (trailing 1s not counted), a name ending in
    /// <c>weight</c> that is not a norm, and not one of the small tensors llama.cpp always keeps as they are.
    /// </summary>
    public static bool AllowsQuantization(string name, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        int dims = shape.Length;
        while (dims > 1 && shape[dims - 1] == 1) dims--;
        if (dims < 2) return false;
        if (!name.EndsWith("weight", StringComparison.Ordinal)) return false;
        if (name.Contains("_norm.weight", StringComparison.Ordinal)) return false;
        string[] kept = ["ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj", "ssm_conv1d", "attn_rel_b.weight", "time_mix_"];
        foreach (var k in kept)
        {
            if (name.Contains(k, StringComparison.Ordinal)) return false;
        }

        return name is not ("position_embd.weight" or "token_types.weight");
    }

    /// <summary>
    /// The type a tensor falls back to when its row length <paramref name="rowLength"/> is not a multiple of
    /// <paramref name="type"/>'s block size (llama.cpp's <c>tensor_type_fallback</c>); <paramref name="type"/> itself
    /// when it fits.
    /// </summary>
    /// <exception cref="QuantizationException">No fallback is defined for the type (llama.cpp refuses too).</exception>
    public static GgmlType Fallback(GgmlType type, long rowLength)
    {
        if (rowLength % GgmlTypes.Get(type).BlockSize == 0) return type;
        var fallback = type switch
        {
            GgmlType.Q2_K or GgmlType.Q3_K or GgmlType.TQ1_0 or GgmlType.TQ2_0 => GgmlType.Q4_0,
            GgmlType.Q4_K => GgmlType.Q5_0,
            GgmlType.Q5_K => GgmlType.Q5_1,
            GgmlType.Q6_K => GgmlType.Q8_0,
            GgmlType.IQ1_S or GgmlType.IQ1_M or GgmlType.IQ2_XXS or GgmlType.IQ2_XS or GgmlType.IQ2_S or GgmlType.IQ3_XXS
                or GgmlType.IQ3_S or GgmlType.IQ4_XS => GgmlType.IQ4_NL,
            _ => throw new QuantizationException($"rows of {rowLength} elements cannot be stored as {type} (blocks of {GgmlTypes.Get(type).BlockSize}) and no fallback type is defined for it"),
        };
        return rowLength % GgmlTypes.Get(fallback).BlockSize == 0 ? fallback : GgmlType.F16;
    }

    /// <summary>
    /// llama.cpp's tensor order (<c>weight_name_comparer</c>): tensors outside the blocks first, then block by block
    /// (<c>blk.N.</c> by N), by name (ordinal) within each group.
    /// </summary>
    public static int CompareTensorNames(string a, string b)
    {
        int la = LayerOf(a), lb = LayerOf(b);
        return la != lb ? la.CompareTo(lb) : string.CompareOrdinal(a, b);
    }

    /// <summary>The N of a <c>blk.N.</c> name, or -1.</summary>
    public static int LayerOf(string name)
    {
        if (!name.StartsWith("blk.", StringComparison.Ordinal)) return -1;
        int end = name.IndexOf('.', 4);
        if (end <= 4) return -1;
        return int.TryParse(name.AsSpan(4, end - 4), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : -1;
    }

    /// <summary>
    /// Chooses the type of every tensor for <paramref name="fileType"/>; the result is in the order of
    /// <paramref name="tensors"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The file type is not one Hearth can write.</exception>
    /// <exception cref="QuantizationException">A tensor's rows fit neither its type nor any fallback.</exception>
    public static TensorTypeChoice[] Choose(QuantizationModel model, IReadOnlyList<TensorToQuantize> tensors, LlamaFileType fileType)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tensors);
        var defaultType = DefaultType(fileType);
        bool quantizedDefault = defaultType is not (GgmlType.F32 or GgmlType.F16 or GgmlType.BF16);

        var state = new State(model, fileType)
        {
            TiedEmbeddings = !tensors.Any(t => t.Name == "output.weight"),
            AttentionVCount = tensors.Count(t => Categorize(t.Name) is Category.AttentionV or Category.AttentionQkv or Category.AttentionKvB),
        };

        // llama.cpp walks the tensors in its own order and counts attn_v / ffn_down occurrences as it goes.
        var order = Enumerable.Range(0, tensors.Count).ToArray();
        Array.Sort(order, (x, y) => CompareTensorNames(tensors[x].Name, tensors[y].Name));
        var result = new TensorTypeChoice[tensors.Count];
        foreach (int i in order)
        {
            var t = tensors[i];
            if (!AllowsQuantization(t.Name, t.Shape))
            {
                result[i] = new TensorTypeChoice(t.Name, t.Type, t.Type, Quantized: false);
                continue;
            }

            if (!quantizedDefault)
            {
                result[i] = new TensorTypeChoice(t.Name, defaultType, defaultType, Quantized: true);
                continue;
            }

            var preferred = state.Choose(t, defaultType);
            result[i] = new TensorTypeChoice(t.Name, Fallback(preferred, t.Shape[0]), preferred, Quantized: true);
        }

        return result;
    }

    private static NotSupportedException Unsupported(LlamaFileType fileType) =>
        new($"file type {fileType} is not supported (Hearth can write: {string.Join(", ", s_supported)})");

    private enum Category { TokenEmbedding, Output, AttentionQ, AttentionK, AttentionV, AttentionQkv, AttentionKvB, AttentionOutput, FfnUp, FfnGate, FfnDown, Other }

    private static Category Categorize(string name)
    {
        if (name == "output.weight") return Category.Output;
        if (name is "token_embd.weight" or "per_layer_token_embd.weight") return Category.TokenEmbedding;
        if (name.Contains("attn_qkv.weight", StringComparison.Ordinal)) return Category.AttentionQkv;
        if (name.Contains("attn_kv_b.weight", StringComparison.Ordinal)) return Category.AttentionKvB;
        if (name.Contains("attn_v.weight", StringComparison.Ordinal)) return Category.AttentionV;
        if (name.Contains("attn_k.weight", StringComparison.Ordinal)) return Category.AttentionK;
        if (name.Contains("attn_q.weight", StringComparison.Ordinal)) return Category.AttentionQ;
        if (name.Contains("attn_output.weight", StringComparison.Ordinal)) return Category.AttentionOutput;
        if (name.Contains("ffn_up", StringComparison.Ordinal)) return Category.FfnUp;
        if (name.Contains("ffn_gate", StringComparison.Ordinal)) return Category.FfnGate;
        if (name.Contains("ffn_down", StringComparison.Ordinal)) return Category.FfnDown;
        return Category.Other;
    }

    /// <summary>The running counters of one selection pass (llama.cpp's <c>quantize_state_impl</c>).</summary>
    private sealed class State(QuantizationModel model, LlamaFileType fileType)
    {
        public bool TiedEmbeddings { get; init; }

        public int AttentionVCount { get; init; }

        private int _attentionV;
        private int _ffnDown;

        private bool Falcon => model.Architecture == "falcon";

        public GgmlType Choose(TensorToQuantize t, GgmlType type)
        {
            var category = Categorize(t.Name);
            var f = fileType;
            if (category == Category.Output || (TiedEmbeddings && category == Category.TokenEmbedding))
            {
                // The head is the most sensitive matrix: Q6_K unless the file is Q8_0 already; Q8_0 when its rows do
                // not split into blocks of the default type.
                if (Falcon || t.Shape[0] % GgmlTypes.Get(type).BlockSize != 0) return GgmlType.Q8_0;
                return type != GgmlType.Q8_0 ? GgmlType.Q6_K : type;
            }

            switch (category)
            {
                case Category.AttentionQkv:
                    // The fused projection has its own rule and does not advance the attn_v counter (it only counts
                    // towards the total the more-bits layers are computed from).
                    return f switch
                    {
                        LlamaFileType.Q3_K_M or LlamaFileType.Q3_K_L => GgmlType.Q4_K,
                        LlamaFileType.Q4_K_M => GgmlType.Q5_K,
                        LlamaFileType.Q5_K_M => GgmlType.Q6_K,
                        _ => type,
                    };

                case Category.AttentionV:
                {
                    int i = _attentionV++;
                    if (f == LlamaFileType.Q2_K) type = model.GroupedQueryRatio >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
                    else if (f == LlamaFileType.Q3_K_M) type = i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
                    else if (f == LlamaFileType.Q3_K_L) type = GgmlType.Q5_K;
                    else if ((f is LlamaFileType.Q4_K_M or LlamaFileType.Q5_K_M) && UseMoreBits(i, AttentionVCount)) type = GgmlType.Q6_K;
                    else if (f == LlamaFileType.Q4_K_S && i < 4) type = GgmlType.Q5_K;
                    if (model.IsLlama70B && type is GgmlType.Q3_K or GgmlType.Q4_K) type = GgmlType.Q5_K;
                    return type;
                }

                case Category.FfnDown:
                {
                    int i = _ffnDown++;
                    int n = model.LayerCount;
                    if (f == LlamaFileType.Q2_K) return GgmlType.Q3_K;
                    if (f == LlamaFileType.Q3_K_M)
                        return i < n / 16 ? GgmlType.Q5_K : !Falcon || UseMoreBits(i, n) ? GgmlType.Q4_K : GgmlType.Q3_K;
                    if (f == LlamaFileType.Q3_K_L) return Falcon ? GgmlType.Q4_K : GgmlType.Q5_K;
                    if (f == LlamaFileType.Q4_K_M)
                    {
                        if (Falcon) return i < n / 16 ? GgmlType.Q6_K : UseMoreBits(i, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
                        return UseMoreBits(i, n) ? GgmlType.Q6_K : type;
                    }

                    if (f == LlamaFileType.Q5_K_M && UseMoreBits(i, n)) return GgmlType.Q6_K;
                    if (f == LlamaFileType.Q4_K_S && !Falcon && i < n / 8) return GgmlType.Q5_K;
                    return type;
                }

                case Category.AttentionOutput:
                    if (!Falcon)
                    {
                        return f switch
                        {
                            LlamaFileType.Q2_K => GgmlType.Q3_K,
                            LlamaFileType.Q3_K_M => GgmlType.Q4_K,
                            LlamaFileType.Q3_K_L => GgmlType.Q5_K,
                            _ => type,
                        };
                    }

                    return f == LlamaFileType.Q3_K_L ? GgmlType.Q4_K : type;

                default:
                    return type;
            }
        }
    }
}

/// <summary>A model cannot be quantized as asked: a tensor shape no type fits, an unsupported file type.</summary>
public sealed class QuantizationException : HearthException
{
    public QuantizationException(string message) : base(message) { }
}
