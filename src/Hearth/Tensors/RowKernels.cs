using System.Runtime.CompilerServices;

namespace Hearth.Tensors;

/// <summary>
/// How many activation rows (tokens) one kernel call multiplies with the same weight row. A kernel is generic over it so
/// the JIT compiles one specialised body per width, with the per-token code for absent tokens removed.
/// </summary>
internal interface ITokenTile
{
    static abstract int Count { get; }
}

internal readonly struct Tokens1 : ITokenTile
{
    public static int Count => 1;
}

internal readonly struct Tokens2 : ITokenTile
{
    public static int Count => 2;
}

internal readonly struct Tokens3 : ITokenTile
{
    public static int Count => 3;
}

internal readonly struct Tokens4 : ITokenTile
{
    public static int Count => 4;
}

/// <summary>
/// The row kernels of one weight type on one instruction set: <c>y[t * yStride] = dot(w, a + t * aStride)</c> for every
/// token <c>t</c> below the tile width, over <c>n</c> elements. <c>w</c> is a weight row; <c>a</c> is the first activation
/// row in the kernel's activation format (<see cref="TypeTraits.KernelActType"/>), rows <c>aStride</c> bytes apart.
/// </summary>
/// <remarks>
/// Every width runs the same per-token instruction sequence, so an output does not depend on the width it was computed
/// with: a weight block is decoded once and then met by each token in turn. That is what lets <see cref="MatMul"/> tile
/// prompt batches and still give results bit-identical to one token at a time.
/// </remarks>
internal readonly unsafe struct RowKernels
{
    public RowKernels(
        delegate*<byte*, byte*, nint, int, float*, nint, void> one,
        delegate*<byte*, byte*, nint, int, float*, nint, void> two,
        delegate*<byte*, byte*, nint, int, float*, nint, void> three,
        delegate*<byte*, byte*, nint, int, float*, nint, void> four)
    {
        One = one;
        Two = two;
        Three = three;
        Four = four;
    }

    public const int MaxTokens = 4;

    public delegate*<byte*, byte*, nint, int, float*, nint, void> One { get; }

    public delegate*<byte*, byte*, nint, int, float*, nint, void> Two { get; }

    public delegate*<byte*, byte*, nint, int, float*, nint, void> Three { get; }

    public delegate*<byte*, byte*, nint, int, float*, nint, void> Four { get; }

    public bool IsEmpty => One == null;

    /// <summary>Runs the kernel for <paramref name="tokens"/> (1..4) activation rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Run(int tokens, byte* w, byte* a, nint aStride, int n, float* y, nint yStride)
    {
        switch (tokens)
        {
            case 1: One(w, a, aStride, n, y, yStride); break;
            case 2: Two(w, a, aStride, n, y, yStride); break;
            case 3: Three(w, a, aStride, n, y, yStride); break;
            default: Four(w, a, aStride, n, y, yStride); break;
        }
    }
}

/// <summary>Writes the per-token results of a tile kernel.</summary>
internal static unsafe class TileStore
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TTok>(float* y, nint yStride, float r0, float r1, float r2, float r3)
        where TTok : struct, ITokenTile
    {
        y[0] = r0;
        if (TTok.Count > 1)
        {
            y[yStride] = r1;
        }

        if (TTok.Count > 2)
        {
            y[2 * yStride] = r2;
        }

        if (TTok.Count > 3)
        {
            y[3 * yStride] = r3;
        }
    }
}
