using Hearth.Tensors;
using Xunit.Abstractions;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

public class QuantizeTests(ITestOutputHelper output)
{
    private const int N = 4096; // 16 super-blocks, 128 small blocks

    /// <summary>
    /// Upper bounds on RMSE / RMS for N(0,1) data, from the format: a uniform quantizer with step Δ has RMS error
    /// Δ/√12, and for Gaussian blocks the step is about (largest |x| in a block)/(levels on that side) or
    /// (range of a block)/(levels - 1). E[max |x|] over 32 samples ≈ 2.1σ, over 16 ≈ 1.8σ, over 256 ≈ 2.9σ;
    /// E[range] over 32 ≈ 4.1σ, over 16 ≈ 3.5σ. Each bound leaves 15-30% over that estimate for the half-precision
    /// scales and the asymmetric level sets (Q4_0 has 8 negative but 7 positive levels); the seeds are fixed.
    /// </summary>
    public static TheoryData<GgmlType, double> ErrorBounds() => new()
    {
        { GgmlType.F32, 0 },
        { GgmlType.F16, 0.0004 },  // 11-bit significand: rms relative error ≈ 2^-11 / √3 ≈ 0.028%
        { GgmlType.BF16, 0.003 },  // 8-bit significand: ≈ 2^-8 / √3 ≈ 0.23%
        { GgmlType.Q8_0, 0.006 },  // Δ = 2.1σ/127: 0.48%
        { GgmlType.Q8_1, 0.006 },
        { GgmlType.Q8_K, 0.008 },  // Δ = 2.9σ/127 over 256: 0.66%
        { GgmlType.Q6_K, 0.02 },   // Δ = 1.8σ/32 per 16: 1.6% (plus 8-bit scale rounding)
        { GgmlType.Q5_0, 0.05 },   // Δ = 2.1σ/16: 3.8%
        { GgmlType.Q5_1, 0.05 },   // Δ = 4.1σ/31: 3.8%
        { GgmlType.Q5_K, 0.05 },   // Δ = 4.1σ/31 per 32, 6-bit scales and mins
        { GgmlType.Q4_0, 0.095 },  // Δ = 2.1σ/8: 7.6%
        { GgmlType.Q4_1, 0.10 },   // Δ = 4.1σ/15: 7.9%
        { GgmlType.Q4_K, 0.10 },   // Δ = 4.1σ/15 per 32
        { GgmlType.Q3_K, 0.17 },   // Δ = 1.8σ/4 per 16: 13%, more with the asymmetric [-4, 3] levels (measured 15%)
        { GgmlType.Q2_K, 0.35 },   // Δ = 3.5σ/3 per 16: 34%; the MAD search trades RMS for robustness
    };

    [Theory]
    [MemberData(nameof(ErrorBounds))]
    public void GaussianErrorIsWithinTheFormatBound(GgmlType type, double bound)
    {
        var x = Gaussian(seed: 1234 + (int)type, N);
        var q = Quantize(type, x);
        Assert.Equal(Quants.RowBytes(type, N), q.Length);
        var y = Dequantize(type, q, N);
        double err = RelativeRmse(x, y);
        output.WriteLine($"{type}: relative RMSE {err:P3} (bound {bound:P2})");
        Assert.True(err <= bound, $"{type}: relative RMSE {err:P3} exceeds {bound:P2}");

        // A scaled copy of the data has the same relative error (the formats are scale invariant up to half rounding).
        var scaled = x.Select(v => v * 1e-3f).ToArray();
        double errScaled = RelativeRmse(scaled, Dequantize(type, Quantize(type, scaled), N));
        Assert.True(errScaled <= bound * 1.05 + 1e-6, $"{type}: scaled data error {errScaled:P3}");
    }

    [Theory]
    [MemberData(nameof(ErrorBounds))]
    public void ShiftedGaussianErrorIsWithinTheFormatBound(GgmlType type, double bound)
    {
        // A different seed and a non-zero mean (shifts the data within each block) must stay within the bound too.
        var x = Gaussian(seed: 99 + (int)type, N, sigma: 1f, mean: 0.3f);
        var y = Dequantize(type, Quantize(type, x), N);
        double err = RelativeRmse(x, y);
        Assert.True(err <= bound, $"{type}: relative RMSE {err:P3} exceeds {bound:P2}");
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void AllZerosStayExactlyZero(GgmlType type)
    {
        var x = new float[512];
        var q = Quantize(type, x);
        var y = Dequantize(type, q, x.Length);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void RoundTripIsStable(GgmlType type)
    {
        // Quantizing already-dequantized values must not drift: the second round trip changes them by at most the
        // first round's error (and the symmetric formats reproduce them exactly, since every value sits on the grid).
        var x = Gaussian(seed: 7 + (int)type, 1024);
        var y1 = Dequantize(type, Quantize(type, x), x.Length);
        var y2 = Dequantize(type, Quantize(type, y1), x.Length);
        if (type is GgmlType.F32 or GgmlType.F16 or GgmlType.BF16 or GgmlType.Q8_0 or GgmlType.Q8_1 or GgmlType.Q4_0 or GgmlType.Q5_0)
        {
            Assert.Equal(y1, y2);
        }
        else
        {
            Assert.True(RelativeRmse(y1, y2) <= RelativeRmse(x, y1) + 1e-6);
        }
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void SingleLargeOutlierKeepsItsValueAndTheRestStaysSmall(GgmlType type)
    {
        var x = Gaussian(seed: 3, 256, sigma: 0.01f);
        const int at = 77;
        x[at] = 100f;
        var y = Dequantize(type, Quantize(type, x), x.Length);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));

        // The outlier sets the block scale, so it is reproduced closely (it is on the grid, up to scale rounding)...
        Assert.True(Math.Abs(y[at] - 100f) <= 100f * 0.02f, $"{type}: outlier became {y[at]}");

        // ...and every other value is off by at most about one quantization step of that scale.
        int levels = type switch
        {
            GgmlType.Q2_K => 3, GgmlType.Q3_K => 4, GgmlType.Q4_0 or GgmlType.Q4_1 => 8,
            GgmlType.Q4_K => 15, GgmlType.Q5_0 or GgmlType.Q5_1 => 16, GgmlType.Q5_K => 31, GgmlType.Q6_K => 32,
            _ => 127,
        };
        for (int i = 0; i < x.Length; i++)
        {
            Assert.True(Math.Abs(y[i] - x[i]) <= 100f / levels, $"{type}: element {i} {x[i]} became {y[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void NegativeOnlyBlocksStayNegative(GgmlType type)
    {
        var rng = new Random(17);
        var x = new float[512];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = -(0.5f + (float)rng.NextDouble());
        }

        var y = Dequantize(type, Quantize(type, x), x.Length);
        double err = RelativeRmse(x, y);
        Assert.True(err < 0.25, $"{type}: relative RMSE {err:P2}");
        Assert.All(y, v => Assert.True(v < 0, $"{type}: produced {v}"));
    }

    [Theory]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q5_1)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q5_K)]
    [InlineData(GgmlType.Q2_K)]
    public void FormatsWithAMinCoverAnOffsetRange(GgmlType type)
    {
        // Data in [-11, -10]: the min carries the offset, so the error is relative to the spread, not to the offset.
        // (The K-quants only subtract a min, i.e. their offset is never positive; Q4_1 / Q5_1 take either sign.)
        var rng = new Random(23);
        var x = new float[256];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = -11f + (float)rng.NextDouble();
        }

        var y = Dequantize(type, Quantize(type, x), x.Length);
        double maxErr = x.Zip(y, (a, b) => Math.Abs((double)a - b)).Max();
        Assert.True(maxErr < 0.5, $"{type}: max error {maxErr}");
    }

    [Fact]
    public void Q8_0RoundsHalvesAwayFromZeroWithUnroundedScale()
    {
        // amax = 127 -> d = 1 exactly; values at .5 go away from zero (roundf), unlike the K-quants' nearest_int.
        var x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = 0.5f;
        x[4] = -3.5f;
        var q = Quantize(GgmlType.Q8_0, x);
        var b = System.Runtime.InteropServices.MemoryMarshal.Read<BlockQ8_0>(q);
        Assert.Equal(1f, (float)b.D);
        Assert.Equal(127, b.Qs[0]);
        Assert.Equal(3, b.Qs[1]);
        Assert.Equal(-3, b.Qs[2]);
        Assert.Equal(1, b.Qs[3]);
        Assert.Equal(-4, b.Qs[4]);
    }

    [Fact]
    public void Q8_KUsesTheSignedMaximumAndPerSixteenSums()
    {
        var x = Gaussian(seed: 8, 512);
        x[300] = -9f; // largest magnitude of the second super-block, negative
        var q = Quantize(GgmlType.Q8_K, x);
        var blocks = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlockQ8_K>(q);
        Assert.Equal(-9f / -127f, blocks[1].D, 6); // the signed maximum maps to -127, so d > 0 here
        Assert.Equal(-127, blocks[1].Qs[300 - 256]);
        for (int b = 0; b < 2; b++)
        {
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int l = 0; l < 16; l++)
                {
                    sum += blocks[b].Qs[16 * j + l];
                }

                Assert.Equal(sum, blocks[b].BSums[j]);
            }
        }
    }

    [Fact]
    public void Q8_1StoresDTimesTheSumOfQuants()
    {
        var x = Gaussian(seed: 9, 64);
        var q = Quantize(GgmlType.Q8_1, x);
        foreach (var b in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BlockQ8_1>(q).ToArray())
        {
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                sum += b.Qs[j];
            }

            // s is computed from the unrounded d, so it agrees with sum * (stored d) to about half precision.
            float approx = sum * (float)b.D;
            Assert.True(Math.Abs((float)b.S - approx) <= 2e-3f * Math.Abs(approx) + 1e-6f, $"s {(float)b.S} vs {approx}");
        }
    }

    [Fact]
    public void QuantizeValidatesSizes()
    {
        Assert.Throws<ArgumentException>(() => Quants.Quantize(GgmlType.Q4_K, new float[255], new byte[144]));
        Assert.Throws<ArgumentException>(() => Quants.Quantize(GgmlType.Q4_K, new float[256], new byte[143]));
        Assert.Throws<ArgumentException>(() => Quants.Quantize(GgmlType.Q8_0, new float[33], new byte[68]));
        Assert.Throws<NotSupportedException>(() => Quants.Quantize(GgmlType.IQ4_NL, new float[32], new byte[18]));
        Assert.Throws<ArgumentException>(() => Quants.RowBytes(GgmlType.Q4_0, 31));
        Assert.Equal(144 * 3, Quants.RowBytes(GgmlType.Q4_K, 768));
    }

    [Fact]
    public void QuantizeOverwritesStaleBytes()
    {
        // Buffers are reused for every token: stale contents must not leak into any block field.
        foreach (var type in ComputableTypes)
        {
            var x = Gaussian(seed: 31, 512);
            var clean = Quantize(type, x);
            var dirty = Enumerable.Repeat((byte)0xA5, clean.Length).ToArray();
            Quants.Quantize(type, x, dirty);
            Assert.True(clean.AsSpan().SequenceEqual(dirty), $"{type}: result depends on the old buffer contents");

            var zeros = new float[512];
            var cleanZero = Quantize(type, zeros);
            Quants.Quantize(type, zeros, dirty);
            Assert.True(cleanZero.AsSpan().SequenceEqual(dirty), $"{type}: all-zero result depends on the old buffer contents");
        }
    }
}
