using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>
/// Activation quantizers (float → Q8_0, Q8_1, Q8_K) on 256-bit vectors for AVX2. Byte-identical to
/// Scalar.ScalarQuantize for finite input (same argument as Portable.Vector128Quantize).
/// </summary>
internal static unsafe class Avx2Quantize
{
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K(float* x, byte* y, int n)
    {
        for (int b = 0; b < n / 256; b++, x += 256, y += 292)
        {
            var m = Vector256<float>.Zero;
            for (int i = 0; i < 256; i += 8)
            {
                m = Avx.Max(m, Vector256.Abs(Vector256.Load(x + i)));
            }

            float amax = HorizontalMax(m);
            if (amax == 0)
            {
                new Span<byte>(y, 292).Clear();
                continue;
            }

            float max = FirstWithMagnitude(x, amax);
            float iscale = -127f / max;
            var vs = Vector256.Create(iscale);
            var top = Vector256.Create(127);
            short* bsums = (short*)(y + 260);
            sbyte* qs = (sbyte*)(y + 4);
            for (int g = 0; g < 16; g += 2)
            {
                float* xg = x + 16 * g;
                var q0 = Vector256.Min(NearestInt(Vector256.Load(xg) * vs), top);
                var q1 = Vector256.Min(NearestInt(Vector256.Load(xg + 8) * vs), top);
                var q2 = Vector256.Min(NearestInt(Vector256.Load(xg + 16) * vs), top);
                var q3 = Vector256.Min(NearestInt(Vector256.Load(xg + 24) * vs), top);
                bsums[g] = (short)Vector256.Sum(q0 + q1);
                bsums[g + 1] = (short)Vector256.Sum(q2 + q3);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).Store(qs + 16 * g);
            }

            *(float*)y = 1 / iscale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AbsMax32(float* x)
    {
        var m0 = Avx.Max(Vector256.Abs(Vector256.Load(x)), Vector256.Abs(Vector256.Load(x + 8)));
        var m1 = Avx.Max(Vector256.Abs(Vector256.Load(x + 16)), Vector256.Abs(Vector256.Load(x + 24)));
        return HorizontalMax(Avx.Max(m0, m1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> m)
    {
        var h = Sse.Max(m.GetLower(), m.GetUpper());
        h = Sse.Max(h, Sse.MoveHighToLow(h, h));
        return MathF.Max(h.ToScalar(), h.GetElement(1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FirstWithMagnitude(float* x, float amax)
    {
        var target = Vector256.Create(amax);
        for (int i = 0; i < 256; i += 8)
        {
            uint hits = Vector256.Equals(Vector256.Abs(Vector256.Load(x + i)), target).ExtractMostSignificantBits();
            if (hits != 0)
            {
                return x[i + BitOperations.TrailingZeroCount(hits)];
            }
        }

        return amax; // unreachable for finite input
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Quantize32(float* x, float id, sbyte* q)
    {
        var vid = Vector256.Create(id);
        var i0 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(Vector256.Load(x) * vid));
        var i1 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(Vector256.Load(x + 8) * vid));
        var i2 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(Vector256.Load(x + 16) * vid));
        var i3 = Avx.ConvertToVector256Int32WithTruncation(RoundHalfAway(Vector256.Load(x + 24) * vid));
        Vector256.Narrow(Vector256.Narrow(i0, i1), Vector256.Narrow(i2, i3)).Store(q);
        return Vector256.Sum((i0 + i1) + (i2 + i3));
    }

    /// <summary>MathF.Round(v, AwayFromZero) exactly: trunc(v) + trunc(2·(v − trunc(v))) (see Vector128Quantize).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RoundHalfAway(Vector256<float> v)
    {
        var t = Avx.RoundToZero(v);
        return t + Avx.RoundToZero((v - t) * Vector256.Create(2f));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> NearestInt(Vector256<float> v) =>
        ((v + Vector256.Create(12582912f)).AsInt32() & Vector256.Create(0x007F_FFFF)) - Vector256.Create(0x0040_0000);
}
