using Hearth.Tensors;

namespace Hearth.Tests.Tensors;

public class FloatConversionTests
{
    [Theory]
    [InlineData(1.0f, (ushort)0x3C00)]
    [InlineData(-2.0f, (ushort)0xC000)]
    [InlineData(65504f, (ushort)0x7BFF)]      // largest finite half
    [InlineData(65520f, (ushort)0x7C00)]      // halfway to 2^16 rounds (to even) up to infinity
    [InlineData(5.9604645e-8f, (ushort)0x0001)] // smallest subnormal, 2^-24
    [InlineData(0.1f, (ushort)0x2E66)]
    [InlineData(0.0f, (ushort)0x0000)]
    [InlineData(-0.0f, (ushort)0x8000)]
    [InlineData(2049f, (ushort)0x6800)]       // tie between 2048 and 2050 goes to the even mantissa (2048)
    [InlineData(2051f, (ushort)0x6802)]       // tie between 2050 and 2052 goes to 2052
    public void FloatToHalfKnownValues(float value, ushort bits) => Assert.Equal(bits, Fp16.FromFloat(value));

    [Fact]
    public void EveryHalfRoundTripsThroughFloat()
    {
        for (int i = 0; i < 65536; i++)
        {
            ushort h = (ushort)i;
            float f = Fp16.ToFloat(h);
            if (float.IsNaN(f))
            {
                Assert.True((h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0);
                Assert.True(float.IsNaN(Fp16.ToFloat(Fp16.FromFloat(f))));
                continue;
            }

            Assert.Equal(h, Fp16.FromFloat(f));
        }
    }

    [Fact]
    public void FloatToHalfRoundsToNearestEven()
    {
        // Independent check: the chosen half is at least as close as both neighbours, and on a tie its mantissa is even.
        var rng = new Random(11);
        for (int i = 0; i < 20000; i++)
        {
            float f = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-26, 16)));
            ushort h = Fp16.FromFloat(f);
            double chosen = Fp16.ToFloat(h);
            double err = Math.Abs(chosen - f);
            foreach (var neighbour in new[] { BitConverter.HalfToUInt16Bits(Half.BitIncrement(BitConverter.UInt16BitsToHalf(h))), BitConverter.HalfToUInt16Bits(Half.BitDecrement(BitConverter.UInt16BitsToHalf(h))) })
            {
                double other = Fp16.ToFloat(neighbour);
                if (double.IsInfinity(other))
                {
                    continue;
                }

                double otherErr = Math.Abs(other - f);
                Assert.True(err <= otherErr, $"{f}: chose {chosen}, but {other} is closer");
                if (err == otherErr)
                {
                    Assert.True((h & 1) == 0, $"{f}: tie must go to the even mantissa");
                }
            }
        }
    }

    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1.0
    [InlineData(0x3F808000u, (ushort)0x3F80)] // exact tie, even stays
    [InlineData(0x3F818000u, (ushort)0x3F82)] // exact tie, odd rounds up to even
    [InlineData(0x3F808001u, (ushort)0x3F81)] // just above the tie
    [InlineData(0x7F800000u, (ushort)0x7F80)] // +inf
    [InlineData(0xFF800000u, (ushort)0xFF80)] // -inf
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // float max rounds up to infinity, as ggml does
    [InlineData(0x7FC00000u, (ushort)0x7FC0)] // quiet NaN
    [InlineData(0x7F800001u, (ushort)0x7FC0)] // signalling NaN becomes quiet, not infinity
    [InlineData(0xFFA00000u, (ushort)0xFFE0)] // negative NaN keeps sign and payload top bits, quiet bit forced
    public void FloatToBf16MatchesGgml(uint floatBits, ushort expected) =>
        Assert.Equal(expected, Bf16.FromFloat(BitConverter.UInt32BitsToSingle(floatBits)));

    [Fact]
    public void Bf16WidensByShiftAndRoundsToNearest()
    {
        var rng = new Random(5);
        for (int i = 0; i < 20000; i++)
        {
            uint bits = (uint)rng.NextInt64(0, 1L << 32);
            float f = BitConverter.UInt32BitsToSingle(bits);
            if (!float.IsFinite(f))
            {
                continue;
            }

            ushort b = Bf16.FromFloat(f);
            Assert.Equal(BitConverter.UInt32BitsToSingle((uint)b << 16), Bf16.ToFloat(b));

            // Truncation and truncation + 1 ulp bracket the value; the result is the nearer (ties to even).
            ushort lo = (ushort)(bits >> 16);
            double dLo = Math.Abs((double)Bf16.ToFloat(lo) - f);
            double hi = Bf16.ToFloat((ushort)(lo + 1));
            if (double.IsInfinity(hi))
            {
                hi = Math.CopySign(Math.Pow(2, 128), f); // IEEE rounding treats overflow as the next power of two
            }

            double dHi = Math.Abs(hi - f);
            ushort expected = dLo < dHi ? lo : dHi < dLo ? (ushort)(lo + 1) : ((lo & 1) == 0 ? lo : (ushort)(lo + 1));
            Assert.Equal(expected, b);
        }
    }
}
