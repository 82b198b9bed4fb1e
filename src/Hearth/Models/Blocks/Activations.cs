using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Hearth.Models.Blocks;

/// <summary>The gate activation of a gated feed-forward block.</summary>
public enum Activation
{
    /// <summary>SwiGLU: silu(gate) · up (Llama, Qwen, Phi-3).</summary>
    Silu,

    /// <summary>GeGLU with the tanh approximation of GELU, via the reference's F16 table: gelu(gate) · up (Gemma).</summary>
    GeluTanh,
}

/// <summary>Element-wise maths shared by the blocks, vectorised through TensorPrimitives.</summary>
public static class Activations
{
    private const float SqrtTwoOverPi = 0.79788456080286535587989211986876f;
    private const int Chunk = 256;

    public static float Silu(float x) => x / (1f + MathF.Exp(-x));

    public static float GeluTanh(float x) => 0.5f * x * (1f + MathF.Tanh(SqrtTwoOverPi * x * (1f + 0.044715f * x * x)));

    /// <summary>gate[i] = act(gate[i]) · up[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GatedInPlace(Activation activation, Span<float> gate, ReadOnlySpan<float> up)
    {
        Span<float> t = stackalloc float[Chunk];
        for (int start = 0; start < gate.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, gate.Length - start);
            var g = gate.Slice(start, n);
            var u = up.Slice(start, n);
            var tmp = t[..n];
            if (activation == Activation.Silu)
            {
                // silu(g) = g · sigmoid(g)
                TensorPrimitives.Sigmoid(g, tmp);
                TensorPrimitives.Multiply(g, tmp, g);
            }
            else
            {
                GeluTable(g);
            }

            TensorPrimitives.Multiply(g, u, g);
        }
    }

    /// <summary>
    /// GELU (tanh form) as the reference computes it: the input rounded to F16 indexes a table of F16-rounded GELU
    /// values; inputs at or below −10 give 0 and at or above 10 give x. This reproduces the reference's logits to the
    /// bit where the exact formula would differ by ~1e-4.
    /// </summary>
    public static void GeluTable(Span<float> x)
    {
        var table = s_geluF16;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            x[i] = v <= -10f ? 0f : v >= 10f ? v : table[BitConverter.HalfToUInt16Bits((Half)v)];
        }
    }

    /// <summary>GELU of every F16 value, rounded to F16 and widened back: 65,536 entries, built once.</summary>
    private static readonly float[] s_geluF16 = BuildGeluTable();

    private static float[] BuildGeluTable()
    {
        var table = new float[65536];
        for (int i = 0; i < table.Length; i++)
        {
            float v = (float)BitConverter.UInt16BitsToHalf((ushort)i);
            table[i] = (float)(Half)GeluTanh(v);
        }

        return table;
    }

    /// <summary>x = cap · tanh(x / cap): Gemma's soft-capping of attention scores and final logits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SoftCap(Span<float> x, float cap)
    {
        TensorPrimitives.Multiply(x, 1f / cap, x);
        TensorPrimitives.Tanh(x, x);
        TensorPrimitives.Multiply(x, cap, x);
    }

    /// <summary>In-place softmax.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Softmax(Span<float> x)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, x);
        TensorPrimitives.Exp(x, x);
        float sum = TensorPrimitives.Sum(x);
        TensorPrimitives.Multiply(x, 1f / sum, x);
    }
}
