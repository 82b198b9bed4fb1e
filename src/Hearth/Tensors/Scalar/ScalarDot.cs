using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hearth.Tensors.Scalar;

/// <summary>
/// Reference dot products of one weight row with one activation row already in the weight type's pairing type
/// (<see cref="Quants.VecDotType"/>), following ggml's scalar <c>ggml_vec_dot_*</c>: integer sums inside each block, then
/// one float multiply-add per block with the block scales. Callers have validated sizes; <c>n</c> is a multiple of the
/// block size.
/// </summary>
/// <remarks>
/// Float rounding: the legacy quants use ggml's exact per-block expressions. For the K-quants ggml's generic C code
/// spreads the integer sums over 8 float lanes; here each super-block's integer sum is scaled once, which differs only in
/// float rounding (a few ulp). F32/F16/BF16 multiply in float and accumulate in double like ggml's scalar
/// <c>ggml_vec_dot_f32/f16/bf16</c> (<c>ggml_float</c>).
/// </remarks>
[SkipLocalsInit] // every stackalloc buffer is fully written before it is read
internal static class ScalarDot
{
    public static float F32(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int n)
    {
        var a = MemoryMarshal.Cast<byte, float>(x);
        var b = MemoryMarshal.Cast<byte, float>(y);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return (float)sum;
    }

    public static float F16(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int n)
    {
        var a = MemoryMarshal.Cast<byte, Half>(x);
        var b = MemoryMarshal.Cast<byte, Half>(y);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += (float)a[i] * (float)b[i];
        }

        return (float)sum;
    }

    public static float BF16(ReadOnlySpan<byte> x, ReadOnlySpan<byte> y, int n)
    {
        var a = MemoryMarshal.Cast<byte, ushort>(x);
        var b = MemoryMarshal.Cast<byte, ushort>(y);
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += Bf16.ToFloat(a[i]) * Bf16.ToFloat(b[i]);
        }

        return (float)sum;
    }

    public static float Q4_0Q8_0(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_0;
        var x = MemoryMarshal.Cast<byte, BlockQ4_0>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_0>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            int sumi = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                int v0 = (bx.Qs[j] & 0x0F) - 8;
                int v1 = (bx.Qs[j] >> 4) - 8;
                sumi += v0 * by.Qs[j] + v1 * by.Qs[j + qk / 2];
            }

            sumf += sumi * (float)bx.D * (float)by.D;
        }

        return sumf;
    }

    public static float Q4_1Q8_1(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_1;
        var x = MemoryMarshal.Cast<byte, BlockQ4_1>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_1>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            int sumi = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                int v0 = bx.Qs[j] & 0x0F;
                int v1 = bx.Qs[j] >> 4;
                sumi += v0 * by.Qs[j] + v1 * by.Qs[j + qk / 2];
            }

            // sum_j (d_x q_j + m_x) d_y r_j = d_x d_y sum(q r) + m_x * (d_y sum r), and Q8_1 stores s = d_y sum r.
            sumf += ((float)bx.D * (float)by.D) * sumi + (float)bx.M * (float)by.S;
        }

        return sumf;
    }

    public static float Q5_0Q8_0(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_0;
        var x = MemoryMarshal.Cast<byte, BlockQ5_0>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_0>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            uint qh = QuantBits.ReadUInt32(bx.Qh);
            int sumi = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                int h0 = (int)((qh >> j) & 1) << 4;
                int h1 = (int)((qh >> (j + 16)) & 1) << 4;
                int x0 = ((bx.Qs[j] & 0x0F) | h0) - 16;
                int x1 = ((bx.Qs[j] >> 4) | h1) - 16;
                sumi += x0 * by.Qs[j] + x1 * by.Qs[j + qk / 2];
            }

            sumf += ((float)bx.D * (float)by.D) * sumi;
        }

        return sumf;
    }

    public static float Q5_1Q8_1(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_1;
        var x = MemoryMarshal.Cast<byte, BlockQ5_1>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_1>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            uint qh = QuantBits.ReadUInt32(bx.Qh);
            int sumi = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                int h0 = (int)((qh >> j) & 1) << 4;
                int h1 = (int)((qh >> (j + 16)) & 1) << 4;
                int x0 = (bx.Qs[j] & 0x0F) | h0;
                int x1 = (bx.Qs[j] >> 4) | h1;
                sumi += x0 * by.Qs[j] + x1 * by.Qs[j + qk / 2];
            }

            sumf += ((float)bx.D * (float)by.D) * sumi + (float)bx.M * (float)by.S;
        }

        return sumf;
    }

    public static float Q8_0Q8_0(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_0;
        var x = MemoryMarshal.Cast<byte, BlockQ8_0>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_0>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            int sumi = 0;
            for (int j = 0; j < qk; j++)
            {
                sumi += bx.Qs[j] * by.Qs[j];
            }

            sumf += sumi * ((float)bx.D * (float)by.D);
        }

        return sumf;
    }

    /// <summary>Q8_1 · Q8_1 (ggml has no kernel for it; Hearth offers one so every computable type can be multiplied).</summary>
    public static float Q8_1Q8_1(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        const int qk = QK.QK8_1;
        var x = MemoryMarshal.Cast<byte, BlockQ8_1>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_1>(vy);
        float sumf = 0;
        for (int ib = 0; ib < n / qk; ib++)
        {
            ref readonly var bx = ref x[ib];
            ref readonly var by = ref y[ib];
            int sumi = 0;
            for (int j = 0; j < qk; j++)
            {
                sumi += bx.Qs[j] * by.Qs[j];
            }

            sumf += sumi * ((float)bx.D * (float)by.D);
        }

        return sumf;
    }

    public static float Q2_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ2_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];

            // The mins: sum over sub-blocks of m_j * sum(q8 in sub-block j), from Q8_K's precomputed bsums.
            int summs = 0;
            for (int j = 0; j < 16; j++)
            {
                summs += by.BSums[j] * (bx.Scales[j] >> 4);
            }

            float dall = by.D * (float)bx.D;
            float dmin = by.D * (float)bx.DMin;

            int isum = 0;
            int isc = 0;
            int q8 = 0;
            for (int h = 0; h < 2; h++)
            {
                int q2 = 32 * h;
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int part = 0; part < 2; part++)
                    {
                        int d = bx.Scales[isc++] & 0xF;
                        int isuml = 0;
                        for (int l = 0; l < 16; l++)
                        {
                            isuml += by.Qs[q8 + 16 * part + l] * ((bx.Qs[q2 + 16 * part + l] >> shift) & 3);
                        }

                        isum += d * isuml;
                    }

                    q8 += 32;
                }
            }

            sumf += dall * isum - dmin * summs;
        }

        return sumf;
    }

    public static float Q3_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ3_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        Span<sbyte> q3 = stackalloc sbyte[QK.QK_K];
        Span<sbyte> scales = stackalloc sbyte[16];
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];

            // Unpack the 3-bit levels to signed values in [-4, 3]: q = low2 - (high bit set ? 0 : 4).
            int m = 1;
            int o = 0;
            for (int h = 0; h < 2; h++)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int l = 0; l < 32; l++)
                    {
                        int lo = (bx.Qs[32 * h + l] >> shift) & 3;
                        q3[o++] = (sbyte)(lo - ((bx.HMask[l] & m) != 0 ? 0 : 4));
                    }

                    m <<= 1;
                }
            }

            QuantBits.UnpackQ3KScales(bx.Scales, scales);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int sumi = 0;
                for (int l = 0; l < 16; l++)
                {
                    sumi += by.Qs[16 * j + l] * q3[16 * j + l];
                }

                isum += (scales[j] - 32) * sumi;
            }

            float d = (float)bx.D * by.D;
            sumf += d * isum;
        }

        return sumf;
    }

    public static float Q4_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ4_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];
            int isum = 0;
            int summs = 0;
            for (int j = 0; j < 8; j++)
            {
                QuantBits.GetScaleMinK4(j, bx.Scales, out int sc, out int mn);
                int p = j / 2;
                int shift = 4 * (j % 2);
                int sumi = 0;
                for (int l = 0; l < 32; l++)
                {
                    sumi += by.Qs[32 * j + l] * ((bx.Qs[32 * p + l] >> shift) & 0xF);
                }

                isum += sc * sumi;
                summs += mn * (by.BSums[2 * j] + by.BSums[2 * j + 1]);
            }

            float d = (float)bx.D * by.D;
            float dmin = (float)bx.DMin * by.D;
            sumf += d * isum - dmin * summs;
        }

        return sumf;
    }

    public static float Q5_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ5_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];
            int isum = 0;
            int summs = 0;
            for (int j = 0; j < 8; j++)
            {
                QuantBits.GetScaleMinK4(j, bx.Scales, out int sc, out int mn);
                int p = j / 2;
                int shift = 4 * (j % 2);
                int sumi = 0;
                for (int l = 0; l < 32; l++)
                {
                    int q = ((bx.Qs[32 * p + l] >> shift) & 0xF) | (((bx.Qh[l] >> j) & 1) << 4);
                    sumi += by.Qs[32 * j + l] * q;
                }

                isum += sc * sumi;
                summs += mn * (by.BSums[2 * j] + by.BSums[2 * j + 1]);
            }

            float d = (float)bx.D * by.D;
            float dmin = (float)bx.DMin * by.D;
            sumf += d * isum - dmin * summs;
        }

        return sumf;
    }

    public static float Q6_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ6_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        Span<sbyte> q6 = stackalloc sbyte[QK.QK_K];
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];
            for (int h = 0; h < 2; h++)
            {
                int ql = 64 * h, qh = 32 * h, o = 128 * h;
                for (int l = 0; l < 32; l++)
                {
                    q6[o + l] = (sbyte)(((bx.Ql[ql + l] & 0xF) | (((bx.Qh[qh + l] >> 0) & 3) << 4)) - 32);
                    q6[o + l + 32] = (sbyte)(((bx.Ql[ql + l + 32] & 0xF) | (((bx.Qh[qh + l] >> 2) & 3) << 4)) - 32);
                    q6[o + l + 64] = (sbyte)(((bx.Ql[ql + l] >> 4) | (((bx.Qh[qh + l] >> 4) & 3) << 4)) - 32);
                    q6[o + l + 96] = (sbyte)(((bx.Ql[ql + l + 32] >> 4) | (((bx.Qh[qh + l] >> 6) & 3) << 4)) - 32);
                }
            }

            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int sumi = 0;
                for (int l = 0; l < 16; l++)
                {
                    sumi += by.Qs[16 * j + l] * q6[16 * j + l];
                }

                isum += bx.Scales[j] * sumi;
            }

            float d = (float)bx.D * by.D;
            sumf += d * isum;
        }

        return sumf;
    }

    /// <summary>Q8_K · Q8_K (ggml has no kernel for it; Hearth offers one so every computable type can be multiplied).</summary>
    public static float Q8_KQ8_K(ReadOnlySpan<byte> vx, ReadOnlySpan<byte> vy, int n)
    {
        var x = MemoryMarshal.Cast<byte, BlockQ8_K>(vx);
        var y = MemoryMarshal.Cast<byte, BlockQ8_K>(vy);
        float sumf = 0;
        for (int i = 0; i < n / QK.QK_K; i++)
        {
            ref readonly var bx = ref x[i];
            ref readonly var by = ref y[i];
            int isum = 0;
            for (int j = 0; j < QK.QK_K; j++)
            {
                isum += bx.Qs[j] * by.Qs[j];
            }

            sumf += (bx.D * by.D) * isum;
        }

        return sumf;
    }
}
