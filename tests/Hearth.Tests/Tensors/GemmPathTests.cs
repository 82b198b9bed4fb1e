using System.Runtime.InteropServices;
using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// Every instruction-set path of the batch kernels (the prompt GEMM over a token panel, and the few-token kernels over
/// eight rows) that this machine can run, called directly, against the scalar reference <c>ScalarDot</c>: every output
/// must have exactly the reference's bits. Row counts and token counts that are not multiples of the tiles, sub-ranges
/// of rows, unaligned weights, random-bit weights (every level, scale, min and high bit the packing allows). Run the suite
/// with <c>DOTNET_EnableAVXVNNI=0</c>, <c>DOTNET_EnableAVX2=0</c> or <c>DOTNET_EnableHWIntrinsic=0</c> to take the
/// narrower paths through the same checks.
/// </summary>
public class GemmPathTests
{
    private static readonly GgmlType[] s_batchTypes = [GgmlType.Q4_0, GgmlType.Q5_0, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q6_K];

    public static TheoryData<string, GgmlType> PathsAndTypes()
    {
        var data = new TheoryData<string, GgmlType>();
        foreach (var isa in GemmIsas.Supported.Where(i => i != GemmIsa.None))
        {
            foreach (var type in s_batchTypes)
            {
                data.Add(isa.ToString(), type);
            }
        }

        return data;
    }

    [Fact]
    public void EveryPathHasKernelsForThePromptTypes()
    {
        Assert.Contains(GemmIsa.Portable, GemmIsas.Supported);
        foreach (var isa in GemmIsas.Supported.Where(i => i != GemmIsa.None))
        {
            foreach (var type in s_batchTypes)
            {
                var k = GemmIsas.Get(isa, type);

                // vpmaddubsw saturates on Q8_0's 8-bit levels, so plain AVX2 runs Q8_0 batches through the few-token kernel.
                Assert.Equal(!(isa == GemmIsa.Avx2 && type == GgmlType.Q8_0), k.HasGemm);
                Assert.Equal(GgmlTypes.Get(type).BlockSize == 32, !k.Rows.IsEmpty);
            }

            Assert.False(GemmIsas.Get(isa, GgmlType.Q4_1).HasGemm);
            Assert.False(GemmIsas.Get(isa, GgmlType.F16).HasGemm);
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public void GemmGivesTheScalarReferenceBitForBit(string isa, GgmlType type)
    {
        var kernels = GemmIsas.Get(Enum.Parse<GemmIsa>(isa), type);
        if (!kernels.HasGemm)
        {
            return;
        }

        bool k = GgmlTypes.Get(type).BlockSize == 256;
        int[] colsList = k ? [256, 768] : [32, 96, 576];
        var rng = new Random(11 + (int)type);
        int seed = 0;
        foreach (int cols in colsList)
        {
            foreach (var (rows, tokens) in new[] { (1, 4), (3, 7), (5, 8), (13, 9), (9, 17), (70, 33), (4, 1) })
            {
                seed++;
                var w = seed % 2 == 0 ? RandomRows(type, rows, cols, rng) : Quantize(type, Gaussian(seed, rows * cols, sigma: 0.05f, mean: seed % 3 == 0 ? 0.02f : 0));
                var acts = QuantizedTokens(type, tokens, cols, seed, out int actRow);
                var expected = Reference(type, w, rows, cols, acts, actRow, tokens);
                foreach (var (start, end, offset) in new[] { (0, rows, 0), (rows / 3, rows, 3), (1, Math.Max(1, rows - 1), 1) })
                {
                    var y = RunGemm(kernels, type, w, offset, rows, cols, acts, actRow, tokens, start, end);
                    AssertRange(expected, y, rows, tokens, start, end, $"{isa} {type} cols={cols} rows={rows} tokens={tokens} range=[{start},{end}) offset={offset}");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndTypes))]
    public unsafe void FewTokenKernelGivesTheScalarReferenceBitForBit(string isa, GgmlType type)
    {
        var rowsKernels = GemmIsas.Get(Enum.Parse<GemmIsa>(isa), type).Rows;
        if (rowsKernels.IsEmpty)
        {
            return;
        }

        var rng = new Random(23 + (int)type);
        var pair = Quants.VecDotType(type);
        foreach (int cols in new[] { 32, 64, 160, 2048 })
        {
            const int maxRows = RowsKernels.Width, yStride = 11;
            var w = RandomRows(type, maxRows, cols, rng);
            int rowBytes = (int)Quants.RowBytes(type, cols);
            int actRow = (int)Quants.RowBytes(pair, cols) + 8; // a stride that is not the row size
            var acts = new byte[actRow * 4];
            for (int t = 0; t < 4; t++)
            {
                Quants.Quantize(pair, Gaussian(rng.Next(), cols, sigma: 3f), acts.AsSpan(t * actRow));
            }

            var expected = Reference(type, w, maxRows, cols, acts, actRow, 4);
            var shifted = new byte[w.Length + 5];
            w.CopyTo(shifted, 5);
            for (int rowCount = 1; rowCount <= maxRows; rowCount++)
            {
                for (int tokens = 1; tokens <= 4; tokens++)
                {
                    var y = new float[4 * yStride];
                    y.AsSpan().Fill(float.NaN);
                    fixed (byte* pw = shifted)
                    fixed (byte* pa = acts)
                    fixed (float* py = y)
                    {
                        rowsKernels.Run(tokens, pw + 5, rowBytes, rowCount, pa, actRow, cols, py, yStride);
                    }

                    for (int t = 0; t < 4; t++)
                    {
                        for (int r = 0; r < yStride; r++)
                        {
                            float got = y[t * yStride + r];
                            if (t < tokens && r < rowCount)
                            {
                                float want = expected[t * maxRows + r];
                                Assert.True(BitConverter.SingleToInt32Bits(got) == BitConverter.SingleToInt32Bits(want),
                                    $"{isa} {type} cols={cols} rows={rowCount} tokens={tokens}: y[{t},{r}] = {got:R}, reference {want:R}");
                            }
                            else
                            {
                                Assert.True(float.IsNaN(got), $"{isa} {type}: y[{t},{r}] outside the call was written");
                            }
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [InlineData(8, GgmlType.Q8_0, 11, 32, -8)]
    [InlineData(4, GgmlType.Q8_0, 5, 32, -128)]
    [InlineData(8, GgmlType.Q8_K, 9, 16, -32)]
    [InlineData(4, GgmlType.Q8_K, 6, 32, 1)]
    [InlineData(8, GgmlType.Q8_K, 3, 64, 1)]
    public unsafe void ThePanelPutsEveryTokenInItsOwnLane(int lanes, GgmlType pair, int tokens, int auxUnit, int mult)
    {
        int cols = 512;
        int actRow = (int)Quants.RowBytes(pair, cols);
        var acts = new byte[actRow * tokens];
        for (int t = 0; t < tokens; t++)
        {
            Quants.Quantize(pair, Gaussian(50 + t, cols, sigma: 2f), acts.AsSpan(t * actRow));
        }

        var layout = TokenPanel.Create(pair, lanes, tokens, cols, auxUnit, mult);
        var panel = new byte[layout.TotalBytes];
        panel.AsSpan().Fill(0xCD);
        fixed (byte* pp = panel)
        fixed (byte* pa = acts)
        {
            for (int t = tokens - 1; t >= 0; t--)
            {
                layout.AddToken(pp, t, pa + t * actRow);
            }

            layout.ClearPadding(pp);
            int groups = (tokens + lanes - 1) / lanes;
            Assert.Equal(groups, layout.Groups);
            for (int t = 0; t < groups * lanes; t++)
            {
                int g = t / lanes, lane = t % lanes;
                var q = t < tokens ? Quants_Qs(pair, acts.AsSpan(t * actRow, actRow), cols) : new sbyte[cols];
                for (int e = 0; e < cols; e++)
                {
                    // Element e sits in block e/32, step (e%32)/4, lane, byte e%4.
                    long at = (long)g * cols * lanes + e / 32 * 32 * lanes + e % 32 / 4 * 4 * lanes + 4 * lane + e % 4;
                    Assert.Equal(q[e], (sbyte)panel[at]);
                }

                float[] d = t < tokens ? Scales(pair, acts.AsSpan(t * actRow, actRow), cols) : new float[cols / (pair == GgmlType.Q8_K ? 256 : 32)];
                for (int b = 0; b < d.Length; b++)
                {
                    Assert.Equal(d[b], layout.D(pp, g)[b * lanes + lane]);
                }

                for (int u = 0; u < cols / auxUnit; u++)
                {
                    int Sum(int from, int count)
                    {
                        int sum = 0;
                        for (int e = from; e < from + count; e++)
                        {
                            sum += q[e];
                        }

                        return sum;
                    }

                    // A 64-element unit holds the sums of its two halves as 16-bit pairs.
                    int want = auxUnit == 64
                        ? (ushort)(short)Sum(64 * u, 32) | (Sum(64 * u + 32, 32) << 16)
                        : mult * Sum(u * auxUnit, auxUnit);
                    Assert.Equal(want, layout.Aux(pp, g)[u * lanes + lane]);
                }
            }
        }
    }

    [Fact]
    public void APanelWithoutAuxHasNoAuxRegion()
    {
        var layout = TokenPanel.Create(GgmlType.Q8_0, 4, 10, 64, 32, 0);
        Assert.Equal(0, layout.AuxUnits);
        Assert.Equal(0, layout.AuxBytes);
        Assert.Equal(3 * 64 * 4 + 3 * 2 * 4 * 4, layout.TotalBytes);
    }

    private static sbyte[] Quants_Qs(GgmlType pair, ReadOnlySpan<byte> row, int cols)
    {
        var q = new sbyte[cols];
        int block = pair == GgmlType.Q8_K ? 256 : 32, bytes = pair == GgmlType.Q8_K ? 292 : 34, at = pair == GgmlType.Q8_K ? 4 : 2;
        for (int e = 0; e < cols; e++)
        {
            q[e] = (sbyte)row[e / block * bytes + at + e % block];
        }

        return q;
    }

    private static float[] Scales(GgmlType pair, ReadOnlySpan<byte> row, int cols)
    {
        if (pair == GgmlType.Q8_K)
        {
            return MemoryMarshal.Cast<byte, BlockQ8_K>(row).ToArray().Take(cols / 256).Select(b => b.D).ToArray();
        }

        return MemoryMarshal.Cast<byte, BlockQ8_0>(row).ToArray().Take(cols / 32).Select(b => (float)b.D).ToArray();
    }

    private static byte[] RandomRows(GgmlType type, int rows, int cols, Random rng)
    {
        var w = new List<byte>();
        for (int r = 0; r < rows; r++)
        {
            w.AddRange(KernelPaths.RandomWeights(type, cols, rng));
        }

        return w.ToArray();
    }

    private static byte[] QuantizedTokens(GgmlType type, int tokens, int cols, int seed, out int actRow)
    {
        var pair = Quants.VecDotType(type);
        actRow = (int)Quants.RowBytes(pair, cols);
        var acts = new byte[actRow * tokens];
        for (int t = 0; t < tokens; t++)
        {
            Quants.Quantize(pair, Gaussian(1000 * seed + t, cols, sigma: 3f), acts.AsSpan(t * actRow));
        }

        return acts;
    }

    /// <summary>y[t, r] = ScalarDot(row r, token t).</summary>
    private static float[] Reference(GgmlType type, byte[] w, int rows, int cols, byte[] acts, int actRow, int tokens)
    {
        var dot = KernelPaths.ScalarDot(type);
        int rowBytes = (int)Quants.RowBytes(type, cols), used = (int)Quants.RowBytes(Quants.VecDotType(type), cols);
        var y = new float[tokens * rows];
        for (int t = 0; t < tokens; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                y[t * rows + r] = dot(w.AsSpan(r * rowBytes, rowBytes), acts.AsSpan(t * actRow, used), cols);
            }
        }

        return y;
    }

    private static unsafe float[] RunGemm(GemmKernels kernels, GgmlType type, byte[] w, int offset, int rows, int cols, byte[] acts, int actRow,
        int tokens, int start, int end)
    {
        var layout = kernels.Panel(Quants.VecDotType(type), tokens, cols);
        var panel = new byte[layout.TotalBytes];
        panel.AsSpan().Fill(0xCD);
        var scratch = new byte[kernels.ScratchBytes(cols)];
        var shifted = new byte[w.Length + offset];
        w.CopyTo(shifted, offset);
        var y = new float[tokens * rows];
        y.AsSpan().Fill(float.NaN);
        fixed (byte* pw = shifted)
        fixed (byte* pa = acts)
        fixed (byte* pp = panel)
        fixed (byte* ps = scratch)
        fixed (float* py = y)
        {
            for (int t = 0; t < tokens; t++)
            {
                layout.AddToken(pp, t, pa + t * actRow);
            }

            layout.ClearPadding(pp);
            var call = new GemmCall
            {
                W = pw + offset,
                RowBytes = Quants.RowBytes(type, cols),
                Cols = cols,
                Layout = layout,
                PanelData = pp,
                Y = py,
                YStride = rows,
                Scratch = ps,
            };
            kernels.Gemm(call, start, end);
        }

        return y;
    }

    private static void AssertRange(float[] expected, float[] y, int rows, int tokens, int start, int end, string what)
    {
        for (int t = 0; t < tokens; t++)
        {
            for (int r = 0; r < rows; r++)
            {
                float got = y[t * rows + r];
                if (r >= start && r < end)
                {
                    float want = expected[t * rows + r];
                    Assert.True(BitConverter.SingleToInt32Bits(got) == BitConverter.SingleToInt32Bits(want),
                        $"{what}: y[{t},{r}] = {got:R}, reference {want:R}");
                }
                else
                {
                    Assert.True(float.IsNaN(got), $"{what}: y[{t},{r}] outside the range was written");
                }
            }
        }
    }
}
