using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Hearth.Tensors.Scalar;

/// <summary>Bit-packing helpers shared by the reference quantizers, dequantizers and dot products.</summary>
internal static class QuantBits
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint ReadUInt32(in Bytes4 b) => BinaryPrimitives.ReadUInt32LittleEndian(b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WriteUInt32(ref Bytes4 b, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(b, value);

    /// <summary>
    /// ggml's <c>get_scale_min_k4</c>: the 6-bit scale and min of sub-block <paramref name="j"/> (0..7) of a Q4_K / Q5_K
    /// block. Sub-blocks 0-3 keep theirs in the low six bits of bytes <c>j</c> and <c>j+4</c>; sub-blocks 4-7 keep their
    /// low nibbles in byte <c>j+4</c> and their top two bits in the spare top bits of bytes <c>j-4</c> and <c>j</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void GetScaleMinK4(int j, in Bytes12 q, out int scale, out int min)
    {
        if (j < 4)
        {
            scale = q[j] & 63;
            min = q[j + 4] & 63;
        }
        else
        {
            scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
            min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        }
    }

    /// <summary>Inverse of <see cref="GetScaleMinK4"/>: stores 6-bit <paramref name="scale"/> and <paramref name="min"/> of sub-block <paramref name="j"/>.</summary>
    /// <remarks>Bytes must start zeroed for j &lt; 4 before j ≥ 4 ORs its top bits in (the order ggml writes them).</remarks>
    public static void SetScaleMinK4(int j, ref Bytes12 q, int scale, int min)
    {
        if (j < 4)
        {
            q[j] = (byte)scale;
            q[j + 4] = (byte)min;
        }
        else
        {
            q[j + 4] = (byte)((scale & 0xF) | ((min & 0xF) << 4));
            q[j - 4] |= (byte)((scale >> 4) << 6);
            q[j] |= (byte)((min >> 4) << 6);
        }
    }

    /// <summary>
    /// Unpacks the sixteen 6-bit Q3_K scales (unsigned, 0..63, still biased by 32) from their 12-byte packing:
    /// low nibbles in bytes 0-7 (low half for scales 0-7, high half for 8-15), top two bits in bytes 8-11.
    /// </summary>
    public static void UnpackQ3KScales(in Bytes12 packed, Span<sbyte> scales)
    {
        for (int j = 0; j < 16; j++)
        {
            int low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
            int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
            scales[j] = (sbyte)(low | (high << 4));
        }
    }

    /// <summary>
    /// ggml's <c>nearest_int</c>: rounds to the nearest integer, ties to even, by adding 1.5 * 2^23 in float32 and
    /// reading the mantissa. Exact for |x| ≤ 4194303; outside that range it returns what ggml returns (garbage), so
    /// callers clamp as ggml does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int NearestInt(float x)
    {
        float val = x + 12582912f;
        int i = BitConverter.SingleToInt32Bits(val);
        return (i & 0x007FFFFF) - 0x00400000;
    }
}
