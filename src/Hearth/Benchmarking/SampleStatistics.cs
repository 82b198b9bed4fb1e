using System.Globalization;

namespace Hearth.Benchmarking;

/// <summary>Summary of repeated measurements.</summary>
/// <param name="Count">Number of samples.</param>
/// <param name="Mean">Arithmetic mean.</param>
/// <param name="StandardDeviation">Sample standard deviation (divisor n − 1, as llama-bench reports it); 0 for one sample.</param>
/// <param name="Min">Smallest sample.</param>
/// <param name="Max">Largest sample.</param>
public readonly record struct SampleStatistics(int Count, double Mean, double StandardDeviation, double Min, double Max)
{
    /// <summary>Summarises <paramref name="samples"/>.</summary>
    /// <exception cref="ArgumentException">There are no samples, or one is not finite.</exception>
    public static SampleStatistics Of(IReadOnlyList<double> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("no samples to summarise", nameof(samples));
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var x in samples)
        {
            if (!double.IsFinite(x)) throw new ArgumentException($"sample {x.ToString(CultureInfo.InvariantCulture)} is not finite", nameof(samples));
            sum += x;
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }

        double mean = sum / samples.Count;
        double squares = 0;
        foreach (var x in samples) squares += (x - mean) * (x - mean);
        double sd = samples.Count > 1 ? Math.Sqrt(squares / (samples.Count - 1)) : 0;
        return new SampleStatistics(samples.Count, mean, sd, min, max);
    }

    /// <summary><c>mean ± sd</c> with <paramref name="decimals"/> decimals.</summary>
    public string Format(int decimals = 2) =>
        Mean.ToString("F" + decimals, CultureInfo.InvariantCulture) + " ± " + StandardDeviation.ToString("F" + decimals, CultureInfo.InvariantCulture);
}
