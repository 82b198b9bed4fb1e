using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Hearth.Models.Blocks;

/// <summary>Root-mean-square normalisation: y = x / sqrt(mean(x²) + eps) · w.</summary>
public static class RmsNorm
{
    /// <summary>Normalises <paramref name="x"/> into <paramref name="y"/> and scales by <paramref name="weight"/> (same length).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> weight, Span<float> y, float eps)
    {
        float scale = Scale(x, eps);
        TensorPrimitives.Multiply(x, scale, y);
        TensorPrimitives.Multiply(y, weight, y);
    }

    /// <summary>In-place variant, for per-head q/k norms.</summary>
    public static void ApplyInPlace(Span<float> x, ReadOnlySpan<float> weight, float eps) => Apply(x, weight, x, eps);

    /// <summary>1 / sqrt(mean(x²) + eps).</summary>
    public static float Scale(ReadOnlySpan<float> x, float eps)
    {
        float mean = TensorPrimitives.SumOfSquares(x) / x.Length;
        return 1f / MathF.Sqrt(mean + eps);
    }
}
