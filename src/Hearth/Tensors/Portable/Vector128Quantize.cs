using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors.Portable;

/// <summary>
/// Activation quantizers (float → Q8_0, Q8_1, Q8_K) on 128-bit vectors, cross-platform API only (NEON on Arm, SSE on
/// x86, software elsewhere). Byte-identical to Scalar.ScalarQuantize for finite input: the block maximum is exact in any
/// order, the scales come from the same scalar expressions, and the per-element float products and roundings are the
/// same IEEE operations (see <see cref="RoundHalfAway"/> and <see cref="NearestInt"/>).
/// </summary>
internal static unsafe class Vector128Quantize
{
    /// <summary>Q8_0: d = amax/127 stored as half, q = round-half-away(x · (1/d)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += 34)
        {
            float amax = AbsMax32(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            *(Half*)y = (Half)d;
            Quantize32(x, id, (sbyte*)(y + 2));
        }
    }

    /// <summary>Q8_1: as Q8_0, plus s = d · Σq stored as half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_1(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 32; b++, x += 32, y += 36)
        {
            float amax = AbsMax32(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            *(Half*)y = (Half)d;
            int sum = Quantize32(x, id, (sbyte*)(y + 4));
            *(Half*)(y + 2) = (Half)(sum * d);
        }
    }

    /// <summary>
    /// Q8_K: the value of largest magnitude (the first one on ties) maps to -127: iscale = -127/max, q = min(127,
    /// nearest_int(iscale · x)), d = 1/iscale as float, and the sums of each 16 levels in bsums. An all-zero block is all
    /// zeros, bsums included.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 256; b++, x += 256, y += 292)
        {
            var m = Vector128<float>.Zero;
            for (int i = 0; i < 256; i += 4)
            {
                m = Vector128.Max(m, Vector128.Abs(Vector128.Load(x + i)));
            }

            float amax = HorizontalMax(m);
            if (amax == 0)
            {
                new Span<byte>(y, 292).Clear();
                continue;
            }

            float max = FirstWithMagnitude(x, amax);
            float iscale = -127f / max;
            var vs = Vector128.Create(iscale);
            short* bsums = (short*)(y + 260);
            sbyte* qs = (sbyte*)(y + 4);
            for (int g = 0; g < 16; g++)
            {
                float* xg = x + 16 * g;
                var top = Vector128.Create(127);
                var q0 = Vector128.Min(NearestInt(Vector128.Load(xg) * vs), top);
                var q1 = Vector128.Min(NearestInt(Vector128.Load(xg + 4) * vs), top);
                var q2 = Vector128.Min(NearestInt(Vector128.Load(xg + 8) * vs), top);
                var q3 = Vector128.Min(NearestInt(Vector128.Load(xg + 12) * vs), top);
                bsums[g] = (short)Vector128.Sum((q0 + q1) + (q2 + q3));
                Vector128.Narrow(Vector128.Narrow(q0, q1), Vector128.Narrow(q2, q3)).Store(qs + 16 * g);
            }

            *(float*)y = 1 / iscale;
        }
    }

    /// <summary>max |x| over 32 floats (exact in any order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AbsMax32(float* x)
    {
        var m0 = Vector128.Max(Vector128.Abs(Vector128.Load(x)), Vector128.Abs(Vector128.Load(x + 4)));
        var m1 = Vector128.Max(Vector128.Abs(Vector128.Load(x + 8)), Vector128.Abs(Vector128.Load(x + 12)));
        var m2 = Vector128.Max(Vector128.Abs(Vector128.Load(x + 16)), Vector128.Abs(Vector128.Load(x + 20)));
        var m3 = Vector128.Max(Vector128.Abs(Vector128.Load(x + 24)), Vector128.Abs(Vector128.Load(x + 28)));
        return HorizontalMax(Vector128.Max(Vector128.Max(m0, m1), Vector128.Max(m2, m3)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector128<float> m) =>
        MathF.Max(MathF.Max(m.GetElement(0), m.GetElement(1)), MathF.Max(m.GetElement(2), m.GetElement(3)));

    /// <summary>The first element whose magnitude is <paramref name="amax"/> (ScalarQuantize's SignedMax keeps the first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FirstWithMagnitude(float* x, float amax)
    {
        var target = Vector128.Create(amax);
        for (int i = 0; i < 256; i += 4)
        {
            uint hits = Vector128.Equals(Vector128.Abs(Vector128.Load(x + i)), target).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return x[i + BitOperations.TrailingZeroCount(hits)];
            }
        }

        return amax; // unreachable for finite input
    }

    /// <summary>Quantizes 32 floats by <paramref name="id"/> with round-half-away; returns the sum of the levels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Quantize32(float* x, float id, sbyte* q)
    {
        var vid = Vector128.Create(id);
        var sum = Vector128<int>.Zero;
        for (int k = 0; k < 32; k += 16)
        {
            var i0 = Vector128.ConvertToInt32(RoundHalfAway(Vector128.Load(x + k) * vid));
            var i1 = Vector128.ConvertToInt32(RoundHalfAway(Vector128.Load(x + k + 4) * vid));
            var i2 = Vector128.ConvertToInt32(RoundHalfAway(Vector128.Load(x + k + 8) * vid));
            var i3 = Vector128.ConvertToInt32(RoundHalfAway(Vector128.Load(x + k + 12) * vid));
            sum += (i0 + i1) + (i2 + i3);
            Vector128.Narrow(Vector128.Narrow(i0, i1), Vector128.Narrow(i2, i3)).Store(q + k);
        }

        return Vector128.Sum(sum);
    }

    /// <summary>
    /// MathF.Round(v, MidpointRounding.AwayFromZero), exactly: t = trunc(v) and f = v − t are exact, and trunc(2f) is ±1
    /// precisely when |f| ≥ 0.5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> RoundHalfAway(Vector128<float> v)
    {
        var t = Vector128.Truncate(v);
        return t + Vector128.Truncate((v - t) * Vector128.Create(2f));
    }

    /// <summary>ggml's nearest_int: add 1.5·2^23 in float and read the mantissa (ties to even; exact for |v| ≤ 2^22).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<int> NearestInt(Vector128<float> v) =>
        ((v + Vector128.Create(12582912f)).AsInt32() & Vector128.Create(0x007F_FFFF)) - Vector128.Create(0x0040_0000);
}
