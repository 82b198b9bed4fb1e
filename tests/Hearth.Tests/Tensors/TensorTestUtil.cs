using System.Runtime.InteropServices;
using Hearth.Tensors;

namespace Hearth.Tests.Tensors;

/// <summary>Seeded inputs and float64 references shared by the tensor tests.</summary>
internal static class TensorTestUtil
{
    /// <summary>Every type Hearth computes with, in ggml's numbering order.</summary>
    public static readonly GgmlType[] ComputableTypes =
    [
        GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q8_1,
        GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K, GgmlType.Q8_K, GgmlType.BF16,
    ];

    public static TheoryData<GgmlType> ComputableTypeData()
    {
        var data = new TheoryData<GgmlType>();
        foreach (var t in ComputableTypes)
        {
            data.Add(t);
        }

        return data;
    }

    /// <summary>Standard normal samples (Box-Muller) from a seeded generator.</summary>
    public static float[] Gaussian(int seed, int n, float sigma = 1f, float mean = 0f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u1 = 1.0 - rng.NextDouble();
            double u2 = rng.NextDouble();
            x[i] = (float)(mean + sigma * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return x;
    }

    public static byte[] Quantize(GgmlType type, ReadOnlySpan<float> x)
    {
        var bytes = new byte[Quants.RowBytes(type, x.Length)];
        Quants.Quantize(type, x, bytes);
        return bytes;
    }

    public static float[] Dequantize(GgmlType type, ReadOnlySpan<byte> bytes, int n)
    {
        var y = new float[n];
        Quants.Dequantize(type, bytes, y);
        return y;
    }

    /// <summary>sqrt(mean((x - y)²)) / sqrt(mean(x²)), in float64.</summary>
    public static double RelativeRmse(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double err = 0, sig = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = (double)x[i] - y[i];
            err += d * d;
            sig += (double)x[i] * x[i];
        }

        return Math.Sqrt(err / sig);
    }

    /// <summary>The bytes of a block struct (to build hand-made blocks through the public layouts).</summary>
    public static byte[] BytesOf<T>(T block) where T : struct => MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in block)).ToArray();

    /// <summary>
    /// A float64 reference for <see cref="Quants.Dot"/>, computed without the integer path: the dequantized weight row
    /// times the dequantized activation row. For the Q8_1 pairings ggml applies the weight offset <c>m</c> through the
    /// activation block's stored half <c>s</c> (≈ d·Σq, rounded to half), so the reference does the same:
    /// Σ (w - m)·a + m·s per block.
    /// </summary>
    public static double ReferenceDot(GgmlType weightType, ReadOnlySpan<byte> w, ReadOnlySpan<byte> a, int n, out double magnitude)
    {
        var pair = Quants.VecDotType(weightType);
        var wf = Dequantize(weightType, w, n);
        var af = Dequantize(pair, a, n);
        double sum = 0;
        magnitude = 0;
        if (pair == GgmlType.Q8_1 && weightType != GgmlType.Q8_1)
        {
            var ab = MemoryMarshal.Cast<byte, BlockQ8_1>(a);
            for (int b = 0; b < n / 32; b++)
            {
                double m = weightType == GgmlType.Q4_1
                    ? (double)(float)MemoryMarshal.Cast<byte, BlockQ4_1>(w)[b].M
                    : (double)(float)MemoryMarshal.Cast<byte, BlockQ5_1>(w)[b].M;
                for (int i = 32 * b; i < 32 * b + 32; i++)
                {
                    sum += ((double)wf[i] - m) * af[i];
                    magnitude += Math.Abs((double)wf[i] * af[i]);
                }

                sum += m * (double)(float)ab[b].S;
            }

            return sum;
        }

        for (int i = 0; i < n; i++)
        {
            sum += (double)wf[i] * af[i];
            magnitude += Math.Abs((double)wf[i] * af[i]);
        }

        return sum;
    }
}
