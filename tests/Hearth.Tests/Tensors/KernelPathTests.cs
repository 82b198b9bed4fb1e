using System.Runtime.InteropServices;
using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// Every instruction-set path of the row kernels that this machine can run, called directly (not through the
/// dispatcher), against the scalar reference: quantized weights and random-bit weights, lengths of one and of many
/// blocks (and, for the float types, lengths that are not a multiple of any vector width), unaligned rows, and every
/// tile width. Run the suite with <c>DOTNET_EnableAVX512F=0</c> or <c>DOTNET_EnableHWIntrinsic=0</c> to take the
/// narrower paths through the same checks.
/// </summary>
public class KernelPathTests
{
    /// <summary>Relative tolerance for the paths that only reorder float additions (see <see cref="KernelPaths.Magnitude"/>).</summary>
    private const double Tolerance = 1e-6;

    public static TheoryData<string, GgmlType> PathsAndTypes()
    {
        var data = new TheoryData<string, GgmlType>();
        foreach (var isa in KernelPaths.Names)
        {
            foreach (var type in ComputableTypes)
            {
                data.Add(isa, type);
            }
        }

        return data;
    }

    public static TheoryData<string> PathNames()
    {
        var data = new TheoryData<string>();
        foreach (var isa in KernelPaths.Names)
        {
            data.Add(isa);
        }

        return data;
    }

    /// <summary>Lengths to test: one block, an odd number of blocks, many blocks; odd lengths for the float types.</summary>
    private static int[] Lengths(GgmlType type)
    {
        int block = Math.Max(GgmlTypes.Get(type).BlockSize, GgmlTypes.Get(Quants.VecDotType(type)).BlockSize);
        return block switch
        {
            1 => [1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 65, 100, 255, 257, 1000, 4099],
            32 => [32, 64, 96, 160, 800, 4096],
            _ => [256, 512, 768, 2304],
        };
    }

    [Fact]
    public void ScalarAndPortablePathsAreAlwaysAvailable()
    {
        Assert.Contains("Scalar", KernelPaths.Names);
        Assert.Contains("Portable", KernelPaths.Names);
        Assert.Contains(KernelIsas.Best.ToString(), KernelPaths.Names);
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void PathMatchesTheScalarReferenceOnQuantizedData(string isa, GgmlType type)
    {
        var dot = KernelPaths.Dot(isa, type);
        var reference = KernelPaths.ScalarDot(type);
        var pair = Quants.VecDotType(type);
        int seed = 1;
        foreach (int n in Lengths(type))
        {
            for (int trial = 0; trial < 2; trial++, seed++)
            {
                var w = Quantize(type, Gaussian(seed, n, sigma: 0.05f, mean: trial == 1 ? 0.02f : 0f));
                var a = Quantize(pair, Gaussian(seed + 1000, n, sigma: 2f));
                AssertMatches(type, isa, n, dot(w, a, n), reference(w, a, n), KernelPaths.Magnitude(type, w, a, n));
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void PathMatchesTheScalarReferenceOnRandomBits(string isa, GgmlType type)
    {
        // Random weight bytes reach every level, scale, min and high bit the packing allows.
        var dot = KernelPaths.Dot(isa, type);
        var reference = KernelPaths.ScalarDot(type);
        var pair = Quants.VecDotType(type);
        var rng = new Random(7 + (int)type);
        foreach (int n in Lengths(type))
        {
            for (int trial = 0; trial < 3; trial++)
            {
                var w = KernelPaths.RandomWeights(type, n, rng);
                var a = Quantize(pair, Gaussian(rng.Next(), n, sigma: 3f));
                AssertMatches(type, isa, n, dot(w, a, n), reference(w, a, n), KernelPaths.Magnitude(type, w, a, n));
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void PathGivesTheSameResultAtUnalignedAddresses(string isa, GgmlType type)
    {
        var dot = KernelPaths.Dot(isa, type);
        var pair = Quants.VecDotType(type);
        int n = Lengths(type)[^2];
        var w = Quantize(type, Gaussian(5, n, sigma: 0.1f));
        var a = Quantize(pair, Gaussian(6, n));
        float aligned = dot(w, a, n);
        foreach (var (wo, ao) in new[] { (1, 0), (0, 1), (3, 5), (7, 2), (13, 63) })
        {
            var ws = new byte[w.Length + wo];
            var acts = new byte[a.Length + ao];
            w.CopyTo(ws, wo);
            a.CopyTo(acts, ao);
            Assert.Equal(aligned, dot(ws.AsSpan(wo), acts.AsSpan(ao), n));
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public unsafe void EveryTileWidthGivesTheOneTokenResult(string isa, GgmlType type)
    {
        // The matmul tiles prompt batches; a token's result must not depend on the tile it was computed in.
        var kernels = KernelPaths.Kernels(isa, type);
        var actType = TypeTraits.Get(type).KernelActType;
        foreach (int n in Lengths(type).Take(3).Append(Lengths(type)[^1]))
        {
            var w = KernelPaths.RandomWeights(type, n, new Random(n));
            int actRow = (int)Quants.RowBytes(actType, n) + 8; // a stride that is not the row size
            var acts = new byte[actRow * 4];
            for (int t = 0; t < 4; t++)
            {
                var x = Gaussian(100 + t, n);
                if (actType == GgmlType.F32)
                {
                    // F16/BF16 kernels read floats holding half/bfloat16 values; F32 reads any float.
                    var rounded = type switch
                    {
                        GgmlType.F16 => x.Select(v => (float)(Half)v).ToArray(),
                        GgmlType.BF16 => x.Select(v => Bf16.ToFloat(Bf16.FromFloat(v))).ToArray(),
                        _ => x,
                    };
                    MemoryMarshal.AsBytes(rounded.AsSpan()).CopyTo(acts.AsSpan(t * actRow));
                }
                else
                {
                    Quants.Quantize(actType, x, acts.AsSpan(t * actRow));
                }
            }

            var one = new float[4];
            var tiled = new float[4 * 3];
            fixed (byte* pw = w)
            fixed (byte* pa = acts)
            fixed (float* py = one)
            fixed (float* pt = tiled)
            {
                for (int t = 0; t < 4; t++)
                {
                    kernels.One(pw, pa + t * actRow, 0, n, py + t, 0);
                }

                kernels.Two(pw, pa, actRow, n, pt, 3);
                kernels.Three(pw, pa, actRow, n, pt + 1, 3);
                kernels.Four(pw, pa, actRow, n, pt + 2, 3);
            }

            for (int t = 0; t < 4; t++)
            {
                if (t < 2)
                {
                    Assert.Equal(one[t], tiled[3 * t]);
                }

                if (t < 3)
                {
                    Assert.Equal(one[t], tiled[3 * t + 1]);
                }

                Assert.Equal(one[t], tiled[3 * t + 2]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathNames))]
    public void ZeroLengthIsZero(string isa)
    {
        foreach (var type in ComputableTypes)
        {
            Assert.Equal(0f, KernelPaths.Dot(isa, type)([], [], 0));
        }
    }

    private static void AssertMatches(GgmlType type, string isa, int n, float actual, float expected, double magnitude)
    {
        if (KernelPaths.IsBitExact(type))
        {
            Assert.True(BitConverter.SingleToInt32Bits(actual) == BitConverter.SingleToInt32Bits(expected),
                $"{isa} {type} n={n}: {actual:R} but the reference gives {expected:R} (these paths are bit-exact)");
            return;
        }

        double diff = Math.Abs((double)actual - expected);
        double bound = Tolerance * magnitude + 1e-30;
        Assert.True(diff <= bound,
            $"{isa} {type} n={n}: {actual:R} vs reference {expected:R}, |diff| {diff:G3} > {Tolerance:G1} x {magnitude:G6}");
    }
}
