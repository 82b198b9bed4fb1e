using System.Runtime.InteropServices;
using Hearth.Tensors;
using Hearth.Tensors.Scalar;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// Access to every instruction-set path of the kernels (not only the one the dispatcher picks), the scalar reference
/// they must match, and the magnitude the matching tolerance is relative to.
/// </summary>
internal static class KernelPaths
{
    /// <summary>
    /// The paths this machine and runtime configuration can run, by name. Scalar and Portable are always there; the
    /// others appear when the hardware has them and the runtime has not been told to ignore them
    /// (<c>DOTNET_EnableAVX512F=0</c>, <c>DOTNET_EnableHWIntrinsic=0</c>, ...).
    /// </summary>
    public static IEnumerable<string> Names => KernelIsas.Supported.Select(i => i.ToString());

    public static KernelIsa Parse(string name) => Enum.Parse<KernelIsa>(name);

    public static RowKernels Kernels(string isa, GgmlType type) => KernelIsas.Get(Parse(isa), type);

    /// <summary>The span dot product of one path (what <see cref="Quants.Dot"/> runs when that path is the best one).</summary>
    public static VecDotKernel Dot(string isa, GgmlType type) => KernelDot.Make(type, Kernels(isa, type));

    /// <summary>The reference: Scalar/ScalarDot for the type.</summary>
    public static VecDotKernel ScalarDot(GgmlType type) => type switch
    {
        GgmlType.F32 => Hearth.Tensors.Scalar.ScalarDot.F32,
        GgmlType.F16 => Hearth.Tensors.Scalar.ScalarDot.F16,
        GgmlType.BF16 => Hearth.Tensors.Scalar.ScalarDot.BF16,
        GgmlType.Q4_0 => Hearth.Tensors.Scalar.ScalarDot.Q4_0Q8_0,
        GgmlType.Q4_1 => Hearth.Tensors.Scalar.ScalarDot.Q4_1Q8_1,
        GgmlType.Q5_0 => Hearth.Tensors.Scalar.ScalarDot.Q5_0Q8_0,
        GgmlType.Q5_1 => Hearth.Tensors.Scalar.ScalarDot.Q5_1Q8_1,
        GgmlType.Q8_0 => Hearth.Tensors.Scalar.ScalarDot.Q8_0Q8_0,
        GgmlType.Q8_1 => Hearth.Tensors.Scalar.ScalarDot.Q8_1Q8_1,
        GgmlType.Q2_K => Hearth.Tensors.Scalar.ScalarDot.Q2_KQ8_K,
        GgmlType.Q3_K => Hearth.Tensors.Scalar.ScalarDot.Q3_KQ8_K,
        GgmlType.Q4_K => Hearth.Tensors.Scalar.ScalarDot.Q4_KQ8_K,
        GgmlType.Q5_K => Hearth.Tensors.Scalar.ScalarDot.Q5_KQ8_K,
        GgmlType.Q6_K => Hearth.Tensors.Scalar.ScalarDot.Q6_KQ8_K,
        GgmlType.Q8_K => Hearth.Tensors.Scalar.ScalarDot.Q8_KQ8_K,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>The K-quant paths reduce each super-block to an exact int and evaluate the reference's float expression.</summary>
    public static bool IsBitExact(GgmlType type) => GgmlTypes.Get(type).BlockSize == QK.QK_K;

    /// <summary>
    /// What "1e-6 relative" is relative to: the sum of the magnitudes of the block contributions the kernels add up in
    /// float. Integer sums inside a block are exact in every path, so two paths can only differ by the rounding of
    /// adding the per-block (per-lane) results in another order; that error is bounded by a few ulp of this sum. A block
    /// here is a 16-element group (the finest granularity of any scale); a weight offset (the m of Q4_1 / Q5_1, the
    /// dmin·m of the K-quants) is a contribution of its own, since the kernels apply it separately. For F32, F16 and BF16
    /// every product is its own contribution: Σ|w_i·a_i|.
    /// </summary>
    public static double Magnitude(GgmlType type, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n)
    {
        var pair = Quants.VecDotType(type);
        var wf = Dequantize(type, w, n);
        var af = Dequantize(pair, a, n);
        double m = 0;
        if (type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16)
        {
            for (int i = 0; i < n; i++)
            {
                m += Math.Abs((double)wf[i] * af[i]);
            }

            return m;
        }

        for (int g = 0; g < n / 16; g++)
        {
            double off = Offset(type, w, g);
            double scaled = 0, sumA = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++)
            {
                scaled += ((double)wf[i] + off) * af[i];
                sumA += af[i];
            }

            m += Math.Abs(scaled) + Math.Abs(off * sumA);
        }

        return m;
    }

    /// <summary>The offset subtracted from the scaled levels of 16-element group <paramref name="g"/>: w = d·q − offset.</summary>
    private static double Offset(GgmlType type, ReadOnlySpan<byte> w, int g)
    {
        switch (type)
        {
            case GgmlType.Q4_1:
                return -(double)(float)MemoryMarshal.Cast<byte, BlockQ4_1>(w)[g / 2].M;
            case GgmlType.Q5_1:
                return -(double)(float)MemoryMarshal.Cast<byte, BlockQ5_1>(w)[g / 2].M;
            case GgmlType.Q2_K:
            {
                var b = MemoryMarshal.Cast<byte, BlockQ2_K>(w)[g / 16];
                return (double)(float)b.DMin * (b.Scales[g % 16] >> 4);
            }

            case GgmlType.Q4_K:
            {
                var b = MemoryMarshal.Cast<byte, BlockQ4_K>(w)[g / 16];
                QuantBits.GetScaleMinK4(g % 16 / 2, b.Scales, out _, out int min);
                return (double)(float)b.DMin * min;
            }

            case GgmlType.Q5_K:
            {
                var b = MemoryMarshal.Cast<byte, BlockQ5_K>(w)[g / 16];
                QuantBits.GetScaleMinK4(g % 16 / 2, b.Scales, out _, out int min);
                return (double)(float)b.DMin * min;
            }

            default:
                return 0;
        }
    }

    /// <summary>Random bytes for a weight row (every level, scale and min the packing allows), float fields tamed.</summary>
    public static byte[] RandomWeights(GgmlType type, int n, Random rng)
    {
        var w = new byte[Quants.RowBytes(type, n)];
        rng.NextBytes(w);
        DotTests.TameScales(type, w, rng);
        return w;
    }
}
