namespace Hearth.Models.Blocks;

/// <summary>Root-mean-square normalisation: y = x / sqrt(mean(x²) + eps) · w.</summary>
public static class RmsNorm
{
    /// <summary>Normalises <paramref name="x"/> into <paramref name="y"/> and scales by <paramref name="weight"/> (same length).</summary>
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, float eps)
    {
        float scale = Scale(x, eps);
        for (int i = 0; i < x.Length; i++) y[i] = x[i] * scale * weight[i];
    }

    /// <summary>In-place variant, for per-head q/k norms.</summary>
    public static void ApplyInPlace(Span<float> x, ReadOnlySpan<float> weight, float eps) => Apply(x, weight, x, eps);

    /// <summary>1 / sqrt(mean(x²) + eps); the sum runs in double as ggml's does.</summary>
    public static float Scale(ReadOnlySpan<float> x, float eps)
    {
        double sum = 0;
        foreach (var v in x) sum += (double)v * v;
        float mean = (float)(sum / x.Length);
        return 1f / MathF.Sqrt(mean + eps);
    }
}
