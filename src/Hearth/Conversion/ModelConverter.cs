using System.Text.Json;
using System.Text.RegularExpressions;
using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Conversion;

/// <summary>The type 2-D weights are stored as in a converted file (norms and other 1-D tensors stay F32).</summary>
public enum ConversionType
{
    F32,
    F16,
    BF16,

    /// <summary>Q8_0 through Hearth's quantizer; weights whose rows are not a multiple of 32 fall back to F16.</summary>
    Q8_0,
}

/// <summary>One tensor of a converted file.</summary>
public sealed record ConvertedTensor(string Name, string SourceName, long[] Shape, GgmlType Type);

/// <summary>What <see cref="ModelConverter.Convert"/> wrote.</summary>
public sealed record ConversionResult(string Architecture, string SourceArchitecture, IReadOnlyList<ConvertedTensor> Tensors, long FileBytes);

/// <summary>
/// Converts a Hugging Face model directory (<c>config.json</c>, safetensors weights, <c>tokenizer.json</c>) into a GGUF
/// file Hearth loads: tensor names mapped to GGUF's, the Llama Q/K rows permuted into GGUF's interleaved RoPE layout,
/// Gemma's norms shifted by +1, and the <c>{arch}.*</c> and <c>tokenizer.ggml.*</c> metadata written.
/// Supported: Llama (SmolLM, Mistral), Qwen2, Qwen3, Phi-3, Gemma 2, Gemma 3 (text).
/// </summary>
public static partial class ModelConverter
{
    /// <summary>The Hugging Face <c>architectures</c> values that can be converted.</summary>
    public static IReadOnlyList<string> SupportedArchitectures => ConversionFamily.All.SelectMany(f => f.HfArchitectures).ToList();

    /// <summary>Converts <paramref name="hfDirectory"/> into <paramref name="outputPath"/>.</summary>
    /// <exception cref="HearthException">The directory is incomplete, the architecture unknown, a tensor unexpected, or a file malformed.</exception>
    public static ConversionResult Convert(string hfDirectory, string outputPath, ConversionType type = ConversionType.F16)
    {
        if (!Directory.Exists(hfDirectory)) throw new HearthException($"{hfDirectory}: no such directory");
        var config = HfConfig.Load(Path.Combine(hfDirectory, "config.json"));
        var family = ConversionFamily.Find(config);
        var tokenizer = HfTokenizer.Load(hfDirectory);
        using var checkpoint = HfCheckpoint.Open(hfDirectory);

        var writer = new GgufWriter();
        writer.Set("general.architecture", family.Arch);
        writer.Set("general.name", Path.GetFileName(Path.GetFullPath(hfDirectory).TrimEnd(Path.DirectorySeparatorChar)));
        writer.Set("general.file_type", (uint)(type switch { ConversionType.F32 => 0, ConversionType.F16 => 1, ConversionType.Q8_0 => 7, _ => 32 }));
        if (type == ConversionType.Q8_0) writer.Set("general.quantization_version", 2u);

        var embed = checkpoint.Find(family.EmbeddingName(config)) ?? throw new HearthException($"{hfDirectory}: tensor '{family.EmbeddingName(config)}' (the token embedding) is missing");
        if (embed.Info.Shape.Length != 2) throw new HearthException($"{hfDirectory}: '{embed.Info.Name}' has shape {embed.Info.ShapeText}, expected [n_vocab, hidden_size]");
        int vocab = checked((int)embed.Info.Shape[0]);
        var hp = family.WriteHyperParameters(config, writer, vocab);
        var tensors = new List<ConvertedTensor>();
        foreach (var extra in family.ExtraTensors(config, hp))
        {
            writer.AddTensor(extra.Name, [extra.Data.Length], extra.Data);
            tensors.Add(new ConvertedTensor(extra.Name, "config.json", [extra.Data.Length], GgmlType.F32));
        }

        bool tied = config.TieWordEmbeddings ?? family.TiedByDefault;
        foreach (var name in checkpoint.Names.OrderBy(n => n, StringComparer.Ordinal).OrderBy(SortKey))
        {
            if (family.Skip(name) || (tied && name == "lm_head.weight")) continue;
            string gguf = family.Map(name, hp.Layers) ?? throw new HearthException(
                $"{hfDirectory}: tensor '{name}' is not expected in a {config.Architecture ?? family.Arch} checkpoint (Hearth's {family.Arch} conversion does not map it)");
            var (file, info) = checkpoint.Find(name)!.Value;
            var shape = info.Shape.Reverse().ToArray();
            if (shape.Length is < 1 or > 2) throw new HearthException($"{file.Path}: tensor '{name}' has shape {info.ShapeText}; only vectors and matrices are expected");
            var outType = shape.Length == 1 ? GgmlType.F32 : type switch
            {
                ConversionType.F32 => GgmlType.F32,
                ConversionType.F16 => GgmlType.F16,
                ConversionType.BF16 => GgmlType.BF16,
                _ => shape[0] % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16,
            };
            var transform = family.Transform(gguf, hp);
            writer.AddTensor(gguf, shape, outType, stream =>
            {
                var values = file.ReadFloats(info);
                transform?.Invoke(values, shape);
                var bytes = new byte[Quants.RowBytes(outType, shape[0]) * (shape.Length > 1 ? shape[1] : 1)];
                Quants.Quantize(outType, values, bytes);
                stream.Write(bytes);
            });
            tensors.Add(new ConvertedTensor(gguf, name, shape, outType));
        }

        if (!tensors.Any(t => t.Name == "output.weight") && !tied && checkpoint.Find("lm_head.weight") == null)
            throw new HearthException($"{hfDirectory}: tie_word_embeddings is false but lm_head.weight is missing");
        tokenizer.WriteTo(writer, vocab);

        string tmp = outputPath + ".tmp";
        try
        {
            writer.Write(tmp);
            File.Move(tmp, outputPath, overwrite: true);
        }
        catch
        {
            if (File.Exists(tmp)) File.Delete(tmp);
            throw;
        }

        return new ConversionResult(family.Arch, config.Architecture ?? config.ModelType ?? "", tensors, new FileInfo(outputPath).Length);
    }

    // Global tensors first, then layers in numeric order.
    private static long SortKey(string name)
    {
        var m = LayerPattern().Match(name);
        return m.Success ? 1 + long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
    }

    [GeneratedRegex(@"^model\.layers\.(\d+)\.(.+)$")]
    internal static partial Regex LayerPattern();

    /// <summary>
    /// Reorders the rows of a Q or K projection from Hugging Face's rotary layout (each head's first half of rows,
    /// then its second half) to GGUF's Llama layout (the two halves interleaved: row 2i from the first half's row i,
    /// row 2i+1 from the second half's row i).
    /// </summary>
    /// <param name="weights">Row-major [rows, cols] values, permuted in place.</param>
    /// <param name="rows">Rows (heads × head size).</param>
    /// <param name="heads">The number of heads the rows split into.</param>
    public static void PermuteForLlamaRope(Span<float> weights, int rows, int heads)
    {
        if (rows % heads != 0 || (rows / heads) % 2 != 0) throw new ArgumentException($"{rows} rows do not split into {heads} heads of even size");
        if (weights.Length % rows != 0) throw new ArgumentException($"{weights.Length} values are not {rows} rows");
        int cols = weights.Length / rows;
        int d = rows / heads, half = d / 2;
        var copy = weights.ToArray();
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < half; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    copy.AsSpan((h * d + j * half + i) * cols, cols).CopyTo(weights.Slice((h * d + 2 * i + j) * cols, cols));
                }
            }
        }
    }
}

/// <summary>The hyper-parameters the tensor mapping needs.</summary>
internal sealed record FamilyHp(int Layers, int Heads, int HeadsKv, int HeadDim, int RopeDims);

/// <summary>One model family's mapping from Hugging Face to GGUF: architecture names, metadata and tensor names.</summary>
internal abstract class ConversionFamily
{
    // Lazy: the families' name tables use the shared arrays below, which must be initialised first.
    private static readonly Lazy<ConversionFamily[]> s_all = new(() => [new LlamaFamily(), new Qwen2Family(), new Qwen3Family(), new Phi3Family(), new Gemma2Family(), new Gemma3Family()]);

    public static ConversionFamily[] All => s_all.Value;

    public abstract string Arch { get; }

    public abstract string[] HfArchitectures { get; }

    public abstract string[] ModelTypes { get; }

    public virtual bool TiedByDefault => false;

    /// <summary>Layer tensor suffixes (after <c>model.layers.N.</c>) and their GGUF names (after <c>blk.N.</c>).</summary>
    protected abstract Dictionary<string, string> LayerNames { get; }

    public static ConversionFamily Find(HfConfig config)
    {
        string? arch = config.Architecture;
        var family = arch != null ? All.FirstOrDefault(f => f.HfArchitectures.Contains(arch)) : null;
        family ??= config.ModelType is { } mt && arch == null ? All.FirstOrDefault(f => f.ModelTypes.Contains(mt)) : null;
        return family ?? throw new HearthException(
            $"{config.Path}: architecture '{arch ?? config.ModelType ?? "(none given)"}' cannot be converted (supported: {string.Join(", ", All.SelectMany(f => f.HfArchitectures))})");
    }

    public virtual string EmbeddingName(HfConfig config) => "model.embed_tokens.weight";

    public virtual bool Skip(string name) => name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal);

    public string? Map(string name, int layers)
    {
        switch (name)
        {
            case "model.embed_tokens.weight": return "token_embd.weight";
            case "model.norm.weight": return "output_norm.weight";
            case "lm_head.weight": return "output.weight";
        }

        var m = ModelConverter.LayerPattern().Match(name);
        if (!m.Success || !int.TryParse(m.Groups[1].Value, out int il) || il >= layers) return null;
        return LayerNames.TryGetValue(m.Groups[2].Value, out var g) ? $"blk.{il}.{g}" : null;
    }

    /// <summary>A change of values on the way (row-major values and the GGUF-ordered shape).</summary>
    public virtual Action<float[], long[]>? Transform(string ggufName, FamilyHp hp) => null;

    public virtual IEnumerable<(string Name, float[] Data)> ExtraTensors(HfConfig config, FamilyHp hp) => [];

    /// <summary>Writes the <c>{arch}.*</c> keys every family shares and returns what the mapping needs.</summary>
    public virtual FamilyHp WriteHyperParameters(HfConfig c, GgufWriter w, int vocab)
    {
        string P(string k) => $"{Arch}.{k}";
        int hidden = c.Require("hidden_size");
        int layers = c.Require("num_hidden_layers", 4096);
        int heads = c.Require("num_attention_heads", 65536);
        int headsKv = c.Int("num_key_value_heads") ?? heads;
        if (headsKv <= 0 || heads % headsKv != 0) throw new HearthException($"{c.Path}: num_key_value_heads {headsKv} does not divide num_attention_heads {heads}");
        int headDim = c.HeadDim ?? hidden / heads;
        if (headDim <= 0 || headDim > 65536) throw new HearthException($"{c.Path}: head_dim {headDim} is out of range");
        int ropeDims = (int)(headDim * (c.PartialRotaryFactor ?? 1.0));
        w.Set(P("context_length"), (uint)(c.MaxPositionEmbeddings ?? DefaultContext));
        w.Set(P("embedding_length"), (uint)hidden);
        w.Set(P("block_count"), (uint)layers);
        w.Set(P("feed_forward_length"), (uint)c.Require("intermediate_size"));
        w.Set(P("attention.head_count"), (uint)heads);
        w.Set(P("attention.head_count_kv"), (uint)headsKv);
        w.Set(P("rope.freq_base"), (float)(c.RopeTheta ?? DefaultRopeTheta));
        w.Set(P("attention.layer_norm_rms_epsilon"), (float)(c.RmsNormEps ?? 1e-6));
        w.Set(P("rope.dimension_count"), (uint)ropeDims);
        w.Set(P("vocab_size"), (uint)vocab);
        w.Set(P("attention.key_length"), (uint)headDim);
        w.Set(P("attention.value_length"), (uint)headDim);
        return new FamilyHp(layers, heads, headsKv, headDim, ropeDims);
    }

    protected virtual int DefaultContext => 4096;

    protected virtual double DefaultRopeTheta => 10000.0;

    protected static Dictionary<string, string> Names(params (string Hf, string Gguf)[] pairs) => pairs.ToDictionary(p => p.Hf, p => p.Gguf, StringComparer.Ordinal);

    protected static readonly (string, string)[] Attention =
    [
        ("self_attn.q_proj.weight", "attn_q.weight"), ("self_attn.k_proj.weight", "attn_k.weight"),
        ("self_attn.v_proj.weight", "attn_v.weight"), ("self_attn.o_proj.weight", "attn_output.weight"),
    ];

    protected static readonly (string, string)[] Mlp =
    [
        ("mlp.gate_proj.weight", "ffn_gate.weight"), ("mlp.up_proj.weight", "ffn_up.weight"), ("mlp.down_proj.weight", "ffn_down.weight"),
    ];

    protected static readonly (string, string)[] PreNorms =
    [
        ("input_layernorm.weight", "attn_norm.weight"), ("post_attention_layernorm.weight", "ffn_norm.weight"),
    ];

    protected static readonly (string, string)[] QkNorm =
    [
        ("self_attn.q_norm.weight", "attn_q_norm.weight"), ("self_attn.k_norm.weight", "attn_k_norm.weight"),
    ];

    protected static readonly (string, string)[] GemmaNorms =
    [
        ("input_layernorm.weight", "attn_norm.weight"), ("post_attention_layernorm.weight", "post_attention_norm.weight"),
        ("pre_feedforward_layernorm.weight", "ffn_norm.weight"), ("post_feedforward_layernorm.weight", "post_ffw_norm.weight"),
    ];
}

/// <summary>Llama 2/3.x, SmolLM, Mistral: Q and K rows permuted into GGUF's interleaved RoPE layout.</summary>
internal sealed class LlamaFamily : ConversionFamily
{
    public override string Arch => "llama";
    public override string[] HfArchitectures => ["LlamaForCausalLM", "MistralForCausalLM"];
    public override string[] ModelTypes => ["llama", "mistral"];
    protected override Dictionary<string, string> LayerNames { get; } = Names([.. Attention, .. Mlp, .. PreNorms]);

    public override Action<float[], long[]>? Transform(string ggufName, FamilyHp hp)
    {
        if (ggufName.EndsWith(".attn_q.weight", StringComparison.Ordinal)) return (v, s) => ModelConverter.PermuteForLlamaRope(v, (int)s[1], hp.Heads);
        if (ggufName.EndsWith(".attn_k.weight", StringComparison.Ordinal)) return (v, s) => ModelConverter.PermuteForLlamaRope(v, (int)s[1], hp.HeadsKv);
        return null;
    }

    public override FamilyHp WriteHyperParameters(HfConfig c, GgufWriter w, int vocab)
    {
        var hp = base.WriteHyperParameters(c, w, vocab);
        if (c.RopeScaling is { } rs)
        {
            string type = (rs.TryGetProperty("rope_type", out var rt) ? rt.GetString() : rs.TryGetProperty("type", out var t) ? t.GetString() : null) ?? "";
            double Num(string key, double fallback) => rs.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
            switch (type)
            {
                case "llama3":
                    w.Set("llama.rope.scaling.type", "llama3");
                    w.Set("llama.rope.scaling.factor", (float)Num("factor", 8));
                    w.Set("llama.rope.scaling.low_freq_factor", (float)Num("low_freq_factor", 1));
                    w.Set("llama.rope.scaling.high_freq_factor", (float)Num("high_freq_factor", 4));
                    w.Set("llama.rope.scaling.original_context_length", (uint)Num("original_max_position_embeddings", 8192));
                    break;
                case "linear":
                    w.Set("llama.rope.scaling.type", "linear");
                    w.Set("llama.rope.scaling.factor", (float)Num("factor", 1));
                    break;
                case "" or "default":
                    break;
                default:
                    throw new HearthException($"{c.Path}: rope_scaling type '{type}' is not supported for llama (llama3, linear)");
            }
        }

        return hp;
    }
}

/// <summary>Qwen2 / Qwen2.5: biases on q, k and v.</summary>
internal sealed class Qwen2Family : ConversionFamily
{
    public override string Arch => "qwen2";
    public override string[] HfArchitectures => ["Qwen2ForCausalLM"];
    public override string[] ModelTypes => ["qwen2"];
    protected override double DefaultRopeTheta => 1000000.0;

    protected override Dictionary<string, string> LayerNames { get; } = Names(
    [
        .. Attention, .. Mlp, .. PreNorms,
        ("self_attn.q_proj.bias", "attn_q.bias"), ("self_attn.k_proj.bias", "attn_k.bias"), ("self_attn.v_proj.bias", "attn_v.bias"),
    ]);
}

/// <summary>Qwen3 (dense): per-head q and k norms.</summary>
internal sealed class Qwen3Family : ConversionFamily
{
    public override string Arch => "qwen3";
    public override string[] HfArchitectures => ["Qwen3ForCausalLM"];
    public override string[] ModelTypes => ["qwen3"];
    protected override double DefaultRopeTheta => 1000000.0;
    protected override Dictionary<string, string> LayerNames { get; } = Names([.. Attention, .. Mlp, .. PreNorms, .. QkNorm]);
}

/// <summary>Phi-3 / Phi-3.5 / Phi-4-mini: fused qkv and gate+up, partial rotary, LongRoPE factors as tensors.</summary>
internal sealed class Phi3Family : ConversionFamily
{
    public override string Arch => "phi3";
    public override string[] HfArchitectures => ["Phi3ForCausalLM"];
    public override string[] ModelTypes => ["phi3"];

    protected override Dictionary<string, string> LayerNames { get; } = Names(
    [
        ("self_attn.qkv_proj.weight", "attn_qkv.weight"), ("self_attn.o_proj.weight", "attn_output.weight"),
        ("mlp.gate_up_proj.weight", "ffn_up.weight"), ("mlp.down_proj.weight", "ffn_down.weight"), .. PreNorms,
    ]);

    public override FamilyHp WriteHyperParameters(HfConfig c, GgufWriter w, int vocab)
    {
        var hp = base.WriteHyperParameters(c, w, vocab);
        int ctx = c.MaxPositionEmbeddings ?? DefaultContext;
        int orig = c.Int("original_max_position_embeddings") ?? ctx;
        w.Set("phi3.attention.sliding_window", (uint)Math.Max(0, c.SlidingWindow ?? 0));
        w.Set("phi3.rope.scaling.original_context_length", (uint)orig);
        if (LongRope(c) is not null)
        {
            double scale = ctx / (double)orig;
            double attn = scale <= 1 ? 1.0 : Math.Sqrt(1 + Math.Log(scale) / Math.Log(orig));
            w.Set("phi3.rope.scaling.attn_factor", (float)attn);
        }

        return hp;
    }

    public override IEnumerable<(string Name, float[] Data)> ExtraTensors(HfConfig c, FamilyHp hp)
    {
        if (LongRope(c) is not { } rs) yield break;
        foreach (var (key, name) in new[] { ("long_factor", "rope_factors_long.weight"), ("short_factor", "rope_factors_short.weight") })
        {
            if (!rs.TryGetProperty(key, out var arr) || arr.ValueKind != JsonValueKind.Array || arr.GetArrayLength() != hp.RopeDims / 2)
                throw new HearthException($"{c.Path}: rope_scaling.{key} must be an array of {hp.RopeDims / 2} numbers");
            yield return (name, arr.EnumerateArray().Select(e => (float)e.GetDouble()).ToArray());
        }
    }

    private static JsonElement? LongRope(HfConfig c)
    {
        if (c.RopeScaling is not { } rs) return null;
        string type = (rs.TryGetProperty("type", out var t) ? t.GetString() : rs.TryGetProperty("rope_type", out var rt) ? rt.GetString() : null) ?? "";
        return type switch
        {
            "longrope" or "su" => rs,
            "" or "default" => null,
            _ => throw new HearthException($"{c.Path}: rope_scaling type '{type}' is not supported for phi3 (longrope)"),
        };
    }
}

/// <summary>What Gemma 2 and 3 share: tied embeddings and RMS norms stored as (1 + w) in GGUF.</summary>
internal abstract class GemmaFamily : ConversionFamily
{
    public override bool TiedByDefault => true;
    protected override int DefaultContext => 8192;

    public override Action<float[], long[]>? Transform(string ggufName, FamilyHp hp) =>
        ggufName.EndsWith("norm.weight", StringComparison.Ordinal) ? (v, _) => { for (int i = 0; i < v.Length; i++) v[i] += 1f; } : null;
}

/// <summary>Gemma 2: soft-capping and a sliding window on alternate layers.</summary>
internal sealed class Gemma2Family : GemmaFamily
{
    public override string Arch => "gemma2";
    public override string[] HfArchitectures => ["Gemma2ForCausalLM"];
    public override string[] ModelTypes => ["gemma2"];
    protected override Dictionary<string, string> LayerNames { get; } = Names([.. Attention, .. Mlp, .. GemmaNorms]);

    public override FamilyHp WriteHyperParameters(HfConfig c, GgufWriter w, int vocab)
    {
        var hp = base.WriteHyperParameters(c, w, vocab);
        w.Set("gemma2.attention.sliding_window", (uint)(c.SlidingWindow ?? 4096));
        w.Set("gemma2.attn_logit_softcapping", (float)(c.AttnLogitSoftcapping ?? 50.0));
        w.Set("gemma2.final_logit_softcapping", (float)(c.FinalLogitSoftcapping ?? 30.0));
        return hp;
    }
}

/// <summary>Gemma 3 (text): q/k norms, a local:global layer pattern with its own RoPE base.</summary>
internal sealed class Gemma3Family : GemmaFamily
{
    public override string Arch => "gemma3";
    public override string[] HfArchitectures => ["Gemma3ForCausalLM"];
    public override string[] ModelTypes => ["gemma3_text"];
    protected override double DefaultRopeTheta => 1000000.0;
    protected override int DefaultContext => 131072;
    protected override Dictionary<string, string> LayerNames { get; } = Names([.. Attention, .. Mlp, .. GemmaNorms, .. QkNorm]);

    public override FamilyHp WriteHyperParameters(HfConfig c, GgufWriter w, int vocab)
    {
        var hp = base.WriteHyperParameters(c, w, vocab);
        w.Set("gemma3.attention.sliding_window", (uint)(c.SlidingWindow ?? 512));
        int pattern = c.Int("sliding_window_pattern") ?? PatternFromLayerTypes(c) ?? 6;
        if (pattern is < 1 or > 4096) throw new HearthException($"{c.Path}: sliding_window_pattern {pattern} is out of range");
        w.Set("gemma3.attention.sliding_window_pattern", (uint)pattern);
        w.Set("gemma3.rope.freq_base_swa", (float)(c.Number("rope_local_base_freq") ?? 10000.0));
        if (c.RopeScaling is { } rs)
        {
            string type = (rs.TryGetProperty("rope_type", out var rt) ? rt.GetString() : rs.TryGetProperty("type", out var t) ? t.GetString() : null) ?? "";
            if (type != "linear") throw new HearthException($"{c.Path}: rope_scaling type '{type}' is not supported for gemma3 (linear)");
            w.Set("gemma3.rope.scaling.type", "linear");
            w.Set("gemma3.rope.scaling.factor", (float)rs.GetProperty("factor").GetDouble());
        }

        return hp;
    }

    private static int? PatternFromLayerTypes(HfConfig c)
    {
        if (!c.Raw.TryGetProperty("layer_types", out var lt) || lt.ValueKind != JsonValueKind.Array) return null;
        int i = 0;
        foreach (var e in lt.EnumerateArray())
        {
            i++;
            if (e.GetString() == "full_attention") return i;
        }

        return null;
    }
}
