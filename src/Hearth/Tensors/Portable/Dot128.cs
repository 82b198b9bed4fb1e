using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hearth.Tensors.Portable;

/// <summary>
/// The 16-lane signed 8-bit dot product the 128-bit kernels are built on. Implementations differ per instruction set
/// (portable widening multiplies, AdvSimd <c>smull</c>/<c>sadalp</c>, the Arm dot-product extension's <c>sdot</c>) and may
/// spread the partial sums over the four lanes differently; all are exact for every pair of signed bytes.
/// </summary>
internal interface IDot128
{
    /// <summary><paramref name="acc"/> plus the sixteen products <c>a[i] * b[i]</c>, summed into the four int lanes.</summary>
    static abstract Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b);
}

/// <summary>Cross-platform <see cref="Vector128"/> operations only: runs (slowly, in software) even without SIMD.</summary>
internal readonly struct PortableDot128 : IDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);

        // |a*b| <= 16384 fits a short; the sum of two such products may not, so widen before adding.
        var p0 = a0 * b0;
        var p1 = a1 * b1;
        var (s0, s1) = Vector128.Widen(p0);
        var (s2, s3) = Vector128.Widen(p1);
        return acc + ((s0 + s1) + (s2 + s3));
    }
}
