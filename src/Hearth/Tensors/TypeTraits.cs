using Hearth.Tensors.Scalar;

namespace Hearth.Tensors;

/// <summary>Decodes <c>dst.Length / blockSize</c> blocks from the start of <c>src</c>. Unchecked: sizes are the caller's job.</summary>
internal delegate void DequantizeRowKernel(ReadOnlySpan<byte> src, Span<float> dst);

/// <summary>Encodes <c>src.Length / blockSize</c> blocks into the start of <c>dst</c>. Unchecked: sizes are the caller's job.</summary>
internal delegate void QuantizeRowKernel(ReadOnlySpan<float> src, Span<byte> dst);

/// <summary>Dot product of <c>n</c> elements: a weight row with an activation row in the pairing type. Unchecked.</summary>
internal delegate float VecDotKernel(ReadOnlySpan<byte> weights, ReadOnlySpan<byte> activations, int n);

/// <summary>
/// The kernel table (ggml's <c>type_traits</c> + <c>type_traits_cpu</c>): for every computable type, how to decode it,
/// how to encode it, which type activations are converted to before a dot product, and the dot product itself.
/// Immutable and shared. The dot products and matmul row kernels are those of the widest instruction set this machine
/// supports (<see cref="KernelIsas.Best"/>); the Scalar/ reference kernels are the specification they are tested against.
/// </summary>
internal sealed class TypeTraits
{
    private static readonly TypeTraits?[] s_table = Build();

    private TypeTraits(GgmlType type, GgmlType vecDotType, DequantizeRowKernel dequantize, QuantizeRowKernel quantize, VecDotKernel? scalarDot)
    {
        Type = type;
        Info = GgmlTypes.Get(type);
        VecDotType = vecDotType;
        Dequantize = dequantize;
        Quantize = ActivationQuantizers.Get(KernelIsas.Best, type) ?? quantize;
        KernelActType = KernelDot.ActivationType(type, vecDotType);
        Kernels = KernelIsas.Get(KernelIsas.Best, type);
        Batch = GemmIsas.Best == GemmIsa.None ? default : GemmIsas.Get(GemmIsas.Best, type);
        VecDot = Kernels.IsEmpty ? scalarDot! : KernelDot.Make(type, Kernels);
    }

    public GgmlType Type { get; }

    public GgmlTypeInfo Info { get; }

    /// <summary>The type activations are quantized to before <see cref="VecDot"/> (ggml's <c>vec_dot_type</c>).</summary>
    public GgmlType VecDotType { get; }

    public DequantizeRowKernel Dequantize { get; }

    public QuantizeRowKernel Quantize { get; }

    public VecDotKernel VecDot { get; }

    /// <summary>The format <see cref="Kernels"/> read activation rows in: <see cref="VecDotType"/>, except F32 for F16 / BF16.</summary>
    public GgmlType KernelActType { get; }

    /// <summary>The matmul row kernels on this machine's widest instruction set.</summary>
    public RowKernels Kernels { get; }

    /// <summary>
    /// The exact batch kernels on this machine's best GEMM instruction set (<see cref="GemmIsas.Best"/>); empty for types
    /// (or machines) without them, which run every batch through <see cref="Kernels"/>.
    /// </summary>
    public GemmKernels Batch { get; }

    /// <summary>The traits of a computable type, or null for types Hearth can only read.</summary>
    public static TypeTraits? Find(GgmlType type) => (uint)type < (uint)s_table.Length ? s_table[(int)type] : null;

    /// <summary>The traits of a computable type.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The number is not a ggml type.</exception>
    /// <exception cref="NotSupportedException">The type is a ggml type Hearth cannot compute with.</exception>
    public static TypeTraits Get(GgmlType type)
    {
        var traits = Find(type);
        if (traits is null)
        {
            var info = GgmlTypes.Get(type); // throws for numbers ggml does not define
            throw new NotSupportedException($"tensor type {info.Name} is not supported for computation (supported: {SupportedList()})");
        }

        return traits;
    }

    public static IEnumerable<TypeTraits> All => s_table.OfType<TypeTraits>();

    private static string SupportedList() => string.Join(", ", All.Select(t => t.Info.Name));

    private static TypeTraits?[] Build()
    {
        TypeTraits[] entries =
        [
            new(GgmlType.F32, GgmlType.F32, ScalarDequantize.F32, ScalarQuantize.F32, ScalarDot.F32),
            new(GgmlType.F16, GgmlType.F16, ScalarDequantize.F16, ScalarQuantize.F16, ScalarDot.F16),
            new(GgmlType.BF16, GgmlType.BF16, ScalarDequantize.BF16, ScalarQuantize.BF16, ScalarDot.BF16),
            new(GgmlType.Q4_0, GgmlType.Q8_0, ScalarDequantize.Q4_0, ScalarQuantize.Q4_0, ScalarDot.Q4_0Q8_0),
            new(GgmlType.Q4_1, GgmlType.Q8_1, ScalarDequantize.Q4_1, ScalarQuantize.Q4_1, ScalarDot.Q4_1Q8_1),
            new(GgmlType.Q5_0, GgmlType.Q8_0, ScalarDequantize.Q5_0, ScalarQuantize.Q5_0, ScalarDot.Q5_0Q8_0),
            new(GgmlType.Q5_1, GgmlType.Q8_1, ScalarDequantize.Q5_1, ScalarQuantize.Q5_1, ScalarDot.Q5_1Q8_1),
            new(GgmlType.Q8_0, GgmlType.Q8_0, ScalarDequantize.Q8_0, ScalarQuantize.Q8_0, ScalarDot.Q8_0Q8_0),
            new(GgmlType.Q8_1, GgmlType.Q8_1, ScalarDequantize.Q8_1, ScalarQuantize.Q8_1, ScalarDot.Q8_1Q8_1),
            new(GgmlType.Q2_K, GgmlType.Q8_K, ScalarDequantize.Q2_K, ScalarQuantize.Q2_K, ScalarDot.Q2_KQ8_K),
            new(GgmlType.Q3_K, GgmlType.Q8_K, ScalarDequantize.Q3_K, ScalarQuantize.Q3_K, ScalarDot.Q3_KQ8_K),
            new(GgmlType.Q4_K, GgmlType.Q8_K, ScalarDequantize.Q4_K, ScalarQuantize.Q4_K, ScalarDot.Q4_KQ8_K),
            new(GgmlType.Q5_K, GgmlType.Q8_K, ScalarDequantize.Q5_K, ScalarQuantize.Q5_K, ScalarDot.Q5_KQ8_K),
            new(GgmlType.Q6_K, GgmlType.Q8_K, ScalarDequantize.Q6_K, ScalarQuantize.Q6_K, ScalarDot.Q6_KQ8_K),
            new(GgmlType.Q8_K, GgmlType.Q8_K, ScalarDequantize.Q8_K, ScalarQuantize.Q8_K, ScalarDot.Q8_KQ8_K),
        ];

        var table = new TypeTraits?[entries.Max(e => (int)e.Type) + 1];
        foreach (var e in entries)
        {
            table[(int)e.Type] = e;
        }

        return table;
    }
}
