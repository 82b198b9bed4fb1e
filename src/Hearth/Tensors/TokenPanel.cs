using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors;

/// <summary>
/// The activations of a prompt batch, already quantized to the pairing type (Q8_0 or Q8_K), re-laid out for the prompt
/// GEMM kernels (<see cref="GemmKernels"/>): tokens in groups of <see cref="Lanes"/>, one token per 32-bit lane, so one
/// 8-bit dot-product instruction multiplies four weights (broadcast) with four activations of every token of a group and
/// leaves each token's partial sum in its own lane. No horizontal sums are ever needed, and the weights are read straight
/// from the model file.
/// </summary>
/// <remarks>
/// <para>Regions, group by group (g = token / Lanes, lane = token % Lanes):</para>
/// <list type="bullet">
/// <item><b>qs</b>: for every 32-element block b and four-element step k (0..7), <c>Lanes</c> dwords: token lane's
/// elements 4k..4k+3 of block b, at <c>g·cols·Lanes + b·32·Lanes + k·4·Lanes + 4·lane</c>.</item>
/// <item><b>d</b>: the activation scale of every scale block (32 elements for Q8_0, 256 for Q8_K) as a float per lane.</item>
/// <item><b>aux</b>: one int per lane and aux unit (16 or 32 elements): <c>AuxMultiplier · Σ qs</c> over the unit. The
/// kernels use it either as the start of a block's integer sum (a correction for weight levels stored with an offset:
/// Σ(u − o)·a = Σu·a − o·Σa) or, for Q4_K, as the sums its mins multiply. A 64-element unit packs the two 32-element
/// sums of Q8_K's stored bsums as 16-bit halves (low: first), for a 16-bit pair dot product with Q4_K's mins.</item>
/// </list>
/// <para>Lanes past the last token are zero. Integer sums are exact, so what the kernels compute from a panel is exactly
/// what the scalar reference computes from the activation rows.</para>
/// </remarks>
internal readonly unsafe struct TokenPanel
{
    private TokenPanel(GgmlType pair, int lanes, int tokens, int cols, int auxUnit, int auxMultiplier)
    {
        Pair = pair;
        Lanes = lanes;
        Tokens = tokens;
        Cols = cols;
        Groups = (tokens + lanes - 1) / lanes;
        ScaleBlocks = cols / (pair == GgmlType.Q8_K ? QK.QK_K : 32);
        AuxUnit = auxUnit;
        AuxMultiplier = auxMultiplier;
        AuxUnits = auxMultiplier == 0 ? 0 : cols / auxUnit;
        QsBytes = (long)Groups * cols * lanes;
        DBytes = (long)Groups * ScaleBlocks * lanes * sizeof(float);
        AuxBytes = (long)Groups * AuxUnits * lanes * sizeof(int);
    }

    /// <summary>The activation type the rows were quantized to: Q8_0 (34-byte blocks) or Q8_K (292-byte blocks).</summary>
    public GgmlType Pair { get; }

    /// <summary>Tokens per group: the int32 lanes of the kernels' vectors.</summary>
    public int Lanes { get; }

    public int Tokens { get; }

    public int Cols { get; }

    public int Groups { get; }

    /// <summary>Scale blocks per token: cols / 32 (Q8_0) or cols / 256 (Q8_K).</summary>
    public int ScaleBlocks { get; }

    /// <summary>Elements per aux unit (16 or 32).</summary>
    public int AuxUnit { get; }

    /// <summary>Factor of the aux sums; 0 when the panel has no aux region.</summary>
    public int AuxMultiplier { get; }

    public int AuxUnits { get; }

    public long QsBytes { get; }

    public long DBytes { get; }

    public long AuxBytes { get; }

    public long TotalBytes => QsBytes + DBytes + AuxBytes;

    /// <summary>The layout for <paramref name="tokens"/> rows of <paramref name="cols"/> elements in <paramref name="pair"/>.</summary>
    public static TokenPanel Create(GgmlType pair, int lanes, int tokens, int cols, int auxUnit, int auxMultiplier) =>
        new(pair, lanes, tokens, cols, auxUnit, auxMultiplier);

    /// <summary>The qs of group <paramref name="g"/>: block b, step k at <c>+ b·32·Lanes + k·4·Lanes</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Qs(byte* panel, int g) => panel + (long)g * Cols * Lanes;

    /// <summary>The scales of group <paramref name="g"/>: scale block b at <c>+ b·Lanes</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float* D(byte* panel, int g) => (float*)(panel + QsBytes) + (long)g * ScaleBlocks * Lanes;

    /// <summary>The aux sums of group <paramref name="g"/>: unit u at <c>+ u·Lanes</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int* Aux(byte* panel, int g) => (int*)(panel + QsBytes + DBytes) + (long)g * AuxUnits * Lanes;

    /// <summary>
    /// Writes token <paramref name="t"/>'s quantized row <paramref name="row"/> into its lane. Lanes of different tokens
    /// never share a byte, so tokens can be added from several threads at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddToken(byte* panel, int t, byte* row)
    {
        int g = t / Lanes, lane = t % Lanes;
        byte* qs = Qs(panel, g) + 4 * lane;
        float* d = D(panel, g) + lane;
        int* aux = AuxUnits == 0 ? null : Aux(panel, g) + lane;
        int lanes = Lanes;
        if (Pair == GgmlType.Q8_0)
        {
            float* h16 = Fp16Table.Pointer;
            for (int b = 0; b < ScaleBlocks; b++)
            {
                byte* block = row + b * 34;
                d[b * lanes] = Fp16Table.Load(h16, block);
                Scatter(block + 2, qs + (long)b * 32 * lanes, lanes);
                if (aux != null)
                {
                    // Q8_0 aux units are whole blocks (AuxUnit 32).
                    aux[b * lanes] = AuxMultiplier * Sum32(block + 2);
                }
            }

            return;
        }

        for (int i = 0; i < ScaleBlocks; i++)
        {
            byte* block = row + i * 292;
            d[i * lanes] = *(float*)block;
            for (int b = 0; b < 8; b++)
            {
                Scatter(block + 4 + 32 * b, qs + (long)(8 * i + b) * 32 * lanes, lanes);
            }

            if (aux == null)
            {
                continue;
            }

            short* bsums = (short*)(block + 260);
            if (AuxUnit == 64)
            {
                // Q4_K's mins, paired: |Σ32| ≤ 4064 fits a short.
                for (int b = 0; b < 4; b++)
                {
                    int lo = bsums[4 * b] + bsums[4 * b + 1], hi = bsums[4 * b + 2] + bsums[4 * b + 3];
                    aux[(4 * i + b) * lanes] = (ushort)(short)lo | (hi << 16);
                }
            }
            else if (AuxUnit == 32)
            {
                // Q4_K's mins multiply the stored 16-element sums, as the reference does.
                for (int b = 0; b < 8; b++)
                {
                    aux[(8 * i + b) * lanes] = AuxMultiplier * (bsums[2 * b] + bsums[2 * b + 1]);
                }
            }
            else
            {
                // A correction of Σ(u − o)·a must use the actual quants, whatever the stored sums say.
                for (int u = 0; u < 16; u++)
                {
                    aux[(16 * i + u) * lanes] = AuxMultiplier * Sum16(block + 4 + 16 * u);
                }
            }
        }
    }

    /// <summary>Zeroes the lanes of the last group that no token fills (their outputs are never stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ClearPadding(byte* panel)
    {
        int g = Groups - 1;
        for (int lane = Tokens - g * Lanes; lane < Lanes && lane > 0; lane++)
        {
            byte* qs = Qs(panel, g) + 4 * lane;
            for (int c = 0; c < Cols / 4; c++)
            {
                *(int*)(qs + (long)c * 4 * Lanes) = 0;
            }

            float* d = D(panel, g) + lane;
            for (int b = 0; b < ScaleBlocks; b++)
            {
                d[b * Lanes] = 0;
            }

            if (AuxUnits != 0)
            {
                int* aux = Aux(panel, g) + lane;
                for (int u = 0; u < AuxUnits; u++)
                {
                    aux[u * Lanes] = 0;
                }
            }
        }
    }

    /// <summary>The eight dwords of 32 quants to eight consecutive steps of one lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter(byte* src, byte* dst, int lanes)
    {
        int stride = 4 * lanes;
        for (int k = 0; k < 8; k++)
        {
            *(int*)(dst + k * stride) = Unsafe.ReadUnaligned<int>(src + 4 * k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Sum32(byte* q) => Sum16(q) + Sum16(q + 16);

    /// <summary>Exact sum of sixteen signed bytes (each widened; |sum| ≤ 2048 fits a short).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Sum16(byte* q)
    {
        var (lo, hi) = Vector128.Widen(Vector128.Load((sbyte*)q));
        return Vector128.Sum(Vector128.WidenLower(lo + hi) + Vector128.WidenUpper(lo + hi));
    }
}
