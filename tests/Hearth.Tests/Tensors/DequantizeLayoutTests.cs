using Hearth.Tensors;
using static Hearth.Tests.Tensors.TensorTestUtil;

namespace Hearth.Tests.Tensors;

/// <summary>
/// Hand-made blocks whose expected values follow from the GGUF layouts as ggml documents them (ggml-common.h and the
/// dequantize_row_* functions), element by element. They pin the packing independently of the quantizers.
/// </summary>
public class DequantizeLayoutTests
{
    [Fact]
    public void Q4_0LowNibblesAreTheFirstHalf()
    {
        var b = new BlockQ4_0 { D = (Half)0.5f };
        for (int j = 0; j < 16; j++)
        {
            b.Qs[j] = (byte)(j | ((15 - j) << 4));
        }

        var y = Dequantize(GgmlType.Q4_0, BytesOf(b), 32);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal((j - 8) * 0.5f, y[j]);
            Assert.Equal((15 - j - 8) * 0.5f, y[16 + j]);
        }
    }

    [Fact]
    public void Q4_1AddsTheMin()
    {
        var b = new BlockQ4_1 { D = (Half)0.25f, M = (Half)(-1f) };
        for (int j = 0; j < 16; j++)
        {
            b.Qs[j] = (byte)(j | ((15 - j) << 4));
        }

        var y = Dequantize(GgmlType.Q4_1, BytesOf(b), 32);
        for (int j = 0; j < 16; j++)
        {
            Assert.Equal(j * 0.25f - 1f, y[j]);
            Assert.Equal((15 - j) * 0.25f - 1f, y[16 + j]);
        }
    }

    [Fact]
    public void Q5_0HighBitsComeFromTheLittleEndianQh()
    {
        // qh = 0x80020001: fifth bit set for elements 0, 17 and 31.
        var b = new BlockQ5_0 { D = (Half)2f };
        b.Qh[0] = 0x01;
        b.Qh[2] = 0x02;
        b.Qh[3] = 0x80;
        b.Qs[1] = 0x30; // element 17's low nibble = 3
        var y = Dequantize(GgmlType.Q5_0, BytesOf(b), 32);
        for (int i = 0; i < 32; i++)
        {
            float expected = i switch { 0 or 31 => 0f, 17 => (19 - 16) * 2f, _ => -16 * 2f };
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q5_1HighBitsAndMin()
    {
        var b = new BlockQ5_1 { D = (Half)1f, M = (Half)0.5f };
        b.Qh[1] = 0x01;           // element 8
        b.Qs[8] = 0x0F;           // element 8 low nibble 15 -> 31
        b.Qs[15] = 0xF0;          // element 31 low nibble 15, no high bit -> 15
        var y = Dequantize(GgmlType.Q5_1, BytesOf(b), 32);
        for (int i = 0; i < 32; i++)
        {
            float expected = i switch { 8 => 31.5f, 31 => 15.5f, _ => 0.5f };
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q8_0AndQ8_1AreSignedBytesTimesD()
    {
        var b0 = new BlockQ8_0 { D = (Half)2f };
        var b1 = new BlockQ8_1 { D = (Half)2f, S = (Half)123f };
        for (int i = 0; i < 32; i++)
        {
            b0.Qs[i] = (sbyte)(i * 8 - 128);
            b1.Qs[i] = (sbyte)(i * 8 - 128);
        }

        var y0 = Dequantize(GgmlType.Q8_0, BytesOf(b0), 32);
        var y1 = Dequantize(GgmlType.Q8_1, BytesOf(b1), 32);
        for (int i = 0; i < 32; i++)
        {
            Assert.Equal((i * 8 - 128) * 2f, y0[i]);
            Assert.Equal((i * 8 - 128) * 2f, y1[i]);
        }
    }

    [Fact]
    public void Q2_KCrumbOrderAndNibbleScales()
    {
        // Element 212 = 128*1 + 32*2 + 20 lives in bits 4-5 of qs[32 + 20] and in sub-block 212 / 16 = 13.
        var b = new BlockQ2_K { D = (Half)1f, DMin = (Half)0.5f };
        b.Scales[13] = 0x23;      // scale 3, min 2
        b.Qs[52] = 2 << 4;
        var y = Dequantize(GgmlType.Q2_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            float expected = i == 212 ? 3 * 2 - 0.5f * 2 : i / 16 == 13 ? -0.5f * 2 : 0f;
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q3_KScalesHmaskAndCrumbs()
    {
        // All sixteen 6-bit scales = 32 (i.e. zero after the -32 bias): low nibbles 0, top bits 0b10 everywhere.
        var b = new BlockQ3_K { D = (Half)1f };
        for (int i = 8; i < 12; i++)
        {
            b.Scales[i] = 0xAA;
        }

        b.Scales[2] = 0x30;       // scale 10's low nibble (high half of byte 10 % 8) = 3 -> 35 - 32 = 3
        // Element 165 = 128 + 32*1 + 5: low bits in bits 2-3 of qs[32 + 5]; high bit is bit 165/32 = 5 of hmask[165 % 32].
        b.Qs[37] = 3 << 2;
        b.HMask[5] = 1 << 5;
        var y = Dequantize(GgmlType.Q3_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            float expected = i == 165 ? 3 * 3 : i / 16 == 10 ? 3 * -4 : 0f;
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q4_KSixBitScalesAndNibbleHalves()
    {
        var b = MakeQ4KScales();
        b.Qs[7] = 0xA0;           // element 32 + 7 (sub-block 1) = high nibble of qs[7] -> 10
        b.Qs[100] = 0x03;         // element 192 + 4 (sub-block 6) = low nibble of qs[96 + 4] -> 3
        var y = Dequantize(GgmlType.Q4_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            float expected = i switch
            {
                39 => 5 * 10 - 2,
                196 => 17 * 3 - 35,
                >= 32 and < 64 => -2,
                >= 192 and < 224 => -35,
                _ => 0,
            };
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q5_KFifthBitIsBitSubBlockOfQh()
    {
        var q4 = MakeQ4KScales();
        var b = new BlockQ5_K { D = q4.D, DMin = q4.DMin, Scales = q4.Scales };
        b.Qs[7] = 0xA0;
        b.Qs[100] = 0x03;
        b.Qh[7] = 1 << 1;         // element 39 is in sub-block 1
        b.Qh[4] = 1 << 6;         // element 196 is in sub-block 6
        var y = Dequantize(GgmlType.Q5_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            float expected = i switch
            {
                39 => 5 * 26 - 2,
                196 => 17 * 19 - 35,
                >= 32 and < 64 => -2,
                >= 192 and < 224 => -35,
                _ => 0,
            };
            Assert.Equal(expected, y[i]);
        }
    }

    [Fact]
    public void Q6_KLowNibblesHighCrumbsAndSignedScales()
    {
        var b = new BlockQ6_K { D = (Half)0.5f };
        for (int j = 0; j < 16; j++)
        {
            b.Scales[j] = (sbyte)(j - 8);
        }

        // Element 197 = 128*1 + 64 + 5: the third group of half 1 -> high nibble of ql[64 + 5], bits 4-5 of qh[32 + 5].
        b.Ql[69] = 0x70;
        b.Qh[37] = 2 << 4;
        var y = Dequantize(GgmlType.Q6_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            int q = i == 197 ? (7 | (2 << 4)) - 32 : -32;
            Assert.Equal(0.5f * (i / 16 - 8) * q, y[i]);
        }
    }

    [Fact]
    public void Q8_KHasAFloatScale()
    {
        var b = new BlockQ8_K { D = 0.1f };
        for (int i = 0; i < 256; i++)
        {
            b.Qs[i] = (sbyte)(i - 128);
        }

        var y = Dequantize(GgmlType.Q8_K, BytesOf(b), 256);
        for (int i = 0; i < 256; i++)
        {
            Assert.Equal(0.1f * (i - 128), y[i]);
        }
    }

    [Fact]
    public void PlainFloatTypes()
    {
        float[] values = [1.5f, -2.25f, 0f, 65504f, 1e-3f, -7f, 3.140625f, 100f];
        var f32 = new byte[32];
        var f16 = new byte[16];
        var bf16 = new byte[16];
        for (int i = 0; i < values.Length; i++)
        {
            BitConverter.TryWriteBytes(f32.AsSpan(4 * i), values[i]);
            BitConverter.TryWriteBytes(f16.AsSpan(2 * i), (Half)values[i]);
            BitConverter.TryWriteBytes(bf16.AsSpan(2 * i), (ushort)(BitConverter.SingleToUInt32Bits(values[i]) >> 16));
        }

        Assert.Equal(values, Dequantize(GgmlType.F32, f32, 8));
        Assert.Equal(values.Select(v => (float)(Half)v), Dequantize(GgmlType.F16, f16, 8));
        Assert.Equal(values.Select(v => BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(v) & 0xFFFF0000u)), Dequantize(GgmlType.BF16, bf16, 8));
    }

    [Fact]
    public void DequantizeValidatesSizes()
    {
        Assert.Throws<ArgumentException>(() => Quants.Dequantize(GgmlType.Q4_0, new byte[18], new float[31]));
        Assert.Throws<ArgumentException>(() => Quants.Dequantize(GgmlType.Q4_0, new byte[35], new float[64]));
        Assert.Throws<ArgumentException>(() => Quants.Dequantize(GgmlType.Q6_K, new byte[210], new float[128]));
        Assert.Throws<NotSupportedException>(() => Quants.Dequantize(GgmlType.IQ2_XXS, new byte[66], new float[256]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quants.Dequantize((GgmlType)77, new byte[66], new float[256]));
        Quants.Dequantize(GgmlType.Q4_0, new byte[40], new float[64]); // extra source bytes are fine
    }

    /// <summary>
    /// A Q4_K block (d = dmin = 1) whose sub-block 1 has scale 5 / min 2 (stored directly, j &lt; 4) and sub-block 6
    /// has scale 17 / min 35 (low nibbles in byte 10, top bits in the spare bits of bytes 2 and 6).
    /// </summary>
    private static BlockQ4_K MakeQ4KScales()
    {
        var b = new BlockQ4_K { D = (Half)1f, DMin = (Half)1f };
        b.Scales[1] = 5;
        b.Scales[5] = 2;
        b.Scales[10] = 0x31;      // scale 6 low nibble 1, min 6 low nibble 3
        b.Scales[2] = 0x40;       // scale 6 top bits 01 -> +16
        b.Scales[6] = 0x80;       // min 6 top bits 10 -> +32
        return b;
    }
}
