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
        GgmlType.Q4_0 => new(&GemmDriver.Run<Legacy<Q4_0Levels>>, Lanes, 32, 0, LegacyPer32, Rows<Q4_0Levels>()),
        GgmlType.Q5_0 => new(&GemmDriver.Run<Legacy<Q5_0Levels>>, Lanes, 32, 0, LegacyPer32, Rows<Q5_0Levels>()),
        GgmlType.Q8_0 => new(&GemmDriver.Run<Legacy<Q8_0Levels>>, Lanes, 32, 0, LegacyPer32, Rows<Q8_0Levels>()),
        GgmlType.Q4_K => new(&GemmDriver.Run<Q4_KKind>, Lanes, 32, 1, KPer32, default),
        GgmlType.Q6_K => new(&GemmDriver.Run<Q6_KKind>, Lanes, 16, 0, KPer32, default),
        _ => default,
    };

    private static RowsKernels Rows<TW>()
        where TW : struct, ILegacy128 =>
        new(&Rows8<Tokens1, TW>, &Rows8<Tokens2, TW>, &Rows8<Tokens3, TW>, &Rows8<Tokens4, TW>);

    // ---------------------------------------------------------------- GEMM

    /// <summary>Q4_0, Q5_0, Q8_0: signed levels (32 bytes per block) and the block scales as floats.</summary>
    private readonly struct Legacy<TW> : IGemmKind
        where TW : struct, ILegacy128
    {
        public static int Per32 => LegacyPer32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Unpack(byte* row, byte* levels, byte* meta, int cols)
        {
            float* h16 = Fp16Table.Pointer;
            float* scales = (float*)meta;
            for (int b = 0; b < cols / 32; b++)
            {
                byte* block = row + b * TW.BlockBytes;
                var (lo, hi) = TW.Levels(block);
                lo.Store((sbyte*)(levels + 32 * b));
                hi.Store((sbyte*)(levels + 32 * b + 16));
                scales[b] = Fp16Table.Load(h16, block);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Tile(byte* levels, byte* meta, int metaRow, int cols, int q, int count, in GemmCall c, int g0, int g1, int row)
        {
            var r = new TileRows(levels, meta, metaRow, cols, q, count);
            float* s0 = (float*)r.M0, s1 = (float*)r.M1, s2 = (float*)r.M2, s3 = (float*)r.M3;
            var t = new TileGroups(c, g0, g1);
            byte* qa = t.Qa, qb = t.Qb;
            float* da = t.Da, db = t.Db;
            Vector128<float> f0a = default, f0b = default, f1a = default, f1b = default, f2a = default, f2b = default, f3a = default, f3b = default;
            for (int b = 0; b < cols / 32; b++)
            {
                Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                Dots(8, qa + 128 * b, qb + 128 * b, r, 32 * b, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);
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

            GemmDriver.StoreTile(c, Lanes, count - q, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
        }
    }

    /// <summary>Q4_K: levels 0..15 per element; per super-block d, dmin, 8 scales, 8 mins.</summary>
    private readonly struct Q4_KKind : IGemmKind
    {
        public static int Per32 => KPer32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Unpack(byte* row, byte* levels, byte* meta, int cols)
        {
            float* h16 = Fp16Table.Pointer;
            var m4 = Vector128.Create((byte)0x0F);
            for (int i = 0; i < cols / 256; i++)
            {
                byte* bx = row + 144 * i;
                for (int j = 0; j < 4; j++)
                {
                    // Bytes 32j..32j+31 of qs: low nibbles are elements 64j.., high nibbles 64j + 32..; 16 at a time.
                    for (int half = 0; half < 2; half++)
                    {
                        var raw = Vector128.Load(bx + 16 + 32 * j + 16 * half);
                        (raw & m4).Store(levels + 256 * i + 64 * j + 16 * half);
                        Vector128.ShiftRightLogical(raw, 4).Store(levels + 256 * i + 64 * j + 32 + 16 * half);
                    }
                }

                int* mi = (int*)meta + KMeta * i;
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

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Tile(byte* levels, byte* meta, int metaRow, int cols, int q, int count, in GemmCall c, int g0, int g1, int row)
        {
            var r = new TileRows(levels, meta, metaRow, cols, q, count);
            int* m0 = (int*)r.M0, m1 = (int*)r.M1, m2 = (int*)r.M2, m3 = (int*)r.M3;
            var t = new TileGroups(c, g0, g1);
            byte* qa = t.Qa, qb = t.Qb;
            float* da = t.Da, db = t.Db;
            int* ca = t.Ca, cb = t.Cb;
            var f = stackalloc Vector128<float>[8];
            new Span<Vector128<float>>(f, 8).Clear();

            for (int i = 0; i < cols / 256; i++)
            {
                Vector128<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
                int mi = KMeta * i;
                for (int s = 0; s < 8; s++)
                {
                    Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                    Dots(8, qa + 128 * (8 * i + s), qb + 128 * (8 * i + s), r, 256 * i + 32 * s, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);
                    AddScaled(m0[mi + 2 + s], m1[mi + 2 + s], m2[mi + 2 + s], m3[mi + 2 + s], i0a, i0b, i1a, i1b, i2a, i2b, i3a, i3b,
                        ref s0a, ref s0b, ref s1a, ref s1b, ref s2a, ref s2b, ref s3a, ref s3b);
                }

                // summs = Σ_s m_s · (bsums[2s] + bsums[2s + 1]), the panel's aux of the activations.
                Vector128<int> n0a = default, n0b = default, n1a = default, n1b = default, n2a = default, n2b = default, n3a = default, n3b = default;
                for (int s = 0; s < 8; s++)
                {
                    var ba = Vector128.Load(ca + 4 * (8 * i + s));
                    var bb = Vector128.Load(cb + 4 * (8 * i + s));
                    AddScaled(m0[mi + 10 + s], m1[mi + 10 + s], m2[mi + 10 + s], m3[mi + 10 + s], ba, bb, ba, bb, ba, bb, ba, bb,
                        ref n0a, ref n0b, ref n1a, ref n1b, ref n2a, ref n2b, ref n3a, ref n3b);
                }

                var dA = Vector128.Load(da + 4 * i);
                var dB = Vector128.Load(db + 4 * i);
                f[0] = Q4_KAccumulate(f[0], s0a, n0a, m0 + mi, dA);
                f[1] = Q4_KAccumulate(f[1], s0b, n0b, m0 + mi, dB);
                f[2] = Q4_KAccumulate(f[2], s1a, n1a, m1 + mi, dA);
                f[3] = Q4_KAccumulate(f[3], s1b, n1b, m1 + mi, dB);
                f[4] = Q4_KAccumulate(f[4], s2a, n2a, m2 + mi, dA);
                f[5] = Q4_KAccumulate(f[5], s2b, n2b, m2 + mi, dB);
                f[6] = Q4_KAccumulate(f[6], s3a, n3a, m3 + mi, dA);
                f[7] = Q4_KAccumulate(f[7], s3b, n3b, m3 + mi, dB);
            }

            GemmDriver.StoreTile((float*)f, Lanes, c, count - q, row, g0, g1);
        }

        /// <summary>ScalarDot.Q4_KQ8_K's <c>sumf += d·isum − dmin·summs</c>, per lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<float> Q4_KAccumulate(Vector128<float> f, Vector128<int> isum, Vector128<int> summs, int* m, Vector128<float> dy)
        {
            var d = Vector128.Create(*(float*)m) * dy;
            var dmin = Vector128.Create(*(float*)(m + 1)) * dy;
            return f + (d * Vector128.ConvertToSingle(isum) - dmin * Vector128.ConvertToSingle(summs));
        }
    }

    /// <summary>Q6_K: signed levels q − 32 per element; per super-block d and the 16 signed scales.</summary>
    private readonly struct Q6_KKind : IGemmKind
    {
        public static int Per32 => KPer32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Unpack(byte* row, byte* levels, byte* meta, int cols)
        {
            float* h16 = Fp16Table.Pointer;
            var m4 = Vector128.Create((byte)0x0F);
            var m3 = Vector128.Create((byte)0x03);
            var k32 = Vector128.Create((byte)32);
            for (int i = 0; i < cols / 256; i++)
            {
                byte* bx = row + 210 * i;
                for (int h = 0; h < 2; h++)
                {
                    for (int half = 0; half < 2; half++)
                    {
                        int l = 16 * half;
                        var ql0 = Vector128.Load(bx + 64 * h + l);
                        var ql1 = Vector128.Load(bx + 64 * h + 32 + l);
                        var qh = Vector128.Load(bx + 128 + 32 * h + l);
                        byte* o = levels + 256 * i + 128 * h + l;
                        (((ql0 & m4) | Vector128.ShiftLeft(qh & m3, 4)) - k32).Store(o);
                        (((ql1 & m4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2) & m3, 4)) - k32).Store(o + 32);
                        ((Vector128.ShiftRightLogical(ql0, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 4) & m3, 4)) - k32).Store(o + 64);
                        ((Vector128.ShiftRightLogical(ql1, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 6), 4)) - k32).Store(o + 96);
                    }
                }

                int* mi = (int*)meta + KMeta * i;
                *(float*)mi = Fp16Table.Load(h16, bx + 208);
                for (int u = 0; u < 16; u++)
                {
                    mi[1 + u] = ((sbyte*)(bx + 192))[u];
                }

                mi[17] = 0;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Tile(byte* levels, byte* meta, int metaRow, int cols, int q, int count, in GemmCall c, int g0, int g1, int row)
        {
            var r = new TileRows(levels, meta, metaRow, cols, q, count);
            int* m0 = (int*)r.M0, m1 = (int*)r.M1, m2 = (int*)r.M2, m3 = (int*)r.M3;
            var t = new TileGroups(c, g0, g1);
            byte* qa = t.Qa, qb = t.Qb;
            float* da = t.Da, db = t.Db;
            var f = stackalloc Vector128<float>[8];
            new Span<Vector128<float>>(f, 8).Clear();

            for (int i = 0; i < cols / 256; i++)
            {
                Vector128<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
                int mi = KMeta * i;
                for (int u = 0; u < 16; u++)
                {
                    Vector128<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                    long step = 128 * (8 * i + u / 2) + 64 * (u & 1);
                    Dots(4, qa + step, qb + step, r, 256 * i + 16 * u, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);
                    AddScaled(m0[mi + 1 + u], m1[mi + 1 + u], m2[mi + 1 + u], m3[mi + 1 + u], i0a, i0b, i1a, i1b, i2a, i2b, i3a, i3b,
                        ref s0a, ref s0b, ref s1a, ref s1b, ref s2a, ref s2b, ref s3a, ref s3b);
                }

                var dA = Vector128.Load(da + 4 * i);
                var dB = Vector128.Load(db + 4 * i);
                var x = Vector128.Create(*(float*)(m0 + mi));
                f[0] += x * dA * Vector128.ConvertToSingle(s0a);
                f[1] += x * dB * Vector128.ConvertToSingle(s0b);
                x = Vector128.Create(*(float*)(m1 + mi));
                f[2] += x * dA * Vector128.ConvertToSingle(s1a);
                f[3] += x * dB * Vector128.ConvertToSingle(s1b);
                x = Vector128.Create(*(float*)(m2 + mi));
                f[4] += x * dA * Vector128.ConvertToSingle(s2a);
                f[5] += x * dB * Vector128.ConvertToSingle(s2b);
                x = Vector128.Create(*(float*)(m3 + mi));
                f[6] += x * dA * Vector128.ConvertToSingle(s3a);
                f[7] += x * dB * Vector128.ConvertToSingle(s3b);
            }

            GemmDriver.StoreTile((float*)f, Lanes, c, count - q, row, g0, g1);
        }
    }

    /// <summary>The tile's integer step: <paramref name="steps"/> four-level groups of the four rows against two token groups.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dots(int steps, byte* pa, byte* pb, in TileRows r, int e,
        ref Vector128<int> i0a, ref Vector128<int> i0b, ref Vector128<int> i1a, ref Vector128<int> i1b,
        ref Vector128<int> i2a, ref Vector128<int> i2b, ref Vector128<int> i3a, ref Vector128<int> i3b)
    {
        byte* l0 = r.L0 + e, l1 = r.L1 + e, l2 = r.L2 + e, l3 = r.L3 + e;
        for (int k = 0; k < 4 * steps; k += 4)
        {
            var va = Vector128.Load((sbyte*)(pa + 4 * k));
            var vb = Vector128.Load((sbyte*)(pb + 4 * k));
            var w = Broadcast(l0 + k);
            i0a = TDot.DotAdd(i0a, w, va);
            i0b = TDot.DotAdd(i0b, w, vb);
            w = Broadcast(l1 + k);
            i1a = TDot.DotAdd(i1a, w, va);
            i1b = TDot.DotAdd(i1b, w, vb);
            w = Broadcast(l2 + k);
            i2a = TDot.DotAdd(i2a, w, va);
            i2b = TDot.DotAdd(i2b, w, vb);
            w = Broadcast(l3 + k);
            i3a = TDot.DotAdd(i3a, w, va);
            i3b = TDot.DotAdd(i3b, w, vb);
        }
    }

    /// <summary><c>s_ra += x_ra · sc_r</c> for the tile's four rows and two groups (K-quant scales and mins).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(int sc0, int sc1, int sc2, int sc3,
        Vector128<int> x0a, Vector128<int> x0b, Vector128<int> x1a, Vector128<int> x1b,
        Vector128<int> x2a, Vector128<int> x2b, Vector128<int> x3a, Vector128<int> x3b,
        ref Vector128<int> s0a, ref Vector128<int> s0b, ref Vector128<int> s1a, ref Vector128<int> s1b,
        ref Vector128<int> s2a, ref Vector128<int> s2b, ref Vector128<int> s3a, ref Vector128<int> s3b)
    {
        var sc = Vector128.Create(sc0);
        s0a += x0a * sc;
        s0b += x0b * sc;
        sc = Vector128.Create(sc1);
        s1a += x1a * sc;
        s1b += x1b * sc;
        sc = Vector128.Create(sc2);
        s2a += x2a * sc;
        s2b += x2b * sc;
        sc = Vector128.Create(sc3);
        s3a += x3a * sc;
        s3b += x3b * sc;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Broadcast(byte* p) => Vector128.Create(Unsafe.ReadUnaligned<int>(p)).AsSByte();

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
