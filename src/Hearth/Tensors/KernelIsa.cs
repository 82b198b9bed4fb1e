using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Hearth.Tensors.Arm;
using Hearth.Tensors.Portable;
using Hearth.Tensors.Scalar;
using Hearth.Tensors.X86;

namespace Hearth.Tensors;

/// <summary>The instruction-set paths the tensor kernels are written for, narrowest first.</summary>
internal enum KernelIsa
{
    /// <summary>The readable reference kernels in Scalar/.</summary>
    Scalar,

    /// <summary>Cross-platform <see cref="Vector128"/> code: any SIMD hardware, or software emulation without it.</summary>
    Portable,

    /// <summary>Arm NEON: the 128-bit kernels with <c>smull</c>/<c>sadalp</c> 8-bit dot products.</summary>
    AdvSimd,

    /// <summary>Arm NEON with the dot-product extension (<c>sdot</c>).</summary>
    AdvSimdDp,

    /// <summary>x86 AVX2 + FMA: 256-bit kernels, 8-bit dot products with <c>vpmaddubsw</c> + <c>vpmaddwd</c>.</summary>
    Avx2,

    /// <summary>x86 AVX-VNNI: the 256-bit kernels with <c>vpdpbusd</c> 8-bit dot products.</summary>
    AvxVnni,

    /// <summary>
    /// x86 AVX-512 (F, BW, DQ, VL): 512-bit kernels. .NET 10 exposes 512-bit <c>vpdpbusd</c> only through AVX10.2, so
    /// the 8-bit dot products use <c>vpmaddubsw</c> + <c>vpmaddwd</c> on full-width registers.
    /// </summary>
    Avx512,
}

/// <summary>
/// Picks the kernels for this machine: the widest supported instruction set, decided once (the JIT folds every
/// <c>IsSupported</c> check to a constant). <see cref="Get"/> also hands out any other supported path, which the tests
/// and benchmarks use to run every path the machine has against the scalar reference.
/// </summary>
internal static class KernelIsas
{
    /// <summary>The path the engine uses.</summary>
    public static KernelIsa Best { get; } = SelectBest();

    /// <summary>Every path this machine (and runtime configuration) can run, narrowest first.</summary>
    public static IReadOnlyList<KernelIsa> Supported { get; } = Enum.GetValues<KernelIsa>().Where(IsSupported).ToArray();

    /// <summary>True when <paramref name="isa"/> can run here. Scalar and Portable always can.</summary>
    public static bool IsSupported(KernelIsa isa) => isa switch
    {
        KernelIsa.Scalar => true,
        KernelIsa.Portable => true,
        KernelIsa.AdvSimd => AdvSimd.IsSupported,
        KernelIsa.AdvSimdDp => AdvSimd.IsSupported && Dp.IsSupported,
        KernelIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        KernelIsa.AvxVnni => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported,
        KernelIsa.Avx512 => Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>The row kernels of <paramref name="type"/> on <paramref name="isa"/>; empty for a type that has none.</summary>
    /// <exception cref="PlatformNotSupportedException"><paramref name="isa"/> cannot run on this machine.</exception>
    public static RowKernels Get(KernelIsa isa, GgmlType type)
    {
        if (!IsSupported(isa))
        {
            throw new PlatformNotSupportedException($"the {isa} kernels need instructions this machine does not have");
        }

        return isa switch
        {
            KernelIsa.Scalar => ScalarRowKernels.Get(type),
            KernelIsa.Portable => Vector128Kernels<PortableDot128>.Get(type),
            KernelIsa.AdvSimd => Vector128Kernels<AdvSimdDot128>.Get(type),
            KernelIsa.AdvSimdDp => Vector128Kernels<DpDot128>.Get(type),
            KernelIsa.Avx2 => Avx2Kernels<MaddDot256>.Get(type),
            KernelIsa.AvxVnni => Avx2Kernels<VnniDot256>.Get(type),
            KernelIsa.Avx512 => Avx512Kernels.Get(type),
            _ => default,
        };
    }

    private static KernelIsa SelectBest()
    {
        if (Avx512BW.IsSupported && Avx512DQ.IsSupported && Fma.IsSupported)
        {
            return KernelIsa.Avx512;
        }
        else if (AvxVnni.IsSupported && Fma.IsSupported)
        {
            return KernelIsa.AvxVnni;
        }
        else if (Avx2.IsSupported && Fma.IsSupported)
        {
            return KernelIsa.Avx2;
        }
        else if (AdvSimd.IsSupported)
        {
            return Dp.IsSupported ? KernelIsa.AdvSimdDp : KernelIsa.AdvSimd;
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            return KernelIsa.Portable;
        }

        return KernelIsa.Scalar;
    }
}
