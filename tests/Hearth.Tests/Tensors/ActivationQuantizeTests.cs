using Hearth.Tensors;
using Hearth.Tensors.Scalar;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// The SIMD activation quantizers of every path this machine runs produce exactly the bytes of the scalar reference
/// (which GgmlGoldenTests ties to ggml), on data built to hit the edge cases: ties at .5 after scaling, a block maximum
/// that appears with both signs, all-zero and constant blocks, tiny and huge magnitudes.
/// </summary>
public class ActivationQuantizeTests
{
    public static TheoryData<string, GgmlType> PathsAndFormats()
    {
        var data = new TheoryData<string, GgmlType>();
        foreach (var isa in KernelPaths.Names)
        {
            foreach (var type in new[] { GgmlType.Q8_0, GgmlType.Q8_1, GgmlType.Q8_K })
            {
                data.Add(isa, type);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndFormats))]
    public void PathIsByteIdenticalToTheScalarQuantizer(string isa, GgmlType type)
    {
        var quantize = ActivationQuantizers.Get(KernelPaths.Parse(isa), type)!;
        QuantizeRowKernel reference = type switch
        {
            GgmlType.Q8_0 => ScalarQuantize.Q8_0,
            GgmlType.Q8_1 => ScalarQuantize.Q8_1,
            _ => ScalarQuantize.Q8_K,
        };
        foreach (var x in Inputs())
        {
            var expected = new byte[Quants.RowBytes(type, x.Length)];
            var actual = new byte[expected.Length];
            Array.Fill(actual, (byte)0xCD); // every byte must be written, bsums of zero blocks included
            reference(x, expected);
            quantize(x, actual);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.True(expected[i] == actual[i], $"{isa} {type}: byte {i} is {actual[i]:x2}, the reference wrote {expected[i]:x2}");
            }
        }
    }

    [Fact]
    public void TheDispatchedQuantizerIsTheBestPath()
    {
        var x = Gaussian(3, 1024);
        foreach (var type in new[] { GgmlType.Q8_0, GgmlType.Q8_1, GgmlType.Q8_K })
        {
            var viaQuants = Quantize(type, x);
            var direct = new byte[viaQuants.Length];
            ActivationQuantizers.Get(KernelIsas.Best, type)!(x, direct);
            Assert.Equal(direct, viaQuants);
        }
    }

    /// <summary>Rows of 1024 floats (four Q8_K blocks, 32 Q8_0 blocks) covering the edge cases.</summary>
    private static IEnumerable<float[]> Inputs()
    {
        yield return Gaussian(1, 1024);
        yield return Gaussian(2, 1024, sigma: 1e-3f, mean: 0.5e-3f);
        yield return Gaussian(4, 1024, sigma: 3e4f);

        // Exact ties: with amax = 127 the scale is 1 and values k + 0.5 must round away from zero.
        var ties = new float[1024];
        for (int i = 0; i < ties.Length; i++)
        {
            ties[i] = i % 32 == 0 ? 127f : ((i % 254) - 127) + (i % 2 == 0 ? 0.5f : -0.5f);
        }

        yield return ties;

        // The largest magnitude with both signs (first one wins in Q8_K), zero blocks, constant blocks, one outlier.
        var mixed = Gaussian(5, 1024);
        mixed[3] = -9f;
        mixed[200] = 9f;
        Array.Clear(mixed, 256, 256);
        for (int i = 512; i < 544; i++)
        {
            mixed[i] = 0.75f;
        }

        mixed[900] = 1e6f;
        yield return mixed;

        var tiny = Gaussian(6, 1024, sigma: 1e-30f);
        yield return tiny;
    }
}
