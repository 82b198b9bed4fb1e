using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>
/// The unscaled 8-bit dot products of the 256-bit kernels: unsigned bytes times signed bytes, four neighbouring products
/// summed into each of eight int lanes. <see cref="MaddDot256"/> is AVX2 (<c>vpmaddubsw</c> then <c>vpmaddwd</c> by
/// ones), <see cref="VnniDot256"/> is AVX-VNNI (<c>vpdpbusd</c>).
/// </summary>
/// <remarks>
/// Exactness: <c>vpmaddubsw</c> saturates a pair of products to 16 bits, so callers keep <c>2 · u · |s| ≤ 32767</c>:
/// unsigned levels of at most 6 bits, or an absolute value (≤ 128) against activations in [-127, 127], which is what
/// Hearth's (and ggml's) activation quantizers produce. <c>vpdpbusd</c> has no such limit.
/// </remarks>
internal interface IDot256
{
    /// <summary>Σ u·s per group of four bytes.</summary>
    static abstract Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s);

    /// <summary>Σ (u − off)·s per group of four bytes, for levels stored with an offset (Q4_0's −8, Q5_0's −16).</summary>
    static abstract Vector256<int> DotOffset(Vector256<byte> u, Vector256<byte> off, Vector256<sbyte> s);

    /// <summary><paramref name="acc"/> plus Σ u·s per group of four bytes (the same limits on u as <see cref="Dot"/>).</summary>
    static abstract Vector256<int> DotAdd(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s);

    /// <summary>True when <see cref="DotAdd"/> is exact for every unsigned byte (no 16-bit intermediate to saturate).</summary>
    static abstract bool FullRange { get; }

    /// <summary><paramref name="acc"/> plus a[2i]·b[2i] + a[2i+1]·b[2i+1] in lane i (16-bit pairs; exact).</summary>
    static abstract Vector256<int> DotAdd16(Vector256<int> acc, Vector256<short> a, Vector256<short> b);
}

internal readonly struct MaddDot256 : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotOffset(Vector256<byte> u, Vector256<byte> off, Vector256<sbyte> s) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s) - Avx2.MultiplyAddAdjacent(off, s), Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) =>
        acc + Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(u, s), Vector256.Create((short)1));

    public static bool FullRange => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd16(Vector256<int> acc, Vector256<short> a, Vector256<short> b) => acc + Avx2.MultiplyAddAdjacent(a, b);
}

internal readonly struct VnniDot256 : IDot256
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Dot(Vector256<byte> u, Vector256<sbyte> s) =>
        AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotOffset(Vector256<byte> u, Vector256<byte> off, Vector256<sbyte> s) =>
        AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, u, s) - AvxVnni.MultiplyWideningAndAdd(Vector256<int>.Zero, off, s);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s) => AvxVnni.MultiplyWideningAndAdd(acc, u, s);

    public static bool FullRange => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotAdd16(Vector256<int> acc, Vector256<short> a, Vector256<short> b) => AvxVnni.MultiplyWideningAndAdd(acc, a, b);
}
