using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hearth.Tensors;

// Quantized block layouts, byte for byte as ggml writes them in GGUF files (ggml-common.h). All multi-byte fields are
// little-endian; "half" fields are IEEE binary16. Element order inside a block is spelled out on each struct because
// the packing is not always the obvious one (nibble halves, interleaved high bits).

/// <summary>Block sizes (elements per block) of the quantized formats, as ggml names them.</summary>
public static class QK
{
    public const int QK4_0 = 32;
    public const int QK4_1 = 32;
    public const int QK5_0 = 32;
    public const int QK5_1 = 32;
    public const int QK8_0 = 32;
    public const int QK8_1 = 32;

    /// <summary>Elements per K-quant super-block.</summary>
    public const int QK_K = GgmlTypes.QK_K;

    /// <summary>Bytes of packed 6-bit scales and mins in Q3_K / Q4_K / Q5_K.</summary>
    public const int K_SCALE_SIZE = 12;
}

#pragma warning disable CS0169, IDE0044, IDE0051 // inline-array element fields are accessed through the indexer
[InlineArray(4)] public struct Bytes4 { private byte _e0; }
[InlineArray(12)] public struct Bytes12 { private byte _e0; }
[InlineArray(16)] public struct Bytes16 { private byte _e0; }
[InlineArray(32)] public struct Bytes32 { private byte _e0; }
[InlineArray(64)] public struct Bytes64 { private byte _e0; }
[InlineArray(128)] public struct Bytes128 { private byte _e0; }
[InlineArray(16)] public struct SBytes16 { private sbyte _e0; }
[InlineArray(32)] public struct SBytes32 { private sbyte _e0; }
[InlineArray(256)] public struct SBytes256 { private sbyte _e0; }
[InlineArray(16)] public struct Int16s16 { private short _e0; }
#pragma warning restore CS0169, IDE0044, IDE0051

/// <summary>
/// Q4_0, 18 bytes per 32 elements: <c>x = d * (q - 8)</c>. Byte <c>j</c> of <see cref="Qs"/> holds element <c>j</c> in its
/// low nibble and element <c>j + 16</c> in its high nibble.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4_0
{
    public Half D;
    public Bytes16 Qs;
}

/// <summary>Q4_1, 20 bytes per 32 elements: <c>x = d * q + m</c>; nibbles packed as in <see cref="BlockQ4_0"/>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4_1
{
    public Half D;
    public Half M;
    public Bytes16 Qs;
}

/// <summary>
/// Q5_0, 22 bytes per 32 elements: <c>x = d * (q - 16)</c> with a 5-bit <c>q</c>. The low four bits are packed as in
/// <see cref="BlockQ4_0"/>; bit <c>i</c> of the little-endian uint32 <see cref="Qh"/> is the fifth bit of element <c>i</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ5_0
{
    public Half D;
    public Bytes4 Qh;
    public Bytes16 Qs;
}

/// <summary>Q5_1, 24 bytes per 32 elements: <c>x = d * q + m</c>, 5-bit <c>q</c> packed as in <see cref="BlockQ5_0"/>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ5_1
{
    public Half D;
    public Half M;
    public Bytes4 Qh;
    public Bytes16 Qs;
}

/// <summary>Q8_0, 34 bytes per 32 elements: <c>x = d * q</c>, one signed byte per element.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8_0
{
    public Half D;
    public SBytes32 Qs;
}

/// <summary>
/// Q8_1, 36 bytes per 32 elements: <c>x = d * q</c> plus <c>s = d * sum(q)</c> (stored as half), which lets the Q4_1 / Q5_1
/// dot products apply their offset <c>m</c> with one multiplication per block.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8_1
{
    public Half D;
    public Half S;
    public SBytes32 Qs;
}

/// <summary>
/// Q2_K, 84 bytes per 256 elements, in 16 sub-blocks of 16. Scale byte <c>j</c>: low nibble scales and high nibble
/// mins sub-block <c>j</c>, so <c>x = d * (sc &amp; 15) * q - dmin * (sc &gt;&gt; 4)</c>. Element
/// <c>128*h + 32*s + l</c> (h &lt; 2, s &lt; 4, l &lt; 32) is bits <c>2s..2s+1</c> of <c>Qs[32*h + l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ2_K
{
    public Bytes16 Scales;
    public Bytes64 Qs;
    public Half D;
    public Half DMin;
}

/// <summary>
/// Q3_K, 110 bytes per 256 elements, in 16 sub-blocks of 16: <c>x = d * (scale - 32) * (q - 4)</c>. The low two bits of
/// <c>q</c> are packed as in <see cref="BlockQ2_K"/>; the third bit of element <c>e</c> is bit <c>e / 32</c> of
/// <c>HMask[e % 32]</c>. The sixteen 6-bit scales are packed into 12 bytes: scale <c>j</c> has its low nibble in
/// <c>Scales[j % 8]</c> (low nibble for j &lt; 8, high for j ≥ 8) and its top two bits at bits <c>2*(j/4)</c> of
/// <c>Scales[8 + j % 4]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ3_K
{
    public Bytes32 HMask;
    public Bytes64 Qs;
    public Bytes12 Scales;
    public Half D;
}

/// <summary>
/// Q4_K, 144 bytes per 256 elements, in 8 sub-blocks of 32: <c>x = d * sc * q - dmin * m</c> with 6-bit <c>sc</c>,
/// <c>m</c> packed in <see cref="Scales"/> (see <c>get_scale_min_k4</c>). Element <c>64*p + l</c> is the low nibble and
/// element <c>64*p + 32 + l</c> the high nibble of <c>Qs[32*p + l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ4_K
{
    public Half D;
    public Half DMin;
    public Bytes12 Scales;
    public Bytes128 Qs;
}

/// <summary>
/// Q5_K, 176 bytes per 256 elements: as <see cref="BlockQ4_K"/> with a fifth bit per element; the fifth bit of element
/// <c>32*s + l</c> is bit <c>s</c> of <c>Qh[l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ5_K
{
    public Half D;
    public Half DMin;
    public Bytes12 Scales;
    public Bytes32 Qh;
    public Bytes128 Qs;
}

/// <summary>
/// Q6_K, 210 bytes per 256 elements, in 16 sub-blocks of 16: <c>x = d * scale * (q - 32)</c>, signed 8-bit scales.
/// In each half <c>h</c> (128 elements) and for <c>l &lt; 32</c>: elements <c>l, l+32, l+64, l+96</c> take their low
/// nibbles from <c>Ql[64h+l]</c> (low), <c>Ql[64h+32+l]</c> (low), <c>Ql[64h+l]</c> (high), <c>Ql[64h+32+l]</c> (high)
/// and their top two bits from bits 0-1, 2-3, 4-5, 6-7 of <c>Qh[32h+l]</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ6_K
{
    public Bytes128 Ql;
    public Bytes64 Qh;
    public SBytes16 Scales;
    public Half D;
}

/// <summary>
/// Q8_K, 292 bytes per 256 elements; the activation format the K-quant dot products pair with. <c>x = d * q</c> with a
/// float32 <c>d</c>, and <see cref="BSums"/>[j] = sum of <c>q</c> over elements <c>16j..16j+15</c>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct BlockQ8_K
{
    public float D;
    public SBytes256 Qs;
    public Int16s16 BSums;
}
