using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hearth.Tensors.Scalar;

/// <summary>
/// Reference dequantizers, one per type, written to be read next to ggml's <c>dequantize_row_*</c>. Every method
/// decodes <c>dst.Length / blockSize</c> blocks from the start of <c>src</c>; callers have validated the sizes.
/// The float expressions keep ggml's operand order so results are bit-identical to ggml's scalar code.
/// </summary>
[SkipLocalsInit] // every stackalloc buffer is fully written before it is read
internal static class ScalarDequantize
{
    public static void F32(ReadOnlySpan<byte> src, Span<float> dst) =>
        MemoryMarshal.Cast<byte, float>(src)[..dst.Length].CopyTo(dst);

    public static void F16(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var h = MemoryMarshal.Cast<byte, Half>(src);
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = (float)h[i];
        }
    }

    public static void BF16(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var h = MemoryMarshal.Cast<byte, ushort>(src);
        for (int i = 0; i < dst.Length; i++)
        {
            dst[i] = Bf16.ToFloat(h[i]);
        }
    }

    public static void Q4_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK4_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_0>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk / 2; j++)
            {
                y[j] = ((b.Qs[j] & 0x0F) - 8) * d;
                y[j + qk / 2] = ((b.Qs[j] >> 4) - 8) * d;
            }
        }
    }

    public static void Q4_1(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK4_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_1>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            float m = (float)b.M;
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk / 2; j++)
            {
                y[j] = (b.Qs[j] & 0x0F) * d + m;
                y[j + qk / 2] = (b.Qs[j] >> 4) * d + m;
            }
        }
    }

    public static void Q5_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK5_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_0>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            uint qh = QuantBits.ReadUInt32(b.Qh);
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk / 2; j++)
            {
                int hi0 = (int)((qh >> j) & 1) << 4;
                int hi1 = (int)((qh >> (j + 16)) & 1) << 4;
                y[j] = (((b.Qs[j] & 0x0F) | hi0) - 16) * d;
                y[j + qk / 2] = (((b.Qs[j] >> 4) | hi1) - 16) * d;
            }
        }
    }

    public static void Q5_1(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK5_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_1>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            float m = (float)b.M;
            uint qh = QuantBits.ReadUInt32(b.Qh);
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk / 2; j++)
            {
                int hi0 = (int)((qh >> j) & 1) << 4;
                int hi1 = (int)((qh >> (j + 16)) & 1) << 4;
                y[j] = ((b.Qs[j] & 0x0F) | hi0) * d + m;
                y[j + qk / 2] = ((b.Qs[j] >> 4) | hi1) * d + m;
            }
        }
    }

    public static void Q8_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK8_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_0>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk; j++)
            {
                y[j] = b.Qs[j] * d;
            }
        }
    }

    public static void Q8_1(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int qk = QK.QK8_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_1>(src);
        for (int i = 0; i < dst.Length / qk; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            var y = dst.Slice(i * qk, qk);
            for (int j = 0; j < qk; j++)
            {
                y[j] = b.Qs[j] * d;
            }
        }
    }

    public static void Q2_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ2_K>(src);
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            float min = (float)b.DMin;
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            int o = 0;
            int isc = 0;
            for (int half = 0; half < 2; half++)
            {
                int q = 32 * half;
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        byte sc = b.Scales[isc++];
                        float dl = d * (sc & 0xF);
                        float ml = min * (sc >> 4);
                        for (int l = 0; l < 16; l++)
                        {
                            y[o++] = dl * ((b.Qs[q + 16 * part + l] >> shift) & 3) - ml;
                        }
                    }
                }
            }
        }
    }

    public static void Q3_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ3_K>(src);
        Span<sbyte> scales = stackalloc sbyte[16];
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            float dAll = (float)b.D;
            QuantBits.UnpackQ3KScales(b.Scales, scales);
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            int o = 0;
            int isc = 0;
            int m = 1;
            for (int half = 0; half < 2; half++)
            {
                int q = 32 * half;
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        float dl = dAll * (scales[isc++] - 32);
                        for (int l = 0; l < 16; l++)
                        {
                            int lo = (b.Qs[q + 16 * part + l] >> shift) & 3;
                            int high = (b.HMask[16 * part + l] & m) != 0 ? 0 : 4;
                            y[o++] = dl * (lo - high);
                        }
                    }

                    m <<= 1;
                }
            }
        }
    }

    public static void Q4_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_K>(src);
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            float min = (float)b.DMin;
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            for (int p = 0; p < 4; p++)
            {
                QuantBits.GetScaleMinK4(2 * p, b.Scales, out int sc1, out int m1);
                QuantBits.GetScaleMinK4(2 * p + 1, b.Scales, out int sc2, out int m2);
                float d1 = d * sc1, dm1 = min * m1;
                float d2 = d * sc2, dm2 = min * m2;
                for (int l = 0; l < 32; l++)
                {
                    y[64 * p + l] = d1 * (b.Qs[32 * p + l] & 0xF) - dm1;
                    y[64 * p + 32 + l] = d2 * (b.Qs[32 * p + l] >> 4) - dm2;
                }
            }
        }
    }

    public static void Q5_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_K>(src);
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            float min = (float)b.DMin;
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            for (int p = 0; p < 4; p++)
            {
                QuantBits.GetScaleMinK4(2 * p, b.Scales, out int sc1, out int m1);
                QuantBits.GetScaleMinK4(2 * p + 1, b.Scales, out int sc2, out int m2);
                float d1 = d * sc1, dm1 = min * m1;
                float d2 = d * sc2, dm2 = min * m2;
                int u1 = 1 << (2 * p), u2 = 2 << (2 * p);
                for (int l = 0; l < 32; l++)
                {
                    int q1 = (b.Qs[32 * p + l] & 0xF) + ((b.Qh[l] & u1) != 0 ? 16 : 0);
                    int q2 = (b.Qs[32 * p + l] >> 4) + ((b.Qh[l] & u2) != 0 ? 16 : 0);
                    y[64 * p + l] = d1 * q1 - dm1;
                    y[64 * p + 32 + l] = d2 * q2 - dm2;
                }
            }
        }
    }

    public static void Q6_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ6_K>(src);
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            float d = (float)b.D;
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            for (int h = 0; h < 2; h++)
            {
                int ql = 64 * h, qh = 32 * h, sc = 8 * h, yo = 128 * h;
                for (int l = 0; l < 32; l++)
                {
                    int isc = l / 16;
                    int q1 = ((b.Ql[ql + l] & 0xF) | (((b.Qh[qh + l] >> 0) & 3) << 4)) - 32;
                    int q2 = ((b.Ql[ql + l + 32] & 0xF) | (((b.Qh[qh + l] >> 2) & 3) << 4)) - 32;
                    int q3 = ((b.Ql[ql + l] >> 4) | (((b.Qh[qh + l] >> 4) & 3) << 4)) - 32;
                    int q4 = ((b.Ql[ql + l + 32] >> 4) | (((b.Qh[qh + l] >> 6) & 3) << 4)) - 32;
                    y[yo + l] = d * b.Scales[sc + isc] * q1;
                    y[yo + l + 32] = d * b.Scales[sc + isc + 2] * q2;
                    y[yo + l + 64] = d * b.Scales[sc + isc + 4] * q3;
                    y[yo + l + 96] = d * b.Scales[sc + isc + 6] * q4;
                }
            }
        }
    }

    public static void Q8_K(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_K>(src);
        for (int i = 0; i < dst.Length / QK.QK_K; i++)
        {
            ref readonly var b = ref blocks[i];
            var y = dst.Slice(i * QK.QK_K, QK.QK_K);
            for (int j = 0; j < QK.QK_K; j++)
            {
                y[j] = b.D * b.Qs[j];
            }
        }
    }
}
