namespace Hearth.Models.Blocks;

/// <summary>The gate activation of a gated feed-forward block.</summary>
public enum Activation
{
    /// <summary>SwiGLU: silu(gate) · up (Llama, Qwen, Phi-3).</summary>
    Silu,

    /// <summary>GeGLU with the tanh approximation of GELU: gelu(gate) · up (Gemma).</summary>
    GeluTanh,
}

/// <summary>Element-wise maths shared by the blocks.</summary>
public static class Activations
{
    private const float SqrtTwoOverPi = 0.79788456080286535587989211986876f;

    public static float Silu(float x) => x / (1f + MathF.Exp(-x));

    public static float GeluTanh(float x) => 0.5f * x * (1f + MathF.Tanh(SqrtTwoOverPi * x * (1f + 0.044715f * x * x)));

    /// <summary>gate[i] = act(gate[i]) · up[i].</summary>
    public static void GatedInPlace(Activation activation, Span<float> gate, ReadOnlySpan<float> up)
    {
        if (activation == Activation.Silu)
        {
            for (int i = 0; i < gate.Length; i++) gate[i] = Silu(gate[i]) * up[i];
        }
        else
        {
            for (int i = 0; i < gate.Length; i++) gate[i] = GeluTanh(gate[i]) * up[i];
        }
    }

    /// <summary>x = cap · tanh(x / cap): Gemma's soft-capping of attention scores and final logits.</summary>
    public static void SoftCap(Span<float> x, float cap)
    {
        for (int i = 0; i < x.Length; i++) x[i] = cap * MathF.Tanh(x[i] / cap);
    }

    /// <summary>In-place softmax; the normalising sum runs in double as ggml's does.</summary>
    public static void Softmax(Span<float> x)
    {
        float max = float.NegativeInfinity;
        foreach (var v in x) max = MathF.Max(max, v);
        double sum = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float e = MathF.Exp(x[i] - max);
            x[i] = e;
            sum += e;
        }

        float inv = (float)(1.0 / sum);
        for (int i = 0; i < x.Length; i++) x[i] *= inv;
    }
}
