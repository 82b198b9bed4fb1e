using System.Runtime.CompilerServices;

namespace Hearth.Tensors;

/// <summary>
/// IEEE 754 binary16 ("half", ggml's <c>ggml_half</c>) conversions. Both directions are exact in the IEEE sense:
/// half to float is lossless, float to half rounds to nearest with ties to even, overflows to infinity and keeps NaN a NaN,
/// which is what ggml's <c>GGML_FP32_TO_FP16</c> does (F16C <c>vcvtps2ph</c> with round-to-nearest, or its software twin).
/// </summary>
public static class Fp16
{
    /// <summary>The float value of the half whose bit pattern is <paramref name="bits"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>The bit pattern of <paramref name="value"/> rounded to the nearest half (ties to even).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromFloat(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>The float value of <paramref name="value"/> (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(Half value) => (float)value;

    /// <summary><paramref name="value"/> rounded to the nearest half, ties to even.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Half ToHalf(float value) => (Half)value;

    /// <summary>
    /// Rounds <paramref name="value"/> through half precision and back, which is what storing a scale in a block does:
    /// <c>GGML_FP16_TO_FP32(GGML_FP32_TO_FP16(x))</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => (float)(Half)value;
}
