using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>A 32-element block type with one fp16 scale (Q4_0, Q5_0, Q8_0) as the 256-bit batch kernels see it.</summary>
internal unsafe interface ILegacy256
{
    static abstract int BlockBytes { get; }

    /// <summary>o in u = q + o: the unsigned levels are the signed weights plus this offset.</summary>
    static abstract byte Offset { get; }

    /// <summary>The 32 unsigned levels of the block at <paramref name="block"/>, in element order.</summary>
    static abstract Vector256<byte> Levels(byte* block);

    /// <summary>
    /// <paramref name="f"/> plus the reference's float expression for one block, lane by lane: the exact block sum
    /// <paramref name="isum"/> scaled by the weight scale <paramref name="dx"/> and the activation scale <paramref name="dy"/>.
    /// </summary>
    static abstract Vector256<float> Accumulate(Vector256<float> f, Vector256<int> isum, Vector256<float> dx, Vector256<float> dy);
}

/// <summary>
/// The batch kernels on 256-bit registers (AVX2 + FMA); <typeparamref name="TDot"/> is the 8-bit dot product
/// (<see cref="MaddDot256"/>: AVX2, <see cref="VnniDot256"/>: AVX-VNNI). See <see cref="GemmKernels"/> for what they
/// compute; every output has the exact bits of <see cref="Scalar.ScalarDot"/>.
/// </summary>
/// <remarks>
/// <para>
/// GEMM: eight tokens per vector (<see cref="TokenPanel"/>). Weight rows are first unpacked, a block of rows at a time,
/// into unsigned levels u = q + o (Q4_0 o = 8, Q5_0 16, Q8_0 128, Q4_K 0, Q6_K 32) and float / int scales; each
/// four-level group is then broadcast and multiplied into eight tokens by one <c>vpdpbusd</c> (or its AVX2 pair), whose
/// accumulator starts at the panel's −o·Σa, so the lane ends with the exact Σq·a. A tile is four rows by two token groups
/// (eight accumulators) per block; then the reference expression runs on the eight lanes at once.
/// </para>
/// <para>
/// Few tokens (Q4_0, Q5_0, Q8_0): eight rows at once. Each row's block gives eight partial sums; the eight rows' partials
/// are reduced and transposed together (<c>vphaddd</c>) into one vector of exact block sums, one row per lane, and the
/// reference expression runs on it. Q8_0 levels reach 255, which the AVX2 pair cannot take (16-bit saturation): on AVX2 it
/// has no GEMM, and its few-token kernel multiplies |x| by the activations with x's sign instead.
/// </para>
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Avx2Gemm<TDot>
    where TDot : struct, IDot256
{
    public const int Lanes = 8;

    /// <summary>Scratch per 32 elements of an unpacked row: levels, plus the block scale (legacy) or the K-quant scales.</summary>
    private const int LegacyPer32 = 36;
    private const int KPer32 = 41;

    /// <summary>
    /// Ints of unpacked scales per K-quant super-block: d, dmin, 8 scales, the 8 mins as four 16-bit pairs and 4 pad
    /// (Q4_K); d, 16 scales, pad (Q6_K).
    /// </summary>
    private const int KMeta = 18;

    public static GemmKernels Get(GgmlType type) => type switch
    {
        GgmlType.Q4_0 => new(&GemmDriver.Run<Legacy<Q4_0Levels>>, Lanes, 32, -8, LegacyPer32, Rows<Q4_0Levels>()),
        GgmlType.Q5_0 => new(&GemmDriver.Run<Legacy<Q5_0Levels>>, Lanes, 32, -16, LegacyPer32, Rows<Q5_0Levels>()),
        GgmlType.Q8_0 => TDot.FullRange
            ? new(&GemmDriver.Run<Legacy<Q8_0Levels>>, Lanes, 32, -128, LegacyPer32, Rows<Q8_0Levels>())
            : new(null, Lanes, 32, 0, 0, Rows<Q8_0Levels>()),
        GgmlType.Q4_K => new(&GemmDriver.Run<Q4_KKind>, Lanes, 64, 1, KPer32, default),
        GgmlType.Q6_K => new(&GemmDriver.Run<Q6_KKind>, Lanes, 16, -32, KPer32, default),
        _ => default,
    };

    private static RowsKernels Rows<TW>()
        where TW : struct, ILegacy256 =>
        new(&Rows8<Tokens1, TW>, &Rows8<Tokens2, TW>, &Rows8<Tokens3, TW>, &Rows8<Tokens4, TW>);

    // ---------------------------------------------------------------- GEMM

    /// <summary>Q4_0, Q5_0, Q8_0: unsigned levels (32 bytes per block) and the block scales as floats.</summary>
    private readonly struct Legacy<TW> : IGemmKind
        where TW : struct, ILegacy256
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
                TW.Levels(block).Store(levels + 32 * b);
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
            int* ca = t.Ca, cb = t.Cb;
            Vector256<float> f0a = default, f0b = default, f1a = default, f1b = default, f2a = default, f2b = default, f3a = default, f3b = default;
            for (int b = 0; b < cols / 32; b++)
            {
                // Σ(u − o)·a: the accumulators start at the panel's −o·Σa.
                var cA = Vector256.Load(ca + 8 * b);
                var cB = Vector256.Load(cb + 8 * b);
                Vector256<int> i0a = cA, i0b = cB, i1a = cA, i1b = cB, i2a = cA, i2b = cB, i3a = cA, i3b = cB;
                Dots(8, qa + 256 * b, qb + 256 * b, r, 32 * b, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);
                var dA = Vector256.Load(da + 8 * b);
                var dB = Vector256.Load(db + 8 * b);
                var x = Vector256.Create(s0[b]);
                f0a = TW.Accumulate(f0a, i0a, x, dA);
                f0b = TW.Accumulate(f0b, i0b, x, dB);
                x = Vector256.Create(s1[b]);
                f1a = TW.Accumulate(f1a, i1a, x, dA);
                f1b = TW.Accumulate(f1b, i1b, x, dB);
                x = Vector256.Create(s2[b]);
                f2a = TW.Accumulate(f2a, i2a, x, dA);
                f2b = TW.Accumulate(f2b, i2b, x, dB);
                x = Vector256.Create(s3[b]);
                f3a = TW.Accumulate(f3a, i3a, x, dA);
                f3b = TW.Accumulate(f3b, i3b, x, dB);
            }

            StoreTile(c, count - q, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
        }
    }

    /// <summary>Q4_K: levels 0..15 per element; per super-block d, dmin, 8 scales and the 8 mins as four 16-bit pairs.</summary>
    private readonly struct Q4_KKind : IGemmKind
    {
        public static int Per32 => KPer32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Unpack(byte* row, byte* levels, byte* meta, int cols)
        {
            float* h16 = Fp16Table.Pointer;
            var m4 = Vector256.Create((byte)0x0F);
            for (int i = 0; i < cols / 256; i++)
            {
                byte* bx = row + 144 * i;
                for (int j = 0; j < 4; j++)
                {
                    var q = Vector256.Load(bx + 16 + 32 * j);
                    (q & m4).Store(levels + 256 * i + 64 * j);
                    (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & m4).Store(levels + 256 * i + 64 * j + 32);
                }

                int* mi = (int*)meta + KMeta * i;
                *(float*)mi = Fp16Table.Load(h16, bx);
                *(float*)(mi + 1) = Fp16Table.Load(h16, bx + 2);
                var sm = KScales.ScaleMinK4(bx + 4);
                Avx2.ConvertToVector256Int32(sm).Store(mi + 2);

                // The mins as 16-bit pairs (m0 | m1 << 16, ...) for vpdpwssd against the panel's paired sums.
                Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(sm, 8)).AsInt32().Store(mi + 10);
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

            // The float sums live in memory: touched once per super-block, they would otherwise take eight of the sixteen
            // registers vpdpbusd can accumulate in (the JIT then copies every accumulator through a low register).
            var f = stackalloc Vector256<float>[8];
            new Span<Vector256<float>>(f, 8).Clear();

            for (int i = 0; i < cols / 256; i++)
            {
                Vector256<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
                int mi = KMeta * i;
                for (int s = 0; s < 8; s++)
                {
                    Vector256<int> i0a = default, i0b = default, i1a = default, i1b = default, i2a = default, i2b = default, i3a = default, i3b = default;
                    Dots(8, qa + 256 * (8 * i + s), qb + 256 * (8 * i + s), r, 256 * i + 32 * s, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);

                    // isum += sc · Σq·a (the scale of sub-block s of each row).
                    AddScaled(m0[mi + 2 + s], m1[mi + 2 + s], m2[mi + 2 + s], m3[mi + 2 + s], i0a, i0b, i1a, i1b, i2a, i2b, i3a, i3b,
                        ref s0a, ref s0b, ref s1a, ref s1b, ref s2a, ref s2b, ref s3a, ref s3b);
                }

                // summs = Σ_s m_s · (bsums[2s] + bsums[2s + 1]): two sub-blocks per 16-bit pair dot product.
                Vector256<int> n0a = default, n0b = default, n1a = default, n1b = default, n2a = default, n2b = default, n3a = default, n3b = default;
                for (int pr = 0; pr < 4; pr++)
                {
                    var ba = Vector256.Load(ca + 8 * (4 * i + pr)).AsInt16();
                    var bb = Vector256.Load(cb + 8 * (4 * i + pr)).AsInt16();
                    var mn = Vector256.Create(m0[mi + 10 + pr]).AsInt16();
                    n0a = TDot.DotAdd16(n0a, mn, ba);
                    n0b = TDot.DotAdd16(n0b, mn, bb);
                    mn = Vector256.Create(m1[mi + 10 + pr]).AsInt16();
                    n1a = TDot.DotAdd16(n1a, mn, ba);
                    n1b = TDot.DotAdd16(n1b, mn, bb);
                    mn = Vector256.Create(m2[mi + 10 + pr]).AsInt16();
                    n2a = TDot.DotAdd16(n2a, mn, ba);
                    n2b = TDot.DotAdd16(n2b, mn, bb);
                    mn = Vector256.Create(m3[mi + 10 + pr]).AsInt16();
                    n3a = TDot.DotAdd16(n3a, mn, ba);
                    n3b = TDot.DotAdd16(n3b, mn, bb);
                }

                var dA = Vector256.Load(da + 8 * i);
                var dB = Vector256.Load(db + 8 * i);
                f[0] = Q4_KAccumulate(f[0], s0a, n0a, m0 + mi, dA);
                f[1] = Q4_KAccumulate(f[1], s0b, n0b, m0 + mi, dB);
                f[2] = Q4_KAccumulate(f[2], s1a, n1a, m1 + mi, dA);
                f[3] = Q4_KAccumulate(f[3], s1b, n1b, m1 + mi, dB);
                f[4] = Q4_KAccumulate(f[4], s2a, n2a, m2 + mi, dA);
                f[5] = Q4_KAccumulate(f[5], s2b, n2b, m2 + mi, dB);
                f[6] = Q4_KAccumulate(f[6], s3a, n3a, m3 + mi, dA);
                f[7] = Q4_KAccumulate(f[7], s3b, n3b, m3 + mi, dB);
            }

            StoreTile(c, count - q, row, g0, g1, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
        }

        /// <summary>ScalarDot.Q4_KQ8_K's <c>sumf += d·isum − dmin·summs</c>, d = dx·dy and dmin = dminx·dy, per lane.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Q4_KAccumulate(Vector256<float> f, Vector256<int> isum, Vector256<int> summs, int* m, Vector256<float> dy)
        {
            var d = Vector256.Create(*(float*)m) * dy;
            var dmin = Vector256.Create(*(float*)(m + 1)) * dy;
            return f + (d * Vector256.ConvertToSingle(isum) - dmin * Vector256.ConvertToSingle(summs));
        }
    }

    /// <summary>Q6_K: levels q + 32 (0..63) per element; per super-block d and the 16 signed scales.</summary>
    private readonly struct Q6_KKind : IGemmKind
    {
        public static int Per32 => KPer32;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Unpack(byte* row, byte* levels, byte* meta, int cols)
        {
            float* h16 = Fp16Table.Pointer;
            var m4 = Vector256.Create((byte)0x0F);
            var m3 = Vector256.Create((byte)0x03);
            var m30 = Vector256.Create((byte)0x30);
            for (int i = 0; i < cols / 256; i++)
            {
                byte* bx = row + 210 * i;
                for (int h = 0; h < 2; h++)
                {
                    var ql0 = Vector256.Load(bx + 64 * h);
                    var ql1 = Vector256.Load(bx + 64 * h + 32);
                    var qh = Vector256.Load(bx + 128 + 32 * h);
                    byte* o = levels + 256 * i + 128 * h;
                    ((ql0 & m4) | Avx2.ShiftLeftLogical((qh & m3).AsUInt16(), 4).AsByte()).Store(o);
                    ((ql1 & m4) | (Avx2.ShiftLeftLogical(qh.AsUInt16(), 2).AsByte() & m30)).Store(o + 32);
                    ((Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & m4) | (qh & m30)).Store(o + 64);
                    ((Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & m4) | (Avx2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte() & m30)).Store(o + 96);
                }

                int* mi = (int*)meta + KMeta * i;
                *(float*)mi = Fp16Table.Load(h16, bx + 208);
                var sc = Vector128.Load((sbyte*)(bx + 192));
                Avx2.ConvertToVector256Int32(sc).Store(mi + 1);
                Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(sc, 8)).Store(mi + 9);
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
            int* ca = t.Ca, cb = t.Cb;

            // As in Q4_K: the float sums in memory leave the low registers to the integer sums.
            var f = stackalloc Vector256<float>[8];
            new Span<Vector256<float>>(f, 8).Clear();

            for (int i = 0; i < cols / 256; i++)
            {
                Vector256<int> s0a = default, s0b = default, s1a = default, s1b = default, s2a = default, s2b = default, s3a = default, s3b = default;
                int mi = KMeta * i;
                for (int u = 0; u < 16; u++)
                {
                    // Σ(q − 32)·a over sixteen elements: the accumulators start at the panel's −32·Σa.
                    var cA = Vector256.Load(ca + 8 * (16 * i + u));
                    var cB = Vector256.Load(cb + 8 * (16 * i + u));
                    Vector256<int> i0a = cA, i0b = cB, i1a = cA, i1b = cB, i2a = cA, i2b = cB, i3a = cA, i3b = cB;
                    long step = 256 * (8 * i + u / 2) + 128 * (u & 1);
                    Dots(4, qa + step, qb + step, r, 256 * i + 16 * u, ref i0a, ref i0b, ref i1a, ref i1b, ref i2a, ref i2b, ref i3a, ref i3b);
                    AddScaled(m0[mi + 1 + u], m1[mi + 1 + u], m2[mi + 1 + u], m3[mi + 1 + u], i0a, i0b, i1a, i1b, i2a, i2b, i3a, i3b,
                        ref s0a, ref s0b, ref s1a, ref s1b, ref s2a, ref s2b, ref s3a, ref s3b);
                }

                // ScalarDot.Q6_KQ8_K: sumf += (dx·dy)·isum.
                var dA = Vector256.Load(da + 8 * i);
                var dB = Vector256.Load(db + 8 * i);
                var x = Vector256.Create(*(float*)(m0 + mi));
                f[0] += x * dA * Vector256.ConvertToSingle(s0a);
                f[1] += x * dB * Vector256.ConvertToSingle(s0b);
                x = Vector256.Create(*(float*)(m1 + mi));
                f[2] += x * dA * Vector256.ConvertToSingle(s1a);
                f[3] += x * dB * Vector256.ConvertToSingle(s1b);
                x = Vector256.Create(*(float*)(m2 + mi));
                f[4] += x * dA * Vector256.ConvertToSingle(s2a);
                f[5] += x * dB * Vector256.ConvertToSingle(s2b);
                x = Vector256.Create(*(float*)(m3 + mi));
                f[6] += x * dA * Vector256.ConvertToSingle(s3a);
                f[7] += x * dB * Vector256.ConvertToSingle(s3b);
            }

            StoreTile(c, count - q, row, g0, g1, f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
        }
    }

    /// <summary>
    /// The tile's integer step: <paramref name="steps"/> four-level groups of the four rows (from element
    /// <paramref name="e"/>), each broadcast and multiplied into the two token groups' panel steps at pa and pb.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Dots(int steps, byte* pa, byte* pb, in TileRows r, int e,
        ref Vector256<int> i0a, ref Vector256<int> i0b, ref Vector256<int> i1a, ref Vector256<int> i1b,
        ref Vector256<int> i2a, ref Vector256<int> i2b, ref Vector256<int> i3a, ref Vector256<int> i3b)
    {
        byte* l0 = r.L0 + e, l1 = r.L1 + e, l2 = r.L2 + e, l3 = r.L3 + e;
        for (int k = 0; k < 4 * steps; k += 4)
        {
            var va = Vector256.Load((sbyte*)(pa + 8 * k));
            var vb = Vector256.Load((sbyte*)(pb + 8 * k));
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

    /// <summary>The K-quants' <c>isum += sc·Σq·a</c> for the tile: row k's sub-block scale <paramref name="sc0"/>..<paramref name="sc3"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddScaled(int sc0, int sc1, int sc2, int sc3,
        Vector256<int> i0a, Vector256<int> i0b, Vector256<int> i1a, Vector256<int> i1b,
        Vector256<int> i2a, Vector256<int> i2b, Vector256<int> i3a, Vector256<int> i3b,
        ref Vector256<int> s0a, ref Vector256<int> s0b, ref Vector256<int> s1a, ref Vector256<int> s1b,
        ref Vector256<int> s2a, ref Vector256<int> s2b, ref Vector256<int> s3a, ref Vector256<int> s3b)
    {
        var sc = Vector256.Create(sc0);
        s0a += Avx2.MultiplyLow(i0a, sc);
        s0b += Avx2.MultiplyLow(i0b, sc);
        sc = Vector256.Create(sc1);
        s1a += Avx2.MultiplyLow(i1a, sc);
        s1b += Avx2.MultiplyLow(i1b, sc);
        sc = Vector256.Create(sc2);
        s2a += Avx2.MultiplyLow(i2a, sc);
        s2b += Avx2.MultiplyLow(i2b, sc);
        sc = Vector256.Create(sc3);
        s3a += Avx2.MultiplyLow(i3a, sc);
        s3b += Avx2.MultiplyLow(i3b, sc);
    }

    /// <summary>
    /// Stores a finished tile (f_rg: row r, token group g, token 8g + i in lane i): a whole tile as a 4 × 8 transpose,
    /// the four rows of one token per 128-bit store; a tile at the edge of the rows or tokens through
    /// <see cref="GemmDriver.StoreTile{TVec}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile(in GemmCall c, int rows, int row, int g0, int g1,
        Vector256<float> f0a, Vector256<float> f0b, Vector256<float> f1a, Vector256<float> f1b,
        Vector256<float> f2a, Vector256<float> f2b, Vector256<float> f3a, Vector256<float> f3b)
    {
        if (rows >= 4 && Lanes * (g1 + 1) <= c.Layout.Tokens)
        {
            StoreRows4(f0a, f1a, f2a, f3a, c.Y + row + Lanes * g0 * c.YStride, c.YStride);
            if (g1 != g0)
            {
                StoreRows4(f0b, f1b, f2b, f3b, c.Y + row + Lanes * g1 * c.YStride, c.YStride);
            }

            return;
        }

        GemmDriver.StoreTile(c, Lanes, rows, row, g0, g1, f0a, f0b, f1a, f1b, f2a, f2b, f3a, f3b);
    }

    /// <summary>Rows 0-3 of eight tokens (lane i: token i) to y[i · stride + 0..3].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows4(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3, float* y, nint stride)
    {
        var lo01 = Avx.UnpackLow(r0, r1);
        var lo23 = Avx.UnpackLow(r2, r3);
        var hi01 = Avx.UnpackHigh(r0, r1);
        var hi23 = Avx.UnpackHigh(r2, r3);
        var t04 = Avx.Shuffle(lo01, lo23, 0x44); // tokens 0 | 4
        var t15 = Avx.Shuffle(lo01, lo23, 0xEE); // tokens 1 | 5
        var t26 = Avx.Shuffle(hi01, hi23, 0x44); // tokens 2 | 6
        var t37 = Avx.Shuffle(hi01, hi23, 0xEE); // tokens 3 | 7
        t04.GetLower().Store(y);
        t15.GetLower().Store(y + stride);
        t26.GetLower().Store(y + 2 * stride);
        t37.GetLower().Store(y + 3 * stride);
        t04.GetUpper().Store(y + 4 * stride);
        t15.GetUpper().Store(y + 5 * stride);
        t26.GetUpper().Store(y + 6 * stride);
        t37.GetUpper().Store(y + 7 * stride);
    }

    /// <summary>Four levels at <paramref name="p"/> in every lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Broadcast(byte* p) => Vector256.Create(Unsafe.ReadUnaligned<int>(p)).AsByte();

    // ---------------------------------------------------------------- exact few-token kernel (legacy types)

    /// <summary>
    /// Up to eight rows × <typeparamref name="TTok"/> tokens: per block, each row's eight partial sums (four elements per
    /// lane) are reduced with the other rows' into one vector of exact block sums, one row per lane; the reference's
    /// float expression then runs on that vector. Rows past <paramref name="rowCount"/> repeat the last one and are not
    /// stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows8<TTok, TW>(byte* w, nint rowBytes, int rowCount, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TW : struct, ILegacy256
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        int last = rowCount - 1;
        nint o1 = Math.Min(1, last) * rowBytes, o2 = Math.Min(2, last) * rowBytes, o3 = Math.Min(3, last) * rowBytes;
        nint o4 = Math.Min(4, last) * rowBytes, o5 = Math.Min(5, last) * rowBytes, o6 = Math.Min(6, last) * rowBytes;
        nint o7 = Math.Min(7, last) * rowBytes;
        Vector256<float> f0 = default, f1 = default, f2 = default, f3 = default;
        // Eight rows are read as eight slow streams, which the hardware prefetchers follow poorly: sweep the next eight
        // rows (usually the caller's next call, contiguous) in address order, one slice per block step.
        byte* pf = (byte*)((nint)(w + 8 * rowBytes) & ~(nint)63);
        byte* pfEnd = w + 8 * rowBytes;
        for (int b = 0; b < nb; b++)
        {
            byte* x = w + b * TW.BlockBytes;
            pfEnd += 8 * TW.BlockBytes;
            while (pf < pfEnd)
            {
                Sse.Prefetch0(pf);
                pf += 64;
            }

            var dx = Vector256.Create(Fp16Table.Load(h16, x), Fp16Table.Load(h16, x + o1), Fp16Table.Load(h16, x + o2), Fp16Table.Load(h16, x + o3),
                Fp16Table.Load(h16, x + o4), Fp16Table.Load(h16, x + o5), Fp16Table.Load(h16, x + o6), Fp16Table.Load(h16, x + o7));
            byte* ab = a + 34 * b;
            f0 = RowsStep<TW>(f0, x, o1, o2, o3, o4, o5, o6, o7, ab, dx, h16);
            if (TTok.Count > 1)
            {
                f1 = RowsStep<TW>(f1, x, o1, o2, o3, o4, o5, o6, o7, ab + aStride, dx, h16);
            }

            if (TTok.Count > 2)
            {
                f2 = RowsStep<TW>(f2, x, o1, o2, o3, o4, o5, o6, o7, ab + 2 * aStride, dx, h16);
            }

            if (TTok.Count > 3)
            {
                f3 = RowsStep<TW>(f3, x, o1, o2, o3, o4, o5, o6, o7, ab + 3 * aStride, dx, h16);
            }
        }

        StoreRows(f0, y, rowCount);
        if (TTok.Count > 1)
        {
            StoreRows(f1, y + yStride, rowCount);
        }

        if (TTok.Count > 2)
        {
            StoreRows(f2, y + 2 * yStride, rowCount);
        }

        if (TTok.Count > 3)
        {
            StoreRows(f3, y + 3 * yStride, rowCount);
        }
    }

    /// <summary>One block of eight rows (row k at <c>x + o_k</c>, o_0 = 0) against one activation block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> RowsStep<TW>(Vector256<float> f, byte* x, nint o1, nint o2, nint o3, nint o4, nint o5, nint o6, nint o7,
        byte* ab, Vector256<float> dx, float* h16)
        where TW : struct, ILegacy256
    {
        var aq = Vector256.Load((sbyte*)(ab + 2));
        Vector256<int> s0, s1, s2, s3, s4, s5, s6, s7;
        if (TDot.FullRange || TW.Offset != 128)
        {
            // Σ(u − o)·a: the accumulator of every row starts at −o·Σa (per four-element lane).
            var negc = -TDot.DotAdd(Vector256<int>.Zero, Vector256.Create(TW.Offset), aq);
            s0 = TDot.DotAdd(negc, TW.Levels(x), aq);
            s1 = TDot.DotAdd(negc, TW.Levels(x + o1), aq);
            s2 = TDot.DotAdd(negc, TW.Levels(x + o2), aq);
            s3 = TDot.DotAdd(negc, TW.Levels(x + o3), aq);
            s4 = TDot.DotAdd(negc, TW.Levels(x + o4), aq);
            s5 = TDot.DotAdd(negc, TW.Levels(x + o5), aq);
            s6 = TDot.DotAdd(negc, TW.Levels(x + o6), aq);
            s7 = TDot.DotAdd(negc, TW.Levels(x + o7), aq);
        }
        else
        {
            // Q8_0 on AVX2: |x| against a with x's sign (|x| ≤ 128, |a| ≤ 127 keep vpmaddubsw exact).
            s0 = SignedQ8(x, aq);
            s1 = SignedQ8(x + o1, aq);
            s2 = SignedQ8(x + o2, aq);
            s3 = SignedQ8(x + o3, aq);
            s4 = SignedQ8(x + o4, aq);
            s5 = SignedQ8(x + o5, aq);
            s6 = SignedQ8(x + o6, aq);
            s7 = SignedQ8(x + o7, aq);
        }

        var isum = ReduceRows(s0, s1, s2, s3, s4, s5, s6, s7);
        return TW.Accumulate(f, isum, dx, Vector256.Create(Fp16Table.Load(h16, ab)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> SignedQ8(byte* block, Vector256<sbyte> aq)
    {
        var x = Vector256.Load((sbyte*)(block + 2));
        return TDot.Dot(Avx2.Abs(x), Avx2.Sign(aq, x));
    }

    /// <summary>Lane k of the result is the sum of the eight lanes of <c>s_k</c> (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> ReduceRows(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3,
        Vector256<int> s4, Vector256<int> s5, Vector256<int> s6, Vector256<int> s7)
    {
        // Pairwise adds within each 128-bit half: [s0 s1 s2 s3 partials of the low half | the same of the high half].
        var h0123 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s0, s1), Avx2.HorizontalAdd(s2, s3));
        var h4567 = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s4, s5), Avx2.HorizontalAdd(s6, s7));
        return Avx2.Permute2x128(h0123, h4567, 0x20) + Avx2.Permute2x128(h0123, h4567, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(Vector256<float> f, float* y, int rowCount)
    {
        if (rowCount == 8)
        {
            f.Store(y);
            return;
        }

        for (int i = 0; i < rowCount; i++)
        {
            y[i] = f.GetElement(i);
        }
    }

    // ---------------------------------------------------------------- block types

    /// <summary>Q4_0: 18 bytes (d, 16 nibble bytes: element j low, j + 16 high); levels q = w + 8.</summary>
    private readonly struct Q4_0Levels : ILegacy256
    {
        public static int BlockBytes => 18;

        public static byte Offset => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Levels(byte* block) => Avx2Levels.Nibbles(block + 2);

        /// <summary>ScalarDot.Q4_0Q8_0: <c>sumf += sumi · dx · dy</c>, left to right.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Accumulate(Vector256<float> f, Vector256<int> isum, Vector256<float> dx, Vector256<float> dy) =>
            f + Vector256.ConvertToSingle(isum) * dx * dy;
    }

    /// <summary>Q5_0: 22 bytes (d, 32 fifth bits, 16 nibble bytes); levels q = w + 16.</summary>
    private readonly struct Q5_0Levels : ILegacy256
    {
        public static int BlockBytes => 22;

        public static byte Offset => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Levels(byte* block) => Avx2Levels.Nibbles(block + 6) | Avx2Levels.FifthBits(Unsafe.ReadUnaligned<uint>(block + 2));

        /// <summary>ScalarDot.Q5_0Q8_0: <c>sumf += (dx · dy) · sumi</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Accumulate(Vector256<float> f, Vector256<int> isum, Vector256<float> dx, Vector256<float> dy) =>
            f + dx * dy * Vector256.ConvertToSingle(isum);
    }

    /// <summary>Q8_0: 34 bytes (d, 32 signed quants); levels x + 128 (the sign bit flipped).</summary>
    private readonly struct Q8_0Levels : ILegacy256
    {
        public static int BlockBytes => 34;

        public static byte Offset => 128;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Levels(byte* block) => Vector256.Load(block + 2) ^ Vector256.Create((byte)0x80);

        /// <summary>ScalarDot.Q8_0Q8_0: <c>sumf += sumi · (dx · dy)</c>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Accumulate(Vector256<float> f, Vector256<int> isum, Vector256<float> dx, Vector256<float> dy) =>
            f + Vector256.ConvertToSingle(isum) * (dx * dy);
    }
}
