using System.Globalization;
using Hearth.Gguf;
using Hearth.Models;

namespace Hearth.Planning;

/// <summary>How <see cref="FitMeasurement.Run"/> exercises the model before reading the resident set.</summary>
public sealed record FitMeasureOptions
{
    /// <summary>Tokens generated one at a time after the prompt (each reads every weight).</summary>
    public int DecodeTokens { get; init; } = 4;

    /// <summary>
    /// When true, every sequence really runs its whole context (a prompt of context − <see cref="DecodeTokens"/> tokens,
    /// then the decode): slow for long contexts. When false (the default), each sequence runs one full batch of prompt and
    /// the decode tokens, and the rest of its KV cache is made resident by writing zeros to it, which is the memory state
    /// a full-context run ends in.
    /// </summary>
    public bool FillContext { get; init; }
}

/// <summary>
/// The planner's estimate next to the resident set of this process after running the model as planned: the model
/// loaded, <see cref="FitEstimate.Parallel"/> sequences created, each run through a prompt batch and a few decoded tokens,
/// and every KV cache entirely resident (see <see cref="FitMeasureOptions.FillContext"/>).
/// </summary>
/// <param name="Estimate">The planner's estimate for the same file and options.</param>
/// <param name="BaselineBytes">The resident set before the model was loaded (the runtime as it started).</param>
/// <param name="ResidentBytes">The resident set after the run (<see cref="Environment.WorkingSet"/>).</param>
/// <param name="MappedFileResidentBytes">Resident bytes of the model file's mapping, from <c>/proc/self/smaps</c>; null where
/// that is not available.</param>
/// <param name="PositionsRun">Positions each sequence actually computed (prompt and decode).</param>
/// <param name="ContextFilled">True when every sequence computed its whole context rather than having its cache
/// written with zeros.</param>
public sealed record FitMeasurement(FitEstimate Estimate, long BaselineBytes, long ResidentBytes, long? MappedFileResidentBytes, int PositionsRun, bool ContextFilled)
{
    /// <summary>(estimate − measured) / measured.</summary>
    public double RelativeError => (Estimate.TotalBytes - ResidentBytes) / (double)ResidentBytes;

    /// <summary>estimate / measured.</summary>
    public double Ratio => Estimate.TotalBytes / (double)ResidentBytes;

    /// <summary>
    /// Loads <paramref name="path"/>, runs it as <paramref name="options"/> plan and measures the resident set. Run it in
    /// a fresh process: whatever the process already holds counts too (<see cref="BaselineBytes"/> says how much that was).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range, or the context is too short for the decode tokens.</exception>
    /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The model cannot be loaded.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static FitMeasurement Run(string path, FitOptions? options = null, FitMeasureOptions? measure = null, CancellationToken cancellation = default)
    {
        options ??= new FitOptions();
        measure ??= new FitMeasureOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(measure.DecodeTokens);
        // Checked before anything is loaded; the estimate itself is made from the loaded model's file after the
        // measurement, so that parsing the file twice does not count.
        _ = FitPlanner.Check(options);
        long baseline = Environment.WorkingSet;
        using var model = LanguageModel.Load(path, new ModelLoadOptions { Context = options.Context, Threads = options.Threads });
        int context = model.Context;
        if (context <= measure.DecodeTokens)
            throw new ArgumentOutOfRangeException(nameof(options), $"context {context} leaves no room for a prompt before {measure.DecodeTokens} decoded tokens");

        int parallel = options.Parallel;
        int vocab = model.Transformer.VocabSize;
        int promptLength = measure.FillContext ? context - measure.DecodeTokens : Math.Min(options.BatchSize, context - measure.DecodeTokens);
        var prompt = new int[promptLength];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = (int)((i * 7919L + 11) % vocab);

        var states = new InferenceState[parallel];
        var logits = new float[parallel][];
        for (int s = 0; s < states.Length; s++)
        {
            states[s] = model.CreateState(context, options.CacheType, options.BatchSize);
            logits[s] = new float[vocab];
        }

        for (int s = 0; s < states.Length; s++)
        {
            cancellation.ThrowIfCancellationRequested();
            var state = states[s];
            model.Transformer.Forward(state, prompt, logits[s], allLogits: false, model.Pool);
            for (int d = 0; d < measure.DecodeTokens; d++)
            {
                cancellation.ThrowIfCancellationRequested();
                int next = ArgMax(logits[s]);
                model.Transformer.Forward(state, [next], logits[s], allLogits: false, model.Pool);
            }

            if (!measure.FillContext) state.Cache.TouchFrom(state.Position);
        }

        long resident = Environment.WorkingSet;
        long? mapped = MappedResident(model.File.Path);
        GC.KeepAlive(states);
        GC.KeepAlive(logits);
        var estimate = FitPlanner.Estimate(model.File, options with { Context = context });
        return new FitMeasurement(estimate, baseline, resident, mapped, promptLength + measure.DecodeTokens, measure.FillContext);
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }

        return best;
    }

    /// <summary>Sum of the <c>Rss:</c> lines of the mappings of <paramref name="path"/> in <c>/proc/self/smaps</c>, or null.</summary>
    private static long? MappedResident(string path)
    {
        const string smaps = "/proc/self/smaps";
        if (!OperatingSystem.IsLinux() || !File.Exists(smaps)) return null;
        var full = Path.GetFullPath(path);
        long kib = 0;
        bool inside = false, found = false;
        try
        {
            foreach (var line in File.ReadLines(smaps))
            {
                // A mapping header: "start-end perms offset dev inode   path"; attribute lines are "Name:   value kB".
                var first = line.AsSpan(0, Math.Max(0, line.IndexOf(' ')));
                if (first.Contains('-') && !first.EndsWith(":"))
                {
                    inside = line.EndsWith(full, StringComparison.Ordinal);
                    found |= inside;
                }
                else if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long v)) kib += v;
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        return found ? kib * 1024 : null;
    }
}
