using System.Runtime.CompilerServices;
using Hearth.Tensors.Portable;
using Hearth.Tensors.Scalar;
using Hearth.Tensors.X86;

namespace Hearth.Tensors;

/// <summary>
/// The SIMD quantizers of the activation formats (Q8_0, Q8_1, Q8_K): what every matmul runs on its input rows. Each
/// instruction set has its own method; all are byte-identical to Scalar.ScalarQuantize for finite input (NaN or infinite
/// activations give a meaningless block in every path, and the paths may disagree on its bytes).
/// </summary>
internal static unsafe class ActivationQuantizers
{
    /// <summary>The quantizer of <paramref name="type"/> on <paramref name="isa"/>, or null when that path has none (the other types).</summary>
    public static QuantizeRowKernel? Get(KernelIsa isa, GgmlType type)
    {
        var path = isa switch
        {
            KernelIsa.Scalar => 0,
            KernelIsa.Avx512 => 3,
            KernelIsa.Avx2 or KernelIsa.AvxVnni => 2,
            _ => 1, // Portable, AdvSimd, AdvSimdDp: the Vector128 code compiles to NEON on Arm
        };
        return (type, path) switch
        {
            (GgmlType.Q8_0, 0) => ScalarQuantize.Q8_0,
            (GgmlType.Q8_1, 0) => ScalarQuantize.Q8_1,
            (GgmlType.Q8_K, 0) => ScalarQuantize.Q8_K,
            (GgmlType.Q8_0, 1) => (s, d) => Run(s, d, 32, &Vector128Quantize.Q8_0),
            (GgmlType.Q8_1, 1) => (s, d) => Run(s, d, 32, &Vector128Quantize.Q8_1),
            (GgmlType.Q8_K, 1) => (s, d) => Run(s, d, 256, &Vector128Quantize.Q8_K),
            (GgmlType.Q8_0, 2) => (s, d) => Run(s, d, 32, &Avx2Quantize.Q8_0),
            (GgmlType.Q8_1, 2) => (s, d) => Run(s, d, 32, &Avx2Quantize.Q8_1),
            (GgmlType.Q8_K, 2) => (s, d) => Run(s, d, 256, &Avx2Quantize.Q8_K),
            (GgmlType.Q8_0, 3) => (s, d) => Run(s, d, 32, &Avx512Quantize.Q8_0),
            (GgmlType.Q8_1, 3) => (s, d) => Run(s, d, 32, &Avx512Quantize.Q8_1),
            (GgmlType.Q8_K, 3) => (s, d) => Run(s, d, 256, &Avx512Quantize.Q8_K),
            _ => null,
        };
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run(ReadOnlySpan<float> src, Span<byte> dst, int block, delegate*<float*, byte*, int, void> quantize)
    {
        int n = src.Length / block * block;
        if (n == 0)
        {
            return;
        }

        fixed (float* x = src)
        fixed (byte* y = dst)
        {
            quantize(x, y, n);
        }
    }
}
