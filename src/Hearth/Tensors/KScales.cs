using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors;

/// <summary>
/// Unpacking of the 6-bit sub-block scales of the K-quants on 32-bit words, shared by the SIMD kernels. The results go
/// straight into a vector register: storing words and reloading them as one wider load would stall store forwarding.
/// </summary>
internal static unsafe class KScales
{
    /// <summary>
    /// The eight 6-bit scales (bytes 0-7) and mins (bytes 8-15) of a Q4_K / Q5_K block from their 12-byte packing at
    /// <paramref name="p"/> (Scalar.QuantBits.GetScaleMinK4, four sub-blocks at a time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<byte> ScaleMinK4(byte* p)
    {
        uint w0 = Unsafe.ReadUnaligned<uint>(p);
        uint w1 = Unsafe.ReadUnaligned<uint>(p + 4);
        uint w2 = Unsafe.ReadUnaligned<uint>(p + 8);
        const uint six = 0x3F3F_3F3F, low = 0x0F0F_0F0F, top = 0x0303_0303;

        // Sub-blocks 0-3 keep scale and min in the low six bits of bytes j and j+4; sub-blocks 4-7 keep their low
        // nibbles in byte j+4 and their top two bits in the spare top bits of bytes j-4 (scale) and j (min).
        return Vector128.Create(
            w0 & six,
            (w2 & low) | (((w0 >> 6) & top) << 4),
            w1 & six,
            ((w2 >> 4) & low) | (((w1 >> 6) & top) << 4)).AsByte();
    }

    /// <summary>
    /// The sixteen Q3_K scales with the bias of 32 removed (signed, -32..31) from their 12-byte packing at
    /// <paramref name="p"/>: low nibbles in bytes 0-7, top two bits in bytes 8-11 (Scalar.QuantBits.UnpackQ3KScales).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Q3K(byte* p)
    {
        uint a0 = Unsafe.ReadUnaligned<uint>(p);
        uint a1 = Unsafe.ReadUnaligned<uint>(p + 4);
        uint a2 = Unsafe.ReadUnaligned<uint>(p + 8);
        const uint low = 0x0F0F_0F0F, top = 0x0303_0303;
        var biased = Vector128.Create(
            (a0 & low) | ((a2 & top) << 4),
            (a1 & low) | (((a2 >> 2) & top) << 4),
            ((a0 >> 4) & low) | (((a2 >> 4) & top) << 4),
            ((a1 >> 4) & low) | (((a2 >> 6) & top) << 4)).AsSByte();
        return biased - Vector128.Create((sbyte)32);
    }
}
