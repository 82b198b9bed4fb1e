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
    public int RowBlock(int cols) => (int)Math.Clamp(RowBlockBytes / Math.Max(1L, (long)ScratchBytesPer32 * (cols / 32)) / 4 * 4, 4, MaxRowBlock);

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

    /// <summary>Cross-platform <see cref="Vector128"/> code (four tokens per vector).</summary>
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
/// the 512-bit path needs, so on a machine with both, AVX-VNNI is the faster GEMM.
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
        else if (Vector128.IsHardwareAccelerated)
        {
            return GemmIsa.Portable;
        }

        return GemmIsa.None;
    }
}
