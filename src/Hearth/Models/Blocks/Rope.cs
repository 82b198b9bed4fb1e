using System.Runtime.CompilerServices;
namespace Hearth.Models.Blocks;

/// <summary>
/// Rotary position embedding for one layer's settings. For pair i of the first <see cref="Dimensions"/> dimensions,
/// θᵢ = pos · scale · base^(−2i/n) / factorᵢ, and the pair is rotated by θᵢ, with cos and sin multiplied by the
/// attention factor. Dimensions past <see cref="Dimensions"/> pass through (partial rotary, as in Phi-3).
/// </summary>
public sealed class Rope
{
    private readonly float _thetaScale;
    private readonly float[]? _factors;

    /// <param name="dimensions">n_rot: how many leading dimensions of each head rotate (even).</param>
    /// <param name="freqBase">The base (10000 for Llama 2, 500000 for Llama 3, 1e6 for Qwen...).</param>
    /// <param name="freqScale">Linear position scale (1 / rope.scaling.factor).</param>
    /// <param name="attnFactor">Multiplier of cos and sin.</param>
    /// <param name="factors">Per-pair frequency divisors (llama3 <c>rope_freqs</c>, LongRoPE short/long factors), or null.</param>
    /// <param name="layout">Which dimensions form a pair.</param>
    public Rope(int dimensions, float freqBase, float freqScale, float attnFactor, float[]? factors, RopeLayout layout)
    {
        if (dimensions <= 0 || dimensions % 2 != 0) throw new ArgumentOutOfRangeException(nameof(dimensions), $"RoPE dimension count {dimensions} must be even and positive");
        if (factors != null && factors.Length < dimensions / 2) throw new ArgumentException($"RoPE factors have {factors.Length} entries, {dimensions / 2} needed");
        Dimensions = dimensions;
        FreqBase = freqBase;
        FreqScale = freqScale;
        AttnFactor = attnFactor;
        Layout = layout;
        _factors = factors;
        _thetaScale = MathF.Pow(freqBase, -2.0f / dimensions);
    }

    public int Dimensions { get; }

    public float FreqBase { get; }

    public float FreqScale { get; }

    public float AttnFactor { get; }

    public RopeLayout Layout { get; }

    /// <summary>Rotates every head of <paramref name="heads"/> (nHeads × headDim, contiguous) for position <paramref name="pos"/>.</summary>
    public void Apply(Span<float> heads, int headDim, int pos) => Apply(heads, [], headDim, pos);

    /// <summary>
    /// Rotates every head of <paramref name="q"/> and of <paramref name="k"/> (each nHeads × headDim, contiguous; either
    /// may be empty) for position <paramref name="pos"/>: the same result as two calls of
    /// <see cref="Apply(Span{float}, int, int)"/>, with the angles computed once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(Span<float> q, Span<float> k, int headDim, int pos)
    {
        int half = Dimensions / 2;
        // θ advances by repeated multiplication in single precision, as ggml computes it.
        float theta = pos;
        for (int i = 0; i < half; i++)
        {
            float ff = _factors?[i] ?? 1f;
            float t = FreqScale * (theta / ff);
            float cos = MathF.Cos(t) * AttnFactor;
            float sin = MathF.Sin(t) * AttnFactor;
            theta *= _thetaScale;
            int a = Layout == RopeLayout.Normal ? 2 * i : i;
            int b = Layout == RopeLayout.Normal ? 2 * i + 1 : i + half;
            Rotate(q, headDim, a, b, cos, sin);
            Rotate(k, headDim, a, b, cos, sin);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Rotate(Span<float> heads, int headDim, int a, int b, float cos, float sin)
    {
        for (int o = 0; o + headDim <= heads.Length; o += headDim)
        {
            float x0 = heads[o + a];
            float x1 = heads[o + b];
            heads[o + a] = x0 * cos - x1 * sin;
            heads[o + b] = x0 * sin + x1 * cos;
        }
    }

    /// <summary>
    /// The llama3 frequency factors (what converters store as <c>rope_freqs.weight</c>): long wavelengths are slowed by
    /// <paramref name="factor"/>, short ones kept, and the band between blended smoothly.
    /// </summary>
    public static float[] Llama3Factors(int dimensions, float freqBase, float factor, float lowFreqFactor, float highFreqFactor, int originalContext)
    {
        var result = new float[dimensions / 2];
        double lowWavelen = originalContext / (double)lowFreqFactor;
        double highWavelen = originalContext / (double)highFreqFactor;
        for (int i = 0; i < result.Length; i++)
        {
            double freq = 1.0 / Math.Pow(freqBase, 2.0 * i / dimensions);
            double wavelen = 2 * Math.PI / freq;
            if (wavelen < highWavelen)
            {
                result[i] = 1f;
            }
            else if (wavelen > lowWavelen)
            {
                result[i] = factor;
            }
            else
            {
                double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                result[i] = (float)(1.0 / ((1 - smooth) / factor + smooth));
            }
        }

        return result;
    }
}
