namespace Hearth.Tensors;

/// <summary>Tensor element types, numbered exactly as ggml numbers them in GGUF files.</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// <summary>Storage facts of one <see cref="GgmlType"/>: how many elements a block holds and its size in bytes.</summary>
/// <param name="Type">The type.</param>
/// <param name="BlockSize">Elements per block (1 for plain scalar types).</param>
/// <param name="TypeSize">Bytes per block.</param>
/// <param name="IsComputable">True when Hearth can dequantize and multiply it; other types can be read and inspected only.</param>
public readonly record struct GgmlTypeInfo(GgmlType Type, int BlockSize, int TypeSize, bool IsComputable)
{
    public string Name => Type.ToString();

    /// <summary>Bytes used by <paramref name="elements"/> elements; the count must be a multiple of the block size.</summary>
    public long RowBytes(long elements) => elements / BlockSize * TypeSize;
}

/// <summary>The table of every tensor type GGUF files may carry.</summary>
public static class GgmlTypes
{
    /// <summary>Elements per super-block of the K-quants.</summary>
    public const int QK_K = 256;

    private static readonly Dictionary<GgmlType, GgmlTypeInfo> s_table = new GgmlTypeInfo[]
    {
        new(GgmlType.F32, 1, 4, true),
        new(GgmlType.F16, 1, 2, true),
        new(GgmlType.BF16, 1, 2, true),
        new(GgmlType.Q4_0, 32, 18, true),
        new(GgmlType.Q4_1, 32, 20, true),
        new(GgmlType.Q5_0, 32, 22, true),
        new(GgmlType.Q5_1, 32, 24, true),
        new(GgmlType.Q8_0, 32, 34, true),
        new(GgmlType.Q8_1, 32, 36, true),
        new(GgmlType.Q2_K, QK_K, 84, true),
        new(GgmlType.Q3_K, QK_K, 110, true),
        new(GgmlType.Q4_K, QK_K, 144, true),
        new(GgmlType.Q5_K, QK_K, 176, true),
        new(GgmlType.Q6_K, QK_K, 210, true),
        new(GgmlType.Q8_K, QK_K, 292, true),
        new(GgmlType.IQ2_XXS, QK_K, 66, false),
        new(GgmlType.IQ2_XS, QK_K, 74, false),
        new(GgmlType.IQ3_XXS, QK_K, 98, false),
        new(GgmlType.IQ1_S, QK_K, 50, false),
        new(GgmlType.IQ4_NL, 32, 18, false),
        new(GgmlType.IQ3_S, QK_K, 110, false),
        new(GgmlType.IQ2_S, QK_K, 82, false),
        new(GgmlType.IQ4_XS, QK_K, 136, false),
        new(GgmlType.I8, 1, 1, false),
        new(GgmlType.I16, 1, 2, false),
        new(GgmlType.I32, 1, 4, false),
        new(GgmlType.I64, 1, 8, false),
        new(GgmlType.F64, 1, 8, false),
        new(GgmlType.IQ1_M, QK_K, 56, false),
        new(GgmlType.TQ1_0, QK_K, 54, false),
        new(GgmlType.TQ2_0, QK_K, 66, false),
        new(GgmlType.MXFP4, 32, 17, false),
    }.ToDictionary(i => i.Type);

    /// <summary>Looks a type up; false for a number ggml does not define.</summary>
    public static bool TryGet(GgmlType type, out GgmlTypeInfo info) => s_table.TryGetValue(type, out info);

    /// <summary>The facts of a known type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The type number is not a ggml type.</exception>
    public static GgmlTypeInfo Get(GgmlType type) =>
        s_table.TryGetValue(type, out var info) ? info : throw new ArgumentOutOfRangeException(nameof(type), $"unknown ggml tensor type {(uint)type}");

    public static IEnumerable<GgmlTypeInfo> All => s_table.Values;
}
