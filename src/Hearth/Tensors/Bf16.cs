using System.Runtime.CompilerServices;

namespace Hearth.Tensors;

/// <summary>
/// bfloat16 conversions, bit-identical with ggml (<c>ggml_compute_fp32_to_bf16</c> / <c>ggml_compute_bf16_to_fp32</c>).
/// A bfloat16 is the top 16 bits of a float32, so widening is a shift; narrowing rounds to nearest with ties to even
/// by adding <c>0x7FFF + lsb</c> before truncating (finite values near the top of the range round up to infinity),
/// and turns every NaN into a quiet NaN that keeps the sign and the top payload bits (<c>(bits &gt;&gt; 16) | 0x40</c>).
/// </summary>
public static class Bf16
{
    /// <summary>The float value of the bfloat16 whose bit pattern is <paramref name="bits"/> (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The bfloat16 bit pattern of <paramref name="value"/>, rounded to nearest even like ggml.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u)
        {
            // NaN: truncate and force the quiet bit so a signalling NaN cannot turn into infinity.
            return (ushort)((u >> 16) | 0x40);
        }

        return (ushort)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
    }
}
