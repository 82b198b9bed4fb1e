using Hearth.Generation;

namespace Hearth.Sensors.Slm;

/// <summary>
/// The saved prompt prefixes of one model (keys and values of a check's constant part, see
/// <see cref="EngineSlmOptions.CachedPrefixes"/>), at most <c>capacity</c> of them: saving one more drops the least
/// recently used. Entries are found by their tokens, so checks whose prompts start alike share one. Not thread-safe: its
/// model's gate guards it.
/// </summary>
internal sealed class SlmPrefixCache(int capacity)
{
    // Most recently used first.
    private readonly LinkedList<PromptPrefix> _entries = new();

    /// <summary>Prefixes held.</summary>
    public int Count => _entries.Count;

    /// <summary>Bytes their keys and values take.</summary>
    public long Bytes { get; private set; }

    /// <summary>The saved prefix that shares the most leading tokens with <paramref name="tokens"/>, and how many (the
    /// most recently used wins a tie); (null, 0) when none shares any. The one found counts as used.</summary>
    public (PromptPrefix? Prefix, int Length) Longest(ReadOnlySpan<int> tokens)
    {
        LinkedListNode<PromptPrefix>? best = null;
        int length = 0;
        for (var node = _entries.First; node != null; node = node.Next)
        {
            int n = node.Value.Tokens.CommonPrefixLength(tokens);
            if (n > length) (best, length) = (node, n);
        }

        if (best == null) return (null, 0);
        _entries.Remove(best);
        _entries.AddFirst(best);
        return (best.Value, length);
    }

    /// <summary>True when a saved prefix starts with all of <paramref name="tokens"/>.</summary>
    public bool Covers(ReadOnlySpan<int> tokens)
    {
        foreach (var prefix in _entries)
        {
            if (prefix.Tokens.StartsWith(tokens)) return true;
        }

        return false;
    }

    /// <summary>Keeps <paramref name="prefix"/> as the most recently used, dropping the least recently used beyond the
    /// capacity.</summary>
    public void Add(PromptPrefix prefix)
    {
        _entries.AddFirst(prefix);
        Bytes += prefix.ByteSize;
        while (_entries.Count > capacity)
        {
            Bytes -= _entries.Last!.Value.ByteSize;
            _entries.RemoveLast();
        }
    }

    public void Clear()
    {
        _entries.Clear();
        Bytes = 0;
    }
}
