using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hearth.Tensors;

/// <summary>
/// Adapts row kernels to the span-based <see cref="VecDotKernel"/> of <see cref="Quants.Dot"/> (weight row · activation
/// row in the pairing type), and converts float activations into the kernels' activation format.
/// </summary>
/// <remarks>
/// For the quantized types the kernel activation format is the pairing type itself. F16 and BF16 weights pair with
/// F16 / BF16 activations, but their kernels read F32 activations that hold the half / bfloat16 values: converting the
/// activation row once instead of once per weight row, with the same products. A dot of F16 activations therefore first
/// widens them (exactly) to floats.
/// </remarks>
internal static unsafe class KernelDot
{
    /// <summary>Floats widened on the stack before falling back to a pooled array.</summary>
    private const int StackFloats = 2048;

    /// <summary>The format <see cref="RowKernels"/> of <paramref name="weightType"/> read their activations in.</summary>
    public static GgmlType ActivationType(GgmlType weightType, GgmlType vecDotType) =>
        weightType is GgmlType.F16 or GgmlType.BF16 ? GgmlType.F32 : vecDotType;

    /// <summary>A span dot product running <paramref name="kernels"/> for one token.</summary>
    public static VecDotKernel Make(GgmlType weightType, RowKernels kernels) => weightType switch
    {
        GgmlType.F16 => (w, a, n) => Widened(kernels, w, a, n, half: true),
        GgmlType.BF16 => (w, a, n) => Widened(kernels, w, a, n, half: false),
        _ => (w, a, n) => Direct(kernels, w, a, n),
    };

    /// <summary>
    /// Converts float activations to the kernel format of <paramref name="weightType"/>: the pairing type's quantizer, or
    /// for F16 / BF16 weights a round trip through half / bfloat16 that keeps float storage.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ConvertActivations(GgmlType weightType, QuantizeRowKernel pairQuantize, ReadOnlySpan<float> src, Span<byte> dst)
    {
        switch (weightType)
        {
            case GgmlType.F16:
                RoundThroughHalf(src, MemoryMarshal.Cast<byte, float>(dst));
                break;
            case GgmlType.BF16:
                RoundThroughBf16(src, MemoryMarshal.Cast<byte, float>(dst));
                break;
            default:
                pairQuantize(src, dst);
                break;
        }
    }

    private static float Direct(RowKernels kernels, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n)
    {
        float result = 0;
        if (n == 0)
        {
            return result;
        }

        fixed (byte* pw = w)
        fixed (byte* pa = a)
        {
            kernels.One(pw, pa, 0, n, &result, 0);
        }

        return result;
    }

    private static float Widened(RowKernels kernels, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n, bool half)
    {
        if (n == 0)
        {
            return 0;
        }

        float[]? rented = null;
        Span<float> buffer = n <= StackFloats ? stackalloc float[StackFloats] : (rented = ArrayPool<float>.Shared.Rent(n));
        try
        {
            var wide = buffer[..n];
            if (half)
            {
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(a)[..n], wide);
            }
            else
            {
                var bits = MemoryMarshal.Cast<byte, ushort>(a);
                for (int i = 0; i < n; i++)
                {
                    wide[i] = Bf16.ToFloat(bits[i]);
                }
            }

            return Direct(kernels, w, MemoryMarshal.AsBytes(wide), n);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary><c>dst[i] = (float)(Half)src[i]</c>: IEEE round to nearest even, as <see cref="Fp16.Round"/>.</summary>
    private static void RoundThroughHalf(ReadOnlySpan<float> src, Span<float> dst)
    {
        Span<Half> tmp = stackalloc Half[256];
        for (int i = 0; i < src.Length; i += tmp.Length)
        {
            int len = Math.Min(tmp.Length, src.Length - i);
            TensorPrimitives.ConvertToHalf(src.Slice(i, len), tmp[..len]);
            TensorPrimitives.ConvertToSingle(tmp[..len], dst.Slice(i, len));
        }
    }

    /// <summary><c>dst[i]</c> = the bfloat16 value ggml's rounding gives <c>src[i]</c>, as a float.</summary>
    private static void RoundThroughBf16(ReadOnlySpan<float> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++)
        {
            dst[i] = Bf16.ToFloat(Bf16.FromFloat(src[i]));
        }
    }
}
