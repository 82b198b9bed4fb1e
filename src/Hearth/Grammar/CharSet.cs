namespace Hearth.Grammar;

/// <summary>
/// An immutable set of Unicode code points stored as sorted, disjoint, non-adjacent inclusive ranges. What a grammar
/// terminal (a literal character, a character class, <c>.</c>) matches.
/// </summary>
internal sealed class CharSet : IEquatable<CharSet>
{
    /// <summary>Largest Unicode code point.</summary>
    public const int MaxCodePoint = 0x10FFFF;

    // Flattened pairs: [lo0, hi0, lo1, hi1, ...], lo ascending, ranges disjoint and not touching.
    private readonly int[] _bounds;
    private readonly int _hash;

    private CharSet(int[] bounds)
    {
        _bounds = bounds;
        var h = new HashCode();
        foreach (int b in bounds) h.Add(b);
        _hash = h.ToHashCode();
    }

    public static readonly CharSet Empty = new([]);

    public static readonly CharSet All = new([0, MaxCodePoint]);

    /// <summary>Number of ranges.</summary>
    public int RangeCount => _bounds.Length / 2;

    public int Lo(int range) => _bounds[2 * range];

    public int Hi(int range) => _bounds[2 * range + 1];

    public bool IsEmpty => _bounds.Length == 0;

    public static CharSet Single(int cp) => new([cp, cp]);

    /// <summary>The union of the given inclusive ranges (in any order, overlapping or not).</summary>
    public static CharSet FromRanges(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var list = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var bounds = new List<int>(list.Count * 2);
        foreach (var (lo, hi) in list)
        {
            if (bounds.Count > 0 && lo <= bounds[^1] + 1)
            {
                if (hi > bounds[^1]) bounds[^1] = hi;
            }
            else
            {
                bounds.Add(lo);
                bounds.Add(hi);
            }
        }

        return new CharSet(bounds.ToArray());
    }

    public IEnumerable<(int Lo, int Hi)> Ranges()
    {
        for (int i = 0; i < _bounds.Length; i += 2) yield return (_bounds[i], _bounds[i + 1]);
    }

    /// <summary>Every code point in [0, 0x10FFFF] not in this set.</summary>
    public CharSet Complement()
    {
        var result = new List<int>(_bounds.Length + 2);
        int next = 0;
        for (int i = 0; i < _bounds.Length; i += 2)
        {
            if (_bounds[i] > next)
            {
                result.Add(next);
                result.Add(_bounds[i] - 1);
            }

            next = _bounds[i + 1] + 1;
        }

        if (next <= MaxCodePoint)
        {
            result.Add(next);
            result.Add(MaxCodePoint);
        }

        return new CharSet(result.ToArray());
    }

    public CharSet Union(CharSet other) => FromRanges(Ranges().Concat(other.Ranges()));

    public CharSet Intersect(CharSet other) => Complement().Union(other.Complement()).Complement();

    public CharSet Except(CharSet other) => Intersect(other.Complement());

    public bool Contains(int cp)
    {
        // Binary search for the last range with lo <= cp.
        int lo = 0, hi = _bounds.Length / 2 - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_bounds[2 * mid] <= cp)
            {
                if (cp <= _bounds[2 * mid + 1]) return true;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return false;
    }

    /// <summary>True when some code point in [lo, hi] is in the set.</summary>
    public bool Intersects(int lo, int hi)
    {
        for (int i = 0; i < _bounds.Length; i += 2)
        {
            if (_bounds[i] > hi) return false;
            if (_bounds[i + 1] >= lo) return true;
        }

        return false;
    }

    /// <summary>Adds every range boundary (each lo and hi + 1) to <paramref name="cuts"/>.</summary>
    public void AddCuts(SortedSet<int> cuts)
    {
        for (int i = 0; i < _bounds.Length; i += 2)
        {
            cuts.Add(_bounds[i]);
            cuts.Add(_bounds[i + 1] + 1);
        }
    }

    public bool Equals(CharSet? other) => other is not null && _bounds.AsSpan().SequenceEqual(other._bounds);

    public override bool Equals(object? obj) => Equals(obj as CharSet);

    public override int GetHashCode() => _hash;
}
