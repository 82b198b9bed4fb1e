using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>One 32-element weight block type of the 256-bit kernels: decode once, then one step per token.</summary>
internal unsafe interface IBlock256<TState>
    where TState : struct
{
    static abstract int WeightBytes { get; }

    static abstract int ActBytes { get; }

    /// <summary>True when blocks carry an offset applied through the activation sum (Q4_1, Q5_1): <c>ms += m·s</c>.</summary>
    static abstract bool HasMin { get; }

    static abstract TState Decode(float* h16, byte* bx);

    static abstract Vector256<float> Step(in TState w, float* h16, byte* by, Vector256<float> acc, ref float ms);
}

/// <summary>
/// Row kernels on 256-bit registers for AVX2 + FMA. <typeparamref name="TDot"/> supplies the unscaled 8-bit dot
/// product: <see cref="MaddDot256"/> gives the AVX2 path, <see cref="VnniDot256"/> the AVX-VNNI path; everything else
/// (nibble unpacking, <c>vpshufb</c> bit spreading, <c>vpmaddubsw</c> + <c>vpmaddwd</c> by sub-block scales in the
/// K-quants, FMA accumulation) is the same instructions for both.
/// </summary>
/// <remarks>
/// Arithmetic as in <see cref="Portable.Vector128Kernels{TDot}"/>: small-block types accumulate <c>float(sumi) · d</c> in
/// eight float lanes (FMA); K-quants reduce each super-block to exact ints and evaluate the reference expression, so they
/// are bit-identical to Scalar/; F32/F16/BF16 multiply in float and add in double lanes.
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Avx2Kernels<TDot>
    where TDot : struct, IDot256
{
    public static RowKernels Get(GgmlType type) => type switch
    {
        GgmlType.F32 => new(&F32<Tokens1>, &F32<Tokens2>, &F32<Tokens3>, &F32<Tokens4>),
        GgmlType.F16 => new(&F16<Tokens1>, &F16<Tokens2>, &F16<Tokens3>, &F16<Tokens4>),
        GgmlType.BF16 => new(&BF16<Tokens1>, &BF16<Tokens2>, &BF16<Tokens3>, &BF16<Tokens4>),
        GgmlType.Q4_0 => new(&Blocks<Tokens1, Q4_0Block, Levels>, &Blocks<Tokens2, Q4_0Block, Levels>, &Blocks<Tokens3, Q4_0Block, Levels>, &Blocks<Tokens4, Q4_0Block, Levels>),
        GgmlType.Q4_1 => new(&Blocks<Tokens1, Q4_1Block, Levels>, &Blocks<Tokens2, Q4_1Block, Levels>, &Blocks<Tokens3, Q4_1Block, Levels>, &Blocks<Tokens4, Q4_1Block, Levels>),
        GgmlType.Q5_0 => new(&Blocks<Tokens1, Q5_0Block, Levels>, &Blocks<Tokens2, Q5_0Block, Levels>, &Blocks<Tokens3, Q5_0Block, Levels>, &Blocks<Tokens4, Q5_0Block, Levels>),
        GgmlType.Q5_1 => new(&Blocks<Tokens1, Q5_1Block, Levels>, &Blocks<Tokens2, Q5_1Block, Levels>, &Blocks<Tokens3, Q5_1Block, Levels>, &Blocks<Tokens4, Q5_1Block, Levels>),
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
        Vector256<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var wv = Vector256.Load(x + i);
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
            double s = Vector256.Sum(l + h);
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
        Vector256<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var wv = HalfToSingle(Avx2.ConvertToVector256Int32((short*)(x + i)));
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
            double s = Vector256.Sum(l + h);
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
        Vector256<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var wv = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(x + i), 16).AsSingle();
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
            double s = Vector256.Sum(l + h);
            for (int k = i; k < n; k++)
            {
                s += Bf16.ToFloat(x[k]) * at[k];
            }

            y[t * yStride] = (float)s;
        }
    }

    /// <summary>
    /// Exact half-to-float of eight sign-extended half patterns (vpmovsxwd): shifted left by 13 the sign lands in bit 31
    /// and exponent + mantissa in float position (the copies of the sign in between are masked off); scaling by 2^112
    /// rebiases the exponent and turns half subnormals into the right floats; infinities and NaNs get the float's
    /// all-ones exponent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> HalfToSingle(Vector256<int> h)
    {
        var em = Avx2.ShiftLeftLogical(h, 13) & Vector256.Create(unchecked((int)0x8FFF_E000));
        var f = em.AsSingle() * Vector256.Create(BitConverter.Int32BitsToSingle(0x7780_0000));
        var special = Vector256.Equals(em & Vector256.Create(0x0F80_0000), Vector256.Create(0x0F80_0000));
        return Avx.BlendVariable(f, (em | Vector256.Create(0x7F80_0000)).AsSingle(), special.AsSingle());
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(Vector256<float> w, float* a, ref Vector256<double> lo, ref Vector256<double> hi)
    {
        var p = w * Vector256.Load(a);
        lo += Avx.ConvertToVector256Double(p.GetLower());
        hi += Avx.ConvertToVector256Double(p.GetUpper());
    }

    // ---------------------------------------------------------------- 32-element blocks

    /// <summary>
    /// The driver of the 32-element block types: each weight block is decoded once (<see cref="IBlock256{TState}.Decode"/>)
    /// and met by every token of the tile (<see cref="IBlock256{TState}.Step"/>). Even and odd blocks go to two
    /// accumulators per token, so consecutive FMAs do not wait on each other's latency.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Blocks<TTok, TBlock, TState>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
        where TBlock : struct, IBlock256<TState>
        where TState : struct
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0, k0 = 0, k1 = 0, k2 = 0, k3 = 0;
        byte* bx = w;
        byte* by = a;
        for (int pairs = nb / 2; pairs > 0; pairs--)
        {
            Tokens<TTok, TBlock, TState>(h16, bx, by, aStride, ref a0, ref a1, ref a2, ref a3, ref m0, ref m1, ref m2, ref m3);
            Tokens<TTok, TBlock, TState>(h16, bx + TBlock.WeightBytes, by + TBlock.ActBytes, aStride, ref b0, ref b1, ref b2, ref b3, ref k0, ref k1, ref k2, ref k3);
            bx += 2 * TBlock.WeightBytes;
            by += 2 * TBlock.ActBytes;
        }

        if ((nb & 1) != 0)
        {
            Tokens<TTok, TBlock, TState>(h16, bx, by, aStride, ref a0, ref a1, ref a2, ref a3, ref m0, ref m1, ref m2, ref m3);
        }

        if (TBlock.HasMin)
        {
            TileStore.Store<TTok>(y, yStride, Vector256.Sum(a0 + b0) + (m0 + k0), Vector256.Sum(a1 + b1) + (m1 + k1),
                Vector256.Sum(a2 + b2) + (m2 + k2), Vector256.Sum(a3 + b3) + (m3 + k3));
        }
        else
        {
            TileStore.Store<TTok>(y, yStride, Vector256.Sum(a0 + b0), Vector256.Sum(a1 + b1), Vector256.Sum(a2 + b2), Vector256.Sum(a3 + b3));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tokens<TTok, TBlock, TState>(float* h16, byte* bx, byte* by, nint aStride,
        ref Vector256<float> a0, ref Vector256<float> a1, ref Vector256<float> a2, ref Vector256<float> a3,
        ref float m0, ref float m1, ref float m2, ref float m3)
        where TTok : struct, ITokenTile
        where TBlock : struct, IBlock256<TState>
        where TState : struct
    {
        var st = TBlock.Decode(h16, bx);
        a0 = TBlock.Step(st, h16, by, a0, ref m0);
        if (TTok.Count > 1)
        {
            a1 = TBlock.Step(st, h16, by + aStride, a1, ref m1);
        }

        if (TTok.Count > 2)
        {
            a2 = TBlock.Step(st, h16, by + 2 * aStride, a2, ref m2);
        }

        if (TTok.Count > 3)
        {
            a3 = TBlock.Step(st, h16, by + 3 * aStride, a3, ref m3);
        }
    }

    /// <summary>A decoded weight block: 32 unsigned levels and the block scale (and offset, for the _1 types).</summary>
    private readonly struct Levels(Vector256<byte> u, float d, float m)
    {
        public readonly Vector256<byte> U = u;
        public readonly float D = d;
        public readonly float M = m;
    }

    /// <summary>A decoded Q8 weight block: |x|, x (for its signs) and the scale.</summary>
    private readonly struct SignedLevels(Vector256<byte> abs, Vector256<sbyte> x, float d)
    {
        public readonly Vector256<byte> Abs = abs;
        public readonly Vector256<sbyte> X = x;
        public readonly float D = d;
    }

    /// <summary>Q4_0 (18 bytes: d, 16 nibble bytes) against Q8_0 (34 bytes: d, 32 qs); levels stored +8.</summary>
    private readonly struct Q4_0Block : IBlock256<Levels>
    {
        public static int WeightBytes => 18;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels Decode(float* h16, byte* bx) => new(Avx2Levels.Nibbles(bx + 2), Fp16Table.Load(h16, bx), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in Levels w, float* h16, byte* by, Vector256<float> acc, ref float ms)
        {
            var s = TDot.DotOffset(w.U, Vector256.Create((byte)8), Vector256.Load((sbyte*)(by + 2)));
            return Fma.MultiplyAdd(Avx.ConvertToVector256Single(s), Vector256.Create(w.D * Fp16Table.Load(h16, by)), acc);
        }
    }

    /// <summary>Q5_0 (22 bytes: d, 32 fifth bits, 16 nibble bytes) against Q8_0; levels stored +16.</summary>
    private readonly struct Q5_0Block : IBlock256<Levels>
    {
        public static int WeightBytes => 22;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels Decode(float* h16, byte* bx) =>
            new(Avx2Levels.Nibbles(bx + 6) | Avx2Levels.FifthBits(Unsafe.ReadUnaligned<uint>(bx + 2)), Fp16Table.Load(h16, bx), 0);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in Levels w, float* h16, byte* by, Vector256<float> acc, ref float ms)
        {
            var s = TDot.DotOffset(w.U, Vector256.Create((byte)16), Vector256.Load((sbyte*)(by + 2)));
            return Fma.MultiplyAdd(Avx.ConvertToVector256Single(s), Vector256.Create(w.D * Fp16Table.Load(h16, by)), acc);
        }
    }

    /// <summary>Q4_1 (20 bytes: d, m, 16 nibble bytes) against Q8_1 (36 bytes: d, s, 32 qs): d·d'·Σq·q' + m·s.</summary>
    private readonly struct Q4_1Block : IBlock256<Levels>
    {
        public static int WeightBytes => 20;
        public static int ActBytes => 36;
        public static bool HasMin => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels Decode(float* h16, byte* bx) => new(Avx2Levels.Nibbles(bx + 4), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 2));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in Levels w, float* h16, byte* by, Vector256<float> acc, ref float ms) => StepQ8_1(w, h16, by, acc, ref ms);
    }

    /// <summary>Q5_1 (24 bytes: d, m, 32 fifth bits, 16 nibble bytes) against Q8_1.</summary>
    private readonly struct Q5_1Block : IBlock256<Levels>
    {
        public static int WeightBytes => 24;
        public static int ActBytes => 36;
        public static bool HasMin => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Levels Decode(float* h16, byte* bx) =>
            new(Avx2Levels.Nibbles(bx + 8) | Avx2Levels.FifthBits(Unsafe.ReadUnaligned<uint>(bx + 4)), Fp16Table.Load(h16, bx), Fp16Table.Load(h16, bx + 2));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in Levels w, float* h16, byte* by, Vector256<float> acc, ref float ms) => StepQ8_1(w, h16, by, acc, ref ms);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> StepQ8_1(in Levels w, float* h16, byte* by, Vector256<float> acc, ref float ms)
    {
        var s = TDot.Dot(w.U, Vector256.Load((sbyte*)(by + 4)));
        ms += w.M * Fp16Table.Load(h16, by + 2);
        return Fma.MultiplyAdd(Avx.ConvertToVector256Single(s), Vector256.Create(w.D * Fp16Table.Load(h16, by)), acc);
    }

    /// <summary>Q8_0 · Q8_0 (34-byte blocks).</summary>
    private readonly struct Q8_0Block : IBlock256<SignedLevels>
    {
        public static int WeightBytes => 34;
        public static int ActBytes => 34;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels Decode(float* h16, byte* bx)
        {
            var x = Vector256.Load((sbyte*)(bx + 2));
            return new(Avx2.Abs(x), x, Fp16Table.Load(h16, bx));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in SignedLevels w, float* h16, byte* by, Vector256<float> acc, ref float ms)
        {
            var s = TDot.Dot(w.Abs, Avx2.Sign(Vector256.Load((sbyte*)(by + 2)), w.X));
            return Fma.MultiplyAdd(Avx.ConvertToVector256Single(s), Vector256.Create(w.D * Fp16Table.Load(h16, by)), acc);
        }
    }

    /// <summary>Q8_1 · Q8_1 (36-byte blocks, qs at +4; the activation sum s is not needed without a weight offset).</summary>
    private readonly struct Q8_1Block : IBlock256<SignedLevels>
    {
        public static int WeightBytes => 36;
        public static int ActBytes => 36;
        public static bool HasMin => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static SignedLevels Decode(float* h16, byte* bx)
        {
            var x = Vector256.Load((sbyte*)(bx + 4));
            return new(Avx2.Abs(x), x, Fp16Table.Load(h16, bx));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Step(in SignedLevels w, float* h16, byte* by, Vector256<float> acc, ref float ms)
        {
            var s = TDot.Dot(w.Abs, Avx2.Sign(Vector256.Load((sbyte*)(by + 4)), w.X));
            return Fma.MultiplyAdd(Avx.ConvertToVector256Single(s), Vector256.Create(w.D * Fp16Table.Load(h16, by)), acc);
        }
    }

    // ---------------------------------------------------------------- K-quants
    // Q8_K activation block: float d at +0, 256 qs at +4, 16 short bsums at +260; 292 bytes.

    /// <summary>Σ over 32 elements of u·s scaled per 16-bit pair lane by <paramref name="scales"/> (vpmaddubsw, vpmaddwd).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Scaled(Vector256<byte> u, byte* y, Vector256<short> scales) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, Vector256.Load((sbyte*)y)), scales);

    /// <summary>Control for vpshufb picking 16-bit element 2k in the low lane and 2k+1 in the high lane (k = 0).</summary>
    private static Vector256<byte> PairControl0
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.Create(Vector128.Create((ushort)0x0100), Vector128.Create((ushort)0x0302)).AsByte();
    }

    /// <summary>Added to <see cref="PairControl0"/> to step k by one.</summary>
    private static Vector256<byte> PairControlStep
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.Create((byte)4);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m3 = Vector256.Create((byte)3);
        var m4 = Vector128.Create((byte)0x0F);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 84;
            byte* by = a + i * 292;
            var sc = Vector128.Load(bx);
            var mins = Avx2.ConvertToVector256Int16(Sse2.ShiftRightLogical(sc.AsUInt16(), 4).AsByte() & m4);
            var scales = Avx2.ConvertToVector256Int16(sc & m4);
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(bx + 16 + 32 * h).AsUInt16();
                var half = h == 0 ? Avx2.Permute2x128(scales, scales, 0x00) : Avx2.Permute2x128(scales, scales, 0x11);
                var ctrl = PairControl0;
                for (int s = 0; s < 4; s++)
                {
                    // Bits 2s..2s+1 of each byte: the 16-bit shift moves the next byte's bits in above bit 5 only.
                    var v = q.AsByte() & m3;
                    q = Avx2.ShiftRightLogical(q, 2);
                    var sp = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                    ctrl += PairControlStep;
                    int e = 4 + 128 * h + 32 * s;
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
    private static float Q2_KSum(float sumf, byte* by, float xd, float xdmin, Vector256<int> isum, Vector256<short> mins)
    {
        int summs = Vector256.Sum(Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(by + 260)), mins));
        int isumi = Vector256.Sum(isum);
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
        var m3 = Vector256.Create((byte)3);
        var one = Vector256.Create((byte)1);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 110;
            byte* by = a + i * 292;
            var scales = Avx2.ConvertToVector256Int16(KScales.Q3K(bx + 96));
            var notHigh = (~Vector256.Load(bx)).AsUInt16();
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q = Vector256.Load(bx + 32 + 32 * h).AsUInt16();
                var half = h == 0 ? Avx2.Permute2x128(scales, scales, 0x00) : Avx2.Permute2x128(scales, scales, 0x11);
                var ctrl = PairControl0;
                for (int s = 0; s < 4; s++)
                {
                    // Level = low two bits − 4·(high bit clear): multiply both parts and subtract, exactly, in 16 bits.
                    // Running 16-bit shifts: only the low bits of each byte are used, which no neighbour reaches.
                    var low = q.AsByte() & m3;
                    q = Avx2.ShiftRightLogical(q, 2);
                    var minus = Avx2.ShiftLeftLogical((notHigh.AsByte() & one).AsUInt16(), 2).AsByte();
                    notHigh = Avx2.ShiftRightLogical(notHigh, 1);
                    var sp = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                    ctrl += PairControlStep;
                    int e = 4 + 128 * h + 32 * s;
                    i0 += Q3Step(low, minus, by + e, sp);
                    if (TTok.Count > 1)
                    {
                        i1 += Q3Step(low, minus, by + aStride + e, sp);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 += Q3Step(low, minus, by + 2 * aStride + e, sp);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 += Q3Step(low, minus, by + 3 * aStride + e, sp);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q3Step(Vector256<byte> low, Vector256<byte> minus, byte* y, Vector256<short> scales)
    {
        var yv = Vector256.Load((sbyte*)y);
        var p = Avx2.MultiplyAddAdjacent(low, yv) - Avx2.MultiplyAddAdjacent(minus, yv);
        return Avx2.MultiplyAddAdjacent(p, scales);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector256.Create((byte)0x0F);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 144;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            var sc8 = Sse41.ConvertToVector128Int16(sm);
            var scales = Vector256.Create(sc8, sc8).AsByte();
            var ctrl = Vector256.Create((ushort)0x0100).AsByte();
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                var q = Vector256.Load(bx + 16 + 32 * j);
                var lo = q & m4;
                var hi = Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & m4;
                var sa = Avx2.Shuffle(scales, ctrl).AsInt16();
                ctrl += Vector256.Create((byte)2);
                var sb = Avx2.Shuffle(scales, ctrl).AsInt16();
                ctrl += Vector256.Create((byte)2);
                int e = 4 + 64 * j;
                i0 += Scaled(lo, by + e, sa) + Scaled(hi, by + e + 32, sb);
                if (TTok.Count > 1)
                {
                    i1 += Scaled(lo, by + aStride + e, sa) + Scaled(hi, by + aStride + e + 32, sb);
                }

                if (TTok.Count > 2)
                {
                    i2 += Scaled(lo, by + 2 * aStride + e, sa) + Scaled(hi, by + 2 * aStride + e + 32, sb);
                }

                if (TTok.Count > 3)
                {
                    i3 += Scaled(lo, by + 3 * aStride + e, sa) + Scaled(hi, by + 3 * aStride + e + 32, sb);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = PairedMins(sm);
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
        var m4 = Vector256.Create((byte)0x0F);
        var bit4 = Vector256.Create((byte)0x10);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 176;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            var sc8 = Sse41.ConvertToVector128Int16(sm);
            var scales = Vector256.Create(sc8, sc8).AsByte();
            var ctrl = Vector256.Create((ushort)0x0100).AsByte();
            var qh = Vector256.Load(bx + 16).AsUInt16();
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                var q = Vector256.Load(bx + 48 + 32 * j);

                // Fifth bits: bit 2j of qh[l] for the low nibbles (sub-block 2j), bit 2j+1 for the high (2j+1); qh is
                // shifted down by two per chunk, so they are bits 0 and 1 here, moved to bit 4.
                var hl = Avx2.ShiftLeftLogical(qh, 4).AsByte() & bit4;
                var hh = Avx2.ShiftLeftLogical(qh, 3).AsByte() & bit4;
                qh = Avx2.ShiftRightLogical(qh, 2);
                var lo = (q & m4) | hl;
                var hi = (Avx2.ShiftRightLogical(q.AsUInt16(), 4).AsByte() & m4) | hh;
                var sa = Avx2.Shuffle(scales, ctrl).AsInt16();
                ctrl += Vector256.Create((byte)2);
                var sb = Avx2.Shuffle(scales, ctrl).AsInt16();
                ctrl += Vector256.Create((byte)2);
                int e = 4 + 64 * j;
                i0 += Scaled(lo, by + e, sa) + Scaled(hi, by + e + 32, sb);
                if (TTok.Count > 1)
                {
                    i1 += Scaled(lo, by + aStride + e, sa) + Scaled(hi, by + aStride + e + 32, sb);
                }

                if (TTok.Count > 2)
                {
                    i2 += Scaled(lo, by + 2 * aStride + e, sa) + Scaled(hi, by + 2 * aStride + e + 32, sb);
                }

                if (TTok.Count > 3)
                {
                    i3 += Scaled(lo, by + 3 * aStride + e, sa) + Scaled(hi, by + 3 * aStride + e + 32, sb);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = PairedMins(sm);
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

    /// <summary>The eight mins (bytes 8-15 of <paramref name="sm"/>) as sixteen shorts, each twice: m0 m0 m1 m1 ... m7 m7.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> PairedMins(Vector128<byte> sm) => Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(sm, sm));

    /// <summary>ScalarDot.Q4_KQ8_K's float expression; summs = Σ_j m_j·(bsums[2j] + bsums[2j+1]) by one vpmaddwd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_KSum(float sumf, byte* by, float xd, float xdmin, Vector256<int> isum, Vector256<short> pairedMins)
    {
        int summs = Vector256.Sum(Avx2.MultiplyAddAdjacent(Vector256.Load((short*)(by + 260)), pairedMins));
        int isumi = Vector256.Sum(isum);
        float yd = *(float*)by;
        float d = xd * yd;
        float dmin = xdmin * yd;
        return sumf + (d * isumi - dmin * summs);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector256.Create((byte)0x0F);
        var m3 = Vector256.Create((byte)0x03);
        var m30 = Vector256.Create((byte)0x30);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 210;
            byte* by = a + i * 292;
            var scales = Avx2.ConvertToVector256Int16(Vector128.Load((sbyte*)(bx + 192)));
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var ql0 = Vector256.Load(bx + 64 * h);
                var ql1 = Vector256.Load(bx + 64 * h + 32);
                var qh = Vector256.Load(bx + 128 + 32 * h);
                var half = h == 0 ? Avx2.Permute2x128(scales, scales, 0x00) : Avx2.Permute2x128(scales, scales, 0x11);

                // Unsigned 6-bit levels; the −32 is applied through a second vpmaddubsw per token (exact in 16 bits).
                var v0 = (ql0 & m4) | Avx2.ShiftLeftLogical((qh & m3).AsUInt16(), 4).AsByte();
                var v1 = (ql1 & m4) | (Avx2.ShiftLeftLogical(qh.AsUInt16(), 2).AsByte() & m30);
                var v2 = (Avx2.ShiftRightLogical(ql0.AsUInt16(), 4).AsByte() & m4) | (qh & m30);
                var v3 = (Avx2.ShiftRightLogical(ql1.AsUInt16(), 4).AsByte() & m4) | (Avx2.ShiftRightLogical(qh.AsUInt16(), 2).AsByte() & m30);
                var ctrl = PairControl0;
                var c0 = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                ctrl += PairControlStep;
                var c1 = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                ctrl += PairControlStep;
                var c2 = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                ctrl += PairControlStep;
                var c3 = Avx2.Shuffle(half.AsByte(), ctrl).AsInt16();
                int e = 4 + 128 * h;
                i0 += Q6Step(v0, v1, v2, v3, c0, c1, c2, c3, by + e);
                if (TTok.Count > 1)
                {
                    i1 += Q6Step(v0, v1, v2, v3, c0, c1, c2, c3, by + aStride + e);
                }

                if (TTok.Count > 2)
                {
                    i2 += Q6Step(v0, v1, v2, v3, c0, c1, c2, c3, by + 2 * aStride + e);
                }

                if (TTok.Count > 3)
                {
                    i3 += Q6Step(v0, v1, v2, v3, c0, c1, c2, c3, by + 3 * aStride + e);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6Step(Vector256<byte> v0, Vector256<byte> v1, Vector256<byte> v2, Vector256<byte> v3,
        Vector256<short> c0, Vector256<short> c1, Vector256<short> c2, Vector256<short> c3, byte* y)
    {
        var k32 = Vector256.Create((byte)32);
        var y0 = Vector256.Load((sbyte*)y);
        var y1 = Vector256.Load((sbyte*)(y + 32));
        var y2 = Vector256.Load((sbyte*)(y + 64));
        var y3 = Vector256.Load((sbyte*)(y + 96));
        var p0 = Avx2.MultiplyAddAdjacent(v0, y0) - Avx2.MultiplyAddAdjacent(k32, y0);
        var p1 = Avx2.MultiplyAddAdjacent(v1, y1) - Avx2.MultiplyAddAdjacent(k32, y1);
        var p2 = Avx2.MultiplyAddAdjacent(v2, y2) - Avx2.MultiplyAddAdjacent(k32, y2);
        var p3 = Avx2.MultiplyAddAdjacent(v3, y3) - Avx2.MultiplyAddAdjacent(k32, y3);
        return (Avx2.MultiplyAddAdjacent(p0, c0) + Avx2.MultiplyAddAdjacent(p1, c1))
            + (Avx2.MultiplyAddAdjacent(p2, c2) + Avx2.MultiplyAddAdjacent(p3, c3));
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
            Vector256<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int k = 0; k < 8; k++)
            {
                var x = Vector256.Load((sbyte*)(bx + 4 + 32 * k));
                var ax = Avx2.Abs(x);
                int e = 4 + 32 * k;
                i0 += TDot.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(by + e)), x));
                if (TTok.Count > 1)
                {
                    i1 += TDot.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(by + aStride + e)), x));
                }

                if (TTok.Count > 2)
                {
                    i2 += TDot.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(by + 2 * aStride + e)), x));
                }

                if (TTok.Count > 3)
                {
                    i3 += TDot.Dot(ax, Avx2.Sign(Vector256.Load((sbyte*)(by + 3 * aStride + e)), x));
                }
            }

            float xd = *(float*)bx;
            s0 += (xd * *(float*)by) * Vector256.Sum(i0);
            if (TTok.Count > 1)
            {
                s1 += (xd * *(float*)(by + aStride)) * Vector256.Sum(i1);
            }

            if (TTok.Count > 2)
            {
                s2 += (xd * *(float*)(by + 2 * aStride)) * Vector256.Sum(i2);
            }

            if (TTok.Count > 3)
            {
                s3 += (xd * *(float*)(by + 3 * aStride)) * Vector256.Sum(i3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>The reference's <c>sumf += (dx * dy) * isum</c> (Q3_K, Q6_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaledSum(float sumf, byte* by, float xd, Vector256<int> isum)
    {
        float d = xd * *(float*)by;
        return sumf + d * Vector256.Sum(isum);
    }
}
