using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors.Portable;

/// <summary>A 32-element block type with one fp16 scale (Q4_0, Q5_0, Q8_0) as the 128-bit batch kernels see it.</summary>
internal unsafe interface ILegacy128
{
    static abstract int BlockBytes { get; }

    /// <summary>The block's 32 signed weights (levels minus the type's offset): elements 0-15 and 16-31.</summary>
    static abstract (Vector128<sbyte> Low, Vector128<sbyte> High) Levels(byte* block);

    /// <summary><paramref name="f"/> plus the reference's float expression for one block, lane by lane (see Avx2Gemm's twin).</summary>
    static abstract Vector128<float> Accumulate(Vector128<float> f, Vector128<int> isum, Vector128<float> dx, Vector128<float> dy);
}

/// <summary>
/// The batch kernels on 128-bit vectors, for Arm (<see cref="AdvSimdGroupDot128"/>, <see cref="DpGroupDot128"/>) and for any
/// other hardware (<see cref="PortableGroupDot128"/>). Same scheme as <see cref="X86.Avx2Gemm{TDot}"/>, with four tokens
/// per vector; the dot products here are signed by signed, so weights are unpacked to signed levels and the panel carries
/// no offset corrections (only Q4_K's sums for its mins). Every output has the exact bits of <see cref="Scalar.ScalarDot"/>.
/// </summary>
[SkipLocalsInit]
internal static unsafe class Vector128Gemm<TDot>
    where TDot : struct, IGroupDot128
{
    public const int Lanes = 4;

    private const int LegacyPer32 = 36;
    private const int KPer32 = 41;
    private const int KMeta = 18;

    public static GemmKernels Get(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => new(&LegacyGemm<Q4_0Levels>, Lanes, 32, 0, LegacyPer32, Rows<Q4_0Levels>()),
        GgmlType.Q5_0 => new(&LegacyGemm<Q5_0Levels>, Lanes, 32, 0, LegacyPer32, Rows<Q5_0Levels>()),
        GgmlType.Q8_0 => new(&LegacyGemm<Q8_0Levels>, Lanes, 32, 0, LegacyPer32, Rows<Q8_0Levels>()),
        GgmlType.Q4_K => new(&Q4_KGemm, Lanes, 32, 1, KPer32, default),
        GgmlType.Q6_K => new(&Q6_KGemm, Lanes, 16, 0, KPer32, default),
        _ => default,
    };

    private static RowsKernels Rows<TW>()
        where TW : struct, ILegacy128 =>
        new(&Rows8<Tokens1, TW>, &Rows8<Tokens2, TW>, &Rows8<Tokens3, TW>, &Rows8<Tokens4, TW>);

    // ---------------------------------------------------------------- legacy GEMM

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LegacyGemm<TW>(in GemmCall c, int rowStart, int rowEnd)
        where TW : struct, ILegacy128
    {
        int cols = c.Cols, nb = cols / 32;
        int rb = RowBlock(LegacyPer32, cols);
        byte* levels = c.Scratch;
        float* scales = (float*)(c.Scratch + (long)rb * cols);
        float* h16 = Fp16Table.Pointer;
        for (int r0 = rowStart; r0 < rowEnd; r0 += rb)
        {
            int count = Math.Min(rb, rowEnd - r0);
            for (int r = 0; r < count; r++)
            {
                byte* src = c.W + (r0 + r) * c.RowBytes;
                byte* dst = levels + (long)r * cols;
                float* sc = scales + r * nb;
                for (int b = 0; b < nb; b++)
                {
                    byte* block = src + b * TW.BlockBytes;
                    var (lo, hi) = TW.Levels(block);
                    lo.Store((sbyte*)(dst + 32 * b));
                    hi.Store((sbyte*)(dst + 32 * b + 16));
                    sc[b] = Fp16Table.Load(h16, block);
                }
            }

            for (int g = 0; g < c.Layout.Groups; g += 2)
            {
                int g1 = Math.Min(g + 1, c.Layout.Groups - 1);
                for (int q = 0; q < count; q += 4)
                {
                    LegacyTile<TW>(levels, scales, cols, nb, q, count, c, g, g1, r0 + q);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LegacyTile<TW>(byte* levels, float* scales, int cols, int nb, int q, int count, in GemmCall c, int g0, int g1, int row)
        where TW : struct, ILegacy128
    {
        int last = count - 1;
        byte* l0 = levels + (long)q * cols;
        byte* l1 = levels + (long)Math.Min(q + 1, last) * cols;
        byte* l2 = levels + (long)Math.Min(q + 2, last) * cols;
        byte* l3 = levels + (long)Math.Min(q + 3, last) * cols;
        float* s0 = scales + q * nb;
        float* s1 = scales + Math.Min(q + 1, last) * nb;
        float* s2 = scales + Math.Min(q + 2, last) * nb;
        float* s3 = scales + Math.Min(q + 3, last) * nb;
        var p = c.Layout;
        byte* qa = p.Qs(c.PanelData, g0);
        byte* qb = p.Qs(c.PanelData, g1);
        float* da = p.D(c.PanelData, g0);
        float* db = p.D(c.PanelData, g1);
        Vector128<float> f0a = default, f0b = default, f1a = default, f1b = default, f2a = default, f2b = default, f3a = default, f3b = default;
        for (int b = 0; b < nb; b++)
        {
            Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
            byte* pa = qa + 128 * b;
            byte* pb = qb + 128 * b;
            int e = 32 * b;
            for (int k = 0; k < 32; k += 4)
            {
                var va = Vector128.Load((sbyte*)(pa + 4 * k));
                var vb = Vector128.Load((sbyte*)(pb + 4 * k));
                var w = Broadcast(l0 + e + k);
                i0a = TDot.DotAdd(i0a, w, va);
                i0b = TDot.DotAdd(i0b, w, vb);
                w = Broadcast(l1 + e + k);
                i1a = TDot.DotAdd(i1a, w, va);
                i1b = TDot.DotAdd(i1b, w, vb);
                w = Broadcast(l2 + e + k);
                i2a = TDot.DotAdd(i2a, w, va);
                i2b = TDot.DotAdd(i2b, w, vb);
                w = Broadcast(l3 + e + k);
                i3a = TDot.DotAdd(i3a, w, va);
                i3b = TDot.DotAdd(i3b, w, vb);
            }

            var dA = Vector128.Load(da + 4 * b);
            var dB = Vector128.Load(db + 4 * b);
            var x = Vector128.Create(s0[b]);
            f0a = TW.Accumulate(f0a, i0a, x, dA);
            f0b = TW.Accumulate(f0b, i0b, x, dB);
            x = Vector128.Create(s1[b]);
            f1a = TW.Accumulate(f1a, i1a, x, dA);
            f1b = TW.Accumulate(f1b, i1b, x, dB);
            x = Vector128.Create(s2[b]);
            f2a = TW.Accumulate(f2a, i2a, x, dA);
            f2b = TW.Accumulate(f2b, i2b, x, dB);
            x = Vector128.Create(s3[b]);
            f3a = TW.Accumulate(f3a, i3a, x, dA);
            f3b = TW.Accumulate(f3b, i3b, x, dB);
        }

        StoreTile(c, count - q, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
    }

    // ---------------------------------------------------------------- K-quant GEMM

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q4_KGemm(in GemmCall c, int rowStart, int rowEnd)
    {
        int cols = c.Cols, nsb = cols / 256;
        int rb = RowBlock(KPer32, cols);
        byte* levels = c.Scratch;
        int* meta = (int*)(c.Scratch + (long)rb * cols);
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        for (int r0 = rowStart; r0 < rowEnd; r0 += rb)
        {
            int count = Math.Min(rb, rowEnd - r0);
            for (int r = 0; r < count; r++)
            {
                byte* src = c.W + (r0 + r) * c.RowBytes;
                byte* dst = levels + (long)r * cols;
                int* m = meta + r * nsb * KMeta;
                for (int i = 0; i < nsb; i++)
                {
                    byte* bx = src + 144 * i;
                    for (int j = 0; j < 4; j++)
                    {
                        // Bytes 32j..32j+31 of qs: low nibbles are elements 64j.., high nibbles 64j + 32..; 16 at a time.
                        for (int half = 0; half < 2; half++)
                        {
                            var raw = Vector128.Load(bx + 16 + 32 * j + 16 * half);
                            (raw & m4).Store(dst + 256 * i + 64 * j + 16 * half);
                            Vector128.ShiftRightLogical(raw, 4).Store(dst + 256 * i + 64 * j + 32 + 16 * half);
                        }
                    }

                    int* mi = m + KMeta * i;
                    *(float*)mi = Fp16Table.Load(h16, bx);
                    *(float*)(mi + 1) = Fp16Table.Load(h16, bx + 2);
                    var sm = KScales.ScaleMinK4(bx + 4);
                    for (int s = 0; s < 8; s++)
                    {
                        mi[2 + s] = sm.GetElement(s);
                        mi[10 + s] = sm.GetElement(8 + s);
                    }
                }
            }

            for (int g = 0; g < c.Layout.Groups; g += 2)
            {
                int g1 = Math.Min(g + 1, c.Layout.Groups - 1);
                for (int q = 0; q < count; q += 4)
                {
                    Q4_KTile(levels, meta, cols, nsb, q, count, c, g, g1, r0 + q);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q4_KTile(byte* levels, int* meta, int cols, int nsb, int q, int count, in GemmCall c, int g0, int g1, int row)
    {
        int last = count - 1;
        byte* l0 = levels + (long)q * cols;
        byte* l1 = levels + (long)Math.Min(q + 1, last) * cols;
        byte* l2 = levels + (long)Math.Min(q + 2, last) * cols;
        byte* l3 = levels + (long)Math.Min(q + 3, last) * cols;
        int stride = nsb * KMeta;
        int* m0 = meta + q * stride;
        int* m1 = meta + Math.Min(q + 1, last) * stride;
        int* m2 = meta + Math.Min(q + 2, last) * stride;
        int* m3 = meta + Math.Min(q + 3, last) * stride;
        var p = c.Layout;
        byte* qa = p.Qs(c.PanelData, g0);
        byte* qb = p.Qs(c.PanelData, g1);
        float* da = p.D(c.PanelData, g0);
        float* db = p.D(c.PanelData, g1);
        int* ca = p.Aux(c.PanelData, g0);
        int* cb = p.Aux(c.PanelData, g1);
        Vector128<float> f0a = default, f0b = default, f1a = default, f1b = default, f2a = default, f2b = default, f3a = default, f3b = default;
        for (int i = 0; i < nsb; i++)
        {
            Vector128<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
            int mi = KMeta * i;
            for (int s = 0; s < 8; s++)
            {
                Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                byte* pa = qa + 128 * (8 * i + s);
                byte* pb = qb + 128 * (8 * i + s);
                int e = 256 * i + 32 * s;
                for (int k = 0; k < 32; k += 4)
                {
                    var va = Vector128.Load((sbyte*)(pa + 4 * k));
                    var vb = Vector128.Load((sbyte*)(pb + 4 * k));
                    var w = Broadcast(l0 + e + k);
                    i0a = TDot.DotAdd(i0a, w, va);
                    i0b = TDot.DotAdd(i0b, w, vb);
                    w = Broadcast(l1 + e + k);
                    i1a = TDot.DotAdd(i1a, w, va);
                    i1b = TDot.DotAdd(i1b, w, vb);
                    w = Broadcast(l2 + e + k);
                    i2a = TDot.DotAdd(i2a, w, va);
                    i2b = TDot.DotAdd(i2b, w, vb);
                    w = Broadcast(l3 + e + k);
                    i3a = TDot.DotAdd(i3a, w, va);
                    i3b = TDot.DotAdd(i3b, w, vb);
                }

                var sc = Vector128.Create(m0[mi + 2 + s]);
                s0a += i0a * sc;
                s0b += i0b * sc;
                sc = Vector128.Create(m1[mi + 2 + s]);
                s1a += i1a * sc;
                s1b += i1b * sc;
                sc = Vector128.Create(m2[mi + 2 + s]);
                s2a += i2a * sc;
                s2b += i2b * sc;
                sc = Vector128.Create(m3[mi + 2 + s]);
                s3a += i3a * sc;
                s3b += i3b * sc;
            }

            Vector128<int> n0a = default, n0b = default, n1a = default, n1b = default, n2a = default, n2b = default, n3a = default, n3b = default;
            for (int s = 0; s < 8; s++)
            {
                var ba = Vector128.Load(ca + 4 * (8 * i + s));
                var bb = Vector128.Load(cb + 4 * (8 * i + s));
                var mn = Vector128.Create(m0[mi + 10 + s]);
                n0a += ba * mn;
                n0b += bb * mn;
                mn = Vector128.Create(m1[mi + 10 + s]);
                n1a += ba * mn;
                n1b += bb * mn;
                mn = Vector128.Create(m2[mi + 10 + s]);
                n2a += ba * mn;
                n2b += bb * mn;
                mn = Vector128.Create(m3[mi + 10 + s]);
                n3a += ba * mn;
                n3b += bb * mn;
            }

            var dA = Vector128.Load(da + 4 * i);
            var dB = Vector128.Load(db + 4 * i);
            f0a = Q4_KAccumulate(f0a, s0a, n0a, m0 + mi, dA);
            f0b = Q4_KAccumulate(f0b, s0b, n0b, m0 + mi, dB);
            f1a = Q4_KAccumulate(f1a, s1a, n1a, m1 + mi, dA);
            f1b = Q4_KAccumulate(f1b, s1b, n1b, m1 + mi, dB);
            f2a = Q4_KAccumulate(f2a, s2a, n2a, m2 + mi, dA);
            f2b = Q4_KAccumulate(f2b, s2b, n2b, m2 + mi, dB);
            f3a = Q4_KAccumulate(f3a, s3a, n3a, m3 + mi, dA);
            f3b = Q4_KAccumulate(f3b, s3b, n3b, m3 + mi, dB);
        }

        StoreTile(c, count - q, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
    }

    /// <summary>ScalarDot.Q4_KQ8_K's <c>sumf += d·isum − dmin·summs</c>, per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Q4_KAccumulate(Vector128<float> f, Vector128<int> isum, Vector128<int> summs, int* m, Vector128<float> dy)
    {
        var d = Vector128.Create(*(float*)m) * dy;
        var dmin = Vector128.Create(*(float*)(m + 1)) * dy;
        return f + (d * Vector128.ConvertToSingle(isum) - dmin * Vector128.ConvertToSingle(summs));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q6_KGemm(in GemmCall c, int rowStart, int rowEnd)
    {
        int cols = c.Cols, nsb = cols / 256;
        int rb = RowBlock(KPer32, cols);
        byte* levels = c.Scratch;
        int* meta = (int*)(c.Scratch + (long)rb * cols);
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        var m3 = Vector128.Create((byte)0x03);
        var k32 = Vector128.Create((byte)32);
        for (int r0 = rowStart; r0 < rowEnd; r0 += rb)
        {
            int count = Math.Min(rb, rowEnd - r0);
            for (int r = 0; r < count; r++)
            {
                byte* src = c.W + (r0 + r) * c.RowBytes;
                byte* dst = levels + (long)r * cols;
                int* m = meta + r * nsb * KMeta;
                for (int i = 0; i < nsb; i++)
                {
                    byte* bx = src + 210 * i;
                    for (int h = 0; h < 2; h++)
                    {
                        for (int half = 0; half < 2; half++)
                        {
                            int l = 16 * half;
                            var ql0 = Vector128.Load(bx + 64 * h + l);
                            var ql1 = Vector128.Load(bx + 64 * h + 32 + l);
                            var qh = Vector128.Load(bx + 128 + 32 * h + l);
                            byte* o = dst + 256 * i + 128 * h + l;
                            ((ql0 & m4) | Vector128.ShiftLeft(qh & m3, 4)).Store(o);
                            ((ql1 & m4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2) & m3, 4)).Store(o + 32);
                            (Vector128.ShiftRightLogical(ql0, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 4) & m3, 4)).Store(o + 64);
                            (Vector128.ShiftRightLogical(ql1, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 6), 4)).Store(o + 96);
                            for (int k = 0; k < 4; k++)
                            {
                                (Vector128.Load(o + 32 * k) - k32).Store(o + 32 * k);
                            }
                        }
                    }

                    int* mi = m + KMeta * i;
                    *(float*)mi = Fp16Table.Load(h16, bx + 208);
                    for (int u = 0; u < 16; u++)
                    {
                        mi[1 + u] = ((sbyte*)(bx + 192))[u];
                    }

                    mi[17] = 0;
                }
            }

            for (int g = 0; g < c.Layout.Groups; g += 2)
            {
                int g1 = Math.Min(g + 1, c.Layout.Groups - 1);
                for (int q = 0; q < count; q += 4)
                {
                    Q6_KTile(levels, meta, cols, nsb, q, count, c, g, g1, r0 + q);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q6_KTile(byte* levels, int* meta, int cols, int nsb, int q, int count, in GemmCall c, int g0, int g1, int row)
    {
        int last = count - 1;
        byte* l0 = levels + (long)q * cols;
        byte* l1 = levels + (long)Math.Min(q + 1, last) * cols;
        byte* l2 = levels + (long)Math.Min(q + 2, last) * cols;
        byte* l3 = levels + (long)Math.Min(q + 3, last) * cols;
        int stride = nsb * KMeta;
        int* m0 = meta + q * stride;
        int* m1 = meta + Math.Min(q + 1, last) * stride;
        int* m2 = meta + Math.Min(q + 2, last) * stride;
        int* m3 = meta + Math.Min(q + 3, last) * stride;
        var p = c.Layout;
        byte* qa = p.Qs(c.PanelData, g0);
        byte* qb = p.Qs(c.PanelData, g1);
        float* da = p.D(c.PanelData, g0);
        float* db = p.D(c.PanelData, g1);
        Vector128<float> f0a = default, f0b = default, f1a = default, f1b = default, f2a = default, f2b = default, f3a = default, f3b = default;
        for (int i = 0; i < nsb; i++)
        {
            Vector128<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
            int mi = KMeta * i;
            for (int u = 0; u < 16; u++)
            {
                Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                long step = 128 * (8 * i + u / 2) + 64 * (u & 1);
                byte* pa = qa + step;
                byte* pb = qb + step;
                int e = 256 * i + 16 * u;
                for (int k = 0; k < 16; k += 4)
                {
                    var va = Vector128.Load((sbyte*)(pa + 4 * k));
                    var vb = Vector128.Load((sbyte*)(pb + 4 * k));
                    var w = Broadcast(l0 + e + k);
                    i0a = TDot.DotAdd(i0a, w, va);
                    i0b = TDot.DotAdd(i0b, w, vb);
                    w = Broadcast(l1 + e + k);
                    i1a = TDot.DotAdd(i1a, w, va);
                    i1b = TDot.DotAdd(i1b, w, vb);
                    w = Broadcast(l2 + e + k);
                    i2a = TDot.DotAdd(i2a, w, va);
                    i2b = TDot.DotAdd(i2b, w, vb);
                    w = Broadcast(l3 + e + k);
                    i3a = TDot.DotAdd(i3a, w, va);
                    i3b = TDot.DotAdd(i3b, w, vb);
                }

                var sc = Vector128.Create(m0[mi + 1 + u]);
                s0a += i0a * sc;
                s0b += i0b * sc;
                sc = Vector128.Create(m1[mi + 1 + u]);
                s1a += i1a * sc;
                s1b += i1b * sc;
                sc = Vector128.Create(m2[mi + 1 + u]);
                s2a += i2a * sc;
                s2b += i2b * sc;
                sc = Vector128.Create(m3[mi + 1 + u]);
                s3a += i3a * sc;
                s3b += i3b * sc;
            }

            var dA = Vector128.Load(da + 4 * i);
            var dB = Vector128.Load(db + 4 * i);
            var x = Vector128.Create(*(float*)(m0 + mi));
            f0a += x * dA * Vector128.ConvertToSingle(s0a);
            f0b += x * dB * Vector128.ConvertToSingle(s0b);
            x = Vector128.Create(*(float*)(m1 + mi));
            f1a += x * dA * Vector128.ConvertToSingle(s1a);
            f1b += x * dB * Vector128.ConvertToSingle(s1b);
            x = Vector128.Create(*(float*)(m2 + mi));
            f2a += x * dA * Vector128.ConvertToSingle(s2a);
            f2b += x * dB * Vector128.ConvertToSingle(s2b);
            x = Vector128.Create(*(float*)(m3 + mi));
            f3a += x * dA * Vector128.ConvertToSingle(s3a);
            f3b += x * dB * Vector128.ConvertToSingle(s3b);
        }

        StoreTile(c, count - q, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
    }

    private static int RowBlock(int per32, int cols) =>
        (int)Math.Clamp(GemmKernels.RowBlockBytes / (per32 * (long)(cols / 32)) / 4 * 4, 4, GemmKernels.MaxRowBlock);

    // ---------------------------------------------------------------- shared pieces

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Broadcast(byte* p) => Vector128.Create(Unsafe.ReadUnaligned<int>(p)).AsSByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile(in GemmCall c, int rows, int row, int g0, int g1,
        Vector128<float> f0a, Vector128<float> f0b, Vector128<float> f1a, Vector128<float> f1b,
        Vector128<float> f2a, Vector128<float> f2b, Vector128<float> f3a, Vector128<float> f3b)
    {
        float* y = c.Y + row;
        int tokens = c.Layout.Tokens;
        StoreLanes(f0a, y, c.YStride, g0, tokens);
        if (rows > 1)
        {
            StoreLanes(f1a, y + 1, c.YStride, g0, tokens);
        }

        if (rows > 2)
        {
            StoreLanes(f2a, y + 2, c.YStride, g0, tokens);
        }

        if (rows > 3)
        {
            StoreLanes(f3a, y + 3, c.YStride, g0, tokens);
        }

        if (g1 == g0)
        {
            return;
        }

        StoreLanes(f0b, y, c.YStride, g1, tokens);
        if (rows > 1)
        {
            StoreLanes(f1b, y + 1, c.YStride, g1, tokens);
        }

        if (rows > 2)
        {
            StoreLanes(f2b, y + 2, c.YStride, g1, tokens);
        }

        if (rows > 3)
        {
            StoreLanes(f3b, y + 3, c.YStride, g1, tokens);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLanes(Vector128<float> f, float* y, nint stride, int g, int tokens)
    {
        int t0 = Lanes * g;
        int n = Math.Min(Lanes, tokens - t0);
        float* dst = y + t0 * stride;
        for (int i = 0; i < n; i++)
        {
            dst[i * stride] = f.GetElement(i);
        }
    }

    // ---------------------------------------------------------------- exact few-token kernel (legacy types)

    /// <summary>
    /// Up to eight rows × <typeparamref name="TTok"/> tokens, as two quads of rows: per block, each row's four partial sums
    /// are reduced with the other rows' of its quad into a vector of exact block sums (one row per lane), and the
    /// reference's float expression runs on it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows8<TTok, TW>(byte* w, nint rowBytes, int rowCount, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TW : struct, ILegacy128
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        int last = rowCount - 1;
        nint o1 = Math.Min(1, last) * rowBytes, o2 = Math.Min(2, last) * rowBytes, o3 = Math.Min(3, last) * rowBytes;
        nint o4 = Math.Min(4, last) * rowBytes, o5 = Math.Min(5, last) * rowBytes, o6 = Math.Min(6, last) * rowBytes;
        nint o7 = Math.Min(7, last) * rowBytes;
        Vector128<float> f0 = default, g0 = default, f1 = default, g1 = default, f2 = default, g2 = default, f3 = default, g3 = default;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + b * TW.BlockBytes;
            var dx = Vector128.Create(Fp16Table.Load(h16, x), Fp16Table.Load(h16, x + o1), Fp16Table.Load(h16, x + o2), Fp16Table.Load(h16, x + o3));
            var ex = Vector128.Create(Fp16Table.Load(h16, x + o4), Fp16Table.Load(h16, x + o5), Fp16Table.Load(h16, x + o6), Fp16Table.Load(h16, x + o7));
            byte* ab = a + 34 * b;
            RowsStep<TW>(ref f0, ref g0, x, o1, o2, o3, o4, o5, o6, o7, ab, dx, ex, h16);
            if (TTok.Count > 1)
            {
                RowsStep<TW>(ref f1, ref g1, x, o1, o2, o3, o4, o5, o6, o7, ab + aStride, dx, ex, h16);
            }

            if (TTok.Count > 2)
            {
                RowsStep<TW>(ref f2, ref g2, x, o1, o2, o3, o4, o5, o6, o7, ab + 2 * aStride, dx, ex, h16);
            }

            if (TTok.Count > 3)
            {
                RowsStep<TW>(ref f3, ref g3, x, o1, o2, o3, o4, o5, o6, o7, ab + 3 * aStride, dx, ex, h16);
            }
        }

        StoreRows(f0, g0, y, rowCount);
        if (TTok.Count > 1)
        {
            StoreRows(f1, g1, y + yStride, rowCount);
        }

        if (TTok.Count > 2)
        {
            StoreRows(f2, g2, y + 2 * yStride, rowCount);
        }

        if (TTok.Count > 3)
        {
            StoreRows(f3, g3, y + 3 * yStride, rowCount);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowsStep<TW>(ref Vector128<float> f, ref Vector128<float> g, byte* x, nint o1, nint o2, nint o3, nint o4, nint o5, nint o6, nint o7,
        byte* ab, Vector128<float> dx, Vector128<float> ex, float* h16)
        where TW : struct, ILegacy128
    {
        var lo = Vector128.Load((sbyte*)(ab + 2));
        var hi = Vector128.Load((sbyte*)(ab + 18));
        var dy = Vector128.Create(Fp16Table.Load(h16, ab));
        var s0123 = TDot.Reduce(Partial<TW>(x, lo, hi), Partial<TW>(x + o1, lo, hi), Partial<TW>(x + o2, lo, hi), Partial<TW>(x + o3, lo, hi));
        var s4567 = TDot.Reduce(Partial<TW>(x + o4, lo, hi), Partial<TW>(x + o5, lo, hi), Partial<TW>(x + o6, lo, hi), Partial<TW>(x + o7, lo, hi));
        f = TW.Accumulate(f, s0123, dx, dy);
        g = TW.Accumulate(g, s4567, ex, dy);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Partial<TW>(byte* block, Vector128<sbyte> lo, Vector128<sbyte> hi)
        where TW : struct, ILegacy128
    {
        var (wl, wh) = TW.Levels(block);
        return TDot.DotAdd(TDot.DotAdd(Vector128<int>.Zero, wl, lo), wh, hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(Vector128<float> f, Vector128<float> g, float* y, int rowCount)
    {
        if (rowCount == 8)
        {
            f.Store(y);
            g.Store(y + 4);
            return;
        }

        for (int i = 0; i < rowCount; i++)
        {
            y[i] = i < 4 ? f.GetElement(i) : g.GetElement(i - 4);
        }
    }

    // ---------------------------------------------------------------- block types

    /// <summary>Q4_0: 18 bytes (d, 16 nibble bytes: element j low, j + 16 high); weights q − 8.</summary>
    private readonly struct Q4_0Levels : ILegacy128
    {
        public static int BlockBytes => 18;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector128<sbyte> Low, Vector128<sbyte> High) Levels(byte* block)
        {
            var raw = Vector128.Load(block + 2);
            var m4 = Vector128.Create((byte)0x0F);
            var k8 = Vector128.Create((byte)8);
            return (((raw & m4) - k8).AsSByte(), (Vector128.ShiftRightLogical(raw, 4) - k8).AsSByte());
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Accumulate(Vector128<float> f, Vector128<int> isum, Vector128<float> dx, Vector128<float> dy) =>
            f + Vector128.ConvertToSingle(isum) * dx * dy;
    }

    /// <summary>Q5_0: 22 bytes (d, 32 fifth bits, 16 nibble bytes); weights q − 16.</summary>
    private readonly struct Q5_0Levels : ILegacy128
    {
        public static int BlockBytes => 22;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector128<sbyte> Low, Vector128<sbyte> High) Levels(byte* block)
        {
            var raw = Vector128.Load(block + 6);
            var m4 = Vector128.Create((byte)0x0F);
            var k16 = Vector128.Create((byte)16);
            var qh = Vector128.Create(Unsafe.ReadUnaligned<uint>(block + 2)).AsByte();
            var bits = Vector128.Create(0x8040_2010_0804_0201UL).AsByte();
            var hLo = Vector128.Equals(Vector128.Shuffle(qh, Vector128.Create((byte)0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)) & bits, bits) & k16;
            var hHi = Vector128.Equals(Vector128.Shuffle(qh, Vector128.Create((byte)2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)) & bits, bits) & k16;
            return ((((raw & m4) | hLo) - k16).AsSByte(), ((Vector128.ShiftRightLogical(raw, 4) | hHi) - k16).AsSByte());
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Accumulate(Vector128<float> f, Vector128<int> isum, Vector128<float> dx, Vector128<float> dy) =>
            f + dx * dy * Vector128.ConvertToSingle(isum);
    }

    /// <summary>Q8_0: 34 bytes (d, 32 signed quants).</summary>
    private readonly struct Q8_0Levels : ILegacy128
    {
        public static int BlockBytes => 34;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static (Vector128<sbyte> Low, Vector128<sbyte> High) Levels(byte* block) =>
            (Vector128.Load((sbyte*)(block + 2)), Vector128.Load((sbyte*)(block + 18)));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<float> Accumulate(Vector128<float> f, Vector128<int> isum, Vector128<float> dx, Vector128<float> dy) =>
            f + Vector128.ConvertToSingle(isum) * (dx * dy);
    }
}
