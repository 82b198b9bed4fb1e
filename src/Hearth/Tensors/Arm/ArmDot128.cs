using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using Hearth.Tensors.Portable;

namespace Hearth.Tensors.Arm;

/// <summary>
/// AdvSimd (NEON) signed 8-bit dot product: <c>smull</c> / <c>smull2</c> to eight 16-bit products each, then
/// <c>sadalp</c> adds neighbouring products into the 32-bit lanes. Exact for all inputs (|a·b| ≤ 16384 fits a short).
/// Plugged into <see cref="Vector128Kernels{TDot}"/> it is the Arm path for cores without the dot-product extension.
/// </summary>
internal readonly struct AdvSimdDot128 : IDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        var p0 = AdvSimd.MultiplyWideningLower(a.GetLower(), b.GetLower());
        var p1 = AdvSimd.MultiplyWideningUpper(a, b);
        acc = AdvSimd.AddPairwiseWideningAndAdd(acc, p0);
        return AdvSimd.AddPairwiseWideningAndAdd(acc, p1);
    }
}

/// <summary>
/// The Armv8.2 dot-product extension: one <c>sdot</c> adds four signed byte products into each 32-bit lane.
/// </summary>
internal readonly struct DpDot128 : IDot128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b) => Dp.DotProduct(acc, a, b);
}
