using System.Runtime.CompilerServices;
using Hearth.Tensors;

namespace Hearth.Tests.Tensors;

public class BlockLayoutTests
{
    [Fact]
    public void EveryBlockStructHasTheGgufSize()
    {
        Assert.Equal(GgmlTypes.Get(GgmlType.Q4_0).TypeSize, Unsafe.SizeOf<BlockQ4_0>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q4_1).TypeSize, Unsafe.SizeOf<BlockQ4_1>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q5_0).TypeSize, Unsafe.SizeOf<BlockQ5_0>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q5_1).TypeSize, Unsafe.SizeOf<BlockQ5_1>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q8_0).TypeSize, Unsafe.SizeOf<BlockQ8_0>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q8_1).TypeSize, Unsafe.SizeOf<BlockQ8_1>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q2_K).TypeSize, Unsafe.SizeOf<BlockQ2_K>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q3_K).TypeSize, Unsafe.SizeOf<BlockQ3_K>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q4_K).TypeSize, Unsafe.SizeOf<BlockQ4_K>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q5_K).TypeSize, Unsafe.SizeOf<BlockQ5_K>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q6_K).TypeSize, Unsafe.SizeOf<BlockQ6_K>());
        Assert.Equal(GgmlTypes.Get(GgmlType.Q8_K).TypeSize, Unsafe.SizeOf<BlockQ8_K>());
    }

    [Fact]
    public void BlockSizesAreTheGgmlConstants()
    {
        // The sizes ggml-common.h static_asserts, spelled out so a wrong table entry cannot hide a wrong struct.
        Assert.Equal(18, Unsafe.SizeOf<BlockQ4_0>());
        Assert.Equal(20, Unsafe.SizeOf<BlockQ4_1>());
        Assert.Equal(22, Unsafe.SizeOf<BlockQ5_0>());
        Assert.Equal(24, Unsafe.SizeOf<BlockQ5_1>());
        Assert.Equal(34, Unsafe.SizeOf<BlockQ8_0>());
        Assert.Equal(36, Unsafe.SizeOf<BlockQ8_1>());
        Assert.Equal(84, Unsafe.SizeOf<BlockQ2_K>());
        Assert.Equal(110, Unsafe.SizeOf<BlockQ3_K>());
        Assert.Equal(144, Unsafe.SizeOf<BlockQ4_K>());
        Assert.Equal(176, Unsafe.SizeOf<BlockQ5_K>());
        Assert.Equal(210, Unsafe.SizeOf<BlockQ6_K>());
        Assert.Equal(292, Unsafe.SizeOf<BlockQ8_K>());
    }

    [Fact]
    public void FieldOffsetsFollowGgmlCommon()
    {
        var q2 = default(BlockQ2_K);
        Assert.Equal(0, Offset(ref q2, ref q2.Scales));
        Assert.Equal(16, Offset(ref q2, ref q2.Qs));
        Assert.Equal(80, Offset(ref q2, ref q2.D));
        Assert.Equal(82, Offset(ref q2, ref q2.DMin));

        var q3 = default(BlockQ3_K);
        Assert.Equal(32, Offset(ref q3, ref q3.Qs));
        Assert.Equal(96, Offset(ref q3, ref q3.Scales));
        Assert.Equal(108, Offset(ref q3, ref q3.D));

        var q4 = default(BlockQ4_K);
        Assert.Equal(2, Offset(ref q4, ref q4.DMin));
        Assert.Equal(4, Offset(ref q4, ref q4.Scales));
        Assert.Equal(16, Offset(ref q4, ref q4.Qs));

        var q5 = default(BlockQ5_K);
        Assert.Equal(16, Offset(ref q5, ref q5.Qh));
        Assert.Equal(48, Offset(ref q5, ref q5.Qs));

        var q6 = default(BlockQ6_K);
        Assert.Equal(128, Offset(ref q6, ref q6.Qh));
        Assert.Equal(192, Offset(ref q6, ref q6.Scales));
        Assert.Equal(208, Offset(ref q6, ref q6.D));

        var q8k = default(BlockQ8_K);
        Assert.Equal(4, Offset(ref q8k, ref q8k.Qs));
        Assert.Equal(260, Offset(ref q8k, ref q8k.BSums));

        var q51 = default(BlockQ5_1);
        Assert.Equal(2, Offset(ref q51, ref q51.M));
        Assert.Equal(4, Offset(ref q51, ref q51.Qh));
        Assert.Equal(8, Offset(ref q51, ref q51.Qs));

        var q81 = default(BlockQ8_1);
        Assert.Equal(2, Offset(ref q81, ref q81.S));
        Assert.Equal(4, Offset(ref q81, ref q81.Qs));
    }

    [Fact]
    public void KernelTableCoversExactlyTheComputableTypes()
    {
        foreach (var info in GgmlTypes.All)
        {
            Assert.True(info.IsComputable == Quants.IsSupported(info.Type), $"{info.Name}: table says computable={info.IsComputable}");
        }

        Assert.Equal(TensorTestUtil.ComputableTypes.Order(), GgmlTypes.All.Where(i => i.IsComputable).Select(i => i.Type).Order());
    }

    private static int Offset<TBlock, TField>(ref TBlock block, ref TField field) =>
        (int)Unsafe.ByteOffset(ref Unsafe.As<TBlock, byte>(ref block), ref Unsafe.As<TField, byte>(ref field));
}
