using System.Runtime.InteropServices;

namespace Hearth.Tensors.Scalar;

/// <summary>
/// Reference quantizers, ported from ggml's <c>quantize_row_*_ref</c> (the deterministic path llama.cpp's quantizer takes
/// when no importance matrix is given). Each method encodes <c>src.Length / blockSize</c> blocks into the start of
/// <c>dst</c>; callers have validated the sizes. Float expressions keep ggml's operand order and precision (float32).
/// </summary>
internal static class ScalarQuantize
{
    public static void F32(ReadOnlySpan<float> src, Span<byte> dst) => src.CopyTo(MemoryMarshal.Cast<byte, float>(dst));

    public static void F16(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var h = MemoryMarshal.Cast<byte, Half>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            h[i] = (Half)src[i];
        }
    }

    public static void BF16(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var h = MemoryMarshal.Cast<byte, ushort>(dst);
        for (int i = 0; i < src.Length; i++)
        {
            h[i] = Bf16.FromFloat(src[i]);
        }
    }

    /// <summary>
    /// Q4_0: the value of largest magnitude maps to -8 (so d = max / -8 keeps its sign), the others to
    /// <c>trunc(x/d + 8.5)</c> clamped to 15.
    /// </summary>
    public static void Q4_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK4_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_0>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            SignedMax(x, out _, out float max);
            float d = max / -8;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            for (int j = 0; j < qk / 2; j++)
            {
                float x0 = x[j] * id;
                float x1 = x[qk / 2 + j] * id;
                int xi0 = Math.Min(15, (int)(x0 + 8.5f));
                int xi1 = Math.Min(15, (int)(x1 + 8.5f));
                y.Qs[j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary>Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min)/d + 0.5) clamped to 15.</summary>
    public static void Q4_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK4_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_1>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            MinMax(x, out float min, out float max);
            float d = (max - min) / ((1 << 4) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            y.M = (Half)min;
            for (int j = 0; j < qk / 2; j++)
            {
                float x0 = (x[j] - min) * id;
                float x1 = (x[qk / 2 + j] - min) * id;
                int xi0 = Math.Min(15, (int)(x0 + 0.5f));
                int xi1 = Math.Min(15, (int)(x1 + 0.5f));
                y.Qs[j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    /// <summary>Q5_0: as Q4_0 with 5 bits: d = max / -16, q = trunc(x/d + 16.5) clamped to 31.</summary>
    public static void Q5_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK5_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_0>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            SignedMax(x, out _, out float max);
            float d = max / -16;
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            uint qh = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                float x0 = x[j] * id;
                float x1 = x[qk / 2 + j] * id;
                int xi0 = Math.Min(31, (int)(x0 + 16.5f));
                int xi1 = Math.Min(31, (int)(x1 + 16.5f));
                y.Qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + qk / 2);
            }

            QuantBits.WriteUInt32(ref y.Qh, qh);
        }
    }

    /// <summary>Q5_1: as Q4_1 with 5 bits: d = (max - min) / 31, q = trunc((x - min)/d + 0.5).</summary>
    public static void Q5_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK5_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_1>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            MinMax(x, out float min, out float max);
            float d = (max - min) / ((1 << 5) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            y.M = (Half)min;
            uint qh = 0;
            for (int j = 0; j < qk / 2; j++)
            {
                float x0 = (x[j] - min) * id;
                float x1 = (x[qk / 2 + j] - min) * id;
                int xi0 = (byte)(int)(x0 + 0.5f);
                int xi1 = (byte)(int)(x1 + 0.5f);
                y.Qs[j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + qk / 2);
            }

            QuantBits.WriteUInt32(ref y.Qh, qh);
        }
    }

    /// <summary>Q8_0: d = amax / 127, q = roundf(x / d) (halves away from zero); d stored as half.</summary>
    public static void Q8_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK8_0;
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_0>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            float amax = AbsMax(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            for (int j = 0; j < qk; j++)
            {
                y.Qs[j] = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
            }
        }
    }

    /// <summary>Q8_1: as Q8_0, plus s = d * sum(q) (both as half).</summary>
    public static void Q8_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const int qk = QK.QK8_1;
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_1>(dst);
        for (int i = 0; i < src.Length / qk; i++)
        {
            var x = src.Slice(i * qk, qk);
            ref var y = ref blocks[i];
            float amax = AbsMax(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0 ? 1.0f / d : 0.0f;
            y.D = (Half)d;
            int sum = 0;
            for (int j = 0; j < qk; j++)
            {
                sbyte q = (sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
                y.Qs[j] = q;
                sum += q;
            }

            y.S = (Half)(sum * d);
        }
    }

    /// <summary>
    /// Q2_K: each group of 16 gets a scale and a min from <see cref="QuantSearch.MakeQkx2Quants"/> (|x| weights, mean
    /// absolute error); the 16 scales and 16 mins are then quantized to 4 bits against the block maxima and the levels
    /// recomputed with the rounded scales.
    /// </summary>
    public static void Q2_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        const float q4scale = 15f;
        var blocks = MemoryMarshal.Cast<byte, BlockQ2_K>(dst);
        Span<byte> levels = stackalloc byte[QK.QK_K];
        Span<byte> levelsAux = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> mins = stackalloc float[QK.QK_K / 16];
        Span<float> scales = stackalloc float[QK.QK_K / 16];

        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            ref var y = ref blocks[i];
            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                for (int l = 0; l < 16; l++)
                {
                    weights[l] = MathF.Abs(x[16 * j + l]);
                }

                scales[j] = QuantSearch.MakeQkx2Quants(16, 3, x.Slice(16 * j, 16), weights, levels.Slice(16 * j, 16),
                    out mins[j], levelsAux, -0.5f, 0.1f, 15, true);
                if (scales[j] > maxScale)
                {
                    maxScale = scales[j];
                }

                if (mins[j] > maxMin)
                {
                    maxMin = mins[j];
                }
            }

            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < QK.QK_K / 16; j++)
                {
                    y.Scales[j] = (byte)QuantBits.NearestInt(iscale * scales[j]);
                }

                y.D = (Half)(maxScale / q4scale);
            }
            else
            {
                for (int j = 0; j < QK.QK_K / 16; j++)
                {
                    y.Scales[j] = 0;
                }

                y.D = (Half)0f;
            }

            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < QK.QK_K / 16; j++)
                {
                    int l = QuantBits.NearestInt(iscale * mins[j]);
                    y.Scales[j] |= (byte)(l << 4);
                }

                y.DMin = (Half)(maxMin / q4scale);
            }
            else
            {
                y.DMin = (Half)0f;
            }

            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                float d = (float)y.D * (y.Scales[j] & 0xF);
                if (d == 0)
                {
                    continue;
                }

                float dm = (float)y.DMin * (y.Scales[j] >> 4);
                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantBits.NearestInt((x[16 * j + ii] + dm) / d);
                    levels[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, l));
                }
            }

            PackTwoBitLevels(levels, ref y.Qs);
        }
    }

    /// <summary>
    /// Q3_K: each group of 16 gets a signed scale from <see cref="QuantSearch.MakeQ3Quants"/>; the scales are quantized
    /// to 6 bits (the one of largest magnitude maps to -32) and the levels recomputed in [-4, 3] with the rounded scales.
    /// </summary>
    public static void Q3_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ3_K>(dst);
        Span<sbyte> levels = stackalloc sbyte[QK.QK_K];
        Span<float> scales = stackalloc float[QK.QK_K / 16];
        Span<sbyte> unpacked = stackalloc sbyte[16];
        Span<byte> twoBit = stackalloc byte[QK.QK_K];

        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            ref var y = ref blocks[i];
            float maxScale = 0;
            float amax = 0;
            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                scales[j] = QuantSearch.MakeQ3Quants(16, 4, x.Slice(16 * j, 16), levels.Slice(16 * j, 16), true);
                float scale = MathF.Abs(scales[j]);
                if (scale > amax)
                {
                    amax = scale;
                    maxScale = scales[j];
                }
            }

            y.Scales = default;
            if (maxScale != 0)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < QK.QK_K / 16; j++)
                {
                    int l = (sbyte)QuantBits.NearestInt(iscale * scales[j]);
                    l = Math.Max(-32, Math.Min(31, l)) + 32;
                    if (j < 8)
                    {
                        y.Scales[j] = (byte)(l & 0xF);
                    }
                    else
                    {
                        y.Scales[j - 8] |= (byte)((l & 0xF) << 4);
                    }

                    l >>= 4;
                    y.Scales[j % 4 + 8] |= (byte)(l << (2 * (j / 4)));
                }

                y.D = (Half)(1 / iscale);
            }
            else
            {
                y.D = (Half)0f;
            }

            QuantBits.UnpackQ3KScales(y.Scales, unpacked);
            float dAll = (float)y.D;
            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                float d = dAll * (unpacked[j] - 32);
                if (d == 0)
                {
                    continue;
                }

                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantBits.NearestInt(x[16 * j + ii] / d);
                    l = Math.Max(-4, Math.Min(3, l));
                    levels[16 * j + ii] = (sbyte)(l + 4);
                }
            }

            // Bit 2 of each level goes to the high-bit mask: element e sets bit e / 32 of HMask[e % 32].
            y.HMask = default;
            for (int j = 0; j < QK.QK_K; j++)
            {
                int l = levels[j];
                if (l > 3)
                {
                    y.HMask[j % 32] |= (byte)(1 << (j / 32));
                    l -= 4;
                }

                twoBit[j] = (byte)l;
            }

            PackTwoBitLevels(twoBit, ref y.Qs);
        }
    }

    /// <summary>
    /// Q4_K: each group of 32 gets a scale and a min from <see cref="QuantSearch.MakeQkx2Quants"/> (weights
    /// rms(x) + |x|, squared error); scales and mins are quantized to 6 bits against the block maxima and the levels
    /// recomputed in [0, 15] with the rounded values.
    /// </summary>
    public static void Q4_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ4_K>(dst);
        Span<byte> levels = stackalloc byte[QK.QK_K];
        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            ref var y = ref blocks[i];
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            QuantizeScaleMinBlock(x, levels, nmax: 15, rmin: -1f, rdelta: 0.1f, nstep: 20, ref y.Scales, out y.D, out y.DMin);
            for (int p = 0; p < 4; p++)
            {
                for (int l = 0; l < 32; l++)
                {
                    y.Qs[32 * p + l] = (byte)(levels[64 * p + l] | (levels[64 * p + 32 + l] << 4));
                }
            }
        }
    }

    /// <summary>Q5_K: as Q4_K with levels in [0, 31] (search rmin -0.5, 15 steps); bit 4 goes to <c>Qh</c>.</summary>
    public static void Q5_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ5_K>(dst);
        Span<byte> levels = stackalloc byte[QK.QK_K];
        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            ref var y = ref blocks[i];
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            QuantizeScaleMinBlock(x, levels, nmax: 31, rmin: -0.5f, rdelta: 0.1f, nstep: 15, ref y.Scales, out y.D, out y.DMin);
            y.Qh = default;
            for (int p = 0; p < 4; p++)
            {
                int m1 = 1 << (2 * p), m2 = 2 << (2 * p);
                for (int l = 0; l < 32; l++)
                {
                    int l1 = levels[64 * p + l];
                    if (l1 > 15)
                    {
                        l1 -= 16;
                        y.Qh[l] |= (byte)m1;
                    }

                    int l2 = levels[64 * p + 32 + l];
                    if (l2 > 15)
                    {
                        l2 -= 16;
                        y.Qh[l] |= (byte)m2;
                    }

                    y.Qs[32 * p + l] = (byte)(l1 | (l2 << 4));
                }
            }
        }
    }

    /// <summary>
    /// Q6_K: each group of 16 gets a signed scale from <see cref="QuantSearch.MakeQxQuants"/> (nmax 32, x² weights);
    /// the scales are quantized to int8 (the largest magnitude maps to -128) and the levels recomputed in [-32, 31].
    /// </summary>
    public static void Q6_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ6_K>(dst);
        Span<sbyte> levels = stackalloc sbyte[QK.QK_K];
        Span<float> scales = stackalloc float[QK.QK_K / 16];
        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            ref var y = ref blocks[i];
            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < QK.QK_K / 16; ib++)
            {
                float scale = QuantSearch.MakeQxQuants(16, 32, x.Slice(16 * ib, 16), levels.Slice(16 * ib, 16), 1, default);
                scales[ib] = scale;
                float absScale = MathF.Abs(scale);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }

            if (maxAbsScale < QuantSearch.GroupMaxEps)
            {
                y = default;
                continue;
            }

            float iscale = -128f / maxScale;
            y.D = (Half)(1 / iscale);
            for (int ib = 0; ib < QK.QK_K / 16; ib++)
            {
                y.Scales[ib] = (sbyte)Math.Min(127, QuantBits.NearestInt(iscale * scales[ib]));
            }

            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                float d = (float)y.D * y.Scales[j];
                if (d == 0)
                {
                    continue;
                }

                for (int ii = 0; ii < 16; ii++)
                {
                    int l = QuantBits.NearestInt(x[16 * j + ii] / d);
                    l = Math.Max(-32, Math.Min(31, l));
                    levels[16 * j + ii] = (sbyte)(l + 32);
                }
            }

            for (int h = 0; h < 2; h++)
            {
                int j = 128 * h;
                for (int l = 0; l < 32; l++)
                {
                    int q1 = levels[j + l] & 0xF;
                    int q2 = levels[j + l + 32] & 0xF;
                    int q3 = levels[j + l + 64] & 0xF;
                    int q4 = levels[j + l + 96] & 0xF;
                    y.Ql[64 * h + l] = (byte)(q1 | (q3 << 4));
                    y.Ql[64 * h + l + 32] = (byte)(q2 | (q4 << 4));
                    y.Qh[32 * h + l] = (byte)((levels[j + l] >> 4) | ((levels[j + l + 32] >> 4) << 2)
                        | ((levels[j + l + 64] >> 4) << 4) | ((levels[j + l + 96] >> 4) << 6));
                }
            }
        }
    }

    /// <summary>
    /// Q8_K: d = max / -127 with max the value of largest magnitude (float32 d, no half rounding),
    /// q = nearest_int(x / d) clamped to 127, and per-16 sums of q in <c>BSums</c>.
    /// </summary>
    public static void Q8_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        var blocks = MemoryMarshal.Cast<byte, BlockQ8_K>(dst);
        for (int i = 0; i < src.Length / QK.QK_K; i++)
        {
            var x = src.Slice(i * QK.QK_K, QK.QK_K);
            ref var y = ref blocks[i];
            SignedMax(x, out float amax, out float max);
            if (amax == 0)
            {
                // ggml leaves bsums untouched here; we zero them so a reused buffer never carries stale sums.
                y = default;
                continue;
            }

            float iscale = -127f / max;
            for (int j = 0; j < QK.QK_K; j++)
            {
                int v = QuantBits.NearestInt(iscale * x[j]);
                y.Qs[j] = (sbyte)Math.Min(127, v);
            }

            for (int j = 0; j < QK.QK_K / 16; j++)
            {
                int sum = 0;
                for (int ii = 0; ii < 16; ii++)
                {
                    sum += y.Qs[16 * j + ii];
                }

                y.BSums[j] = (short)sum;
            }

            y.D = 1 / iscale;
        }
    }

    /// <summary>Shared body of Q4_K / Q5_K: per-32 scale/min search, 6-bit packing, requantization into <paramref name="levels"/>.</summary>
    private static void QuantizeScaleMinBlock(ReadOnlySpan<float> x, Span<byte> levels, int nmax, float rmin, float rdelta, int nstep,
        ref Bytes12 packedScales, out Half d, out Half dmin)
    {
        Span<byte> levelsAux = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[QK.QK_K / 32];
        Span<float> scales = stackalloc float[QK.QK_K / 32];

        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < QK.QK_K / 32; j++)
        {
            var xs = x.Slice(32 * j, 32);
            float sumX2 = 0;
            for (int l = 0; l < 32; l++)
            {
                sumX2 += xs[l] * xs[l];
            }

            float avX = MathF.Sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++)
            {
                weights[l] = avX + MathF.Abs(xs[l]);
            }

            scales[j] = QuantSearch.MakeQkx2Quants(32, nmax, xs, weights, levels.Slice(32 * j, 32), out mins[j], levelsAux,
                rmin, rdelta, nstep, false);
            if (scales[j] > maxScale)
            {
                maxScale = scales[j];
            }

            if (mins[j] > maxMin)
            {
                maxMin = mins[j];
            }
        }

        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        packedScales = default;
        for (int j = 0; j < QK.QK_K / 32; j++)
        {
            // ggml stores nearest_int into a uint8_t before clamping, so a (pathological) negative wraps first.
            byte ls = (byte)QuantBits.NearestInt(invScale * scales[j]);
            byte lm = (byte)QuantBits.NearestInt(invMin * mins[j]);
            ls = Math.Min((byte)63, ls);
            lm = Math.Min((byte)63, lm);
            QuantBits.SetScaleMinK4(j, ref packedScales, ls, lm);
        }

        d = (Half)(maxScale / 63f);
        dmin = (Half)(maxMin / 63f);

        float dF = (float)d;
        float dminF = (float)dmin;
        for (int j = 0; j < QK.QK_K / 32; j++)
        {
            QuantBits.GetScaleMinK4(j, packedScales, out int sc, out int m);
            float dj = dF * sc;
            if (dj == 0)
            {
                continue;
            }

            float dm = dminF * m;
            for (int ii = 0; ii < 32; ii++)
            {
                int l = QuantBits.NearestInt((x[32 * j + ii] + dm) / dj);
                levels[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, l));
            }
        }
    }

    /// <summary>Packs 2-bit levels: element <c>128h + 32s + l</c> goes to bits <c>2s</c> of byte <c>32h + l</c>.</summary>
    private static void PackTwoBitLevels(ReadOnlySpan<byte> levels, ref Bytes64 qs)
    {
        for (int h = 0; h < 2; h++)
        {
            int j = 128 * h;
            for (int l = 0; l < 32; l++)
            {
                qs[32 * h + l] = (byte)(levels[j + l] | (levels[j + l + 32] << 2) | (levels[j + l + 64] << 4) | (levels[j + l + 96] << 6));
            }
        }
    }

    /// <summary>The largest magnitude and the signed value that has it (first one wins on ties), as ggml scans.</summary>
    private static void SignedMax(ReadOnlySpan<float> x, out float amax, out float max)
    {
        amax = 0;
        max = 0;
        for (int j = 0; j < x.Length; j++)
        {
            float a = MathF.Abs(x[j]);
            if (amax < a)
            {
                amax = a;
                max = x[j];
            }
        }
    }

    private static float AbsMax(ReadOnlySpan<float> x)
    {
        float amax = 0;
        for (int j = 0; j < x.Length; j++)
        {
            amax = Math.Max(amax, MathF.Abs(x[j]));
        }

        return amax;
    }

    private static void MinMax(ReadOnlySpan<float> x, out float min, out float max)
    {
        min = float.MaxValue;
        max = -float.MaxValue;
        for (int j = 0; j < x.Length; j++)
        {
            float v = x[j];
            if (v < min)
            {
                min = v;
            }

            if (v > max)
            {
                max = v;
            }
        }
    }
}
