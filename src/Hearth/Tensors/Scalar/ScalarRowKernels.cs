using System.Runtime.InteropServices;

namespace Hearth.Tensors.Scalar;

/// <summary>
/// The scalar reference dot products (<see cref="ScalarDot"/>) wrapped as row kernels, so a machine without SIMD (or a
/// test) runs the same matmul driver. F16 and BF16 weights meet F32 activations that already hold half / bfloat16
/// values (the kernel activation format, see <see cref="TypeTraits.KernelActType"/>); the products and the double
/// accumulation are those of <see cref="ScalarDot.F16"/> and <see cref="ScalarDot.BF16"/>.
/// </summary>
internal static unsafe class ScalarRowKernels
{
    public static RowKernels Get(GgmlType type) => type switch
    {
        GgmlType.F32 => Make<F32Dot>(),
        GgmlType.F16 => Make<F16Dot>(),
        GgmlType.BF16 => Make<BF16Dot>(),
        GgmlType.Q4_0 => Make<Q4_0Dot>(),
        GgmlType.Q4_1 => Make<Q4_1Dot>(),
        GgmlType.Q5_0 => Make<Q5_0Dot>(),
        GgmlType.Q5_1 => Make<Q5_1Dot>(),
        GgmlType.Q8_0 => Make<Q8_0Dot>(),
        GgmlType.Q8_1 => Make<Q8_1Dot>(),
        GgmlType.Q2_K => Make<Q2_KDot>(),
        GgmlType.Q3_K => Make<Q3_KDot>(),
        GgmlType.Q4_K => Make<Q4_KDot>(),
        GgmlType.Q5_K => Make<Q5_KDot>(),
        GgmlType.Q6_K => Make<Q6_KDot>(),
        GgmlType.Q8_K => Make<Q8_KDot>(),
        _ => default,
    };

    /// <summary>F16 weights · F32 activations holding half values: <see cref="ScalarDot.F16"/>'s arithmetic.</summary>
    public static float F16F32(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int n)
    {
        var a = MemoryMarshal.Cast<byte, Half>(x);
        var b = MemoryMarshal.Cast<byte, float>(y);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += (float)a[i] * b[i];
        }

        return (float)sum;
    }

    /// <summary>BF16 weights · F32 activations holding bfloat16 values: <see cref="ScalarDot.BF16"/>'s arithmetic.</summary>
    public static float BF16F32(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int n)
    {
        var a = MemoryMarshal.Cast<byte, ushort>(x);
        var b = MemoryMarshal.Cast<byte, float>(y);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += Bf16.ToFloat(a[i]) * b[i];
        }

        return (float)sum;
    }

    private static RowKernels Make<TDot>()
        where TDot : struct, IScalarDot =>
        new(&Tile<Tokens1, TDot>, &Tile<Tokens2, TDot>, &Tile<Tokens3, TDot>, &Tile<Tokens4, TDot>);

    private static void Tile<TTok, TDot>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TDot : struct, IScalarDot
    {
        int blocks = n / TDot.BlockSize;
        var ws = new ReadOnlySpan<byte>(w, blocks * TDot.WeightBlockBytes);
        for (int t = 0; t < TTok.Count; t++)
        {
            var acts = new ReadOnlySpan<byte>(a + t * aStride, blocks * TDot.ActBlockBytes);
            y[t * yStride] = TDot.Dot(ws, acts, n);
        }
    }

    private interface IScalarDot
    {
        static abstract int BlockSize { get; }

        static abstract int WeightBlockBytes { get; }

        static abstract int ActBlockBytes { get; }

        static abstract float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n);
    }

    private readonly struct F32Dot : IScalarDot
    {
        public static int BlockSize => 1;
        public static int WeightBlockBytes => 4;
        public static int ActBlockBytes => 4;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.F32(w, a, n);
    }

    private readonly struct F16Dot : IScalarDot
    {
        public static int BlockSize => 1;
        public static int WeightBlockBytes => 2;
        public static int ActBlockBytes => 4;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => F16F32(w, a, n);
    }

    private readonly struct BF16Dot : IScalarDot
    {
        public static int BlockSize => 1;
        public static int WeightBlockBytes => 2;
        public static int ActBlockBytes => 4;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => BF16F32(w, a, n);
    }

    private readonly struct Q4_0Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 18;
        public static int ActBlockBytes => 34;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q4_0Q8_0(w, a, n);
    }

    private readonly struct Q4_1Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 20;
        public static int ActBlockBytes => 36;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q4_1Q8_1(w, a, n);
    }

    private readonly struct Q5_0Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 22;
        public static int ActBlockBytes => 34;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q5_0Q8_0(w, a, n);
    }

    private readonly struct Q5_1Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 24;
        public static int ActBlockBytes => 36;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q5_1Q8_1(w, a, n);
    }

    private readonly struct Q8_0Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 34;
        public static int ActBlockBytes => 34;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q8_0Q8_0(w, a, n);
    }

    private readonly struct Q8_1Dot : IScalarDot
    {
        public static int BlockSize => 32;
        public static int WeightBlockBytes => 36;
        public static int ActBlockBytes => 36;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q8_1Q8_1(w, a, n);
    }

    private readonly struct Q2_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 84;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q2_KQ8_K(w, a, n);
    }

    private readonly struct Q3_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 110;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q3_KQ8_K(w, a, n);
    }

    private readonly struct Q4_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 144;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q4_KQ8_K(w, a, n);
    }

    private readonly struct Q5_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 176;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q5_KQ8_K(w, a, n);
    }

    private readonly struct Q6_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 210;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q6_KQ8_K(w, a, n);
    }

    private readonly struct Q8_KDot : IScalarDot
    {
        public static int BlockSize => 256;
        public static int WeightBlockBytes => 292;
        public static int ActBlockBytes => 292;
        public static float Dot(ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n) => ScalarDot.Q8_KQ8_K(w, a, n);
    }
}
