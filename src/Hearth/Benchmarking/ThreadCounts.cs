using System.Globalization;

namespace Hearth.Benchmarking;

/// <summary>Lists of thread counts as benchmarks take them: <c>1,2,4</c>, ranges <c>1-4</c>, or both (<c>1,4-6</c>).</summary>
public static class ThreadCounts
{
    /// <summary>The most threads a benchmark may ask for.</summary>
    public const int Max = 1024;

    /// <summary>Parses a thread list, keeping the order given.</summary>
    /// <exception cref="ArgumentException">The text is empty, an entry is not a number or range, a count is outside 1..1024, or a count repeats.</exception>
    public static int[] Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.All(p => p.Length == 0)) throw new ArgumentException("give at least one thread count, e.g. 1,2 or 1-4");
        var result = new List<int>();
        foreach (var part in parts)
        {
            if (part.Length == 0) throw new ArgumentException($"'{text}' has an empty entry");
            int dash = part.IndexOf('-', 1);
            if (dash > 0)
            {
                int lo = Number(part[..dash], text), hi = Number(part[(dash + 1)..], text);
                if (hi < lo) throw new ArgumentException($"range '{part}' runs backwards");
                for (int t = lo; t <= hi; t++) Add(result, t, text);
            }
            else
            {
                Add(result, Number(part, text), text);
            }
        }

        return result.ToArray();
    }

    /// <summary>1, 2, ..., <paramref name="max"/>.</summary>
    public static int[] UpTo(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, Max);
        return Enumerable.Range(1, max).ToArray();
    }

    /// <summary>Checks a list given in code.</summary>
    /// <exception cref="ArgumentException">The list is empty, a count is outside 1..1024, or a count repeats.</exception>
    public static void Validate(IReadOnlyList<int> threads, string what = "threads")
    {
        ArgumentNullException.ThrowIfNull(threads);
        if (threads.Count == 0) throw new ArgumentException($"{what}: give at least one thread count");
        var seen = new HashSet<int>();
        foreach (int t in threads)
        {
            if (t is < 1 or > Max) throw new ArgumentException($"{what}: thread count {t} is outside 1..{Max}");
            if (!seen.Add(t)) throw new ArgumentException($"{what}: thread count {t} is listed twice");
        }
    }

    private static int Number(string s, string text) =>
        int.TryParse(s.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int n)
            ? n
            : throw new ArgumentException($"'{s.Trim()}' in '{text}' is not a thread count");

    private static void Add(List<int> list, int t, string text)
    {
        if (t is < 1 or > Max) throw new ArgumentException($"thread count {t} in '{text}' is outside 1..{Max}");
        if (list.Contains(t)) throw new ArgumentException($"thread count {t} appears twice in '{text}'");
        list.Add(t);
    }
}
