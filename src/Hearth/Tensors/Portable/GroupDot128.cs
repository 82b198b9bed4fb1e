using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace Hearth.Tensors.Portable;

/// <summary>
/// The signed 8-bit dot product of the 128-bit batch kernels, group by group: lane i gets the four products of bytes
/// 4i..4i+3 (unlike <see cref="IDot128"/>, which may spread the products over the lanes in any order). Exact for all
/// pairs of signed bytes.
/// </summary>
internal interface IGroupDot128
{
    /// <summary><paramref name="acc"/> plus, in lane i, Σ_{k&lt;4} w[4i+k]·a[4i+k].</summary>
    static abstract Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> w, Vector128<sbyte> a);

    /// <summary>[Σ lanes of s0, Σ s1, Σ s2, Σ s3].</summary>
    static abstract Vector128<int> Reduce(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3);
}

/// <summary>Cross-platform <see cref="Vector128"/> operations only: runs (slowly, in software) even without SIMD.</summary>
internal readonly struct PortableGroupDot128 : IGroupDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> w, Vector128<sbyte> a)
    {
        var (a0, a1) = Vector128.Widen(a);
        var (w0, w1) = Vector128.Widen(w);

        // |a·w| ≤ 16384 fits a short; int lane i then holds products 2i (low half) and 2i+1 (high half).
        var q0 = PairSums((a0 * w0).AsInt32());
        var q1 = PairSums((a1 * w1).AsInt32());

        // Neighbouring pair sums form the groups: [g0 g1] from q0 and [g2 g3] from q1, as longs.
        return acc + Vector128.Narrow(QuadSums(q0.AsInt64()), QuadSums(q1.AsInt64()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3) =>
        Vector128.Create(Vector128.Sum(s0), Vector128.Sum(s1), Vector128.Sum(s2), Vector128.Sum(s3));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> PairSums(Vector128<int> v) =>
        Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(v, 16), 16) + Vector128.ShiftRightArithmetic(v, 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<long> QuadSums(Vector128<long> v) =>
        Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(v, 32), 32) + Vector128.ShiftRightArithmetic(v, 32);
}

/// <summary>
/// AdvSimd (NEON, A64): <c>smull</c> / <c>smull2</c> to sixteen 16-bit products, <c>saddlp</c> to eight pair sums, and
/// <c>addp</c> to the four group sums.
/// </summary>
internal readonly struct AdvSimdGroupDot128 : IGroupDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> w, Vector128<sbyte> a)
    {
        var p0 = AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningLower(w.GetLower(), a.GetLower()));
        var p1 = AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningUpper(w, a));
        return acc + AdvSimd.Arm64.AddPairwise(p0, p1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(s0, s1), AdvSimd.Arm64.AddPairwise(s2, s3));
}

/// <summary>The Armv8.2 dot-product extension: one <c>sdot</c> adds each group's four products into its lane.</summary>
internal readonly struct DpGroupDot128 : IGroupDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotAdd(Vector128<int> acc, Vector128<sbyte> w, Vector128<sbyte> a) => Dp.DotProduct(acc, w, a);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Reduce(Vector128<int> s0, Vector128<int> s1, Vector128<int> s2, Vector128<int> s3) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(s0, s1), AdvSimd.Arm64.AddPairwise(s2, s3));
}
