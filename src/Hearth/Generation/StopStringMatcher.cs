namespace Hearth.Generation;

/// <summary>
/// Holds back streamed text that might be the start of a stop string, so that a stop string split across tokens is
/// never shown in part. Feed text with <see cref="Push"/>; what it returns is safe to show.
/// </summary>
public sealed class StopStringMatcher
{
    private readonly IReadOnlyList<string> _stops;
    private string _pending = "";

    public StopStringMatcher(IReadOnlyList<string> stops) => _stops = stops;

    /// <summary>True once a stop string has been seen; nothing more should be generated.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Which stop string matched.</summary>
    public string? MatchedStop { get; private set; }

    /// <summary>Adds text and returns the part that can be shown now.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        _pending += text;
        if (_stops.Count == 0)
        {
            var all = _pending;
            _pending = "";
            return all;
        }

        int first = -1;
        foreach (var stop in _stops)
        {
            int i = _pending.IndexOf(stop, StringComparison.Ordinal);
            if (i >= 0 && (first < 0 || i < first))
            {
                first = i;
                MatchedStop = stop;
            }
        }

        if (first >= 0)
        {
            Stopped = true;
            var before = _pending[..first];
            _pending = "";
            return before;
        }

        // Keep the longest tail that is a prefix of some stop string.
        int hold = 0;
        foreach (var stop in _stops)
        {
            for (int len = Math.Min(stop.Length - 1, _pending.Length); len > hold; len--)
            {
                if (_pending.AsSpan(_pending.Length - len).SequenceEqual(stop.AsSpan(0, len)))
                {
                    hold = len;
                    break;
                }
            }
        }

        var ready = _pending[..^hold];
        _pending = _pending[^hold..];
        return ready;
    }

    /// <summary>Returns whatever was held back (generation ended without a stop string).</summary>
    public string Flush()
    {
        var rest = Stopped ? "" : _pending;
        _pending = "";
        return rest;
    }
}
