using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>
/// Activation quantizers (float → Q8_0, Q8_1, Q8_K) on 512-bit vectors for AVX-512. Byte-identical to
/// Scalar.ScalarQuantize for finite input (same argument as Portable.Vector128Quantize).
/// </summary>
internal static unsafe class Avx512Quantize
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
            var m = Vector512<float>.Zero;
            for (int i = 0; i < 256; i += 16)
            {
                m = Avx512F.Max(m, Vector512.Abs(Vector512.Load(x + i)));
            }

            float amax = HorizontalMax(m);
            if (amax == 0)
            {
                new Span<byte>(y, 292).Clear();
                continue;
            }

            float max = FirstWithMagnitude(x, amax);
            float iscale = -127f / max;
            var vs = Vector512.Create(iscale);
            var top = Vector512.Create(127);
            short* bsums = (short*)(y + 260);
            sbyte* qs = (sbyte*)(y + 4);
            for (int g = 0; g < 16; g++)
            {
                var q = Vector512.Min(NearestInt(Vector512.Load(x + 16 * g) * vs), top);
                bsums[g] = (short)Vector512.Sum(q);
                Avx512F.ConvertToVector128SByte(q).Store(qs + 16 * g);
            }

            *(float*)y = 1 / iscale;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float AbsMax32(float* x)
    {
        var m = Avx512F.Max(Vector512.Abs(Vector512.Load(x)), Vector512.Abs(Vector512.Load(x + 16)));
        return HorizontalMax(m);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector512<float> m)
    {
        var h8 = Avx.Max(m.GetLower(), m.GetUpper());
        var h = Sse.Max(h8.GetLower(), h8.GetUpper());
        h = Sse.Max(h, Sse.MoveHighToLow(h, h));
        return MathF.Max(h.ToScalar(), h.GetElement(1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float FirstWithMagnitude(float* x, float amax)
    {
        var target = Vector512.Create(amax);
        for (int i = 0; i < 256; i += 16)
        {
            ulong hits = Vector512.Equals(Vector512.Abs(Vector512.Load(x + i)), target).ExtractMostSignificantBits();
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
        var vid = Vector512.Create(id);
        var i0 = Avx512F.ConvertToVector512Int32WithTruncation(RoundHalfAway(Vector512.Load(x) * vid));
        var i1 = Avx512F.ConvertToVector512Int32WithTruncation(RoundHalfAway(Vector512.Load(x + 16) * vid));
        Avx512F.ConvertToVector128SByte(i0).Store(q);
        Avx512F.ConvertToVector128SByte(i1).Store(q + 16);
        return Vector512.Sum(i0 + i1);
    }

    /// <summary>MathF.Round(v, AwayFromZero) exactly: trunc(v) + trunc(2·(v − trunc(v))) (see Vector128Quantize).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RoundHalfAway(Vector512<float> v)
    {
        var t = Vector512.Truncate(v);
        return t + Vector512.Truncate((v - t) * Vector512.Create(2f));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> NearestInt(Vector512<float> v) =>
        ((v + Vector512.Create(12582912f)).AsInt32() & Vector512.Create(0x007F_FFFF)) - Vector512.Create(0x0040_0000);
}
