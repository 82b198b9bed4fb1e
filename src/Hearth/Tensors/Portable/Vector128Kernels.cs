using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors.Portable;

/// <summary>
/// Row kernels on 128-bit vectors, written with the cross-platform <see cref="Vector128"/> API only; the one
/// instruction-set choice, the signed 8-bit dot product, comes from <typeparamref name="TDot"/>. Instantiated with
/// <see cref="PortableDot128"/> it is the portable path (any SIMD hardware, or software emulation without it); with the
/// Arm primitives it is the AdvSimd and dot-product (<c>sdot</c>) paths, where every <see cref="Vector128"/> operation
/// here compiles to one NEON instruction.
/// </summary>
/// <remarks>
/// <para>
/// Quantized types: integer products are exact. The small-block types (Q4_0 ... Q8_1) scale each block's integer sum in
/// four float lanes (<c>acc += float(sumi) * (dx * dy)</c>), so they differ from the scalar reference only in the order
/// the block results are added. The K-quants reduce each super-block's integer sums to one int and then evaluate the
/// scalar reference's float expression for the super-block verbatim, so they are bit-identical to it.
/// </para>
/// <para>
/// F32, F16, BF16: products in float (as the reference), accumulated in double lanes; only the order of the double
/// additions differs from the reference, which almost never changes the rounded float result.
/// </para>
/// </remarks>
[SkipLocalsInit]
internal static unsafe class Vector128Kernels<TDot>
    where TDot : struct, IDot128
{
    public static RowKernels Get(GgmlType type) => type switch
    {
        GgmlType.F32 => new(&F32<Tokens1>, &F32<Tokens2>, &F32<Tokens3>, &F32<Tokens4>),
        GgmlType.F16 => new(&F16<Tokens1>, &F16<Tokens2>, &F16<Tokens3>, &F16<Tokens4>),
        GgmlType.BF16 => new(&BF16<Tokens1>, &BF16<Tokens2>, &BF16<Tokens3>, &BF16<Tokens4>),
        GgmlType.Q4_0 => new(&Q4_0<Tokens1>, &Q4_0<Tokens2>, &Q4_0<Tokens3>, &Q4_0<Tokens4>),
        GgmlType.Q4_1 => new(&Q4_1<Tokens1>, &Q4_1<Tokens2>, &Q4_1<Tokens3>, &Q4_1<Tokens4>),
        GgmlType.Q5_0 => new(&Q5_0<Tokens1>, &Q5_0<Tokens2>, &Q5_0<Tokens3>, &Q5_0<Tokens4>),
        GgmlType.Q5_1 => new(&Q5_1<Tokens1>, &Q5_1<Tokens2>, &Q5_1<Tokens3>, &Q5_1<Tokens4>),
        GgmlType.Q8_0 => new(&Q8_0<Tokens1>, &Q8_0<Tokens2>, &Q8_0<Tokens3>, &Q8_0<Tokens4>),
        GgmlType.Q8_1 => new(&Q8_1<Tokens1>, &Q8_1<Tokens2>, &Q8_1<Tokens3>, &Q8_1<Tokens4>),
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
        Vector128<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            var wv = Vector128.Load(x + i);
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
            double s = Vector128.Sum(l + h);
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
        Vector128<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var (u0, u1) = Vector128.Widen(Vector128.Load((short*)(x + i)));
            var w0 = HalfToSingle(u0);
            var w1 = HalfToSingle(u1);
            Accumulate8(w0, w1, (float*)a + i, ref l0, ref h0);
            if (TTok.Count > 1)
            {
                Accumulate8(w0, w1, (float*)(a + aStride) + i, ref l1, ref h1);
            }

            if (TTok.Count > 2)
            {
                Accumulate8(w0, w1, (float*)(a + 2 * aStride) + i, ref l2, ref h2);
            }

            if (TTok.Count > 3)
            {
                Accumulate8(w0, w1, (float*)(a + 3 * aStride) + i, ref l3, ref h3);
            }
        }

        for (int t = 0; t < TTok.Count; t++)
        {
            var (l, h) = t switch { 0 => (l0, h0), 1 => (l1, h1), 2 => (l2, h2), _ => (l3, h3) };
            float* at = (float*)(a + t * aStride);
            double s = Vector128.Sum(l + h);
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
        Vector128<double> l0 = default, h0 = default, l1 = default, h1 = default, l2 = default, h2 = default, l3 = default, h3 = default;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var (u0, u1) = Vector128.Widen(Vector128.Load(x + i));
            var w0 = Vector128.ShiftLeft(u0, 16).AsSingle();
            var w1 = Vector128.ShiftLeft(u1, 16).AsSingle();
            Accumulate8(w0, w1, (float*)a + i, ref l0, ref h0);
            if (TTok.Count > 1)
            {
                Accumulate8(w0, w1, (float*)(a + aStride) + i, ref l1, ref h1);
            }

            if (TTok.Count > 2)
            {
                Accumulate8(w0, w1, (float*)(a + 2 * aStride) + i, ref l2, ref h2);
            }

            if (TTok.Count > 3)
            {
                Accumulate8(w0, w1, (float*)(a + 3 * aStride) + i, ref l3, ref h3);
            }
        }

        for (int t = 0; t < TTok.Count; t++)
        {
            var (l, h) = t switch { 0 => (l0, h0), 1 => (l1, h1), 2 => (l2, h2), _ => (l3, h3) };
            float* at = (float*)(a + t * aStride);
            double s = Vector128.Sum(l + h);
            for (int k = i; k < n; k++)
            {
                s += Bf16.ToFloat(x[k]) * at[k];
            }

            y[t * yStride] = (float)s;
        }
    }

    /// <summary>
    /// Exact half-to-float of four sign-extended half bit patterns: shifted left by 13 the sign lands in bit 31 and the
    /// exponent and mantissa in float position (the copies of the sign in between are masked off); scaling by 2^112
    /// rebiases the exponent (15 to 127) and also turns half subnormals into the right float; infinities and NaNs get the
    /// float's all-ones exponent.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> HalfToSingle(Vector128<int> h)
    {
        var em = Vector128.ShiftLeft(h, 13) & Vector128.Create(unchecked((int)0x8FFF_E000));
        var f = em.AsSingle() * Vector128.Create(HalfScale);
        var special = Vector128.Equals(em & Vector128.Create(0x0F80_0000), Vector128.Create(0x0F80_0000));
        return Vector128.ConditionalSelect(special.AsSingle(), (em | Vector128.Create(0x7F80_0000)).AsSingle(), f);
    }

    /// <summary>2^112, the factor between a half's exponent bias (15) and a float's (127).</summary>
    private static float HalfScale => BitConverter.Int32BitsToSingle(0x7780_0000);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate(Vector128<float> w, float* a, ref Vector128<double> lo, ref Vector128<double> hi)
    {
        var p = w * Vector128.Load(a);
        lo += Vector128.WidenLower(p);
        hi += Vector128.WidenUpper(p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate8(Vector128<float> w0, Vector128<float> w1, float* a, ref Vector128<double> lo, ref Vector128<double> hi)
    {
        var p0 = w0 * Vector128.Load(a);
        var p1 = w1 * Vector128.Load(a + 4);
        lo += Vector128.WidenLower(p0) + Vector128.WidenLower(p1);
        hi += Vector128.WidenUpper(p0) + Vector128.WidenUpper(p1);
    }

    // ---------------------------------------------------------------- Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 (32-element blocks)

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        var off = Vector128.Create((sbyte)8);
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 18;
            var raw = Vector128.Load(bx + 2);
            var lo = (raw & m4).AsSByte() - off;
            var hi = Vector128.ShiftRightLogical(raw, 4).AsSByte() - off;
            float dx = Fp16Table.Load(h16, bx);
            byte* by = a + ib * 34;
            acc0 = Block32(h16, lo, hi, dx, by, acc0);
            if (TTok.Count > 1)
            {
                acc1 = Block32(h16, lo, hi, dx, by + aStride, acc1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32(h16, lo, hi, dx, by + 2 * aStride, acc2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32(h16, lo, hi, dx, by + 3 * aStride, acc3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0), Vector128.Sum(acc1), Vector128.Sum(acc2), Vector128.Sum(acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_0<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        var off = Vector128.Create((sbyte)16);
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 22;
            uint qh = Unsafe.ReadUnaligned<uint>(bx + 2);
            var raw = Vector128.Load(bx + 6);
            var lo = ((raw & m4) | FifthBits(qh)).AsSByte() - off;
            var hi = (Vector128.ShiftRightLogical(raw, 4) | FifthBits(qh >> 16)).AsSByte() - off;
            float dx = Fp16Table.Load(h16, bx);
            byte* by = a + ib * 34;
            acc0 = Block32(h16, lo, hi, dx, by, acc0);
            if (TTok.Count > 1)
            {
                acc1 = Block32(h16, lo, hi, dx, by + aStride, acc1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32(h16, lo, hi, dx, by + 2 * aStride, acc2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32(h16, lo, hi, dx, by + 3 * aStride, acc3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0), Vector128.Sum(acc1), Vector128.Sum(acc2), Vector128.Sum(acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 34;
            var lo = Vector128.Load((sbyte*)(bx + 2));
            var hi = Vector128.Load((sbyte*)(bx + 18));
            float dx = Fp16Table.Load(h16, bx);
            byte* by = a + ib * 34;
            acc0 = Block32(h16, lo, hi, dx, by, acc0);
            if (TTok.Count > 1)
            {
                acc1 = Block32(h16, lo, hi, dx, by + aStride, acc1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32(h16, lo, hi, dx, by + 2 * aStride, acc2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32(h16, lo, hi, dx, by + 3 * aStride, acc3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0), Vector128.Sum(acc1), Vector128.Sum(acc2), Vector128.Sum(acc3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_1<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float ms0 = 0, ms1 = 0, ms2 = 0, ms3 = 0;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 20;
            var raw = Vector128.Load(bx + 4);
            var lo = (raw & m4).AsSByte();
            var hi = Vector128.ShiftRightLogical(raw, 4).AsSByte();
            float dx = Fp16Table.Load(h16, bx);
            float mx = Fp16Table.Load(h16, bx + 2);
            byte* by = a + ib * 36;
            acc0 = Block32Q8_1(h16, lo, hi, dx, mx, by, acc0, ref ms0);
            if (TTok.Count > 1)
            {
                acc1 = Block32Q8_1(h16, lo, hi, dx, mx, by + aStride, acc1, ref ms1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32Q8_1(h16, lo, hi, dx, mx, by + 2 * aStride, acc2, ref ms2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32Q8_1(h16, lo, hi, dx, mx, by + 3 * aStride, acc3, ref ms3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0) + ms0, Vector128.Sum(acc1) + ms1, Vector128.Sum(acc2) + ms2, Vector128.Sum(acc3) + ms3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_1<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        float ms0 = 0, ms1 = 0, ms2 = 0, ms3 = 0;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 24;
            uint qh = Unsafe.ReadUnaligned<uint>(bx + 4);
            var raw = Vector128.Load(bx + 8);
            var lo = ((raw & m4) | FifthBits(qh)).AsSByte();
            var hi = (Vector128.ShiftRightLogical(raw, 4) | FifthBits(qh >> 16)).AsSByte();
            float dx = Fp16Table.Load(h16, bx);
            float mx = Fp16Table.Load(h16, bx + 2);
            byte* by = a + ib * 36;
            acc0 = Block32Q8_1(h16, lo, hi, dx, mx, by, acc0, ref ms0);
            if (TTok.Count > 1)
            {
                acc1 = Block32Q8_1(h16, lo, hi, dx, mx, by + aStride, acc1, ref ms1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32Q8_1(h16, lo, hi, dx, mx, by + 2 * aStride, acc2, ref ms2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32Q8_1(h16, lo, hi, dx, mx, by + 3 * aStride, acc3, ref ms3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0) + ms0, Vector128.Sum(acc1) + ms1, Vector128.Sum(acc2) + ms2, Vector128.Sum(acc3) + ms3);
    }

    /// <summary>Q8_1 · Q8_1: as Q8_0 (the activation sum <c>s</c> is not needed without a weight offset).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_1<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 32;
        float* h16 = Fp16Table.Pointer;
        Vector128<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int ib = 0; ib < nb; ib++)
        {
            byte* bx = w + ib * 36;
            var lo = Vector128.Load((sbyte*)(bx + 4));
            var hi = Vector128.Load((sbyte*)(bx + 20));
            float dx = Fp16Table.Load(h16, bx);
            byte* by = a + ib * 36;
            acc0 = Block32Q8_1NoMin(h16, lo, hi, dx, by, acc0);
            if (TTok.Count > 1)
            {
                acc1 = Block32Q8_1NoMin(h16, lo, hi, dx, by + aStride, acc1);
            }

            if (TTok.Count > 2)
            {
                acc2 = Block32Q8_1NoMin(h16, lo, hi, dx, by + 2 * aStride, acc2);
            }

            if (TTok.Count > 3)
            {
                acc3 = Block32Q8_1NoMin(h16, lo, hi, dx, by + 3 * aStride, acc3);
            }
        }

        TileStore.Store<TTok>(y, yStride, Vector128.Sum(acc0), Vector128.Sum(acc1), Vector128.Sum(acc2), Vector128.Sum(acc3));
    }

    /// <summary>One 32-element block against a Q8_0 activation block at <paramref name="by"/>: d at +0, qs at +2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Block32(float* h16, Vector128<sbyte> lo, Vector128<sbyte> hi, float dx, byte* by, Vector128<float> acc)
    {
        var s = TDot.Dot(TDot.Dot(Vector128<int>.Zero, lo, Vector128.Load((sbyte*)(by + 2))), hi, Vector128.Load((sbyte*)(by + 18)));
        float d = dx * Fp16Table.Load(h16, by);
        return acc + Vector128.ConvertToSingle(s) * Vector128.Create(d);
    }

    /// <summary>One block against a Q8_1 activation block (d at +0, s at +2, qs at +4), adding the offset term m·s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Block32Q8_1(float* h16, Vector128<sbyte> lo, Vector128<sbyte> hi, float dx, float mx, byte* by, Vector128<float> acc, ref float ms)
    {
        var s = TDot.Dot(TDot.Dot(Vector128<int>.Zero, lo, Vector128.Load((sbyte*)(by + 4))), hi, Vector128.Load((sbyte*)(by + 20)));
        float d = dx * Fp16Table.Load(h16, by);
        ms += mx * Fp16Table.Load(h16, by + 2);
        return acc + Vector128.ConvertToSingle(s) * Vector128.Create(d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Block32Q8_1NoMin(float* h16, Vector128<sbyte> lo, Vector128<sbyte> hi, float dx, byte* by, Vector128<float> acc)
    {
        var s = TDot.Dot(TDot.Dot(Vector128<int>.Zero, lo, Vector128.Load((sbyte*)(by + 4))), hi, Vector128.Load((sbyte*)(by + 20)));
        float d = dx * Fp16Table.Load(h16, by);
        return acc + Vector128.ConvertToSingle(s) * Vector128.Create(d);
    }

    /// <summary>Bits 0..15 of <paramref name="qh"/> spread to bytes: byte j is 0x10 when bit j is set, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> FifthBits(uint qh)
    {
        // Byte j of the vector holds byte j/8 of qh; each byte then tests its own bit j%8.
        ulong b0 = (qh & 0xFF) * 0x0101_0101_0101_0101UL;
        ulong b1 = ((qh >> 8) & 0xFF) * 0x0101_0101_0101_0101UL;
        var bits = Vector128.Create(0x8040_2010_0804_0201UL).AsByte();
        var set = Vector128.Equals(Vector128.Create(b0, b1).AsByte() & bits, bits);
        return set & Vector128.Create((byte)0x10);
    }

    // ---------------------------------------------------------------- K-quants (256-element super-blocks, Q8_K activations)
    // Q8_K block: float d at +0, 256 qs at +4, 16 short bsums at +260; 292 bytes.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q2_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m3 = Vector128.Create((byte)3);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 84;
            byte* by = a + i * 292;
            var sc = Vector128.Load(bx);
            var (mins0, mins1) = Vector128.Widen(Vector128.ShiftRightLogical(sc, 4));
            int summs0 = MinSum16(by, mins0, mins1);
            int summs1 = TTok.Count > 1 ? MinSum16(by + aStride, mins0, mins1) : 0;
            int summs2 = TTok.Count > 2 ? MinSum16(by + 2 * aStride, mins0, mins1) : 0;
            int summs3 = TTok.Count > 3 ? MinSum16(by + 3 * aStride, mins0, mins1) : 0;

            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q0 = Vector128.Load(bx + 16 + 32 * h);
                var q1 = Vector128.Load(bx + 32 + 32 * h);
                for (int s = 0; s < 4; s++)
                {
                    var v0 = (q0 & m3).AsSByte();
                    var v1 = (q1 & m3).AsSByte();
                    q0 = Vector128.ShiftRightLogical(q0, 2);
                    q1 = Vector128.ShiftRightLogical(q1, 2);
                    int j = 8 * h + 2 * s;
                    int c0 = bx[j] & 0xF;
                    int c1 = bx[j + 1] & 0xF;
                    int e = 4 + 128 * h + 32 * s;
                    i0 = Scaled2(i0, v0, v1, c0, c1, by + e);
                    if (TTok.Count > 1)
                    {
                        i1 = Scaled2(i1, v0, v1, c0, c1, by + aStride + e);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 = Scaled2(i2, v0, v1, c0, c1, by + 2 * aStride + e);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 = Scaled2(i3, v0, v1, c0, c1, by + 3 * aStride + e);
                    }
                }
            }

            float xd = Fp16Table.Load(h16, bx + 80);
            float xdmin = Fp16Table.Load(h16, bx + 82);
            s0 = Q2_KSum(s0, by, xd, xdmin, Vector128.Sum(i0), summs0);
            if (TTok.Count > 1)
            {
                s1 = Q2_KSum(s1, by + aStride, xd, xdmin, Vector128.Sum(i1), summs1);
            }

            if (TTok.Count > 2)
            {
                s2 = Q2_KSum(s2, by + 2 * aStride, xd, xdmin, Vector128.Sum(i2), summs2);
            }

            if (TTok.Count > 3)
            {
                s3 = Q2_KSum(s3, by + 3 * aStride, xd, xdmin, Vector128.Sum(i3), summs3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>ScalarDot.Q2_KQ8_K's float expression for one super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q2_KSum(float sumf, byte* by, float xd, float xdmin, int isum, int summs)
    {
        float yd = *(float*)by;
        float dall = yd * xd;
        float dmin = yd * xdmin;
        return sumf + (dall * isum - dmin * summs);
    }

    /// <summary>Σ_j bsums[j] · mins[j] over the 16 sub-blocks; mins are 4-bit so each product fits a short.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MinSum16(byte* by, Vector128<ushort> mins0, Vector128<ushort> mins1)
    {
        var p0 = Vector128.Load((short*)(by + 260)) * mins0.AsInt16();
        var p1 = Vector128.Load((short*)(by + 276)) * mins1.AsInt16();
        var (a0, a1) = Vector128.Widen(p0);
        var (b0, b1) = Vector128.Widen(p1);
        return Vector128.Sum((a0 + a1) + (b0 + b1));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q3_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m3 = Vector128.Create((byte)3);
        var one = Vector128.Create((byte)1);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 110;
            byte* by = a + i * 292;
            var scales = KScales.Q3K(bx + 96);
            var nh0 = ~Vector128.Load(bx);
            var nh1 = ~Vector128.Load(bx + 16);
            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                var q0 = Vector128.Load(bx + 32 + 32 * h);
                var q1 = Vector128.Load(bx + 48 + 32 * h);
                for (int s = 0; s < 4; s++)
                {
                    // q = low two bits - 4 when the element's high-mask bit (bit 4h + s, shifted down as we go) is clear.
                    var v0 = (q0 & m3).AsSByte() - Vector128.ShiftLeft(nh0 & one, 2).AsSByte();
                    var v1 = (q1 & m3).AsSByte() - Vector128.ShiftLeft(nh1 & one, 2).AsSByte();
                    q0 = Vector128.ShiftRightLogical(q0, 2);
                    q1 = Vector128.ShiftRightLogical(q1, 2);
                    nh0 = Vector128.ShiftRightLogical(nh0, 1);
                    nh1 = Vector128.ShiftRightLogical(nh1, 1);
                    int j = 8 * h + 2 * s;
                    int c0 = scales.GetElement(j);
                    int c1 = scales.GetElement(j + 1);
                    int e = 4 + 128 * h + 32 * s;
                    i0 = Scaled2(i0, v0, v1, c0, c1, by + e);
                    if (TTok.Count > 1)
                    {
                        i1 = Scaled2(i1, v0, v1, c0, c1, by + aStride + e);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 = Scaled2(i2, v0, v1, c0, c1, by + 2 * aStride + e);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 = Scaled2(i3, v0, v1, c0, c1, by + 3 * aStride + e);
                    }
                }
            }

            float xd = Fp16Table.Load(h16, bx + 108);
            s0 = ScaledSum(s0, by, xd, Vector128.Sum(i0));
            if (TTok.Count > 1)
            {
                s1 = ScaledSum(s1, by + aStride, xd, Vector128.Sum(i1));
            }

            if (TTok.Count > 2)
            {
                s2 = ScaledSum(s2, by + 2 * aStride, xd, Vector128.Sum(i2));
            }

            if (TTok.Count > 3)
            {
                s3 = ScaledSum(s3, by + 3 * aStride, xd, Vector128.Sum(i3));
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 144;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                var q0 = Vector128.Load(bx + 16 + 32 * j);
                var q1 = Vector128.Load(bx + 32 + 32 * j);
                var l0 = (q0 & m4).AsSByte();
                var l1 = (q1 & m4).AsSByte();
                var h0 = Vector128.ShiftRightLogical(q0, 4).AsSByte();
                var h1 = Vector128.ShiftRightLogical(q1, 4).AsSByte();
                int ca = sm.GetElement(2 * j);
                int cb = sm.GetElement(2 * j + 1);
                int e = 4 + 64 * j;
                i0 = Scaled4(i0, l0, l1, h0, h1, ca, cb, by + e);
                if (TTok.Count > 1)
                {
                    i1 = Scaled4(i1, l0, l1, h0, h1, ca, cb, by + aStride + e);
                }

                if (TTok.Count > 2)
                {
                    i2 = Scaled4(i2, l0, l1, h0, h1, ca, cb, by + 2 * aStride + e);
                }

                if (TTok.Count > 3)
                {
                    i3 = Scaled4(i3, l0, l1, h0, h1, ca, cb, by + 3 * aStride + e);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = Vector128.WidenUpper(sm).AsInt16();
            s0 = Q4_KSum(s0, by, xd, xdmin, Vector128.Sum(i0), mins);
            if (TTok.Count > 1)
            {
                s1 = Q4_KSum(s1, by + aStride, xd, xdmin, Vector128.Sum(i1), mins);
            }

            if (TTok.Count > 2)
            {
                s2 = Q4_KSum(s2, by + 2 * aStride, xd, xdmin, Vector128.Sum(i2), mins);
            }

            if (TTok.Count > 3)
            {
                s3 = Q4_KSum(s3, by + 3 * aStride, xd, xdmin, Vector128.Sum(i3), mins);
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
        var m4 = Vector128.Create((byte)0x0F);
        var bit4 = Vector128.Create((byte)0x10);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 176;
            byte* by = a + i * 292;
            var sm = KScales.ScaleMinK4(bx + 4);
            var qh0 = Vector128.Load(bx + 16);
            var qh1 = Vector128.Load(bx + 32);
            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int j = 0; j < 4; j++)
            {
                var q0 = Vector128.Load(bx + 48 + 32 * j);
                var q1 = Vector128.Load(bx + 64 + 32 * j);

                // The fifth bit of sub-block 2j is bit 2j of qh, of sub-block 2j+1 bit 2j+1 (bits 0 and 1 here: qh is
                // shifted down by two per chunk); moved to bit 4.
                var l0 = ((q0 & m4) | (Vector128.ShiftLeft(qh0, 4) & bit4)).AsSByte();
                var l1 = ((q1 & m4) | (Vector128.ShiftLeft(qh1, 4) & bit4)).AsSByte();
                var h0 = (Vector128.ShiftRightLogical(q0, 4) | (Vector128.ShiftLeft(qh0, 3) & bit4)).AsSByte();
                var h1 = (Vector128.ShiftRightLogical(q1, 4) | (Vector128.ShiftLeft(qh1, 3) & bit4)).AsSByte();
                qh0 = Vector128.ShiftRightLogical(qh0, 2);
                qh1 = Vector128.ShiftRightLogical(qh1, 2);
                int ca = sm.GetElement(2 * j);
                int cb = sm.GetElement(2 * j + 1);
                int e = 4 + 64 * j;
                i0 = Scaled4(i0, l0, l1, h0, h1, ca, cb, by + e);
                if (TTok.Count > 1)
                {
                    i1 = Scaled4(i1, l0, l1, h0, h1, ca, cb, by + aStride + e);
                }

                if (TTok.Count > 2)
                {
                    i2 = Scaled4(i2, l0, l1, h0, h1, ca, cb, by + 2 * aStride + e);
                }

                if (TTok.Count > 3)
                {
                    i3 = Scaled4(i3, l0, l1, h0, h1, ca, cb, by + 3 * aStride + e);
                }
            }

            float xd = Fp16Table.Load(h16, bx);
            float xdmin = Fp16Table.Load(h16, bx + 2);
            var mins = Vector128.WidenUpper(sm).AsInt16();
            s0 = Q4_KSum(s0, by, xd, xdmin, Vector128.Sum(i0), mins);
            if (TTok.Count > 1)
            {
                s1 = Q4_KSum(s1, by + aStride, xd, xdmin, Vector128.Sum(i1), mins);
            }

            if (TTok.Count > 2)
            {
                s2 = Q4_KSum(s2, by + 2 * aStride, xd, xdmin, Vector128.Sum(i2), mins);
            }

            if (TTok.Count > 3)
            {
                s3 = Q4_KSum(s3, by + 3 * aStride, xd, xdmin, Vector128.Sum(i3), mins);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>
    /// ScalarDot.Q4_KQ8_K's float expression for one super-block, with summs = Σ_j mins[j]·(bsums[2j] + bsums[2j+1]).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q4_KSum(float sumf, byte* by, float xd, float xdmin, int isum, Vector128<short> mins)
    {
        // Pairs of bsums added as ints: each int lane of the loaded shorts holds (b[2j], b[2j+1]).
        var b0 = Vector128.Load((int*)(by + 260));
        var b1 = Vector128.Load((int*)(by + 276));
        var p0 = Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(b0, 16), 16) + Vector128.ShiftRightArithmetic(b0, 16);
        var p1 = Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(b1, 16), 16) + Vector128.ShiftRightArithmetic(b1, 16);
        var (m0, m1) = Vector128.Widen(mins);
        int summs = Vector128.Sum(p0 * m0 + p1 * m1);

        float yd = *(float*)by;
        float d = xd * yd;
        float dmin = xdmin * yd;
        return sumf + (d * isum - dmin * summs);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_K<TTok>(byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
        where TTok : struct, ITokenTile
    {
        int nb = n / 256;
        float* h16 = Fp16Table.Pointer;
        var m4 = Vector128.Create((byte)0x0F);
        var m3 = Vector128.Create((byte)3);
        var off = Vector128.Create((sbyte)32);
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int i = 0; i < nb; i++)
        {
            byte* bx = w + i * 210;
            byte* by = a + i * 292;
            sbyte* sc = (sbyte*)(bx + 192);
            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int h = 0; h < 2; h++)
            {
                for (int p = 0; p < 2; p++)
                {
                    var ql0 = Vector128.Load(bx + 64 * h + 16 * p);
                    var ql1 = Vector128.Load(bx + 64 * h + 32 + 16 * p);
                    var qh = Vector128.Load(bx + 128 + 32 * h + 16 * p);
                    var v0 = ((ql0 & m4) | Vector128.ShiftLeft(qh & m3, 4)).AsSByte() - off;
                    var v1 = ((ql1 & m4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 2) & m3, 4)).AsSByte() - off;
                    var v2 = (Vector128.ShiftRightLogical(ql0, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 4) & m3, 4)).AsSByte() - off;
                    var v3 = (Vector128.ShiftRightLogical(ql1, 4) | Vector128.ShiftLeft(Vector128.ShiftRightLogical(qh, 6), 4)).AsSByte() - off;

                    // Elements 128h + 32k + 16p + l for v_k: sub-block 8h + 2k + p.
                    int j = 8 * h + p;
                    int c0 = sc[j], c1 = sc[j + 2], c2 = sc[j + 4], c3 = sc[j + 6];
                    int e = 4 + 128 * h + 16 * p;
                    i0 = Q6Step(i0, v0, v1, v2, v3, c0, c1, c2, c3, by + e);
                    if (TTok.Count > 1)
                    {
                        i1 = Q6Step(i1, v0, v1, v2, v3, c0, c1, c2, c3, by + aStride + e);
                    }

                    if (TTok.Count > 2)
                    {
                        i2 = Q6Step(i2, v0, v1, v2, v3, c0, c1, c2, c3, by + 2 * aStride + e);
                    }

                    if (TTok.Count > 3)
                    {
                        i3 = Q6Step(i3, v0, v1, v2, v3, c0, c1, c2, c3, by + 3 * aStride + e);
                    }
                }
            }

            float xd = Fp16Table.Load(h16, bx + 208);
            s0 = ScaledSum(s0, by, xd, Vector128.Sum(i0));
            if (TTok.Count > 1)
            {
                s1 = ScaledSum(s1, by + aStride, xd, Vector128.Sum(i1));
            }

            if (TTok.Count > 2)
            {
                s2 = ScaledSum(s2, by + 2 * aStride, xd, Vector128.Sum(i2));
            }

            if (TTok.Count > 3)
            {
                s3 = ScaledSum(s3, by + 3 * aStride, xd, Vector128.Sum(i3));
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Q6Step(Vector128<int> acc, Vector128<sbyte> v0, Vector128<sbyte> v1, Vector128<sbyte> v2, Vector128<sbyte> v3,
        int c0, int c1, int c2, int c3, byte* y)
    {
        acc += TDot.Dot(Vector128<int>.Zero, v0, Vector128.Load((sbyte*)y)) * c0;
        acc += TDot.Dot(Vector128<int>.Zero, v1, Vector128.Load((sbyte*)(y + 32))) * c1;
        acc += TDot.Dot(Vector128<int>.Zero, v2, Vector128.Load((sbyte*)(y + 64))) * c2;
        acc += TDot.Dot(Vector128<int>.Zero, v3, Vector128.Load((sbyte*)(y + 96))) * c3;
        return acc;
    }

    /// <summary>Q8_K · Q8_K: <c>sumf += (dx * dy) * isum</c> per super-block, as the reference.</summary>
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
            Vector128<int> i0 = default, i1 = default, i2 = default, i3 = default;
            for (int k = 0; k < 16; k++)
            {
                var v = Vector128.Load((sbyte*)(bx + 4 + 16 * k));
                int e = 4 + 16 * k;
                i0 = TDot.Dot(i0, v, Vector128.Load((sbyte*)(by + e)));
                if (TTok.Count > 1)
                {
                    i1 = TDot.Dot(i1, v, Vector128.Load((sbyte*)(by + aStride + e)));
                }

                if (TTok.Count > 2)
                {
                    i2 = TDot.Dot(i2, v, Vector128.Load((sbyte*)(by + 2 * aStride + e)));
                }

                if (TTok.Count > 3)
                {
                    i3 = TDot.Dot(i3, v, Vector128.Load((sbyte*)(by + 3 * aStride + e)));
                }
            }

            float xd = *(float*)bx;
            s0 += (xd * *(float*)by) * Vector128.Sum(i0);
            if (TTok.Count > 1)
            {
                s1 += (xd * *(float*)(by + aStride)) * Vector128.Sum(i1);
            }

            if (TTok.Count > 2)
            {
                s2 += (xd * *(float*)(by + 2 * aStride)) * Vector128.Sum(i2);
            }

            if (TTok.Count > 3)
            {
                s3 += (xd * *(float*)(by + 3 * aStride)) * Vector128.Sum(i3);
            }
        }

        TileStore.Store<TTok>(y, yStride, s0, s1, s2, s3);
    }

    /// <summary>Two 16-element sub-blocks (activations at <paramref name="y"/> and y+16) with their integer scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Scaled2(Vector128<int> acc, Vector128<sbyte> v0, Vector128<sbyte> v1, int c0, int c1, byte* y)
    {
        acc += TDot.Dot(Vector128<int>.Zero, v0, Vector128.Load((sbyte*)y)) * c0;
        acc += TDot.Dot(Vector128<int>.Zero, v1, Vector128.Load((sbyte*)(y + 16))) * c1;
        return acc;
    }

    /// <summary>Two 32-element sub-blocks (l0,l1 against y..y+31 scaled by ca; h0,h1 against y+32..y+63 by cb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Scaled4(Vector128<int> acc, Vector128<sbyte> l0, Vector128<sbyte> l1, Vector128<sbyte> h0, Vector128<sbyte> h1,
        int ca, int cb, byte* y)
    {
        var pa = TDot.Dot(TDot.Dot(Vector128<int>.Zero, l0, Vector128.Load((sbyte*)y)), l1, Vector128.Load((sbyte*)(y + 16)));
        var pb = TDot.Dot(TDot.Dot(Vector128<int>.Zero, h0, Vector128.Load((sbyte*)(y + 32))), h1, Vector128.Load((sbyte*)(y + 48)));
        return acc + pa * ca + pb * cb;
    }

    /// <summary>The reference's <c>sumf += (dx * dy) * isum</c> with dx a half and dy Q8_K's float (Q3_K, Q6_K).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaledSum(float sumf, byte* by, float xd, int isum)
    {
        float d = xd * *(float*)by;
        return sumf + d * isum;
    }
}
