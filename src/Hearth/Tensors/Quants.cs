namespace Hearth.Tensors;

/// <summary>
/// Validated entry points to the tensor kernels: dequantize, quantize, the activation pairing and the dot product for
/// every computable <see cref="GgmlType"/> (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K..Q6_K, Q8_K).
/// </summary>
/// <remarks>
/// Data is little-endian as in GGUF files, and so is every platform .NET runs Hearth on. Quantized results match
/// ggml's reference (<c>quantize_row_*_ref</c>) byte for byte, up to ggml builds that fuse multiply-adds in those
/// functions.
/// </remarks>
public static class Quants
{
    /// <summary>True when <paramref name="type"/> can be dequantized, quantized and used in <see cref="Dot"/> and <see cref="MatMul"/>.</summary>
    public static bool IsSupported(GgmlType type) => TypeTraits.Find(type) is not null;

    /// <summary>
    /// The type an activation row is converted to before it meets a weight row of <paramref name="weightType"/>, exactly
    /// as ggml's CPU backend pairs them: F32→F32, F16→F16, BF16→BF16, Q4_0/Q5_0/Q8_0→Q8_0, Q4_1/Q5_1→Q8_1,
    /// Q2_K..Q6_K→Q8_K. Q8_1 and Q8_K (activation formats) pair with themselves.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is not a ggml type.</exception>
    /// <exception cref="NotSupportedException">The type cannot be computed with.</exception>
    public static GgmlType VecDotType(GgmlType weightType) => TypeTraits.Get(weightType).VecDotType;

    /// <summary>Bytes taken by <paramref name="elements"/> elements of <paramref name="type"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="elements"/> is negative or not a multiple of the block size.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The number is not a ggml type.</exception>
    public static long RowBytes(GgmlType type, long elements)
    {
        var info = GgmlTypes.Get(type);
        CheckElementCount(info, elements, nameof(elements));
        return info.RowBytes(elements);
    }

    /// <summary>
    /// Decodes <c>dst.Length</c> elements of <paramref name="type"/> from the start of <paramref name="src"/> into
    /// <paramref name="dst"/>. <paramref name="src"/> must hold at least <c>dst.Length / blockSize</c> blocks; extra bytes
    /// are ignored.
    /// </summary>
    /// <exception cref="ArgumentException"><c>dst.Length</c> is not a multiple of the block size, or <paramref name="src"/> is too short.</exception>
    /// <exception cref="NotSupportedException">The type cannot be computed with.</exception>
    public static void Dequantize(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        var traits = TypeTraits.Get(type);
        CheckElementCount(traits.Info, dst.Length, nameof(dst));
        CheckBytes(traits.Info, src.Length, dst.Length, nameof(src));
        traits.Dequantize(src, dst);
    }

    /// <summary>
    /// Encodes the <c>src.Length</c> floats of <paramref name="src"/> as <paramref name="type"/> into the start of
    /// <paramref name="dst"/>, with ggml's reference algorithm for the type (the searches of <c>make_qx_quants</c>,
    /// <c>make_q3_quants</c> and <c>make_qkx2_quants</c> for the K-quants; round-half-away for Q8_0/Q8_1; IEEE
    /// round-to-nearest-even for F16; ggml's rounding for BF16). Bytes of <paramref name="dst"/> past the encoded blocks
    /// are left as they were.
    /// </summary>
    /// <exception cref="ArgumentException"><c>src.Length</c> is not a multiple of the block size, or <paramref name="dst"/> is too short.</exception>
    /// <exception cref="NotSupportedException">The type cannot be computed with.</exception>
    public static void Quantize(GgmlType type, ReadOnlySpan<float> src, Span<byte> dst)
    {
        var traits = TypeTraits.Get(type);
        CheckElementCount(traits.Info, src.Length, nameof(src));
        CheckBytes(traits.Info, dst.Length, src.Length, nameof(dst));
        traits.Quantize(src, dst);
    }

    /// <summary>
    /// The dot product of the first <paramref name="n"/> elements of a weight row of <paramref name="weightType"/> and an
    /// activation row already converted to <see cref="VecDotType"/>(<paramref name="weightType"/>), computed as ggml's CPU
    /// backend does: integer products summed inside each block, then scaled by the block scales (mins folded in through
    /// Q8_1's <c>s</c> or Q8_K's <c>bsums</c>). F32, F16 and BF16 multiply in float and accumulate in double.
    /// </summary>
    /// <remarks>
    /// Runs on the widest instruction set the machine has (AVX-512, AVX-VNNI, AVX2, Arm NEON with or without the
    /// dot-product extension, portable 128-bit vectors, scalar). Integer sums are exact on every path. The K-quants then
    /// evaluate the reference's float expression per super-block and are bit-identical to it; the 32-element block types
    /// and F32/F16/BF16 add their block (or element) results in another order, which moves the result by at most a few
    /// ulp: within 1e-6 of the sum of the magnitudes of the block contributions. Activations are expected as Hearth's
    /// quantizers produce them (levels in [-127, 127]).
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="n"/> is negative or not a multiple of either block size, or a row is too short.</exception>
    /// <exception cref="NotSupportedException">The type cannot be computed with.</exception>
    public static float Dot(GgmlType weightType, ReadOnlySpan<byte> weightRow, ReadOnlySpan<byte> activationRow, int n)
    {
        var traits = TypeTraits.Get(weightType);
        var pair = TypeTraits.Get(traits.VecDotType).Info;
        CheckElementCount(traits.Info, n, nameof(n));
        CheckElementCount(pair, n, nameof(n));
        CheckBytes(traits.Info, weightRow.Length, n, nameof(weightRow));
        CheckBytes(pair, activationRow.Length, n, nameof(activationRow));
        return traits.VecDot(weightRow, activationRow, n);
    }

    internal static void CheckElementCount(GgmlTypeInfo info, long elements, string paramName)
    {
        if (elements < 0 || elements % info.BlockSize != 0)
        {
            throw new ArgumentException(
                $"{elements} elements is not a whole number of {info.Name} blocks ({info.BlockSize} elements each)", paramName);
        }
    }

    private static void CheckBytes(GgmlTypeInfo info, long available, long elements, string paramName)
    {
        long needed = info.RowBytes(elements);
        if (available < needed)
        {
            throw new ArgumentException(
                $"{elements} elements of {info.Name} need {needed} bytes but the buffer has {available}", paramName);
        }
    }
}
