using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using Hearth.Tensors.Portable;
using Hearth.Tensors.X86;

namespace Hearth.Tensors;

/// <summary>What one prompt GEMM call works on; the rows it computes are passed separately.</summary>
internal unsafe struct GemmCall
{
    /// <summary>Row 0 of the weight matrix ([rows, cols] of the weight type, rows <see cref="RowBytes"/> apart).</summary>
    public byte* W;

    public long RowBytes;

    /// <summary>Input features (a whole number of the weight type's blocks).</summary>
    public int Cols;

    /// <summary>The activations, <see cref="Layout"/> at <see cref="PanelData"/>.</summary>
    public TokenPanel Layout;

    public byte* PanelData;

    /// <summary>Output of token t, row r at <c>Y[t · YStride + r]</c>.</summary>
    public float* Y;

    public nint YStride;

    /// <summary>The calling worker's scratch: unpacked weight rows (<see cref="GemmKernels.ScratchBytes"/>).</summary>
    public byte* Scratch;
}

/// <summary>
/// The batch kernels of one weight type on one instruction set: a prompt GEMM over a <see cref="TokenPanel"/>, and for
/// the 32-element block types an exact few-token kernel over eight weight rows at once. Both give, for every output, the
/// exact bits of the scalar reference (<see cref="Scalar.ScalarDot"/>): integer block sums are exact whatever the order,
/// and the float expression per block is the reference's, evaluated in the reference's order (one output per lane). So a
/// prompt batch, a decode step and a multi-sequence step agree bit for bit, whichever kernel each one uses.
/// </summary>
/// <remarks>
/// The K-quant row kernels are already exact, so those types have a GEMM and no few-token kernel: decode keeps the row
/// kernels. Q4_0, Q5_0 and Q8_0 row kernels are not (they add per-lane block products in float), so when a machine has
/// a GEMM for them, every batch size goes through the exact kernels here.
/// </remarks>
internal readonly unsafe struct GemmKernels
{
    public GemmKernels(
        delegate*<in GemmCall, int, int, void> gemm,
        int lanes,
        int auxUnit,
        int auxMultiplier,
        int scratchBytesPer32,
        RowsKernels rows)
    {
        Gemm = gemm;
        Lanes = lanes;
        AuxUnit = auxUnit;
        AuxMultiplier = auxMultiplier;
        ScratchBytesPer32 = scratchBytesPer32;
        Rows = rows;
    }

    /// <summary>Fewest tokens for which a batch goes through <see cref="Gemm"/> (below: the few-token kernels).</summary>
    public const int MinGemmTokens = 4;

    /// <summary>Rows of weights one unpacking pass of <see cref="Gemm"/> holds (bounded by <see cref="RowBlockBytes"/>).</summary>
    public const int MaxRowBlock = 64;

    /// <summary>Scratch budget of the unpacked rows of one worker: small enough for the L2 cache.</summary>
    public const int RowBlockBytes = 96 * 1024;

    /// <summary>Outputs of rows [start, end) for every token of the panel; <c>start</c> is a multiple of 4.</summary>
    public delegate*<in GemmCall, int, int, void> Gemm { get; }

    /// <summary>Tokens per panel group (int32 lanes of the kernel's vectors).</summary>
    public int Lanes { get; }

    /// <summary>Elements per aux sum of the panel (<see cref="TokenPanel.AuxUnit"/>).</summary>
    public int AuxUnit { get; }

    /// <summary>Factor of the panel's aux sums; 0 for none.</summary>
    public int AuxMultiplier { get; }

    /// <summary>
    /// Scratch of one unpacked weight row per 32 elements: 32 bytes of levels, and the rest for the row's scales (the
    /// meta region, <c>cols / 32 · (ScratchBytesPer32 − 32)</c> bytes per row, after the levels of the whole row block).
    /// </summary>
    public int ScratchBytesPer32 { get; }

    /// <summary>The exact few-token kernels (32-element block types), or empty.</summary>
    public RowsKernels Rows { get; }

    public bool HasGemm => Gemm != null;

    /// <summary>The panel layout this GEMM reads for <paramref name="tokens"/> rows of <paramref name="cols"/> elements.</summary>
    public TokenPanel Panel(GgmlType pair, int tokens, int cols) => TokenPanel.Create(pair, Lanes, tokens, cols, AuxUnit, AuxMultiplier);

    /// <summary>Rows unpacked per pass for rows of <paramref name="cols"/> elements: a multiple of 4.</summary>
    public int RowBlock(int cols) => GemmDriver.RowBlock(ScratchBytesPer32, cols);

    /// <summary>Scratch one worker needs for rows of <paramref name="cols"/> elements.</summary>
    public long ScratchBytes(int cols) => (long)RowBlock(cols) * ScratchBytesPer32 * (cols / 32);
}

/// <summary>
/// The exact few-token kernels: <c>y[t · yStride + r] = dot(row r, token t)</c> for <c>r &lt; rowCount ≤ 8</c> and every
/// token of the tile (1-4), rows <c>rowBytes</c> apart, tokens <c>aStride</c> apart in the pairing type.
/// </summary>
internal readonly unsafe struct RowsKernels
{
    public RowsKernels(
        delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> one,
        delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> two,
        delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> three,
        delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> four)
    {
        One = one;
        Two = two;
        Three = three;
        Four = four;
    }

    /// <summary>Rows per call.</summary>
    public const int Width = 8;

    public delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> One { get; }

    public delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> Two { get; }

    public delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> Three { get; }

    public delegate*<byte*, nint, int, byte*, nint, int, float*, nint, void> Four { get; }

    public bool IsEmpty => One == null;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Run(int tokens, byte* w, nint rowBytes, int rowCount, byte* a, nint aStride, int n, float* y, nint yStride)
    {
        switch (tokens)
        {
            case 1: One(w, rowBytes, rowCount, a, aStride, n, y, yStride); break;
            case 2: Two(w, rowBytes, rowCount, a, aStride, n, y, yStride); break;
            case 3: Three(w, rowBytes, rowCount, a, aStride, n, y, yStride); break;
            default: Four(w, rowBytes, rowCount, a, aStride, n, y, yStride); break;
        }
    }
}

/// <summary>The instruction sets the batch kernels are written for.</summary>
internal enum GemmIsa
{
    /// <summary>None: every batch goes through the row kernels (the scalar reference is the row kernels themselves).</summary>
    None,

    /// <summary>
    /// Cross-platform <see cref="Vector128"/> code (four tokens per vector): the 128-bit family's reference instance,
    /// run by the tests; never picked, since the portable row kernels are faster where it would be.
    /// </summary>
    Portable,

    /// <summary>Arm NEON (A64): <c>smull</c> + <c>saddlp</c> + <c>addp</c> four-byte dot products.</summary>
    AdvSimd,

    /// <summary>Arm NEON with the dot-product extension (<c>sdot</c>).</summary>
    AdvSimdDp,

    /// <summary>AVX2: <c>vpmaddubsw</c> + <c>vpmaddwd</c>, eight tokens per vector.</summary>
    Avx2,

    /// <summary>AVX-VNNI: <c>vpdpbusd</c>, eight tokens per vector.</summary>
    AvxVnni,
}

/// <summary>
/// Picks the batch kernels for this machine. The order differs from <see cref="KernelIsas"/>: .NET 10 exposes
/// <c>vpdpbusd</c> only on 256-bit registers (AVX-VNNI), and one <c>vpdpbusd</c> does the work of the two instructions
/// a 512-bit path needs, so on a machine with both, AVX-VNNI is the faster GEMM; a machine with AVX-512 and no
/// AVX-VNNI runs the AVX2 GEMM. Without AVX2 or A64 NEON there is none (<see cref="GemmIsa.None"/>).
/// </summary>
internal static class GemmIsas
{
    /// <summary>The path the engine uses.</summary>
    public static GemmIsa Best { get; } = SelectBest();

    /// <summary>Every path this machine (and runtime configuration) can run.</summary>
    public static IReadOnlyList<GemmIsa> Supported { get; } = Enum.GetValues<GemmIsa>().Where(IsSupported).ToArray();

    public static bool IsSupported(GemmIsa isa) => isa switch
    {
        GemmIsa.None => true,
        GemmIsa.Portable => true,
        GemmIsa.AdvSimd => AdvSimd.Arm64.IsSupported,
        GemmIsa.AdvSimdDp => AdvSimd.Arm64.IsSupported && Dp.IsSupported,
        GemmIsa.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        GemmIsa.AvxVnni => AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported,
        _ => false,
    };

    /// <summary>The batch kernels of <paramref name="type"/> on <paramref name="isa"/>; empty for a type that has none.</summary>
    /// <exception cref="PlatformNotSupportedException"><paramref name="isa"/> cannot run on this machine.</exception>
    public static GemmKernels Get(GemmIsa isa, GgmlType type)
    {
        if (!IsSupported(isa))
        {
            throw new PlatformNotSupportedException($"the {isa} batch kernels need instructions this machine does not have");
        }

        return isa switch
        {
            GemmIsa.Portable => Vector128Gemm<PortableGroupDot128>.Get(type),
            GemmIsa.AdvSimd => Vector128Gemm<AdvSimdGroupDot128>.Get(type),
            GemmIsa.AdvSimdDp => Vector128Gemm<DpGroupDot128>.Get(type),
            GemmIsa.Avx2 => Avx2Gemm<MaddDot256>.Get(type),
            GemmIsa.AvxVnni => Avx2Gemm<VnniDot256>.Get(type),
            _ => default,
        };
    }

    private static GemmIsa SelectBest()
    {
        if (AvxVnni.IsSupported && Avx2.IsSupported && Fma.IsSupported)
        {
            return GemmIsa.AvxVnni;
        }
        else if (Avx2.IsSupported && Fma.IsSupported)
        {
            return GemmIsa.Avx2;
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            return Dp.IsSupported ? GemmIsa.AdvSimdDp : GemmIsa.AdvSimd;
        }

        // Portable Vector128 has no four-byte group dot product: built from widening multiplies and shifts it runs at
        // less than half the speed of the portable row kernels (x86 SSE), so such machines keep the row kernels.
        return GemmIsa.None;
    }
}

/// <summary>
/// One weight type of one GEMM family (<see cref="X86.Avx2Gemm{TDot}"/>, <see cref="Portable.Vector128Gemm{TDot}"/>):
/// how a weight row is unpacked into scratch, and how a tile of four unpacked rows by two token groups is computed.
/// </summary>
internal unsafe interface IGemmKind
{
    /// <summary>Scratch per 32 elements of an unpacked row: 32 bytes of levels, the rest for the row's scales.</summary>
    static abstract int Per32 { get; }

    /// <summary>Unpacks the weight row at <paramref name="row"/> into <paramref name="levels"/> (cols bytes) and <paramref name="meta"/>.</summary>
    static abstract void Unpack(byte* row, byte* levels, byte* meta, int cols);

    /// <summary>
    /// Rows q..q+3 of the unpacked block (levels <c>cols</c> apart, meta <c>metaRow</c> apart; rows past
    /// <c>count − 1</c> repeat the last one) against token groups g0 and g1 (equal for a lone last group); stores the
    /// outputs of the real rows, which are rows <c>row..</c> of the matrix.
    /// </summary>
    static abstract void Tile(byte* levels, byte* meta, int metaRow, int cols, int q, int count, in GemmCall c, int g0, int g1, int row);
}

/// <summary>The loops every GEMM kind shares: unpack a block of rows, then sweep it with tiles, two token groups at a time.</summary>
internal static unsafe class GemmDriver
{
    /// <summary>Rows unpacked per pass for a kind with <paramref name="per32"/> scratch bytes per 32 elements: a multiple of 4.</summary>
    public static int RowBlock(int per32, int cols) =>
        (int)Math.Clamp(GemmKernels.RowBlockBytes / Math.Max(1L, (long)per32 * (cols / 32)) / 4 * 4, 4, GemmKernels.MaxRowBlock);

    /// <summary>Outputs of rows [<paramref name="rowStart"/>, <paramref name="rowEnd"/>) for every token of the panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TKind>(in GemmCall c, int rowStart, int rowEnd)
        where TKind : struct, IGemmKind
    {
        int cols = c.Cols;
        int metaRow = cols / 32 * (TKind.Per32 - 32);
        int rb = RowBlock(TKind.Per32, cols);
        byte* levels = c.Scratch;
        byte* meta = c.Scratch + (long)rb * cols;
        int groups = c.Layout.Groups;
        for (int r0 = rowStart; r0 < rowEnd; r0 += rb)
        {
            int count = Math.Min(rb, rowEnd - r0);
            for (int r = 0; r < count; r++)
            {
                TKind.Unpack(c.W + (r0 + r) * c.RowBytes, levels + (long)r * cols, meta + (long)r * metaRow, cols);
            }

            for (int g = 0; g < groups; g += 2)
            {
                int g1 = Math.Min(g + 1, groups - 1);
                for (int q = 0; q < count; q += 4)
                {
                    TKind.Tile(levels, meta, metaRow, cols, q, count, c, g, g1, r0 + q);
                }
            }
        }
    }

    /// <summary>
    /// Stores a finished tile of eight accumulators (f_rg: row r, token group g; token g·lanes + i in lane i of a
    /// <typeparamref name="TVec"/> of floats) through <see cref="StoreTile(float*, int, in GemmCall, int, int, int, int)"/>.
    /// Kept out of line: the tiles' inlined fast stores must not carry its stack buffer (a method with one is never
    /// inlined).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void StoreTile<TVec>(in GemmCall c, int lanes, int rows, int row, int g0, int g1,
        TVec f0a, TVec f0b, TVec f1a, TVec f1b, TVec f2a, TVec f2b, TVec f3a, TVec f3b)
        where TVec : unmanaged
    {
        var sums = stackalloc TVec[8];
        sums[0] = f0a;
        sums[1] = f0b;
        sums[2] = f1a;
        sums[3] = f1b;
        sums[4] = f2a;
        sums[5] = f2b;
        sums[6] = f3a;
        sums[7] = f3b;
        StoreTile((float*)sums, lanes, c, rows, row, g0, g1);
    }

    /// <summary>
    /// Stores a finished tile: <paramref name="sums"/> holds, for rows 0-3 and groups a, b, <paramref name="lanes"/>
    /// floats (token g·lanes + i in lane i), row-major ([r][group][lane]). Only the tile's real rows (the first
    /// <paramref name="rows"/>), real tokens and, when <paramref name="g1"/> repeats <paramref name="g0"/>, one group are stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void StoreTile(float* sums, int lanes, in GemmCall c, int rows, int row, int g0, int g1)
    {
        int tokens = c.Layout.Tokens;
        for (int r = 0; r < Math.Min(rows, 4); r++)
        {
            float* y = c.Y + row + r;
            for (int g = 0; g < 2; g++)
            {
                int group = g == 0 ? g0 : g1;
                if (g == 1 && g1 == g0)
                {
                    break;
                }

                int t0 = lanes * group;
                int n = Math.Min(lanes, tokens - t0);
                float* src = sums + (2 * r + g) * lanes;
                for (int i = 0; i < n; i++)
                {
                    y[(t0 + i) * c.YStride] = src[i];
                }
            }
        }
    }
}

/// <summary>The four rows of a tile in an unpacked row block: levels and meta of rows q..q+3, those past the block's last row repeating it.</summary>
internal readonly unsafe struct TileRows
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TileRows(byte* levels, byte* meta, int metaRow, int cols, int q, int count)
    {
        int last = count - 1;
        int r1 = Math.Min(q + 1, last), r2 = Math.Min(q + 2, last), r3 = Math.Min(q + 3, last);
        L0 = levels + (long)q * cols;
        L1 = levels + (long)r1 * cols;
        L2 = levels + (long)r2 * cols;
        L3 = levels + (long)r3 * cols;
        M0 = meta + (long)q * metaRow;
        M1 = meta + (long)r1 * metaRow;
        M2 = meta + (long)r2 * metaRow;
        M3 = meta + (long)r3 * metaRow;
    }

    public byte* L0 { get; }

    public byte* L1 { get; }

    public byte* L2 { get; }

    public byte* L3 { get; }

    public byte* M0 { get; }

    public byte* M1 { get; }

    public byte* M2 { get; }

    public byte* M3 { get; }
}

/// <summary>The two token groups of a tile in the panel: their qs, scales and aux sums.</summary>
internal readonly unsafe struct TileGroups
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TileGroups(in GemmCall c, int g0, int g1)
    {
        var p = c.Layout;
        Qa = p.Qs(c.PanelData, g0);
        Qb = p.Qs(c.PanelData, g1);
        Da = p.D(c.PanelData, g0);
        Db = p.D(c.PanelData, g1);
        Ca = p.AuxUnits == 0 ? null : p.Aux(c.PanelData, g0);
        Cb = p.AuxUnits == 0 ? null : p.Aux(c.PanelData, g1);
    }

    public byte* Qa { get; }

    public byte* Qb { get; }

    public float* Da { get; }

    public float* Db { get; }

    public int* Ca { get; }

    public int* Cb { get; }
}
