using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>One 32-element weight block type of the 512-bit kernels: two blocks fill a register.</summary>
internal unsafe interface IBlock512<TState>
    where TState : struct
{
    static abstract int WeightBytes { get; }

    static abstract int ActBytes { get; }

    /// <summary>True when blocks carry an offset applied through the activation sum (Q4_1, Q5_1): <c>ms += m·s</c>.</summary>
    static abstract bool HasMin { get; }

    /// <summary>Blocks at <paramref name="bx"/> and the next one: lanes 0-7 of every later int vector belong to the first.</summary>
    static abstract TState DecodePair(float* h16, byte* bx);

    /// <summary>One block in the low half; the high half is zero.</summary>
    static abstract TState DecodeOne(float* h16, byte* bx);

    static abstract Vector512<float> StepPair(in TState w, float* h16, byte* by, Vector512<float> acc, ref float ms);

    static abstract Vector512<float> StepOne(in TState w, float* h16, byte* by, Vector512<float> acc, ref float ms);
}

/// <summary>A 32-element block type with fp16 scales that the four-block driver handles: levels, integer sums and offsets.</summary>
internal unsafe interface IQuad512 : IBlock512<Avx512Kernels.Levels>
{
    /// <summary>Offset of the fp16 weight offset m within a block (HasMin types).</summary>
    static abstract int MinOffset { get; }

    /// <summary>The 64 levels of the block at <paramref name="bx"/> and the next one (as in DecodePair).</summary>
    static abstract Vector512<byte> UPair(byte* bx);

    /// <summary>Exact per-four-byte integer sums of two blocks of levels against two activation blocks at <paramref name="by"/>.</summary>
    static abstract Vector512<int> SumPair(Vector512<byte> u, byte* by);
}

/// <summary>
/// Row kernels on 512-bit registers (AVX-512 F/BW/DQ/VL). .NET 10 exposes no 512-bit <c>vpdpbusd</c> for AVX512-VNNI (only
/// through AVX10.2), so 8-bit products go through <c>vpmaddubsw</c> + <c>vpmaddwd</c>, which on full-width registers
/// still does 64 products per two instructions.
/// </summary>
/// <remarks>
/// Small-block types put two blocks in a register (one per 256-bit half) and keep two accumulators per token; K-quants
/// work in 64-element chunks (two 32-element or four 16-element sub-blocks, each 128-bit lane or 256-bit half with its own
/// scale) and reduce each super-block to exact ints, which makes them bit-identical to Scalar/. Float types multiply in
/// float and add in double lanes.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Avx512Kernels
{
    public static RowKernels Get(GgmlType type) => type switch
    {
        GgmlType.F32 => new(&F32<Tokens1>, &F32<Tokens2>, &F32<Tokens3>, &F32<Tokens4>),
        GgmlType.F16 => new(&F16<Tokens1>, &F16<Tokens2>, &F16<Tokens3>, &F16<Tokens4>),
        GgmlType.BF16 => new(&BF16<Tokens1>, &BF16<Tokens2>, &BF16<Tokens3>, &BF16<Tokens4>),
        GgmlType.Q4_0 => new(&Blocks<Tokens1, Q4_0Block, Levels>, &Blocks<Tokens2, Q4_0Block, Levels>, &Blocks<Tokens3, Q4_0TileBlock, HalfLevels>, &Blocks<Tokens4, Q4_0TileBlock, HalfLevels>),
        GgmlType.Q4_1 => new(&Quads<Tokens1, Q4_1Block>, &Quads<Tokens2, Q4_1Block>, &Quads<Tokens3, Q4_1Block>, &Quads<Tokens4, Q4_1Block>),
        GgmlType.Q5_0 => new(&Blocks<Tokens1, Q5_0Block, Levels>, &Blocks<Tokens2, Q5_0Block, Levels>, &Blocks<Tokens3, Q5_0TileBlock, HalfLevels>, &Blocks<Tokens4, Q5_0TileBlock, HalfLevels>),
        GgmlType.Q5_1 => new(&Quads<Tokens1, Q5_1Block>, &Quads<Tokens2, Q5_1Block>, &Quads<Tokens3, Q5_1Block>, &Quads<Tokens4, Q5_1Block>),
        GgmlType.Q8_0 => new(&Blocks<Tokens1, Q8_0Block, SignedLevels>, &Blocks<Tokens2, Q8_0Block, SignedLevels>, &Blocks<Tokens3, Q8_0Block, SignedLevels>, &Blocks<Tokens4, Q8_0Block, SignedLevels>),
        GgmlType.Q8_1 => new(&Blocks<Tokens1, Q8_1Block, SignedLevels>, &Blocks<Tokens2, Q8_1Block, SignedLevels>, &Blocks<Tokens3, Q8_1Block, SignedLevels>, &Blocks<Tokens4, Q8_1Block, SignedLevels>),
        GgmlType.Q2_K => new(&Q2_K<Tokens1>, &Q2_K<Tokens2>, &Q2_K<Tokens3>, &Q2_K<Tokens4>),
        GgmlType.Q3_K => new(&Q3_K<Tokens1>, &Q3_K<Tokens2>, &Q3_K<Tokens3>, &Q3_K<Tokens4>),
        GgmlType.Q4_K => new(&Q4_K<Tokens1>, &Q4_K<Tokens2>, &Q4_K<Tokens3>, &Q4_K<Tokens4>),
        GgmlType.Q5_K => new(&Q5_K<Tokens1>, &Q5_K<Tokens2>, &Q5_K<Tokens3>, &Q5_K<Tokens4>),
        GgmlType.Q6_K => new(&Q6_K<Tokens1>, &Q6_K<Tokens2>, &Q6_K<Tokens3>, &Q6_K<Tokens4>),
        GgmlType.Q8_K => new(&Q8_K<Tokens1>, &Q8_K<Tokens2>, &Q8_K<Tokens3>, &Q8_K<Tokens4>),
        _ => default,
    };

    // ---------------------------------------------------------------- F32 / F16 / BF16

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F32<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        float* x = (float*)w;
        Vector512<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var wv = Vector512.Load(x + i);
            Accumulate(wv, (float*)a + i, ref l0, ref h0);
            if (TTok.Count > 1)
            {
                Accumulate(wv, (float*)(a + aStride) + i, ref l1, ref h1);
            }

            if (TTok.Count > 2)
            {
                Accumulate(wv, (float*)(a + 2 * aStride) + i, ref l2, ref h2);
            }

            if (TTok.Count > 3)
            {
                Accumulate(wv, (float*)(a + 3 * aStride) + i, ref l3, ref h3);
            }
        }

        for (int t = 0; t < TTok.Count; t++)
        {
            var (l, h) = t switch { 0 => (l0, h0), 1 => (l1, h1), 2 => (l2, h2), _ => (l3, h3) };
            float* at = (float*)(a + t * aStride);
            double s = Vector512.Sum(l + h);
            for (int k = i; k < n; k++)
            {
                s += x[k] * at[k];
            }

            y[t * yStride] = (float)s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        ushort* x = (ushort*)w;
        Vector512<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var wv = HalfToSingle(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)(x + i))));
            Accumulate(wv, (float*)a + i, ref l0, ref h0);
            if (TTok.Count > 1)
            {
                Accumulate(wv, (float*)(a + aStride) + i, ref l1, ref h1);
            }

            if (TTok.Count > 2)
            {
                Accumulate(wv, (float*)(a + 2 * aStride) + i, ref l2, ref h2);
            }

            if (TTok.Count > 3)
            {
                Accumulate(wv, (float*)(a + 3 * aStride) + i, ref l3, ref h3);
            }
        }

        for (int t = 0; t < TTok.Count; t++)
        {
            var (l, h) = t switch { 0 => (l0, h0), 1 => (l1, h1), 2 => (l2, h2), _ => (l3, h3) };
            float* at = (float*)(a + t * aStride);
            double s = Vector512.Sum(l + h);
            for (int k = i; k < n; k++)
            {
                s += Fp16Table.ToFloat(x[k]) * at[k];
            }

            y[t * yStride] = (float)s;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BF16<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        ushort* x = (ushort*)w;
        Vector512<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            var wv = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load(x + i)), 16).AsSingle();
            Accumulate(wv, (float*)a + i, ref l0, ref h0);
            if (TTok.Count > 1)
            {
                Accumulate(wv, (float*)(a + aStride) + i, ref l1, ref h1);
            }

            if (TTok.Count > 2)
            {
                Accumulate(wv, (float*)(a + 2 * aStride) + i, ref l2, ref h2);
            }

            if (TTok.Count > 3)
            {
                Accumulate(wv, (float*)(a + 3 * aStride) + i, ref l3, ref h3);
            }
        }

        for (int t = 0; t < TTok.Count; t++)
        {
            var (l, h) = t switch { 0 => (l0, h0), 1 => (l1, h1), 2 => (l2, h2), _ => (l3, h3) };
            float* at = (float*)(a + t * aStride);
            double s = Vector512.Sum(l + h);
            for (int k = i; k < n; k++)
            {
                s += Bf16.ToFloat(x[k]) * at[k];
            }

            y[t * yStride] = (float)s;
        }
    }

    /// <summary>Exact half-to-float of sixteen sign-extended half patterns (see Avx2Kernels.HalfToSingle).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> HalfToSingle(Vector512<int> h)
    {
        var em = Avx512F.ShiftLeftLogical(h, 13) & Vector512.Create(unchecked((int)0x8FFF_E000));
        var f = em.AsSingle() * Vector512.Create(BitConverter.Int32BitsToSingle(0x7780_0000));
        var special = Vector512.Equals(em & Vector512.Create(0x0F80_0000), Vector512.Create(0x0F80_0000));
        return Vector512.ConditionalSelect(special.AsSingle(), (em | Vector512.Create(0x7F80_0000)).AsSingle(), f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(Vector512<float> w, float* a, ref Vector512<double> lo, ref Vector512<double> hi)
    {
        var p = w * Vector512.Load(a);
        lo += Avx512F.ConvertToVector512Double(p.GetLower());
        hi += Avx512F.ConvertToVector512Double(p.GetUpper());
    }

    // ---------------------------------------------------------------- 32-element blocks, two per register

    /// <summary>
    /// The driver of the 32-element block types: two blocks per register, decoded once and met by every token of the
    /// tile; blocks 4k, 4k+1 go to one accumulator per token and 4k+2, 4k+3 to a second, so consecutive FMAs do not wait
    /// on each other. A last pair goes to the first accumulator, a last single block (low half only) to the second.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocks<TTok, TBlock, TState>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TBlock : struct, IBlock512<TState>
        where TState : struct
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0, k0 = 0, k1 = 0, k2 = 0, k3 = 0;
        byte* bx = w;
        byte* by = a;
        for (int quads = nb / 4; quads > 0; quads--)
        {
            Pair<TTok, TBlock, TState>(h16, bx, by, aStride, ref a0, ref a1, ref a2, ref a3, ref m0, ref m1, ref m2, ref m3);
            Pair<TTok, TBlock, TState>(h16, bx + 2 * TBlock.WeightBytes, by + 2 * TBlock.ActBytes, aStride, ref b0, ref b1, ref b2, ref b3, ref k0, ref k1, ref k2, ref k3);
            bx += 4 * TBlock.WeightBytes;
            by += 4 * TBlock.ActBytes;
        }

        if ((nb & 2) != 0)
        {
            Pair<TTok, TBlock, TState>(h16, bx, by, aStride, ref a0, ref a1, ref a2, ref a3, ref m0, ref m1, ref m2, ref m3);
            bx += 2 * TBlock.WeightBytes;
            by += 2 * TBlock.ActBytes;
        }

        if ((nb & 1) != 0)
        {
            var st = TBlock.DecodeOne(h16, bx);
            b0 = TBlock.StepOne(st, h16, by, b0, ref k0);
            if (TTok.Count > 1)
            {
                b1 = TBlock.StepOne(st, h16, by + aStride, b1, ref k1);
            }

            if (TTok.Count > 2)
            {
                b2 = TBlock.StepOne(st, h16, by + 2 * aStride, b2, ref k2);
            }

            if (TTok.Count > 3)
            {
                b3 = TBlock.StepOne(st, h16, by + 3 * aStride, b3, ref k3);
            }
        }

        if (TBlock.HasMin)
        {
            TileStore.Store<TTok>(y, yStride, Vector512.Sum(a0 + b0) + (m0 + k0), Vector512.Sum(a1 + b1) + (m1 + k1),
                Vector512.Sum(a2 + b2) + (m2 + k2), Vector512.Sum(a3 + b3) + (m3 + k3));
        }
        else
        {
            TileStore.Store<TTok>(y, yStride, Vector512.Sum(a0 + b0), Vector512.Sum(a1 + b1), Vector512.Sum(a2 + b2), Vector512.Sum(a3 + b3));
        }
    }

    /// <summary>
    /// The driver of Q4_1 and Q5_1: as <see cref="Blocks"/> (same accumulators, same products in the same
    /// order), but four blocks at a time have their fp16 scales and offsets gathered by one word permute of the weights and one of
    /// the activations, converted together and multiplied as vectors, then spread to one scale per 256-bit half. The
    /// offset terms m·s (Q4_1, Q5_1) are added as vectors of four, and so in another order than Blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Quads<TTok, TBlock>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TBlock : struct, IQuad512
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        var wIdx = QuadIndex<TBlock>.Weights;
        var aIdx = QuadIndex<TBlock>.Acts;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        Vector128<float> q0 = default, q1 = default, q2 = default, q3 = default;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0, k0 = 0, k1 = 0, k2 = 0, k3 = 0;
        byte* bx = w;
        byte* by = a;
        for (int quads = nb / 4; quads > 0; quads--)
        {
            var u01 = TBlock.UPair(bx);
            var u23 = TBlock.UPair(bx + 2 * TBlock.WeightBytes);
            var wv = Avx512BW.PermuteVar32x16x2(Vector512.Load(bx).AsInt16(), wIdx, Vector512.Load(bx + 4 * TBlock.WeightBytes - 64).AsInt16());
            Quad<TBlock>(wv, u01, u23, by, aIdx, ref a0, ref b0, ref q0);
            if (TTok.Count > 1)
            {
                Quad<TBlock>(wv, u01, u23, by + aStride, aIdx, ref a1, ref b1, ref q1);
            }

            if (TTok.Count > 2)
            {
                Quad<TBlock>(wv, u01, u23, by + 2 * aStride, aIdx, ref a2, ref b2, ref q2);
            }

            if (TTok.Count > 3)
            {
                Quad<TBlock>(wv, u01, u23, by + 3 * aStride, aIdx, ref a3, ref b3, ref q3);
            }

            bx += 4 * TBlock.WeightBytes;
            by += 4 * TBlock.ActBytes;
        }

        if ((nb & 2) != 0)
        {
            Pair<TTok, TBlock, Levels>(h16, bx, by, aStride, ref a0, ref a1, ref a2, ref a3, ref m0, ref m1, ref m2, ref m3);
            bx += 2 * TBlock.WeightBytes;
            by += 2 * TBlock.ActBytes;
        }

        if ((nb & 1) != 0)
        {
            var st = TBlock.DecodeOne(h16, bx);
            b0 = TBlock.StepOne(st, h16, by, b0, ref k0);
            if (TTok.Count > 1)
            {
                b1 = TBlock.StepOne(st, h16, by + aStride, b1, ref k1);
            }

            if (TTok.Count > 2)
            {
                b2 = TBlock.StepOne(st, h16, by + 2 * aStride, b2, ref k2);
            }

            if (TTok.Count > 3)
            {
                b3 = TBlock.StepOne(st, h16, by + 3 * aStride, b3, ref k3);
            }
        }

        if (TBlock.HasMin)
        {
            TileStore.Store<TTok>(y, yStride, Vector512.Sum(a0 + b0) + (Vector128.Sum(q0) + (m0 + k0)), Vector512.Sum(a1 + b1) + (Vector128.Sum(q1) + (m1 + k1)),
                Vector512.Sum(a2 + b2) + (Vector128.Sum(q2) + (m2 + k2)), Vector512.Sum(a3 + b3) + (Vector128.Sum(q3) + (m3 + k3)));
        }
        else
        {
            TileStore.Store<TTok>(y, yStride, Vector512.Sum(a0 + b0), Vector512.Sum(a1 + b1), Vector512.Sum(a2 + b2), Vector512.Sum(a3 + b3));
        }
    }

    /// <summary>
    /// Four blocks against one token: <paramref name="wv"/> holds the weight scales d in words 0-3 and offsets m in words
    /// 8-11; the activations' d and s are permuted into words 4-7 and 12-15 beside them, all sixteen converted at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad<TBlock>(Vector512<short> wv, Vector512<byte> u01, Vector512<byte> u23, byte* by, Vector512<short> aIdx,
        ref Vector512<float> acc01, ref Vector512<float> acc23, ref Vector128<float> ms)
        where TBlock : struct, IQuad512
    {
        var av = Avx512BW.PermuteVar32x16x2(Vector512.Load(by).AsInt16(), aIdx, Vector512.Load(by + 2 * TBlock.ActBytes).AsInt16());
        var h = Avx2.Blend(wv.GetLower().AsInt32(), av.GetLower().AsInt32(), 0b1100_1100).AsInt16();
        var f = HalfToSingle(Avx512F.ConvertToVector512Int32(h));
        var d = (f.GetLower().GetLower() * f.GetLower().GetUpper()).ToVector256Unsafe().ToVector512Unsafe();
        acc01 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(TBlock.SumPair(u01, by)),
            Avx512F.PermuteVar16x32(d, Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1)), acc01);
        acc23 = Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(TBlock.SumPair(u23, by + 2 * TBlock.ActBytes)),
            Avx512F.PermuteVar16x32(d, Vector512.Create(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3)), acc23);
        if (TBlock.HasMin)
        {
            ms += f.GetUpper().GetLower() * f.GetUpper().GetUpper();
        }
    }

    /// <summary>The word permutes of <see cref="Quads"/> for one block type (sources: 64 bytes at the first block and 64 ending at the fourth).</summary>
    private static class QuadIndex<TBlock>
        where TBlock : struct, IQuad512
    {
        /// <summary>Weights: d of blocks 0-3 to words 0-3, m to words 8-11; the second source starts 4·size − 64 bytes in.</summary>
        public static readonly Vector512<short> Weights = Build(k => Word(k * TBlock.WeightBytes, 4 * TBlock.WeightBytes - 64),
            k => Word(k * TBlock.WeightBytes + TBlock.MinOffset, 4 * TBlock.WeightBytes - 64), 0, 8);

        /// <summary>Activations: d of blocks 0-3 to words 4-7, s (Q8_1; d again for Q8_0, never quants that may convert to slow subnormals) to words 12-15; the second source starts at block 2.</summary>
        public static readonly Vector512<short> Acts = Build(k => Word(k * TBlock.ActBytes, 2 * TBlock.ActBytes),
            k => Word(k * TBlock.ActBytes + (TBlock.HasMin ? 2 : 0), 2 * TBlock.ActBytes), 4, 12);

        private static short Word(int offset, int second) => (short)(offset <= 62 ? offset / 2 : 32 + (offset - second) / 2);

        private static Vector512<short> Build(Func<int, short> d, Func<int, short> m, int dAt, int mAt)
        {
            var words = new short[32];
            for (int k = 0; k < 4; k++)
            {
                words[dAt + k] = d(k);
                words[mAt + k] = m(k);
            }

            return Vector512.Create(words);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair<TTok, TBlock, TState>(float* h16, byte* bx, byte* by, nint aStride,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3,
        ref float m0, ref float m1, ref float m2, ref float m3)
        where TTok : struct, ITokenTile
        where TBlock : struct, IBlock512<TState>
        where TState : struct
    {
        var st = TBlock.DecodePair(h16, bx);
        a0 = TBlock.StepPair(st, h16, by, a0, ref m0);
        if (TTok.Count > 1)
        {
            a1 = TBlock.StepPair(st, h16, by + aStride, a1, ref m1);
        }

        if (TTok.Count > 2)
        {
            a2 = TBlock.StepPair(st, h16, by + 2 * aStride, a2, ref m2);
        }

        if (TTok.Count > 3)
        {
            a3 = TBlock.StepPair(st, h16, by + 3 * aStride, a3, ref m3);
        }
    }

    /// <summary>Two decoded blocks: 64 unsigned levels, their scales and (for the _1 types) offsets.</summary>
    internal readonly struct Levels(Vector512<byte> u, float da, float db, float ma, float mb)
    {
        public readonly Vector512<byte> U = u;
        public readonly float DA = da;
        public readonly float DB = db;
        public readonly float MA = ma;
        public readonly float MB = mb;
    }

    /// <summary>Two decoded Q8 blocks: |x|, the mask of negative x, the scales.</summary>
    private readonly struct SignedLevels(Vector512<byte> abs, Vector512<sbyte> negative, float da, float db)
    {
        public readonly Vector512<byte> Abs = abs;
        public readonly Vector512<sbyte> Negative = negative;
        public readonly float DA = da;
        public readonly float DB = db;
    }

    /// <summary>
    /// The nibbles of two blocks' 16 packed bytes (at <paramref name="pa"/> and <paramref name="pb"/>) as 128 bytes of
    /// levels: [A low nibbles | A high nibbles | B low | B high], the element order of the activation blocks.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> NibblesPair(byte* pa, byte* pb)
    {
        var ab = Vector256.Create(Vector128.Load(pa), Vector128.Load(pb)).ToVector512Unsafe().AsUInt32();
        var aabb = Avx512F.Shuffle4x128(ab, ab, 0b01_01_00_00).AsUInt16();
        var shifted = Avx512BW.ShiftRightLogicalVariable(aabb, Vector512.Create(0UL, 0UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL,
            0UL, 0UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL).AsUInt16());
        return shifted.AsByte() & Vector512.Create((byte)0x0F);
    }

    /// <summary>One block's nibbles in the low half: [low nibbles | high nibbles | 0 | 0].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> NibblesOne(byte* p)
    {
        var raw = Vector128.Load(p);
        var lohi = Vector256.Create(raw, Sse2.ShiftRightLogical(raw.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
        return lohi.ToVector512();
    }

    /// <summary>The fifth bits of two blocks (32 bits each) spread to bytes in <see cref="NibblesPair"/> order: 0x10 or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> FifthBitsPair(uint qa, uint qb)
    {
        var v = Avx512F.InsertVector256(Vector512.Create(qa), Vector256.Create(qb), 1).AsByte();
        var spread = Avx512BW.Shuffle(v, Vector512.Create(0UL, 0x0101_0101_0101_0101UL, 0x0202_0202_0202_0202UL, 0x0303_0303_0303_0303UL,
            0UL, 0x0101_0101_0101_0101UL, 0x0202_0202_0202_0202UL, 0x0303_0303_0303_0303UL).AsByte());
        var bits = Vector512.Create(0x8040_2010_0804_0201UL).AsByte();
        return Vector512.Equals(spread & bits, bits) & Vector512.Create((byte)0x10);
    }

    /// <summary>One block's fifth bits in the low half (the high half, from an all-zero word, is zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> FifthBitsOne(uint q) => FifthBitsPair(q, 0);

    /// <summary>The activation quants of two consecutive blocks (32 bytes at <paramref name="qa"/>, 32 at qa + stride).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> ActPair(byte* qa, int stride) =>
        Avx512F.InsertVector256(Vector256.Load((sbyte*)qa).ToVector512Unsafe(), Vector256.Load((sbyte*)(qa + stride)), 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> ActOne(byte* q) => Vector256.Load((sbyte*)q).ToVector512();

    /// <summary>Σ u·s per group of four bytes: vpmaddubsw, then vpmaddwd by ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot(Vector512<byte> u, Vector512<sbyte> s) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, s), Vector512.Create((short)1));

    /// <summary>Σ (u − off)·s per group of four bytes (exact: each 16-bit difference of pair sums fits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> DotOffset(Vector512<byte> u, byte off, Vector512<sbyte> s) =>
        Avx512BW.MultiplyAddAdjacent(
            Avx512BW.MultiplyAddAdjacent(u, s) - Avx512BW.MultiplyAddAdjacent(Vector512.Create(off), s), Vector512.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scale(Vector512<int> sumi, float da, float db, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Avx512F.InsertVector256(Vector512.Create(da), Vector256.Create(db), 1), acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ScaleOne(Vector512<int> sumi, float da, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(sumi), Vector256.Create(da).ToVector512(), acc);

    /// <summary>Q4_0 (18 bytes: d, 16 nibble bytes; levels stored +8) against Q8_0 (34 bytes: d, 32 qs).</summary>
    private readonly struct Q4_0Block : IBlock512<Levels>
    {
        public static int WeightBytes => 18;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodePair(float* h16, byte* bx) =>
            new(NibblesPair(bx + 2, bx + 20), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 18), 0, 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodeOne(float* h16, byte* bx) => new(NibblesOne(bx + 2), Fp16Table.Load(h16, bx), 0, 0, 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Scale(DotOffset(w.U, 8, ActPair(by + 2, 34)), w.DA * Fp16Table.Load(h16, by), w.DB * Fp16Table.Load(h16, by + 34), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(DotOffset(w.U, 8, ActOne(by + 2)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>Q5_0 (22 bytes: d, 32 fifth bits, 16 nibble bytes; levels stored +16) against Q8_0.</summary>
    private readonly struct Q5_0Block : IBlock512<Levels>
    {
        public static int WeightBytes => 22;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodePair(float* h16, byte* bx) =>
            new(NibblesPair(bx + 6, bx + 28) | FifthBitsPair(Unsafe.ReadUnaligned<uint>(bx + 2), Unsafe.ReadUnaligned<uint>(bx + 24)),
                Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 22), 0, 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodeOne(float* h16, byte* bx) =>
            new(NibblesOne(bx + 6) | FifthBitsOne(Unsafe.ReadUnaligned<uint>(bx + 2)), Fp16Table.Load(h16, bx), 0, 0, 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Scale(DotOffset(w.U, 16, ActPair(by + 2, 34)), w.DA * Fp16Table.Load(h16, by), w.DB * Fp16Table.Load(h16, by + 34), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(DotOffset(w.U, 16, ActOne(by + 2)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>
    /// Q4_0 in tiles of three or four tokens: as <see cref="Q4_0Block"/>, but the weight scales are kept as the vector
    /// [d_a ×8 | d_b ×8], which each token multiplies by its own [d'_a ×8 | d'_b ×8] (two broadcast loads and a blend, no
    /// lane-crossing shuffle). Every lane holds the same product d·d' as the scalar one, so a token's result does not depend
    /// on its tile; with one or two tokens the scalar products of Q4_0Block measure as fast or faster.
    /// </summary>
    private readonly struct Q4_0TileBlock : IBlock512<HalfLevels>
    {
        public static int WeightBytes => 18;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static HalfLevels DecodePair(float* h16, byte* bx) => new(NibblesPair(bx + 2, bx + 20), HalvesOf(h16, bx, bx + 18), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static HalfLevels DecodeOne(float* h16, byte* bx) => new(NibblesOne(bx + 2), default, Fp16Table.Load(h16, bx));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in HalfLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(DotOffset(w.U, 8, ActPair(by + 2, 34))), w.D * HalvesOf(h16, by, by + 34), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in HalfLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(DotOffset(w.U, 8, ActOne(by + 2)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>Q5_0 in tiles of three or four tokens, as <see cref="Q4_0TileBlock"/>.</summary>
    private readonly struct Q5_0TileBlock : IBlock512<HalfLevels>
    {
        public static int WeightBytes => 22;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static HalfLevels DecodePair(float* h16, byte* bx) =>
            new(NibblesPair(bx + 6, bx + 28) | FifthBitsPair(Unsafe.ReadUnaligned<uint>(bx + 2), Unsafe.ReadUnaligned<uint>(bx + 24)),
                HalvesOf(h16, bx, bx + 22), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static HalfLevels DecodeOne(float* h16, byte* bx) =>
            new(NibblesOne(bx + 6) | FifthBitsOne(Unsafe.ReadUnaligned<uint>(bx + 2)), default, Fp16Table.Load(h16, bx));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in HalfLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(DotOffset(w.U, 16, ActPair(by + 2, 34))), w.D * HalvesOf(h16, by, by + 34), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in HalfLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(DotOffset(w.U, 16, ActOne(by + 2)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>Two decoded Q4_0/Q5_0 blocks for a tile: 64 levels, the scales as [d_a ×8 | d_b ×8], or one block and its d.</summary>
    private readonly struct HalfLevels(Vector512<byte> u, Vector512<float> d, float da)
    {
        public readonly Vector512<byte> U = u;
        public readonly Vector512<float> D = d;
        public readonly float DA = da;
    }

    /// <summary>[h(pa) ×8 | h(pb) ×8]: two broadcast loads from the fp16 table and a bitwise blend of the halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> HalvesOf(float* h16, byte* pa, byte* pb) =>
        Vector512.ConditionalSelect(Vector512.Create(0UL, 0UL, 0UL, 0UL, ~0UL, ~0UL, ~0UL, ~0UL).AsSingle(),
            Vector512.Create(Fp16Table.Load(h16, pb)), Vector512.Create(Fp16Table.Load(h16, pa)));

    /// <summary>Q4_1 (20 bytes: d, m, 16 nibble bytes) against Q8_1 (36 bytes: d, s, 32 qs): d·d'·Σq·q' + m·s.</summary>
    private readonly struct Q4_1Block : IQuad512
    {
        public static int MinOffset => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> UPair(byte* bx) => NibblesPair(bx + 4, bx + 24);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> SumPair(Vector512<byte> u, byte* by) => Dot(u, ActPair(by + 4, 36));

        public static int WeightBytes => 20;
        public static int ActBytes => 36;
        public static bool HasMin => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodePair(float* h16, byte* bx) =>
            new(NibblesPair(bx + 4, bx + 24), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 20), Fp16Table.Load(h16, bx + 2), Fp16Table.Load(h16, bx + 22));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodeOne(float* h16, byte* bx) => new(NibblesOne(bx + 4), Fp16Table.Load(h16, bx), 0, Fp16Table.Load(h16, bx + 2), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) => StepPairQ8_1(w, h16, by, acc, ref ms);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) => StepOneQ8_1(w, h16, by, acc, ref ms);
    }

    /// <summary>Q5_1 (24 bytes: d, m, 32 fifth bits, 16 nibble bytes) against Q8_1.</summary>
    private readonly struct Q5_1Block : IQuad512
    {
        public static int MinOffset => 2;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<byte> UPair(byte* bx) => NibblesPair(bx + 8, bx + 32) | FifthBitsPair(Unsafe.ReadUnaligned<uint>(bx + 4), Unsafe.ReadUnaligned<uint>(bx + 28));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> SumPair(Vector512<byte> u, byte* by) => Dot(u, ActPair(by + 4, 36));

        public static int WeightBytes => 24;
        public static int ActBytes => 36;
        public static bool HasMin => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodePair(float* h16, byte* bx) =>
            new(NibblesPair(bx + 8, bx + 32) | FifthBitsPair(Unsafe.ReadUnaligned<uint>(bx + 4), Unsafe.ReadUnaligned<uint>(bx + 28)),
                Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 24), Fp16Table.Load(h16, bx + 2), Fp16Table.Load(h16, bx + 26));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels DecodeOne(float* h16, byte* bx) =>
            new(NibblesOne(bx + 8) | FifthBitsOne(Unsafe.ReadUnaligned<uint>(bx + 4)), Fp16Table.Load(h16, bx), 0, Fp16Table.Load(h16, bx + 2), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) => StepPairQ8_1(w, h16, by, acc, ref ms);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms) => StepOneQ8_1(w, h16, by, acc, ref ms);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> StepPairQ8_1(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms)
    {
        ms += w.MA * Fp16Table.Load(h16, by + 2) + w.MB * Fp16Table.Load(h16, by + 38);
        return Scale(Dot(w.U, ActPair(by + 4, 36)), w.DA * Fp16Table.Load(h16, by), w.DB * Fp16Table.Load(h16, by + 36), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> StepOneQ8_1(in Levels w, float* h16, byte* by, Vector512<float> acc, ref float ms)
    {
        ms += w.MA * Fp16Table.Load(h16, by + 2);
        return ScaleOne(Dot(w.U, ActOne(by + 4)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>Q8_0 · Q8_0 (34-byte blocks): |x| against y with x's sign, (y ^ m) − m where m is all ones for x &lt; 0.</summary>
    private readonly struct Q8_0Block : IBlock512<SignedLevels>
    {
        public static int WeightBytes => 34;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels DecodePair(float* h16, byte* bx)
        {
            var x = ActPair(bx + 2, 34);
            return new(Avx512BW.Abs(x), Vector512.LessThan(x, Vector512<sbyte>.Zero), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 34));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels DecodeOne(float* h16, byte* bx)
        {
            var x = ActOne(bx + 2);
            return new(Avx512BW.Abs(x), Vector512.LessThan(x, Vector512<sbyte>.Zero), Fp16Table.Load(h16, bx), 0);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in SignedLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Scale(Dot(w.Abs, Signed(ActPair(by + 2, 34), w.Negative)), w.DA * Fp16Table.Load(h16, by), w.DB * Fp16Table.Load(h16, by + 34), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in SignedLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(Dot(w.Abs, Signed(ActOne(by + 2), w.Negative)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary>Q8_1 · Q8_1 (36-byte blocks, qs at +4).</summary>
    private readonly struct Q8_1Block : IBlock512<SignedLevels>
    {
        public static int WeightBytes => 36;
        public static int ActBytes => 36;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels DecodePair(float* h16, byte* bx)
        {
            var x = ActPair(bx + 4, 36);
            return new(Avx512BW.Abs(x), Vector512.LessThan(x, Vector512<sbyte>.Zero), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 36));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels DecodeOne(float* h16, byte* bx)
        {
            var x = ActOne(bx + 4);
            return new(Avx512BW.Abs(x), Vector512.LessThan(x, Vector512<sbyte>.Zero), Fp16Table.Load(h16, bx), 0);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepPair(in SignedLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            Scale(Dot(w.Abs, Signed(ActPair(by + 4, 36), w.Negative)), w.DA * Fp16Table.Load(h16, by), w.DB * Fp16Table.Load(h16, by + 36), acc);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> StepOne(in SignedLevels w, float* h16, byte* by, Vector512<float> acc, ref float ms) =>
            ScaleOne(Dot(w.Abs, Signed(ActOne(by + 4), w.Negative)), w.DA * Fp16Table.Load(h16, by), acc);
    }

    /// <summary><paramref name="y"/> negated where <paramref name="negative"/> is all ones (AVX-512 has no vpsignb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<sbyte> Signed(Vector512<sbyte> y, Vector512<sbyte> negative) => (y ^ negative) - negative;

    // ---------------------------------------------------------------- K-quants
    // Q8_K activation block: float d at +0, 256 qs at +4, 16 short bsums at +260; 292 bytes.

    /// <summary>Σ over 64 elements of u·s, each 16-bit pair sum multiplied by its lane's scale (vpmaddubsw, vpmaddwd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Scaled(Vector512<byte> u, byte* y, Vector512<short> scales) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, Vector512.Load((sbyte*)y)), scales);

    /// <summary>Σ over 64 elements of (u − minus)·y scaled per pair lane (Q3_K's split levels, Q6_K's −32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> ScaledMinus(Vector512<byte> u, Vector512<byte> minus, byte* y, Vector512<short> scales)
    {
        var yv = Vector512.Load((sbyte*)y);
        return Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(u, yv) - Avx512BW.MultiplyAddAdjacent(minus, yv), scales);
    }

    /// <summary>A 256-bit value in both halves of a 512-bit register.</summary>
    /// <remarks>
    /// Not <c>Avx512F.BroadcastVector256ToVector512((long*)p)</c>: the .NET 10 JIT folds that load into
    /// <c>vbroadcasti64x4 zmm, m256</c> but sizes the memory operand as 16 bytes when compressing the EVEX displacement
    /// (disp8·N), so <c>[p + 0x10]</c> is encoded as disp8 = 1 and the CPU, scaling by 32, reads <c>p + 0x20</c>. Only
    /// optimised code folds the address (Debug and minopts keep it in a register), which is why Release alone was wrong.
    /// A plain 256-bit load inserted into its own upper half compiles to <c>vmovups</c> + <c>vinserti32x8</c>.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Twice(byte* p)
    {
        var v = Vector256.Load(p);
        return Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1);
    }

    /// <summary>Per-16-bit-lane shift counts: <paramref name="low"/> in the low 256 bits, <c>low + delta</c> in the high.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ushort> Counts(int low, Vector512<ushort> delta) => Vector512.Create((ushort)low) + delta;

    /// <summary>0 in the 16-bit lanes of the low 256 bits, <c>k</c> in the high (wrapping, so −2 is 0xFFFE).</summary>
    private static Vector512<ushort> HighPlus1
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0UL, 0UL, 0UL, 0UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL).AsUInt16();
    }

    private static Vector512<ushort> HighPlus2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0UL, 0UL, 0UL, 0UL, 0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL).AsUInt16();
    }

    private static Vector512<ushort> HighPlus4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0UL, 0UL, 0UL, 0UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL).AsUInt16();
    }

    private static Vector512<ushort> HighMinus2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create(0UL, 0UL, 0UL, 0UL, 0xFFFE_FFFE_FFFE_FFFEUL, 0xFFFE_FFFE_FFFE_FFFEUL, 0xFFFE_FFFE_FFFE_FFFEUL, 0xFFFE_FFFE_FFFE_FFFEUL).AsUInt16();
    }

    /// <summary>
    /// Scales for 64 elements in sixteen-element sub-blocks: 128-bit lane k gets scale <c>first + k</c> of
    /// <paramref name="table"/> (the sub-block's sixteen elements are eight 16-bit pair lanes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Scales16(Vector512<short> table, int first) =>
        Avx512BW.PermuteVar32x16(table, Vector512.Create((short)first) +
            Vector512.Create(0UL, 0UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL,
                0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0003_0003_0003_0003UL, 0x0003_0003_0003_0003UL).AsInt16());

    /// <summary>Scales for 64 elements in two 32-element sub-blocks: the low 256 bits get scale 2j, the high 2j+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Scales32(Vector512<short> table, int j) =>
        Avx512BW.PermuteVar32x16(table, Vector512.Create((short)(2 * j)) +
            Vector512.Create(0UL, 0UL, 0UL, 0UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL).AsInt16());

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m3 = Vector512.Create((byte)3);
        var m4 = Vector128.Create((byte)0x0F);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 84;
            byte* by = a + i * 292;
            var sc = Vector128.Load(bx);
            var mins = Avx2.ConvertToVector256Int16(Sse2.ShiftRightLogical(sc.AsUInt16(), 4).AsByte() & m4);
            var table = Avx2.ConvertToVector256Int16(sc & m4).ToVector512();
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q = Twice(bx + 16 + 32 * h).AsUInt16();
                for (int p = 0; p < 2; p++)
                {
                    // Elements 128h + 64p .. +63: shifts 4p (first 32) and 4p+2 (next 32); sub-blocks 8h + 4p + k.
                    var v = Avx512BW.ShiftRightLogicalVariable(q, HighPlus2).AsByte() & m3;
                    q = Avx512BW.ShiftRightLogical(q, 4);
                    var sp = Scales16(table, 8 * h + 4 * p);
                    int e = 4 + 128 * h + 64 * p;
                    i0 += Scaled(v, by + e, sp);
                    if (TTok.Count > 1)
                    {
                        i1 += Scaled(v, by + aStride + e, sp);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 += Scaled(v, by + 2 * aStride + e, sp);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 += Scaled(v, by + 3 * aStride + e, sp);
                    }
                }
            }

            float xd = Fp16Table.Load(h16, bx + 80);
            float xdmin = Fp16Table.Load(h16, bx + 82);
            s0 = Q2_KSum(s0, by, xd, xdmin, i0, mins);
            if (TTok.Count > 1)
            {
                s1 = Q2_KSum(s1, by + aStride, xd, xdmin, i1, mins);
            }

            if (TTok.Count > 2)
            {
                s2 = Q2_KSum(s2, by + 2 * aStride, xd, xdmin, i2, mins);
            }

            if (TTok.Count > 3)
            {
                s3 = Q2_KSum(s3, by + 3 * aStride, xd, xdmin, i3, mins);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>ScalarDot.Q2_KQ8_K's float expression; summs = Σ_j bsums[j]·mins[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q2_KSum(float sumf, byte* by, float xd, float xdmin, Vector512<int> isum, Vector256<short> mins)
    {
        int summs = Vector256.Sum(Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(by + 260)), mins));
        int isumi = Vector512.Sum(isum);
        float yd = *(float*)by;
        float dall = yd * xd;
        float dmin = yd * xdmin;
        return sumf + (dall * isumi - dmin * summs);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q3_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m3 = Vector512.Create((byte)3);
        var one = Vector512.Create((byte)1);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 110;
            byte* by = a + i * 292;
            var table = Avx2.ConvertToVector256Int16(KScales.Q3K(bx + 96)).ToVector512();
            var notHigh = ~Twice(bx).AsUInt16();
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q = Twice(bx + 32 + 32 * h).AsUInt16();
                for (int p = 0; p < 2; p++)
                {
                    // Elements 128h + 64p + 32r + l (r < 2) take low bits at shift 4p + 2r and the high-mask bit 4h + 2p + r;
                    // level = low − 4·(high bit clear), as two vpmaddubsw subtracted in 16 bits. Running shifts: only the
                    // low bits of each byte are used, which the neighbouring byte never reaches.
                    var low = Avx512BW.ShiftRightLogicalVariable(q, HighPlus2).AsByte() & m3;
                    q = Avx512BW.ShiftRightLogical(q, 4);
                    var minus = Avx512BW.ShiftLeftLogical(
                        (Avx512BW.ShiftRightLogicalVariable(notHigh, HighPlus1).AsByte() & one).AsUInt16(), 2).AsByte();
                    notHigh = Avx512BW.ShiftRightLogical(notHigh, 2);
                    var sp = Scales16(table, 8 * h + 4 * p);
                    int e = 4 + 128 * h + 64 * p;
                    i0 += ScaledMinus(low, minus, by + e, sp);
                    if (TTok.Count > 1)
                    {
                        i1 += ScaledMinus(low, minus, by + aStride + e, sp);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 += ScaledMinus(low, minus, by + 2 * aStride + e, sp);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 += ScaledMinus(low, minus, by + 3 * aStride + e, sp);
                    }
                }
            }

            float xd = Fp16Table.Load(h16, bx + 108);
            s0 = ScaledSum(s0, by, xd, i0);
            if (TTok.Count > 1)
            {
                s1 = ScaledSum(s1, by + aStride, xd, i1);
            }

            if (TTok.Count > 2)
            {
                s2 = ScaledSum(s2, by + 2 * aStride, xd, i2);
            }

            if (TTok.Count > 3)
            {
                s3 = ScaledSum(s3, by + 3 * aStride, xd, i3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        if (TTok.Count == 1)
        {
            TileStore.Store<TTok>(y, yStride, Q4_KOne(w, a, n / 256), 0, 0, 0);
            return;
        }

        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector512.Create((byte)0x0F);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 144;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            var table = Sse41.ConvertToVector128Int16(sm).ToVector256().ToVector512();
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                // 32 bytes of nibbles: low nibbles are sub-block 2j, high nibbles 2j+1, contiguous in the activations.
                var u = Avx512BW.ShiftRightLogicalVariable(Twice(bx + 16 + 32 * j).AsUInt16(), HighPlus4).AsByte() & m4;
                var sp = Scales32(table, j);
                int e = 4 + 64 * j;
                i0 += Scaled(u, by + e, sp);
                if (TTok.Count > 1)
                {
                    i1 += Scaled(u, by + aStride + e, sp);
                }

                if (TTok.Count > 2)
                {
                    i2 += Scaled(u, by + 2 * aStride + e, sp);
                }

                if (TTok.Count > 3)
                {
                    i3 += Scaled(u, by + 3 * aStride + e, sp);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(sm, sm));
            s0 = Q4_KSum(s0, by, xd, xdmin, i0, mins);
            if (TTok.Count > 1)
            {
                s1 = Q4_KSum(s1, by + aStride, xd, xdmin, i1, mins);
            }

            if (TTok.Count > 2)
            {
                s2 = Q4_KSum(s2, by + 2 * aStride, xd, xdmin, i2, mins);
            }

            if (TTok.Count > 3)
            {
                s3 = Q4_KSum(s3, by + 3 * aStride, xd, xdmin, i3, mins);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector512.Create((byte)0x0F);
        var one = Vector512.Create((byte)1);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 176;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            var table = Sse41.ConvertToVector128Int16(sm).ToVector256().ToVector512();
            var qh = Twice(bx + 16).AsUInt16();
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                // Fifth bits: bit 2j of qh[l] for sub-block 2j (low half), bit 2j+1 for 2j+1 (high half), moved to bit 4.
                var high = Avx512BW.ShiftLeftLogical(
                    (Avx512BW.ShiftRightLogicalVariable(qh, HighPlus1).AsByte() & one).AsUInt16(), 4).AsByte();
                qh = Avx512BW.ShiftRightLogical(qh, 2);
                var u = (Avx512BW.ShiftRightLogicalVariable(Twice(bx + 48 + 32 * j).AsUInt16(), HighPlus4).AsByte() & m4) | high;
                var sp = Scales32(table, j);
                int e = 4 + 64 * j;
                i0 += Scaled(u, by + e, sp);
                if (TTok.Count > 1)
                {
                    i1 += Scaled(u, by + aStride + e, sp);
                }

                if (TTok.Count > 2)
                {
                    i2 += Scaled(u, by + 2 * aStride + e, sp);
                }

                if (TTok.Count > 3)
                {
                    i3 += Scaled(u, by + 3 * aStride + e, sp);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(sm, sm));
            s0 = Q4_KSum(s0, by, xd, xdmin, i0, mins);
            if (TTok.Count > 1)
            {
                s1 = Q4_KSum(s1, by + aStride, xd, xdmin, i1, mins);
            }

            if (TTok.Count > 2)
            {
                s2 = Q4_KSum(s2, by + 2 * aStride, xd, xdmin, i2, mins);
            }

            if (TTok.Count > 3)
            {
                s3 = Q4_KSum(s3, by + 3 * aStride, xd, xdmin, i3, mins);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>
    /// One row against one token (decode): four super-blocks at a time reduce their exact integer sums together (one
    /// horizontal-add tree for eight sums instead of eight separate reductions); the float expression per block and the
    /// order of the additions into sumf are those of ScalarDot.Q4_KQ8_K, so the result stays bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Q4_KOne(byte* w, byte* a, int nb)
    {
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector512.Create((byte)0x0F);
        float* f = stackalloc float[8];
        float sumf = 0;
        int i = 0;
        for (; i + 4 <= nb; i += 4)
        {
            byte* bx = w + i * 144;
            byte* by = a + i * 292;
            var r0 = Q4_KInts(bx, by, m4, out var n0);
            var r1 = Q4_KInts(bx + 144, by + 292, m4, out var n1);
            var r2 = Q4_KInts(bx + 288, by + 584, m4, out var n2);
            var r3 = Q4_KInts(bx + 432, by + 876, m4, out var n3);
            Vector256.Store(Avx.ConvertToVector256Single(Vector256.Create(Sum4(r0, r1, r2, r3), Sum4(n0, n1, n2, n3))), f);
            for (int b = 0; b < 4; b++)
            {
                float yd = *(float*)(by + 292 * b);
                float d = Fp16Table.Load(h16, bx + 144 * b) * yd;
                float dmin = Fp16Table.Load(h16, bx + 144 * b + 2) * yd;
                sumf += d * f[b] - dmin * f[4 + b];
            }
        }

        for (; i < nb; i++)
        {
            byte* bx = w + i * 144;
            byte* by = a + i * 292;
            var r = Q4_KInts(bx, by, m4, out var mm);
            int isumi = Vector256.Sum(r);
            int summs = Vector256.Sum(mm);
            float yd = *(float*)by;
            float d = Fp16Table.Load(h16, bx) * yd;
            float dmin = Fp16Table.Load(h16, bx + 2) * yd;
            sumf += d * isumi - dmin * summs;
        }

        return sumf;
    }

    /// <summary>
    /// One Q4_K super-block against one Q8_K block: the scaled level products folded to eight int lanes, and
    /// m_j·(bsums[2j] + bsums[2j+1]) in eight lanes (<paramref name="mins"/>); each sums exactly to the reference's ints.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4_KInts(byte* bx, byte* by, Vector512<byte> m4, out Vector256<int> mins)
    {
        var sm = KScales.ScaleMinK4(bx + 4);
        var table = Sse41.ConvertToVector128Int16(sm).ToVector256().ToVector512();
        var u0 = Avx512BW.ShiftRightLogicalVariable(Twice(bx + 16).AsUInt16(), HighPlus4).AsByte() & m4;
        var u1 = Avx512BW.ShiftRightLogicalVariable(Twice(bx + 48).AsUInt16(), HighPlus4).AsByte() & m4;
        var u2 = Avx512BW.ShiftRightLogicalVariable(Twice(bx + 80).AsUInt16(), HighPlus4).AsByte() & m4;
        var u3 = Avx512BW.ShiftRightLogicalVariable(Twice(bx + 112).AsUInt16(), HighPlus4).AsByte() & m4;
        var k01 = Vector512.Create(0UL, 0UL, 0UL, 0UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL, 0x0001_0001_0001_0001UL).AsInt16();
        var k23 = Vector512.Create(0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0002_0002_0002_0002UL, 0x0003_0003_0003_0003UL, 0x0003_0003_0003_0003UL, 0x0003_0003_0003_0003UL, 0x0003_0003_0003_0003UL).AsInt16();
        var k45 = Vector512.Create(0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL, 0x0004_0004_0004_0004UL, 0x0005_0005_0005_0005UL, 0x0005_0005_0005_0005UL, 0x0005_0005_0005_0005UL, 0x0005_0005_0005_0005UL).AsInt16();
        var k67 = Vector512.Create(0x0006_0006_0006_0006UL, 0x0006_0006_0006_0006UL, 0x0006_0006_0006_0006UL, 0x0006_0006_0006_0006UL, 0x0007_0007_0007_0007UL, 0x0007_0007_0007_0007UL, 0x0007_0007_0007_0007UL, 0x0007_0007_0007_0007UL).AsInt16();
        var acc = (Scaled(u0, by + 4, Avx512BW.PermuteVar32x16(table, k01)) + Scaled(u1, by + 68, Avx512BW.PermuteVar32x16(table, k23)))
            + (Scaled(u2, by + 132, Avx512BW.PermuteVar32x16(table, k45)) + Scaled(u3, by + 196, Avx512BW.PermuteVar32x16(table, k67)));
        mins = Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(by + 260)), Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(sm, sm)));
        return acc.GetLower() + acc.GetUpper();
    }

    /// <summary>The four horizontal sums of eight-lane int vectors, in order: one vphaddd tree and one fold of the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sum4(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3)
    {
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(r0, r1), Avx2.HorizontalAdd(r2, r3));
        return h.GetLower() + h.GetUpper();
    }

    /// <summary>ScalarDot.Q4_KQ8_K's float expression; summs = Σ_j m_j·(bsums[2j] + bsums[2j+1]) by one vpmaddwd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_KSum(float sumf, byte* by, float xd, float xdmin, Vector512<int> isum, Vector256<short> pairedMins)
    {
        int summs = Vector256.Sum(Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(by + 260)), pairedMins));
        int isumi = Vector512.Sum(isum);
        float yd = *(float*)by;
        float d = xd * yd;
        float dmin = xdmin * yd;
        return sumf + (d * isumi - dmin * summs);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        if (TTok.Count == 1)
        {
            TileStore.Store<TTok>(y, yStride, Q6_KOne(w, a, n / 256), 0, 0, 0);
            return;
        }

        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector512.Create((byte)0x0F);
        var m30 = Vector512.Create((byte)0x30);
        var k32 = Vector512.Create((byte)32);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 210;
            byte* by = a + i * 292;
            var table = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(bx + 192))).ToVector512();
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                // ql[64h .. 64h+63] in one register: its low nibbles are elements 128h + 0..63, its high nibbles 64..127.
                var ql = Vector512.Load(bx + 64 * h);
                var qh = Twice(bx + 128 + 32 * h).AsUInt16();
                var v01 = (ql & m4) | (Avx512BW.ShiftLeftLogicalVariable(qh, Counts(4, HighMinus2)).AsByte() & m30);
                var v23 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & m4) | (Avx512BW.ShiftRightLogicalVariable(qh, HighPlus2).AsByte() & m30);
                var c01 = Scales16(table, 8 * h);
                var c23 = Scales16(table, 8 * h + 4);
                int e = 4 + 128 * h;
                i0 += ScaledMinus(v01, k32, by + e, c01) + ScaledMinus(v23, k32, by + e + 64, c23);
                if (TTok.Count > 1)
                {
                    i1 += ScaledMinus(v01, k32, by + aStride + e, c01) + ScaledMinus(v23, k32, by + aStride + e + 64, c23);
                }

                if (TTok.Count > 2)
                {
                    i2 += ScaledMinus(v01, k32, by + 2 * aStride + e, c01) + ScaledMinus(v23, k32, by + 2 * aStride + e + 64, c23);
                }

                if (TTok.Count > 3)
                {
                    i3 += ScaledMinus(v01, k32, by + 3 * aStride + e, c01) + ScaledMinus(v23, k32, by + 3 * aStride + e + 64, c23);
                }
            }

            float xd = Fp16Table.Load(h16, bx + 208);
            s0 = ScaledSum(s0, by, xd, i0);
            if (TTok.Count > 1)
            {
                s1 = ScaledSum(s1, by + aStride, xd, i1);
            }

            if (TTok.Count > 2)
            {
                s2 = ScaledSum(s2, by + 2 * aStride, xd, i2);
            }

            if (TTok.Count > 3)
            {
                s3 = ScaledSum(s3, by + 3 * aStride, xd, i3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>
    /// One row against one token (decode): as <see cref="Q4_KOne"/>, four super-blocks reduce their exact integer sums
    /// together and then add <c>(dx·dy)·isum</c> into sumf in the reference's order (bit-identical).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Q6_KOne(byte* w, byte* a, int nb)
    {
        float* h16 = Fp16Table.Pointer;
        float* f = stackalloc float[4];
        float sumf = 0;
        int i = 0;
        for (; i + 4 <= nb; i += 4)
        {
            byte* bx = w + i * 210;
            byte* by = a + i * 292;
            var r0 = Q6_KInts(bx, by);
            var r1 = Q6_KInts(bx + 210, by + 292);
            var r2 = Q6_KInts(bx + 420, by + 584);
            var r3 = Q6_KInts(bx + 630, by + 876);
            Vector128.Store(Sse2.ConvertToVector128Single(Sum4(r0, r1, r2, r3)), f);
            for (int b = 0; b < 4; b++)
            {
                float d = Fp16Table.Load(h16, bx + 210 * b + 208) * *(float*)(by + 292 * b);
                sumf += d * f[b];
            }
        }

        for (; i < nb; i++)
        {
            byte* bx = w + i * 210;
            byte* by = a + i * 292;
            int isum = Vector256.Sum(Q6_KInts(bx, by));
            float d = Fp16Table.Load(h16, bx + 208) * *(float*)by;
            sumf += d * isum;
        }

        return sumf;
    }

    /// <summary>One Q6_K super-block against one Q8_K block: the scaled, −32-offset products folded to eight int lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6_KInts(byte* bx, byte* by)
    {
        var m4 = Vector512.Create((byte)0x0F);
        var m30 = Vector512.Create((byte)0x30);
        var k32 = Vector512.Create((byte)32);
        var table = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(bx + 192))).ToVector512();
        Vector512<int> acc = default;
        for (int h = 0; h < 2; h++)
        {
            var ql = Vector512.Load(bx + 64 * h);
            var qh = Twice(bx + 128 + 32 * h).AsUInt16();
            var v01 = (ql & m4) | (Avx512BW.ShiftLeftLogicalVariable(qh, Counts(4, HighMinus2)).AsByte() & m30);
            var v23 = (Avx512BW.ShiftRightLogical(ql.AsUInt16(), 4).AsByte() & m4) | (Avx512BW.ShiftRightLogicalVariable(qh, HighPlus2).AsByte() & m30);
            int e = 4 + 128 * h;
            acc += ScaledMinus(v01, k32, by + e, Scales16(table, 8 * h)) + ScaledMinus(v23, k32, by + e + 64, Scales16(table, 8 * h + 4));
        }

        return acc.GetLower() + acc.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 292;
            byte* by = a + i * 292;
            Vector512<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int k = 0; k < 4; k++)
            {
                var x = Vector512.Load((sbyte*)(bx + 4 + 64 * k));
                var ax = Avx512BW.Abs(x);
                var neg = Vector512.LessThan(x, Vector512<sbyte>.Zero);
                int e = 4 + 64 * k;
                i0 += Dot(ax, Signed(Vector512.Load((sbyte*)(by + e)), neg));
                if (TTok.Count > 1)
                {
                    i1 += Dot(ax, Signed(Vector512.Load((sbyte*)(by + aStride + e)), neg));
                }

                if (TTok.Count > 2)
                {
                    i2 += Dot(ax, Signed(Vector512.Load((sbyte*)(by + 2 * aStride + e)), neg));
                }

                if (TTok.Count > 3)
                {
                    i3 += Dot(ax, Signed(Vector512.Load((sbyte*)(by + 3 * aStride + e)), neg));
                }
            }

            float xd = *(float*)bx;
            s0 += (xd * *(float*)by) * Vector512.Sum(i0);
            if (TTok.Count > 1)
            {
                s1 += (xd * *(float*)(by + aStride)) * Vector512.Sum(i1);
            }

            if (TTok.Count > 2)
            {
                s2 += (xd * *(float*)(by + 2 * aStride)) * Vector512.Sum(i2);
            }

            if (TTok.Count > 3)
            {
                s3 += (xd * *(float*)(by + 3 * aStride)) * Vector512.Sum(i3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>The reference's <c>sumf += (dx * dy) * isum</c> (Q3_K, Q6_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaledSum(float sumf, byte* by, float xd, Vector512<int> isum)
    {
        float d = xd * *(float*)by;
        return sumf + d * Vector512.Sum(isum);
    }
}
