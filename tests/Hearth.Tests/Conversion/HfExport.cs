using System.Text.Json;
using System.Text.Json.Nodes;
using Hearth.Conversion;
using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Tests.Conversion;

/// <summary>
/// The INVERSE of the converter, for tests: writes a GGUF model out as a Hugging Face directory (config.json,
/// model.safetensors in HF naming and layout, a Unigram tokenizer.json). GGUF names go back to HF names, the Llama
/// Q/K rows are un-interleaved back into rotary halves, and Gemma's stored (1 + w) norms go back to w.
/// </summary>
internal static class HfExport
{
    private static readonly Dictionary<string, string> s_common = new()
    {
        ["attn_q.weight"] = "self_attn.q_proj.weight", ["attn_k.weight"] = "self_attn.k_proj.weight",
        ["attn_v.weight"] = "self_attn.v_proj.weight", ["attn_output.weight"] = "self_attn.o_proj.weight",
        ["attn_q.bias"] = "self_attn.q_proj.bias", ["attn_k.bias"] = "self_attn.k_proj.bias", ["attn_v.bias"] = "self_attn.v_proj.bias",
        ["attn_q_norm.weight"] = "self_attn.q_norm.weight", ["attn_k_norm.weight"] = "self_attn.k_norm.weight",
        ["attn_qkv.weight"] = "self_attn.qkv_proj.weight",
        ["ffn_gate.weight"] = "mlp.gate_proj.weight", ["ffn_down.weight"] = "mlp.down_proj.weight",
        ["attn_norm.weight"] = "input_layernorm.weight",
    };

    public static string HfArchitecture(string arch) => arch switch
    {
        "llama" => "LlamaForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "qwen3" => "Qwen3ForCausalLM",
        "phi3" => "Phi3ForCausalLM",
        "gemma2" => "Gemma2ForCausalLM",
        "gemma3" => "Gemma3ForCausalLM",
        _ => throw new ArgumentException(arch),
    };

    /// <summary>The HF name of a GGUF tensor (the inverse of the converter's mapping).</summary>
    public static string HfName(string arch, string gguf)
    {
        switch (gguf)
        {
            case "token_embd.weight": return "model.embed_tokens.weight";
            case "output_norm.weight": return "model.norm.weight";
            case "output.weight": return "lm_head.weight";
        }

        var parts = gguf.Split('.', 3);
        string suffix = parts[2];
        bool gemma = arch.StartsWith("gemma", StringComparison.Ordinal);
        string hf = suffix switch
        {
            "ffn_up.weight" => arch == "phi3" ? "mlp.gate_up_proj.weight" : "mlp.up_proj.weight",
            "ffn_norm.weight" => gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight",
            "post_attention_norm.weight" => "post_attention_layernorm.weight",
            "post_ffw_norm.weight" => "post_feedforward_layernorm.weight",
            _ => s_common[suffix],
        };
        return $"model.layers.{parts[1]}.{hf}";
    }

    /// <summary>Inverse of the Llama permute: GGUF row h·d + 2i + j goes back to HF row h·d + j·d/2 + i.</summary>
    public static float[] UnpermuteLlamaRope(float[] w, int rows, int heads)
    {
        int cols = w.Length / rows, d = rows / heads, half = d / 2;
        var hf = new float[w.Length];
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < half; i++)
                for (int j = 0; j < 2; j++)
                    Array.Copy(w, (h * d + 2 * i + j) * cols, hf, (h * d + j * half + i) * cols, cols);
        return hf;
    }

    /// <summary>The HF tensors of a GGUF model, in GGUF table order: name, PyTorch-ordered shape, F32 values.</summary>
    public static List<(string Name, long[] Shape, float[] Values)> Tensors(GgufFile file)
    {
        string arch = file.RequireString("general.architecture");
        int heads = (int)file.RequireInteger($"{arch}.attention.head_count");
        int headsKv = (int)(file.GetInteger($"{arch}.attention.head_count_kv") ?? heads);
        var list = new List<(string, long[], float[])>();
        foreach (var t in file.Tensors)
        {
            var values = new float[t.ElementCount];
            Quants.Dequantize(t.Type, file.TensorData(t), values);
            var shape = t.Shape.Reverse().ToArray();
            if (arch == "llama" && t.Name.EndsWith(".attn_q.weight", StringComparison.Ordinal)) values = UnpermuteLlamaRope(values, (int)shape[0], heads);
            if (arch == "llama" && t.Name.EndsWith(".attn_k.weight", StringComparison.Ordinal)) values = UnpermuteLlamaRope(values, (int)shape[0], headsKv);
            if (arch.StartsWith("gemma", StringComparison.Ordinal) && t.Name.EndsWith("norm.weight", StringComparison.Ordinal))
                for (int i = 0; i < values.Length; i++) values[i] -= 1f;
            list.Add((HfName(arch, t.Name), shape, values));
        }

        return list;
    }

    /// <summary>config.json for a GGUF model, from its metadata.</summary>
    public static JsonObject Config(GgufFile file)
    {
        string arch = file.RequireString("general.architecture");
        string P(string k) => $"{arch}.{k}";
        double F(string k) => (double)(float)file.GetNumber(P(k))!.Value;
        int nEmbd = (int)file.RequireInteger(P("embedding_length"));
        int heads = (int)file.RequireInteger(P("attention.head_count"));
        int headDim = (int)(file.GetInteger(P("attention.key_length")) ?? nEmbd / heads);
        var c = new JsonObject
        {
            ["architectures"] = new JsonArray(HfArchitecture(arch)),
            ["model_type"] = arch == "gemma3" ? "gemma3_text" : arch,
            ["hidden_size"] = nEmbd,
            ["num_hidden_layers"] = file.RequireInteger(P("block_count")),
            ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = file.RequireInteger(P("attention.head_count_kv")),
            ["intermediate_size"] = file.RequireInteger(P("feed_forward_length")),
            ["rms_norm_eps"] = F("attention.layer_norm_rms_epsilon"),
            ["rope_theta"] = F("rope.freq_base"),
            ["max_position_embeddings"] = file.RequireInteger(P("context_length")),
            ["vocab_size"] = file.RequireInteger(P("vocab_size")),
            ["tie_word_embeddings"] = file.FindTensor("output.weight") == null,
            ["head_dim"] = headDim,
            ["torch_dtype"] = "float32",
        };
        long ropeDims = file.GetInteger(P("rope.dimension_count")) ?? headDim;
        if (ropeDims != headDim) c["partial_rotary_factor"] = ropeDims / (double)headDim;
        switch (arch)
        {
            case "phi3":
                c["original_max_position_embeddings"] = file.RequireInteger(P("rope.scaling.original_context_length"));
                break;
            case "gemma2":
                c["sliding_window"] = file.RequireInteger(P("attention.sliding_window"));
                c["attn_logit_softcapping"] = F("attn_logit_softcapping");
                c["final_logit_softcapping"] = F("final_logit_softcapping");
                c["query_pre_attn_scalar"] = headDim;
                break;
            case "gemma3":
                c["sliding_window"] = file.RequireInteger(P("attention.sliding_window"));
                c["sliding_window_pattern"] = file.RequireInteger(P("attention.sliding_window_pattern"));
                c["rope_local_base_freq"] = F("rope.freq_base_swa");
                c["query_pre_attn_scalar"] = headDim;
                break;
        }

        return c;
    }

    /// <summary>A Unigram tokenizer.json (pieces and scores) and tokenizer_config.json from the GGUF's SentencePiece vocabulary.</summary>
    public static void WriteSentencePieceTokenizer(GgufFile file, string dir)
    {
        var tokens = file.GetArray<string>("tokenizer.ggml.tokens")!;
        var scores = file.GetArray<float>("tokenizer.ggml.scores")!;
        var types = file.GetIntArray("tokenizer.ggml.token_type")!;
        int unk = (int)file.RequireInteger("tokenizer.ggml.unknown_token_id");
        var vocab = new JsonArray();
        var added = new JsonArray();
        for (int i = 0; i < tokens.Length; i++)
        {
            vocab.Add(new JsonArray(tokens[i], (double)scores[i]));
            if (types[i] is 3 or 4 || i == unk)
                added.Add(new JsonObject { ["id"] = i, ["content"] = tokens[i], ["special"] = types[i] != 4 });
        }

        var tok = new JsonObject
        {
            ["version"] = "1.0",
            ["added_tokens"] = added,
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace", ["replacement"] = "\u2581", ["prepend_scheme"] = "first", ["split"] = false },
            ["model"] = new JsonObject { ["type"] = "Unigram", ["unk_id"] = unk, ["vocab"] = vocab, ["byte_fallback"] = true },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), tok.ToJsonString());
        var cfg = new JsonObject
        {
            ["bos_token"] = tokens[file.RequireInteger("tokenizer.ggml.bos_token_id")],
            ["eos_token"] = tokens[file.RequireInteger("tokenizer.ggml.eos_token_id")],
            ["unk_token"] = tokens[unk],
            ["add_bos_token"] = file.GetBool("tokenizer.ggml.add_bos_token") ?? true,
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), cfg.ToJsonString());
    }

    /// <summary>Writes a whole HF directory for a GGUF model; <paramref name="shards"/> &gt; 1 splits the weights with an index.</summary>
    public static void Write(string ggufPath, string dir, int shards = 1, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        Directory.CreateDirectory(dir);
        using var file = GgufFile.Open(ggufPath);
        File.WriteAllText(Path.Combine(dir, "config.json"), Config(file).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        WriteSentencePieceTokenizer(file, dir);
        var tensors = Tensors(file);
        if (shards <= 1)
        {
            var w = new SafetensorsWriter().SetMetadata("format", "pt");
            foreach (var (name, shape, values) in tensors) w.Add(name, shape, values, dtype);
            w.Write(Path.Combine(dir, "model.safetensors"));
            return;
        }

        var map = new JsonObject();
        for (int s = 0; s < shards; s++)
        {
            string shardName = $"model-{s + 1:D5}-of-{shards:D5}.safetensors";
            var w = new SafetensorsWriter().SetMetadata("format", "pt");
            for (int k = s; k < tensors.Count; k += shards)
            {
                w.Add(tensors[k].Name, tensors[k].Shape, tensors[k].Values, dtype);
                map[tensors[k].Name] = shardName;
            }

            w.Write(Path.Combine(dir, shardName));
        }

        var index = new JsonObject { ["metadata"] = new JsonObject { ["total_size"] = 0 }, ["weight_map"] = map };
        File.WriteAllText(Path.Combine(dir, "model.safetensors.index.json"), index.ToJsonString());
    }
}
