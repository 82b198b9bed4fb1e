using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// Prompt batches are tiled (four tokens per kernel call, rows in cache-sized groups) and split over threads; none of
/// that may change a single bit of any output, and a call with a pool allocates nothing.
/// </summary>
public class MatMulTilingTests
{
    public static TheoryData<GgmlType> Types() => ComputableTypeData();

    [Theory]
    [MemberData(nameof(Types))]
    public void ABatchGivesTheSameBitsAsOneTokenAtATime(GgmlType type)
    {
        int cols = GgmlTypes.Get(type).BlockSize == 256 || type is GgmlType.Q8_K ? 512 : 96;
        const int rows = 45, tokens = 11;
        var weights = Quantize(type, Gaussian(seed: 21, rows * cols, sigma: 0.1f));
        var x = Gaussian(seed: 22, tokens * cols, sigma: 2f);

        var oneByOne = new float[tokens * rows];
        for (int t = 0; t < tokens; t++)
        {
            MatMul.Multiply(weights, type, rows, cols, x.AsSpan(t * cols, cols), 1, oneByOne.AsSpan(t * rows, rows));
        }

        for (int n = 1; n <= tokens; n++)
        {
            var batch = new float[n * rows];
            MatMul.Multiply(weights, type, rows, cols, x.AsSpan(0, n * cols), n, batch);
            Assert.Equal(oneByOne.AsSpan(0, n * rows).ToArray(), batch);
        }

        foreach (int threads in new[] { 2, 3, 5 })
        {
            using var pool = new ComputePool(threads);
            var batch = new float[tokens * rows];
            MatMul.Multiply(weights, type, rows, cols, x, tokens, batch, pool);
            Assert.Equal(oneByOne, batch);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public unsafe void UnalignedWeightsGiveTheSameBits(GgmlType type)
    {
        int cols = GgmlTypes.Get(type).BlockSize == 256 || type is GgmlType.Q8_K ? 256 : 64;
        const int rows = 9, tokens = 6;
        var weights = Quantize(type, Gaussian(seed: 31, rows * cols));
        var x = Gaussian(seed: 32, tokens * cols);
        var expected = new float[tokens * rows];
        MatMul.Multiply(weights, type, rows, cols, x, tokens, expected);
        using var pool = new ComputePool(2);
        foreach (int offset in new[] { 1, 3, 7 })
        {
            var shifted = new byte[weights.Length + offset];
            weights.CopyTo(shifted, offset);
            var y = new float[tokens * rows];
            fixed (byte* p = shifted)
            {
                MatMul.Multiply(p + offset, weights.Length, type, rows, cols, x, tokens, y, pool);
            }

            Assert.Equal(expected, y);
        }
    }

    [Fact]
    public void LargeBatchesAcrossRowGroupsMatchTheSingleThreadedResult()
    {
        // Enough rows for several row groups per worker and enough tokens for several four-token tiles.
        const int rows = 300, cols = 1024, tokens = 23;
        foreach (var type in new[] { GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.F16 })
        {
            var weights = Quantize(type, Gaussian(seed: 41, rows * cols, sigma: 0.05f));
            var x = Gaussian(seed: 42, tokens * cols);
            var single = new float[tokens * rows];
            MatMul.Multiply(weights, type, rows, cols, x, tokens, single);
            using var pool = new ComputePool(4);
            var multi = new float[tokens * rows];
            MatMul.Multiply(weights, type, rows, cols, x, tokens, multi, pool);
            Assert.Equal(single, multi);

            var last = new float[rows];
            MatMul.Multiply(weights, type, rows, cols, x.AsSpan((tokens - 1) * cols), 1, last, pool);
            Assert.Equal(single.AsSpan((tokens - 1) * rows).ToArray(), last);
        }
    }

    [Theory]
    [InlineData(GgmlType.Q4_K, 1)]
    [InlineData(GgmlType.Q4_K, 7)]
    [InlineData(GgmlType.Q8_0, 1)]
    [InlineData(GgmlType.Q4_1, 5)]
    [InlineData(GgmlType.F16, 1)]
    [InlineData(GgmlType.F16, 6)]
    [InlineData(GgmlType.F32, 3)]
    public void CallsWithAPoolAllocateNothing(GgmlType type, int tokens)
    {
        const int rows = 64, cols = 512;
        var weights = Quantize(type, Gaussian(seed: 51, rows * cols));
        var x = Gaussian(seed: 52, tokens * cols);
        var y = new float[tokens * rows];
        using var pool = new ComputePool(2);

        // Warm-up: lazy buffers, and enough calls and time for tiered compilation, which allocates on its own.
        for (int i = 0; i < 200; i++)
        {
            MatMul.Multiply(weights, type, rows, cols, x, tokens, y, pool);
        }

        Thread.Sleep(300);
        for (int i = 0; i < 100; i++)
        {
            MatMul.Multiply(weights, type, rows, cols, x, tokens, y, pool);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 500; i++)
        {
            MatMul.Multiply(weights, type, rows, cols, x, tokens, y, pool);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ScratchSizesFollowTheKernelActivationFormat()
    {
        Assert.Equal(2 * 2 * 292, MatMul.ScratchBytes(GgmlType.Q4_K, 512, 2));
        Assert.Equal(3 * 16 * 34, MatMul.ScratchBytes(GgmlType.Q4_0, 512, 3));
        Assert.Equal(3 * 16 * 36, MatMul.ScratchBytes(GgmlType.Q5_1, 512, 3));
        Assert.Equal(2 * 100 * 4, MatMul.ScratchBytes(GgmlType.F16, 100, 2)); // floats holding half values
        Assert.Equal(0, MatMul.ScratchBytes(GgmlType.F32, 100, 2));           // read in place
    }
}
