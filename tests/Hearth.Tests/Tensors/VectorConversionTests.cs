using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Hearth.Tensors;
using Hearth.Tensors.Portable;
using Hearth.Tensors.X86;

namespace Hearth.Tests.Tensors;

/// <summary>The vector half-to-float conversions inside the F16 kernels, and the conversion of activations for F16 / BF16 weights.</summary>
public class VectorConversionTests
{
    [Fact]
    public void EveryHalfConvertsExactlyOnEveryVectorWidth()
    {
        // All 65536 patterns, sign-extended as the kernels load them: bit-exact, NaNs stay NaNs.
        var expected = new float[65536];
        var got128 = new float[65536];
        for (int i = 0; i < 65536; i++)
        {
            expected[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }

        for (int i = 0; i < 65536; i += 4)
        {
            var h = Vector128.Create((int)(short)i, (short)(i + 1), (short)(i + 2), (short)(i + 3));
            Vector128Kernels<PortableDot128>.HalfToSingle(h).CopyTo(got128, i);
        }

        AssertSame(expected, got128, "Vector128");

        if (KernelIsas.IsSupported(KernelIsa.Avx2))
        {
            var got256 = new float[65536];
            for (int i = 0; i < 65536; i += 8)
            {
                var h = Vector256.Create((short)i, (short)(i + 1), (short)(i + 2), (short)(i + 3), (short)(i + 4), (short)(i + 5), (short)(i + 6), (short)(i + 7));
                Avx2Kernels<MaddDot256>.HalfToSingle(h).CopyTo(got256, i);
            }

            AssertSame(expected, got256, "Vector256");
        }

        if (KernelIsas.IsSupported(KernelIsa.Avx512))
        {
            var got512 = new float[65536];
            var lanes = new int[16];
            for (int i = 0; i < 65536; i += 16)
            {
                for (int k = 0; k < 16; k++)
                {
                    lanes[k] = (short)(i + k);
                }

                Avx512Kernels.HalfToSingle(Vector512.Create(lanes)).CopyTo(got512, i);
            }

            AssertSame(expected, got512, "Vector512");
        }
    }

    [Fact]
    public void Fp16TableIsExact()
    {
        for (int i = 0; i < 65536; i++)
        {
            float e = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            float g = Fp16Table.ToFloat((ushort)i);
            Assert.True(float.IsNaN(e) ? float.IsNaN(g) : BitConverter.SingleToInt32Bits(e) == BitConverter.SingleToInt32Bits(g), $"0x{i:x4}");
        }
    }

    [Fact]
    public void ActivationsForHalfWeightsHoldTheHalfValues()
    {
        // The F16 kernels read float activations that must equal (float)(Half)x exactly, ties and overflow included.
        var x = new List<float> { 0f, -0f, 1f, 65504f, 65520f, 65519.99f, -70000f, 5.9604645e-8f, 2.9802322e-8f, 2049f, 2051f, 1e-10f, 0.1f };
        x.AddRange(TensorTestUtil.Gaussian(9, 1000, sigma: 100f));
        var src = x.ToArray();
        var dst = new byte[src.Length * 4];
        KernelDot.ConvertActivations(GgmlType.F16, TypeTraits.Get(GgmlType.F16).Quantize, src, dst);
        var got = MemoryMarshal.Cast<byte, float>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits((float)(Half)src[i]), BitConverter.SingleToInt32Bits(got[i]));
        }

        KernelDot.ConvertActivations(GgmlType.BF16, TypeTraits.Get(GgmlType.BF16).Quantize, src, dst);
        got = MemoryMarshal.Cast<byte, float>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            Assert.Equal(Bf16.ToFloat(Bf16.FromFloat(src[i])), got[i]);
        }
    }

    [Fact]
    public void LongHalfDotsMatchTheReference()
    {
        // Past the stack buffer of the F16 / BF16 dot (activations widened into a pooled array).
        foreach (var type in new[] { GgmlType.F16, GgmlType.BF16 })
        {
            int n = 5003;
            var w = TensorTestUtil.Quantize(type, TensorTestUtil.Gaussian(1, n));
            var a = TensorTestUtil.Quantize(type, TensorTestUtil.Gaussian(2, n));
            float reference = KernelPaths.ScalarDot(type)(w, a, n);
            float got = Quants.Dot(type, w, a, n);
            Assert.True(Math.Abs(got - reference) <= 1e-6 * KernelPaths.Magnitude(type, w, a, n), $"{type}: {got} vs {reference}");
        }
    }

    private static void AssertSame(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = float.IsNaN(expected[i])
                ? float.IsNaN(actual[i])
                : BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]);
            Assert.True(same, $"{what}: half 0x{i:x4} gave {actual[i]:R}, expected {expected[i]:R}");
        }
    }
}
