using System.Text.Json;

namespace Hearth.Conversion;

/// <summary>
/// A Hugging Face <c>config.json</c>: the architecture and the hyper-parameters the converter needs. Absent optional
/// keys are null; <see cref="Raw"/> keeps the whole document for family-specific keys.
/// </summary>
public sealed class HfConfig
{
    private HfConfig(string path, JsonElement root)
    {
        Path = path;
        Raw = root;
    }

    /// <summary>The file read.</summary>
    public string Path { get; }

    /// <summary>The parsed document (a clone, valid for the object's lifetime).</summary>
    public JsonElement Raw { get; }

    /// <summary>First entry of <c>architectures</c>, e.g. <c>LlamaForCausalLM</c>.</summary>
    public string? Architecture => Raw.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 ? a[0].GetString() : null;

    /// <summary><c>model_type</c>, e.g. <c>llama</c>.</summary>
    public string? ModelType => String("model_type");

    public int? HiddenSize => Int("hidden_size");
    public int? NumHiddenLayers => Int("num_hidden_layers");
    public int? NumAttentionHeads => Int("num_attention_heads");
    public int? NumKeyValueHeads => Int("num_key_value_heads");
    public int? IntermediateSize => Int("intermediate_size");
    public double? RmsNormEps => Number("rms_norm_eps");
    public double? RopeTheta => Number("rope_theta");
    public int? MaxPositionEmbeddings => Int("max_position_embeddings");
    public int? VocabSize => Int("vocab_size");
    public bool? TieWordEmbeddings => Bool("tie_word_embeddings");
    public int? HeadDim => Int("head_dim");
    public int? SlidingWindow => Int("sliding_window");
    public double? QueryPreAttnScalar => Number("query_pre_attn_scalar");
    public double? AttnLogitSoftcapping => Number("attn_logit_softcapping");
    public double? FinalLogitSoftcapping => Number("final_logit_softcapping");
    public double? PartialRotaryFactor => Number("partial_rotary_factor");

    /// <summary><c>rope_scaling</c> when it is an object.</summary>
    public JsonElement? RopeScaling => Raw.TryGetProperty("rope_scaling", out var r) && r.ValueKind == JsonValueKind.Object ? r : null;

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="HearthException">The file is missing or not a JSON object.</exception>
    public static HfConfig Load(string path)
    {
        if (!File.Exists(path)) throw new HearthException($"{path}: no such file (a Hugging Face model directory needs config.json)");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new HearthException($"{path}: not a JSON object");
            return new HfConfig(path, doc.RootElement.Clone());
        }
        catch (JsonException e)
        {
            throw new HearthException($"{path}: not valid JSON: {e.Message}");
        }
    }

    /// <summary>A string value, or null.</summary>
    public string? String(string key) => Raw.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>An integer value, or null (a non-integer value is an error).</summary>
    public int? Int(string key)
    {
        if (!Raw.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int i)) throw new HearthException($"{Path}: '{key}' = {v} is not an integer");
        return i;
    }

    /// <summary>A number, or null.</summary>
    public double? Number(string key)
    {
        if (!Raw.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Number) throw new HearthException($"{Path}: '{key}' = {v} is not a number");
        return v.GetDouble();
    }

    /// <summary>A boolean, or null.</summary>
    public bool? Bool(string key) =>
        Raw.TryGetProperty(key, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    /// <summary>A required positive integer.</summary>
    /// <exception cref="HearthException">The key is missing or out of range.</exception>
    public int Require(string key, int max = 1 << 24)
    {
        int v = Int(key) ?? throw new HearthException($"{Path}: '{key}' is missing");
        if (v <= 0 || v > max) throw new HearthException($"{Path}: '{key}' = {v} is out of range (1..{max})");
        return v;
    }
}
