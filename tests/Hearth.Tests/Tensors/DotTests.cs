using System.Runtime.InteropServices;
using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

public class DotTests
{
    private const int N = 768; // three super-blocks, 24 small blocks

    [Fact]
    public void PairingsAreGgmlsCpuVecDotTypes()
    {
        // ggml-cpu.c type_traits_cpu[].vec_dot_type
        Assert.Equal(GgmlType.F32, Quants.VecDotType(GgmlType.F32));
        Assert.Equal(GgmlType.F16, Quants.VecDotType(GgmlType.F16));
        Assert.Equal(GgmlType.BF16, Quants.VecDotType(GgmlType.BF16));
        Assert.Equal(GgmlType.Q8_0, Quants.VecDotType(GgmlType.Q4_0));
        Assert.Equal(GgmlType.Q8_0, Quants.VecDotType(GgmlType.Q5_0));
        Assert.Equal(GgmlType.Q8_0, Quants.VecDotType(GgmlType.Q8_0));
        Assert.Equal(GgmlType.Q8_1, Quants.VecDotType(GgmlType.Q4_1));
        Assert.Equal(GgmlType.Q8_1, Quants.VecDotType(GgmlType.Q5_1));
        Assert.Equal(GgmlType.Q8_K, Quants.VecDotType(GgmlType.Q2_K));
        Assert.Equal(GgmlType.Q8_K, Quants.VecDotType(GgmlType.Q3_K));
        Assert.Equal(GgmlType.Q8_K, Quants.VecDotType(GgmlType.Q4_K));
        Assert.Equal(GgmlType.Q8_K, Quants.VecDotType(GgmlType.Q5_K));
        Assert.Equal(GgmlType.Q8_K, Quants.VecDotType(GgmlType.Q6_K));
        Assert.Throws<NotSupportedException>(() => Quants.VecDotType(GgmlType.IQ2_XS));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quants.VecDotType((GgmlType)4));
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void DotOfQuantizedDataMatchesTheDequantizedReference(GgmlType type)
    {
        for (int trial = 0; trial < 4; trial++)
        {
            var w = Quantize(type, Gaussian(seed: 100 + trial, N, sigma: 0.05f, mean: trial == 3 ? 0.02f : 0f));
            var a = Quantize(Quants.VecDotType(type), Gaussian(seed: 200 + trial, N, sigma: 2f));
            AssertDotMatchesReference(type, w, a, N);
        }
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void DotOfRandomBitBlocksMatchesTheDequantizedReference(GgmlType type)
    {
        // Random bytes reach every scale, min and level the packing allows (quantizers use only some); only the
        // float scale fields are replaced with tame values so the blocks hold no NaN or infinity.
        var rng = new Random(41 + (int)type);
        for (int trial = 0; trial < 4; trial++)
        {
            var w = new byte[Quants.RowBytes(type, N)];
            rng.NextBytes(w);
            TameScales(type, w, rng);
            var a = Quantize(Quants.VecDotType(type), Gaussian(seed: 300 + trial, N));
            AssertDotMatchesReference(type, w, a, N);
        }
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void DotUsesOnlyTheFirstNElements(GgmlType type)
    {
        var info = GgmlTypes.Get(type);
        int n = Math.Max(info.BlockSize, GgmlTypes.Get(Quants.VecDotType(type)).BlockSize);
        var w = Quantize(type, Gaussian(seed: 1, 2 * n));
        var a = Quantize(Quants.VecDotType(type), Gaussian(seed: 2, 2 * n));
        float full = Quants.Dot(type, w, a, n);
        var wShort = w.AsSpan(0, (int)Quants.RowBytes(type, n));
        var aShort = a.AsSpan(0, (int)Quants.RowBytes(Quants.VecDotType(type), n));
        Assert.Equal(full, Quants.Dot(type, wShort, aShort, n));
        Assert.Equal(0f, Quants.Dot(type, w, a, 0));
    }

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void KernelsWorkAtUnalignedOffsets(GgmlType type)
    {
        var pair = Quants.VecDotType(type);
        var w = Quantize(type, Gaussian(seed: 12, N));
        var a = Quantize(pair, Gaussian(seed: 13, N));
        float expectedDot = Quants.Dot(type, w, a, N);
        var expectedValues = Dequantize(type, w, N);
        for (int offset = 1; offset < 4; offset++)
        {
            var wShifted = new byte[w.Length + offset];
            var aShifted = new byte[a.Length + 4 - offset];
            w.CopyTo(wShifted, offset);
            a.CopyTo(aShifted, 4 - offset);
            Assert.Equal(expectedDot, Quants.Dot(type, wShifted.AsSpan(offset), aShifted.AsSpan(4 - offset), N));
            Assert.Equal(expectedValues, Dequantize(type, wShifted.AsSpan(offset), N));

            var requantized = new byte[w.Length + offset];
            Quants.Quantize(type, expectedValues, requantized.AsSpan(offset));
            Assert.True(Quantize(type, expectedValues).AsSpan().SequenceEqual(requantized.AsSpan(offset)));
        }
    }

    [Fact]
    public void DotValidatesArguments()
    {
        var w = new byte[144 * 2];
        var a = new byte[292 * 2];
        Assert.Throws<ArgumentException>(() => Quants.Dot(GgmlType.Q4_K, w, a, 128));
        Assert.Throws<ArgumentException>(() => Quants.Dot(GgmlType.Q4_K, w, a, 768));
        Assert.Throws<ArgumentException>(() => Quants.Dot(GgmlType.Q4_K, w, a.AsSpan(0, 500), 512));
        Assert.Throws<ArgumentException>(() => Quants.Dot(GgmlType.Q4_K, w, a, -256));
        Assert.Throws<ArgumentException>(() => Quants.Dot(GgmlType.Q4_0, new byte[18], new byte[33], 32));
        Assert.Throws<NotSupportedException>(() => Quants.Dot(GgmlType.IQ3_S, new byte[110], a, 256));
    }

    [Fact]
    public void Q8_0DotIsExactForSmallIntegers()
    {
        // With d = 1 in both blocks the dot is an integer sum that float represents exactly.
        var x = new float[64];
        var y = new float[64];
        for (int i = 0; i < 64; i++)
        {
            x[i] = i % 2 == 0 ? (i % 127) : -(i % 127);
            y[i] = (i * 7) % 127 - 63;
        }

        x[0] = 127;
        x[32] = 127;
        y[0] = 127;
        y[32] = -127;
        long expected = 0;
        for (int i = 0; i < 64; i++)
        {
            expected += (long)x[i] * (long)y[i];
        }

        Assert.Equal(expected, (long)Quants.Dot(GgmlType.Q8_0, Quantize(GgmlType.Q8_0, x), Quantize(GgmlType.Q8_0, y), 64));
    }

    internal static void AssertDotMatchesReference(GgmlType type, byte[] w, byte[] a, int n)
    {
        float got = Quants.Dot(type, w, a, n);
        double expected = ReferenceDot(type, w, a, n, out double magnitude);

        // Integer sums are exact; what is left is float32 rounding of one product and one sum per block.
        double tolerance = 2e-6 * magnitude + 1e-30;
        Assert.True(Math.Abs(got - expected) <= tolerance,
            $"{type}: dot {got} vs reference {expected} (|diff| {Math.Abs(got - expected):G3}, tolerance {tolerance:G3})");
    }

    /// <summary>Overwrites the float fields of random blocks with small positive or negative halves / floats.</summary>
    internal static void TameScales(GgmlType type, byte[] bytes, Random rng)
    {
        Half H() => (Half)((float)(rng.NextDouble() * 0.02 + 0.001) * (rng.Next(2) == 0 ? 1 : -1));
        switch (type)
        {
            case GgmlType.F32:
                var f = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
                for (int i = 0; i < f.Length; i++)
                {
                    f[i] = (float)(rng.NextDouble() * 2 - 1);
                }

                break;
            case GgmlType.F16:
                var h = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
                for (int i = 0; i < h.Length; i++)
                {
                    h[i] = (Half)(rng.NextDouble() * 2 - 1);
                }

                break;
            case GgmlType.BF16:
                var b = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
                for (int i = 0; i < b.Length; i++)
                {
                    b[i] = Bf16.FromFloat((float)(rng.NextDouble() * 2 - 1));
                }

                break;
            case GgmlType.Q4_0: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ4_0>(bytes.AsSpan())) { blk.D = H(); } break;
            case GgmlType.Q4_1: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ4_1>(bytes.AsSpan())) { blk.D = H(); blk.M = H(); } break;
            case GgmlType.Q5_0: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ5_0>(bytes.AsSpan())) { blk.D = H(); } break;
            case GgmlType.Q5_1: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ5_1>(bytes.AsSpan())) { blk.D = H(); blk.M = H(); } break;
            case GgmlType.Q8_0: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ8_0>(bytes.AsSpan())) { blk.D = H(); } break;
            case GgmlType.Q8_1: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ8_1>(bytes.AsSpan())) { blk.D = H(); blk.S = H(); } break;
            case GgmlType.Q2_K: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ2_K>(bytes.AsSpan())) { blk.D = H(); blk.DMin = H(); } break;
            case GgmlType.Q3_K: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ3_K>(bytes.AsSpan())) { blk.D = H(); } break;
            case GgmlType.Q4_K: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ4_K>(bytes.AsSpan())) { blk.D = H(); blk.DMin = H(); } break;
            case GgmlType.Q5_K: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ5_K>(bytes.AsSpan())) { blk.D = H(); blk.DMin = H(); } break;
            case GgmlType.Q6_K: foreach (ref var blk in MemoryMarshal.Cast<byte, BlockQ6_K>(bytes.AsSpan())) { blk.D = H(); } break;
            case GgmlType.Q8_K:
                // A Q8_K weight must carry consistent bsums, so it is produced by quantizing rather than by random bytes.
                Quants.Quantize(GgmlType.Q8_K, Gaussian(rng.Next(), bytes.Length / 292 * 256), bytes);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }
}
