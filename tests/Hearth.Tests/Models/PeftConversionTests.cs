using System.Text;
using System.Text.Json.Nodes;
using Hearth.Cli;
using Hearth.Gguf;
using Hearth.Models;
using Hearth.Models.Architectures;
using Hearth.Models.Lora;

namespace Hearth.Tests.Models;

/// <summary>
/// <c>hearth convert --lora</c>: the golden GGUF adapter, turned back into a PEFT directory by the test, converts to the
/// same tensors and the same logits.
/// </summary>
public sealed class PeftConversionTests : IDisposable
{
    private static readonly string s_base = TestData.Path("golden", "models", "parity-llama-untied.F32.gguf");
    private static readonly string s_golden = TestData.Path("golden", "models", "parity-llama-untied.lora-r8-a16.F32.gguf");
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-peft-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, string> s_hf = new()
    {
        ["attn_q"] = "self_attn.q_proj",
        ["attn_k"] = "self_attn.k_proj",
        ["ffn_up"] = "mlp.up_proj",
    };

    /// <summary>Writes a safetensors file of F32 tensors (shape outermost first).</summary>
    private static void WriteSafetensors(string path, List<(string Name, long[] Shape, float[] Data)> tensors, string? headerOverride = null)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, shape, data) in tensors)
        {
            header[name] = new JsonObject { ["dtype"] = "F32", ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode)s)]), ["data_offsets"] = new JsonArray(offset, offset + data.Length * 4L) };
            offset += data.Length * 4L;
        }

        var json = Encoding.UTF8.GetBytes(headerOverride ?? header.ToJsonString());
        using var f = File.Create(path);
        f.Write(BitConverter.GetBytes((ulong)json.Length));
        f.Write(json);
        foreach (var (_, _, data) in tensors)
        {
            var bytes = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
            f.Write(bytes);
        }
    }

    /// <summary>
    /// The golden adapter in PEFT's layout: lora_A [r, n_in], lora_B [n_out, r], with the rows of q/k B matrices put
    /// back in Hugging Face order (GGUF row h·d + 2i + j is HF row h·d + j·d/2 + i, per head of d rows).
    /// </summary>
    private string WritePeft(bool rsLora = false, string? extraTensor = null)
    {
        var peft = Path.Combine(_dir, "peft");
        Directory.CreateDirectory(peft);
        using var g = GgufFile.Open(s_golden);
        using var b = GgufFile.Open(s_base);
        int heads = (int)b.GetInteger("llama.attention.head_count")!.Value;
        int kvHeads = (int)b.GetInteger("llama.attention.head_count_kv")!.Value;
        var tensors = new List<(string, long[], float[])>();
        foreach (var t in g.Tensors.Where(t => t.Name.EndsWith(".lora_a", StringComparison.Ordinal)))
        {
            var parts = t.Name.Split('.'); // blk N kind weight lora_a
            var module = $"base_model.model.model.layers.{parts[1]}.{s_hf[parts[2]]}";
            var bInfo = g.FindTensor(t.Name[..^1] + "b")!;
            long rank = t.Shape[1], nIn = t.Shape[0], nOut = bInfo.Shape[1];
            var a = Floats(g.TensorData(t));
            var bGguf = Floats(g.TensorData(bInfo));
            var bHf = new float[bGguf.Length];
            if (parts[2] is "attn_q" or "attn_k")
            {
                int d = (int)nOut / (parts[2] == "attn_q" ? heads : kvHeads), half = d / 2;
                for (int row = 0; row < nOut; row++)
                {
                    int h = row / d, within = row % d, i = within / 2, j = within % 2;
                    Array.Copy(bGguf, row * rank, bHf, (h * d + j * half + i) * rank, rank);
                }
            }
            else
            {
                bGguf.CopyTo(bHf, 0);
            }

            tensors.Add(($"{module}.lora_A.weight", [rank, nIn], a));
            tensors.Add(($"{module}.lora_B.weight", [nOut, rank], bHf));
        }

        if (extraTensor != null) tensors.Add((extraTensor, [2, 2], new float[4]));
        WriteSafetensors(Path.Combine(peft, "adapter_model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(peft, "adapter_config.json"),
            $$"""{"peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "up_proj"], "use_rslora": {{(rsLora ? "true" : "false")}}, "fan_in_fan_out": false}""");
        return peft;
    }

    private static float[] Floats(ReadOnlySpan<byte> bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    private static float[] Logits(string adapter)
    {
        using var file = GgufFile.Open(s_base);
        var model = ArchitectureRegistry.Resolve(file).Build(file, 64);
        using var lora = LoraAdapter.Load(adapter, model);
        int[] tokens = [1, 15, 27, 100, 200, 300, 42, 7, 511, 3, 64, 128];
        var state = new InferenceState(model, 64, tokens.Length);
        state.SetAdapters([new ActiveAdapter(lora, 1f)]);
        var logits = new float[tokens.Length * model.VocabSize];
        model.Forward(state, tokens, logits, allLogits: true);
        return logits;
    }

    [Fact]
    public void APeftAdapterConvertsToTheGoldenTensorsAndLogits()
    {
        var peft = WritePeft();
        var output = Path.Combine(_dir, "converted.gguf");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = HearthCommand.Run(["convert", peft, output, "--lora", "--base", s_base], new StringReader(""), o, e);
        Assert.True(code == 0, e.ToString());
        Assert.Contains("4 adapter pairs", o.ToString());

        using (var converted = GgufFile.Open(output))
        using (var golden = GgufFile.Open(s_golden))
        {
            Assert.Equal("adapter", converted.GetString("general.type"));
            Assert.Equal(16.0, converted.GetNumber("adapter.lora.alpha"));
            Assert.Equal(golden.Tensors.Select(t => t.Name).Order(), converted.Tensors.Select(t => t.Name).Order());
            foreach (var t in golden.Tensors)
            {
                var c = converted.FindTensor(t.Name)!;
                Assert.Equal(t.Shape, c.Shape);
                Assert.True(golden.TensorData(t).SequenceEqual(converted.TensorData(c)), t.Name);
            }
        }

        Assert.Equal(Logits(s_golden), Logits(output));
    }

    [Fact]
    public void RsLoraScalesAlphaSoThatAlphaOverRIsPeftsScaling()
    {
        var output = Path.Combine(_dir, "rs.gguf");
        PeftConverter.Convert(WritePeft(rsLora: true), s_base, output);
        using var f = GgufFile.Open(output);
        Assert.Equal(16 * Math.Sqrt(8), f.GetNumber("adapter.lora.alpha")!.Value, 4);
    }

    [Fact]
    public void WhatCannotBeConvertedIsRefused()
    {
        var output = Path.Combine(_dir, "x.gguf");
        Assert.Throws<FileNotFoundException>(() => PeftConverter.Convert(_dir, s_base, output));
        var peft = WritePeft(extraTensor: "base_model.model.model.embed_tokens.lora_embedding_A");
        var e = Assert.Throws<ModelFormatException>(() => PeftConverter.Convert(peft, s_base, output));
        Assert.Contains("embed_tokens", e.Message);

        WriteSafetensors(Path.Combine(peft, "adapter_model.safetensors"), [("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", [8, 256], new float[8 * 256])],
            headerOverride: """{"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": {"dtype": "F32", "shape": [8, 256], "data_offsets": [0, 99999999]}}""");
        Assert.Throws<Hearth.Conversion.SafetensorsFormatException>(() => PeftConverter.Convert(peft, s_base, output));
        File.WriteAllBytes(Path.Combine(peft, "adapter_model.safetensors"), BitConverter.GetBytes(ulong.MaxValue));
        Assert.Throws<Hearth.Conversion.SafetensorsFormatException>(() => PeftConverter.Convert(peft, s_base, output));
        Assert.False(File.Exists(output));
    }
}
