using System.Runtime.CompilerServices;

namespace Hearth.Tensors;

/// <summary>
/// Half-to-float conversion of block scales by table lookup (ggml's <c>ggml_table_f32_f16</c>): two instructions instead
/// of the ~10 of a software conversion, which matters when every 32-element block carries a half scale. The table holds
/// <c>(float)(Half)bits</c> for all 65536 patterns, so lookups are exact. Built once, immutable, 256 KiB, pinned; the
/// scales of a model cluster in a few exponents, so the lines in use stay in cache.
/// </summary>
/// <remarks>
/// Kernels read <see cref="Pointer"/> once into a local before their loops: a static field access inside a loop can
/// carry a class-initialisation check (a call) that forces every vector register to be spilled around it.
/// </remarks>
internal static unsafe class Fp16Table
{
    private static readonly float[] s_table = Build();

    /// <summary>Start of the table; the array is pinned, so the address never changes.</summary>
    public static readonly float* Pointer = (float*)Unsafe.AsPointer(ref s_table[0]);

    /// <summary>The float value of the half whose bits are <paramref name="bits"/> (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToFloat(ushort bits) => Pointer[bits];

    /// <summary>The float value of the half stored (little-endian) at <paramref name="p"/>, through a hoisted <see cref="Pointer"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(float* table, byte* p) => table[Unsafe.ReadUnaligned<ushort>(p)];

    private static float[] Build()
    {
        var table = GC.AllocateUninitializedArray<float>(65536, pinned: true);
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = (float)BitConverter.UInt16BitsToHalf((ushort)i);
        }

        return table;
    }
}
