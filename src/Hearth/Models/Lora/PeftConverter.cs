using System.Text.Json;
using Hearth.Gguf;
using Hearth.Models.Architectures;

namespace Hearth.Models.Lora;

/// <summary>
/// Converts a PEFT LoRA adapter directory (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>) into the GGUF
/// adapter format <see cref="LoraAdapter"/> reads, for a given GGUF base model.
/// </summary>
/// <remarks>
/// PEFT's <c>…layers.N.self_attn.q_proj.lora_A.weight</c> [r, n_in] becomes <c>blk.N.attn_q.weight.lora_a</c>
/// (GGUF shape [n_in, r], the same bytes) and <c>lora_B.weight</c> [n_out, r] becomes <c>.lora_b</c> [r, n_out]. For
/// llama bases, whose converter permutes the rows of q_proj and k_proj (rotary halves interleaved per head), the rows
/// of those B matrices are permuted the same way, since W + B·A must change the same rows as the permuted W.
/// </remarks>
public static class PeftConverter
{
    private static readonly Dictionary<string, string> s_modules = new(StringComparer.Ordinal)
    {
        ["self_attn.q_proj"] = "attn_q",
        ["self_attn.k_proj"] = "attn_k",
        ["self_attn.v_proj"] = "attn_v",
        ["self_attn.o_proj"] = "attn_output",
        ["mlp.gate_proj"] = "ffn_gate",
        ["mlp.up_proj"] = "ffn_up",
        ["mlp.down_proj"] = "ffn_down",
    };

    /// <summary>Writes the adapter of <paramref name="peftDirectory"/> for <paramref name="basePath"/> to <paramref name="outPath"/>.</summary>
    /// <returns>How many A/B pairs were written.</returns>
    /// <exception cref="FileNotFoundException">The config or the weights are missing.</exception>
    /// <exception cref="ModelFormatException">The config or a tensor is invalid, targets something this converter does not
    /// map, or does not fit the base model.</exception>
    public static int Convert(string peftDirectory, string basePath, string outPath)
    {
        var configPath = Path.Combine(peftDirectory, "adapter_config.json");
        var weightsPath = Path.Combine(peftDirectory, "adapter_model.safetensors");
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{peftDirectory}: no adapter_config.json (is this a PEFT adapter directory?)", configPath);
        if (!File.Exists(weightsPath)) throw new FileNotFoundException($"{peftDirectory}: no adapter_model.safetensors (only safetensors weights are supported)", weightsPath);
        float alpha = ReadAlpha(configPath);

        using var file = GgufFile.Open(basePath);
        var model = ArchitectureRegistry.Resolve(file).Build(file, 1);
        var hp = model.Hp;
        bool permuteQk = hp.Architecture == "llama";
        using var st = Hearth.Conversion.SafetensorsFile.Open(weightsPath);
        var writer = new GgufWriter()
            .Set("general.architecture", hp.Architecture)
            .Set("general.type", "adapter")
            .Set("adapter.type", "lora")
            .Set("adapter.lora.alpha", alpha)
            .Set("general.name", Path.GetFileName(Path.GetFullPath(peftDirectory).TrimEnd(Path.DirectorySeparatorChar)));

        var names = st.Tensors.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        int pairs = 0;
        foreach (var name in names.Order(StringComparer.Ordinal))
        {
            if (name.EndsWith(".lora_B.weight", StringComparison.Ordinal)) continue;
            if (!name.EndsWith(".lora_A.weight", StringComparison.Ordinal))
                throw new ModelFormatException($"{weightsPath}: tensor '{name}' is not a LoRA A/B matrix (modules_to_save, DoRA and embedding adapters are not supported)");
            var module = name[..^".lora_A.weight".Length];
            var bName = module + ".lora_B.weight";
            if (!names.Contains(bName)) throw new ModelFormatException($"{weightsPath}: '{name}' has no matching lora_B");
            var (target, kind) = GgufName(module) ?? throw new ModelFormatException($"{weightsPath}: tensor '{name}' targets a module this converter does not map");

            var aShape = st.Find(name)!.Shape;
            var bShape = st.Find(bName)!.Shape;
            if (aShape.Length != 2 || bShape.Length != 2 || aShape[0] != bShape[1])
                throw new ModelFormatException($"{weightsPath}: '{module}' has lora_A [{string.Join(", ", aShape)}] and lora_B [{string.Join(", ", bShape)}], expected [r, n_in] and [n_out, r]");
            long rank = aShape[0], nIn = aShape[1], nOut = bShape[0];
            var b = st.ReadFloats(st.Find(bName)!);
            if (permuteQk && kind is "attn_q" or "attn_k")
            {
                int heads = kind == "attn_q" ? hp.HeadCount : hp.HeadCountKv;
                if (heads <= 0 || nOut % (2 * heads) != 0) throw new ModelFormatException($"{weightsPath}: '{module}' has {nOut} outputs, not a whole number of rotary heads ({heads})");
                b = PermuteRows(b, (int)nOut, (int)rank, heads);
            }

            writer.AddTensor(target + ".lora_a", [nIn, rank], st.ReadFloats(st.Find(name)!));
            writer.AddTensor(target + ".lora_b", [rank, nOut], b);
            pairs++;
        }

        if (pairs == 0) throw new ModelFormatException($"{weightsPath}: no LoRA A/B pairs");
        var tmp = outPath + ".tmp";
        writer.Write(tmp);
        try
        {
            // Validates the result against the base (targets exist, shapes fit) before it takes the output's name.
            LoraAdapter.Load(tmp, model).Dispose();
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }

        File.Move(tmp, outPath, overwrite: true);
        return pairs;
    }

    /// <summary>alpha as the GGUF format wants it, so that alpha / r is PEFT's scaling (alpha / √r under rsLoRA).</summary>
    private static float ReadAlpha(string configPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
            var root = doc.RootElement;
            if (root.TryGetProperty("peft_type", out var type) && type.GetString() is { } t && t != "LORA")
                throw new ModelFormatException($"{configPath}: peft_type {t} is not LORA");
            if (root.TryGetProperty("fan_in_fan_out", out var fifo) && fifo.ValueKind == JsonValueKind.True)
                throw new ModelFormatException($"{configPath}: fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported");
            if (root.TryGetProperty("use_dora", out var dora) && dora.ValueKind == JsonValueKind.True)
                throw new ModelFormatException($"{configPath}: DoRA adapters are not supported");
            foreach (var pattern in new[] { "rank_pattern", "alpha_pattern" })
            {
                if (root.TryGetProperty(pattern, out var p) && p.ValueKind == JsonValueKind.Object && p.EnumerateObject().Any())
                    throw new ModelFormatException($"{configPath}: per-module {pattern} is not supported");
            }

            int r = root.GetProperty("r").GetInt32();
            double alpha = root.TryGetProperty("lora_alpha", out var a) ? a.GetDouble() : r;
            if (r <= 0 || !double.IsFinite(alpha)) throw new ModelFormatException($"{configPath}: r = {r} and lora_alpha = {alpha} must be a positive rank and a finite alpha");
            bool rs = root.TryGetProperty("use_rslora", out var rsl) && rsl.ValueKind == JsonValueKind.True;
            return (float)(rs ? alpha * Math.Sqrt(r) : alpha);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"{configPath}: invalid adapter config: {e.Message}");
        }
    }

    /// <summary>The GGUF weight a PEFT module (<c>base_model.model.model.layers.N.self_attn.q_proj</c>) stands for.</summary>
    private static (string Target, string Kind)? GgufName(string module)
    {
        const string prefix = "base_model.model.";
        if (!module.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = module[prefix.Length..];
        if (rest == "lm_head") return ("output.weight", "output");
        const string layers = "model.layers.";
        if (!rest.StartsWith(layers, StringComparison.Ordinal)) return null;
        rest = rest[layers.Length..];
        int dot = rest.IndexOf('.');
        if (dot <= 0 || !int.TryParse(rest.AsSpan(0, dot), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int layer)) return null;
        return s_modules.TryGetValue(rest[(dot + 1)..], out var kind) ? ($"blk.{layer}.{kind}.weight", kind) : null;
    }

    /// <summary>
    /// The row order llama.cpp's converter gives q_proj/k_proj: within each head, HF's rows [first half | second half]
    /// of the rotary pairs become interleaved, row h·d + 2i + j taking HF row h·d + j·d/2 + i.
    /// </summary>
    private static float[] PermuteRows(float[] b, int rows, int cols, int heads)
    {
        int d = rows / heads, half = d / 2;
        var result = new float[b.Length];
        for (int h = 0; h < heads; h++)
        {
            for (int i = 0; i < half; i++)
            {
                for (int j = 0; j < 2; j++)
                {
                    b.AsSpan((h * d + j * half + i) * cols, cols).CopyTo(result.AsSpan((h * d + 2 * i + j) * cols, cols));
                }
            }
        }

        return result;
    }
}
