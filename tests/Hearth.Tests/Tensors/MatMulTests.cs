using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

public class MatMulTests
{
    private const int Cols = 512;

    [Theory]
    [MemberData(nameof(ComputableTypeData), MemberType = typeof(TensorTestUtil))]
    public void MultiplyMatchesANaiveFloat64MatMul(GgmlType type)
    {
        const int rows = 7, tokens = 3;
        var weights = Quantize(type, Gaussian(seed: 10, rows * Cols, sigma: 0.1f));
        var x = Gaussian(seed: 20, tokens * Cols, sigma: 3f);
        var y = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, Cols, x, tokens, y);

        // Reference: dequantized weights times quantized-then-dequantized activations, summed in float64.
        var pair = Quants.VecDotType(type);
        long wRow = Quants.RowBytes(type, Cols);
        for (int t = 0; t < tokens; t++)
        {
            var act = Quantize(pair, x.AsSpan(t * Cols, Cols));
            for (int r = 0; r < rows; r++)
            {
                double expected = ReferenceDot(type, weights.AsSpan((int)(r * wRow), (int)wRow), act, Cols, out double magnitude);
                double got = y[t * rows + r];
                Assert.True(Math.Abs(got - expected) <= 2e-6 * magnitude + 1e-30,
                    $"{type}: y[{t},{r}] = {got}, reference {expected}");
            }
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_0)]
    [InlineData(GgmlType.Q4_1)]
    [InlineData(GgmlType.Q8_0)]
    [InlineData(GgmlType.Q4_K)]
    [InlineData(GgmlType.Q6_K)]
    [InlineData(GgmlType.F16)]
    [InlineData(GgmlType.F32)]
    public void PoolResultIsIdenticalToSingleThreaded(GgmlType type)
    {
        const int rows = 37, tokens = 2;
        var weights = Quantize(type, Gaussian(seed: 1, rows * Cols));
        var x = Gaussian(seed: 2, tokens * Cols);
        var single = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, Cols, x, tokens, single);

        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            using var pool = new ComputePool(threads);
            for (int repeat = 0; repeat < 3; repeat++)
            {
                var multi = new float[tokens * rows];
                MatMul.Multiply(weights, type, rows, Cols, x, tokens, multi, pool);
                Assert.Equal(single, multi);
            }
        }
    }

    [Fact]
    public void OnePoolServesDifferentShapesAndTypes()
    {
        // The pool's scratch grows and is reused; results must not depend on what ran before.
        using var pool = new ComputePool(3);
        foreach (var (type, rows, cols, tokens) in new[] { (GgmlType.Q4_K, 5, 256, 1), (GgmlType.Q8_0, 64, 1024, 4), (GgmlType.Q5_1, 3, 64, 2), (GgmlType.Q4_K, 9, 768, 3) })
        {
            var weights = Quantize(type, Gaussian(seed: rows, rows * cols));
            var x = Gaussian(seed: cols, tokens * cols);
            var expected = new float[tokens * rows];
            var actual = new float[tokens * rows];
            MatMul.Multiply(weights, type, rows, cols, x, tokens, expected);
            MatMul.Multiply(weights, type, rows, cols, x, tokens, actual, pool);
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void CallerScratchAndPointerOverloadsAgree()
    {
        const int rows = 11, tokens = 2;
        var type = GgmlType.Q5_K;
        var weights = Quantize(type, Gaussian(seed: 5, rows * Cols));
        var x = Gaussian(seed: 6, tokens * Cols);
        var expected = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, Cols, x, tokens, expected);

        var scratch = new byte[MatMul.ScratchBytes(type, Cols, tokens)];
        Assert.Equal(tokens * 2 * 292, scratch.Length);
        var viaScratch = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, Cols, x, tokens, viaScratch, scratch);
        Assert.Equal(expected, viaScratch);

        using var pool = new ComputePool(2);
        var viaScratchPool = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, Cols, x, tokens, viaScratchPool, scratch, pool);
        Assert.Equal(expected, viaScratchPool);

        var viaPointer = new float[tokens * rows];
        unsafe
        {
            fixed (byte* w = weights)
            {
                MatMul.Multiply(w, weights.LongLength, type, rows, Cols, x, tokens, viaPointer, pool);
            }
        }

        Assert.Equal(expected, viaPointer);
    }

    [Fact]
    public void OutputsBeyondTheBatchAreUntouched()
    {
        const int rows = 4, tokens = 2;
        var weights = Quantize(GgmlType.Q8_0, Gaussian(seed: 1, rows * Cols));
        var x = Gaussian(seed: 2, (tokens + 1) * Cols);
        var y = Enumerable.Repeat(42f, (tokens + 1) * rows + 3).ToArray();
        MatMul.Multiply(weights, GgmlType.Q8_0, rows, Cols, x, tokens, y);
        Assert.All(y.Skip(tokens * rows), v => Assert.Equal(42f, v));
        Assert.DoesNotContain(42f, y.Take(tokens * rows));
    }

    [Fact]
    public void EmptyBatchesDoNothing()
    {
        var y = new float[4];
        MatMul.Multiply(ReadOnlySpan<byte>.Empty, GgmlType.Q4_0, 0, 32, new float[32], 1, y);
        MatMul.Multiply(new byte[18], GgmlType.Q4_0, 1, 32, ReadOnlySpan<float>.Empty, 0, y);
        Assert.All(y, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void MultiplyValidatesArguments()
    {
        var w = new byte[4 * 144];
        var x = new float[2 * 256];
        var y = new float[2 * 4];
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w.AsSpan(0, 3 * 144), GgmlType.Q4_K, 4, 256, x, 2, y));
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 256, x.AsSpan(0, 300), 2, y));
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 256, x, 2, y.AsSpan(0, 7)));
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 128, x, 2, y));      // not a whole super-block
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, GgmlType.Q4_0, 4, 48, x, 2, y));       // not a whole block
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMul.Multiply(w, GgmlType.Q4_K, -1, 256, x, 2, y));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 0, x, 2, y));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 256, x, -2, y));
        Assert.Throws<ArgumentException>(() => MatMul.Multiply(w, GgmlType.Q4_K, 4, 256, x, 2, y, new byte[100]));
        Assert.Throws<NotSupportedException>(() => MatMul.Multiply(w, GgmlType.IQ4_XS, 4, 256, x, 2, y));
        Assert.Throws<ArgumentException>(() => MatMul.ScratchBytes(GgmlType.Q4_K, 100, 1));
    }
}
