namespace Hearth.Tensors.Scalar;

/// <summary>
/// The scale searches of ggml's K-quant reference quantizers (<c>make_qx_quants</c>, <c>make_q3_quants</c>,
/// <c>make_qkx2_quants</c>). They are ported operation for operation, in float32 and in ggml's evaluation order, so the
/// bytes we write match what llama.cpp's <c>quantize_row_*_ref</c> writes (built without FMA contraction).
/// </summary>
internal static class QuantSearch
{
    /// <summary>Groups whose largest magnitude is below this are treated as all zero (ggml's GROUP_MAX_EPS).</summary>
    public const float GroupMaxEps = 1e-15f;

    /// <summary>
    /// Symmetric quantization of <paramref name="x"/> to <c>[-nmax, nmax-1]</c>, stored biased by <paramref name="nmax"/>
    /// in <paramref name="levels"/>; returns the scale. The scale is anchored on the value of largest magnitude
    /// (mapped to <c>-nmax</c>, so its sign picks the asymmetric end) and, for <paramref name="rmseType"/> ≠ 0, refined by
    /// weighted least squares over 18 nearby candidate scales. Weights: <paramref name="quantWeights"/> if given, else by
    /// type 1: x², 2: 1, 3: |x|, 4: sqrt|x|. A negative type returns right after the first refinement.
    /// </summary>
    public static float MakeQxQuants(int n, int nmax, ReadOnlySpan<float> x, Span<sbyte> levels, int rmseType, ReadOnlySpan<float> quantWeights)
    {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        if (rmseType == 0)
        {
            for (int i = 0; i < n; i++)
            {
                int l = QuantBits.NearestInt(iscale * x[i]);
                levels[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
            }

            return 1 / iscale;
        }

        bool returnEarly = false;
        if (rmseType < 0)
        {
            rmseType = -rmseType;
            returnEarly = true;
        }

        bool haveWeights = !quantWeights.IsEmpty;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int l = QuantBits.NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            levels[i] = (sbyte)(l + nmax);
            float w = haveWeights ? quantWeights[i] : Weight(rmseType, x[i]);
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }

        float scale = suml2 != 0 ? sumlx / suml2 : 0f;
        if (returnEarly)
        {
            return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
        }

        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }

            iscale = -(nmax + 0.1f * step) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = QuantBits.NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                float w = haveWeights ? quantWeights[i] : Weight(rmseType, x[i]);
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }

            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; i++)
                {
                    int l = QuantBits.NearestInt(iscale * x[i]);
                    levels[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, l)));
                }

                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }

        return scale;
    }

    private static float Weight(int rmseType, float x) => rmseType switch
    {
        1 => x * x,
        2 => 1f,
        3 => MathF.Abs(x),
        _ => MathF.Sqrt(MathF.Abs(x)),
    };

    /// <summary>
    /// Q3_K's per-group search: symmetric levels in <c>[-nmax, nmax-1]</c> (returned biased by <paramref name="nmax"/>),
    /// then, with <paramref name="doRmse"/>, up to five passes of coordinate descent that move single levels while the
    /// x²-weighted least-squares fit improves. Returns the group scale.
    /// </summary>
    public static float MakeQ3Quants(int n, int nmax, ReadOnlySpan<float> x, Span<sbyte> levels, bool doRmse)
    {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEps)
        {
            levels[..n].Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        if (doRmse)
        {
            float sumlx = 0;
            float suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int l = QuantBits.NearestInt(iscale * x[i]);
                l = Math.Max(-nmax, Math.Min(nmax - 1, l));
                levels[i] = (sbyte)l;
                float w = x[i] * x[i];
                sumlx += w * x[i] * l;
                suml2 += w * l * l;
            }

            for (int attempt = 0; attempt < 5; attempt++)
            {
                int changed = 0;
                for (int i = 0; i < n; i++)
                {
                    float w = x[i] * x[i];
                    float slx = sumlx - w * x[i] * levels[i];
                    if (slx > 0)
                    {
                        float sl2 = suml2 - w * levels[i] * levels[i];
                        int newL = QuantBits.NearestInt(x[i] * sl2 / slx);
                        newL = Math.Max(-nmax, Math.Min(nmax - 1, newL));
                        if (newL != levels[i])
                        {
                            slx += w * x[i] * newL;
                            sl2 += w * newL * newL;
                            if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                            {
                                levels[i] = (sbyte)newL;
                                sumlx = slx;
                                suml2 = sl2;
                                changed++;
                            }
                        }
                    }
                }

                if (changed == 0)
                {
                    break;
                }
            }

            for (int i = 0; i < n; i++)
            {
                levels[i] += (sbyte)nmax;
            }

            return suml2 > 0f ? sumlx / suml2 : 0f;
        }

        for (int i = 0; i < n; i++)
        {
            int l = QuantBits.NearestInt(iscale * x[i]);
            l = Math.Max(-nmax, Math.Min(nmax - 1, l));
            levels[i] = (sbyte)(l + nmax);
        }

        return 1 / iscale;
    }

    /// <summary>
    /// Asymmetric (scale + min) quantization of a group to levels <c>0..nmax</c>, ggml's <c>make_qkx2_quants</c>:
    /// start from the min/max fit, then try <paramref name="nstep"/>+1 scales <c>(rmin + rdelta*i + nmax) / (max - min)</c>,
    /// solving the weighted least-squares scale and min for each level assignment and keeping the one with the lowest
    /// weighted error (absolute with <paramref name="useMad"/>, squared otherwise). The min is never positive.
    /// Returns the scale; <paramref name="theMin"/> receives <c>-min</c> (so it is ≥ 0).
    /// </summary>
    public static float MakeQkx2Quants(int n, int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> levels,
        out float theMin, Span<byte> levelsAux, float rmin, float rdelta, int nstep, bool useMad)
    {
        float min = x[0];
        float max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min)
            {
                min = x[i];
            }

            if (x[i] > max)
            {
                max = x[i];
            }

            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }

        if (min > 0)
        {
            min = 0;
        }

        if (max == min)
        {
            levels[..n].Clear();
            theMin = -min;
            return 0f;
        }

        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int l = QuantBits.NearestInt(iscale * (x[i] - min));
            levels[i] = (byte)Math.Max(0, Math.Min(nmax, l));
            float diff = scale * levels[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }

        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }

        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int l = QuantBits.NearestInt(iscale * (x[i] - min));
                l = Math.Max(0, Math.Min(nmax, l));
                levelsAux[i] = (byte)l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[i];
            }

            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }

                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * levelsAux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }

                if (curError < bestError)
                {
                    levelsAux[..n].CopyTo(levels);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }

        theMin = -min;
        return scale;
    }
}
