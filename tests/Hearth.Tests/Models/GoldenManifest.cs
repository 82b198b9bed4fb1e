using System.Text.Json;

namespace Hearth.Tests.Models;

/// <summary>One case of ../shared/golden/MANIFEST.json: a model, a token sequence and the reference logits.</summary>
public sealed record GoldenCase(string Model, string Arch, string Type, int[] Tokens, int Vocab, string LogitsF32, string LogitsF16, double Tolerance, string? Lora, double LoraScale)
{
    public string Name => System.IO.Path.GetFileNameWithoutExtension(Model) + (Lora != null ? $"+lora{LoraScale:0.0}" : "");

    public override string ToString() => Name;

    /// <summary>Reads [n_tokens][n_vocab] little-endian float32 reference logits.</summary>
    public float[] ReadLogits(bool f16Cache)
    {
        var bytes = File.ReadAllBytes(TestData.Path("golden", f16Cache ? LogitsF16 : LogitsF32));
        var result = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, result, 0, bytes.Length);
        Assert.Equal(Tokens.Length * Vocab, result.Length);
        return result;
    }

    public static IReadOnlyList<GoldenCase> All { get; } = Load();

    private static List<GoldenCase> Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(TestData.Path("golden", "MANIFEST.json")));
        var list = new List<GoldenCase>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var logits = e.GetProperty("logits");
            list.Add(new GoldenCase(
                e.GetProperty("model").GetString()!,
                e.GetProperty("arch").GetString()!,
                e.GetProperty("type").GetString()!,
                e.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()).ToArray(),
                e.GetProperty("n_vocab").GetInt32(),
                logits.GetProperty("kvf32").GetString()!,
                logits.GetProperty("kvf16").GetString()!,
                e.GetProperty("tolerance_nmse").GetDouble(),
                e.TryGetProperty("lora", out var lora) ? lora.GetString() : null,
                e.TryGetProperty("lora_scale", out var s) ? s.GetDouble() : 0));
        }

        return list;
    }
}

/// <summary>The comparison the MANIFEST defines: NMSE per position, and arg-max agreement where the reference is decisive.</summary>
public static class LogitComparison
{
    /// <summary>Σ(ours − ref)² / Σ ref² over one position.</summary>
    public static double Nmse(ReadOnlySpan<float> ours, ReadOnlySpan<float> reference)
    {
        double num = 0, den = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = (double)ours[i] - reference[i];
            num += d * d;
            den += (double)reference[i] * reference[i];
        }

        return num / den;
    }

    public static int ArgMax(ReadOnlySpan<float> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] > v[best]) best = i;
        }

        return best;
    }

    /// <summary>Gap between the largest and second-largest value.</summary>
    public static float TopTwoGap(ReadOnlySpan<float> v)
    {
        float a = float.NegativeInfinity, b = float.NegativeInfinity;
        foreach (var x in v)
        {
            if (x > a) { b = a; a = x; }
            else if (x > b) b = x;
        }

        return a - b;
    }

    /// <summary>Asserts every position against the tolerance and reports the worst NMSE.</summary>
    public static double AssertMatches(float[] ours, float[] reference, int vocab, double tolerance, string label)
    {
        Assert.Equal(reference.Length, ours.Length);
        double worst = 0;
        for (int p = 0; p < reference.Length / vocab; p++)
        {
            var o = ours.AsSpan(p * vocab, vocab);
            var r = reference.AsSpan(p * vocab, vocab);
            double nmse = Nmse(o, r);
            worst = Math.Max(worst, nmse);
            Assert.True(nmse <= tolerance, $"{label}: position {p}: NMSE {nmse:E3} > {tolerance:E1}");
            if (TopTwoGap(r) > 0.05f) Assert.True(ArgMax(o) == ArgMax(r), $"{label}: position {p}: argmax {ArgMax(o)} != reference {ArgMax(r)}");
        }

        return worst;
    }
}
