using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hearth.Tensors.X86;

/// <summary>Unpacking of 4- and 5-bit weight levels on 256-bit registers, shared by the row kernels and the batch kernels.</summary>
internal static unsafe class Avx2Levels
{
    /// <summary>Sixteen packed bytes as 32 levels: low nibbles (elements 0-15), then high nibbles (16-31).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> Nibbles(byte* p)
    {
        var raw = Vector128.Load(p);
        var hi = Sse2.ShiftRightLogical(raw.AsUInt16(), 4).AsByte();
        return Vector256.Create(raw, hi) & Vector256.Create((byte)0x0F);
    }

    /// <summary>The 32 bits of <paramref name="qh"/> spread to bytes: byte j is 0x10 when bit j is set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<byte> FifthBits(uint qh)
    {
        // vpshufb gives byte j a copy of byte j/8 of qh (within each 128-bit lane), then each byte tests bit j%8.
        var spread = Avx2.Shuffle(Vector256.Create(qh).AsByte(),
            Vector256.Create(0x0000_0000_0000_0000UL, 0x0101_0101_0101_0101UL, 0x0202_0202_0202_0202UL, 0x0303_0303_0303_0303UL).AsByte());
        var bits = Vector256.Create(0x8040_2010_0804_0201UL).AsByte();
        return Vector256.Equals(spread & bits, bits) & Vector256.Create((byte)0x10);
    }
}
