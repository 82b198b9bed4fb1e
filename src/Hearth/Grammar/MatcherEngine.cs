using System.Numerics;
using System.Runtime.CompilerServices;

namespace Hearth.Grammar;

/// <summary>
/// One pushdown stack, as a persistent linked list: <see cref="Pos"/> is the element on top (a char element when the
/// node is a stack top, a return position otherwise) and <see cref="Parent"/> the rest. Interned by the engine, so
/// equal stacks are usually the same object.
/// </summary>
internal sealed class StackNode(int pos, StackNode? parent, int id)
{
    public readonly int Pos = pos;
    public readonly StackNode? Parent = parent;
    public readonly int Id = id;
}

/// <summary>
/// A matcher state: the set of live stacks (each topped by a char element) and whether the input so far is a complete
/// sentence (the empty stack is in the set). Interned, so a state that recurs (every character of a JSON string body
/// leads back to the same state) is the same object and carries its memoized transitions and cached token mask.
/// </summary>
internal sealed class StackSet
{
    public readonly StackNode[] Stacks; // sorted by Id
    public readonly bool Accepting;
    public readonly int Hash;
    public int Generation;

    // Transitions: code points are cut into intervals over which every top's class answers the same, so every code
    // point of an interval leads to the same next state. Cuts[i] is where interval i starts.
    public int[]? Cuts;
    public StackSet?[]? Next;
    public ulong[]? Subsets; // which stacks matched in interval i (when there are at most 64 stacks)

    // The "benign" successor: the state most code points lead to, and which code points lead there.
    public bool BenignComputed;
    public StackSet? Benign;
    public ulong BenignLo, BenignHi;
    public bool BenignNonAscii;

    // Chain[k]: code points benign in every state of the chain S, Benign(S), Benign(Benign(S)), ... up to k steps.
    public List<(ulong Lo, ulong Hi, bool NonAscii)>? Chain;
    public StackSet? ChainTail; // the state after the last chain entry
    public bool ChainEnded;      // the chain cannot be extended (no benign successor)

    public ulong[]? Mask;  // allowed text tokens by id, when cached
    public int MaskCount;

    public StackSet(StackNode[] stacks, bool accepting, int generation)
    {
        Stacks = stacks;
        Accepting = accepting;
        Generation = generation;
        var h = new HashCode();
        h.Add(accepting);
        foreach (var s in stacks) h.Add(s.Id);
        Hash = h.ToHashCode();
    }

    /// <summary>No stacks and not complete: the input can never be extended to a sentence.</summary>
    public bool IsDead => Stacks.Length == 0 && !Accepting;

    public void ClearCaches(int generation)
    {
        Generation = generation;
        Cuts = null;
        Next = null;
        Subsets = null;
        BenignComputed = false;
        Benign = null;
        Chain = null;
        ChainTail = null;
        ChainEnded = false;
        Mask = null;
        MaskCount = 0;
    }
}

/// <summary>
/// The shared machinery of a matcher and its clones: stack and state interning, memoized transitions, and the token
/// mask computation (a walk of the vocabulary trie with the state, pruning subtrees, with whole subtrees accepted at
/// once when every code point in them keeps the state on its "benign" chain). Caches are bounded; when they grow past
/// their limits they are dropped and rebuilt lazily. Every public entry point of <see cref="GrammarMatcher"/> locks the
/// engine, so clones may be used from different threads.
/// </summary>
internal sealed class MatcherEngine
{
    internal const int DefaultMaxStackNodes = 2_000_000;
    internal const int DefaultMaxStates = 200_000;
    private const int MaxCachedMasks = 256;

    private readonly CompiledGrammar _g;
    private readonly TokenVocabulary _v;
    private readonly Dictionary<(int, StackNode?), StackNode> _nodes = [];
    private readonly Dictionary<StackSet, StackSet> _states = new(StateComparer.Instance);
    private readonly Queue<StackSet> _maskedStates = new();
    private int _nextNodeId = 1;
    private int _generation;

    // Scratch for Advance (the engine is used under a lock, one operation at a time).
    private readonly List<StackNode> _scratchStacks = [];
    private readonly HashSet<(int, StackNode?)> _seen = [];
    private readonly Stack<(int, StackNode?)> _todo = new();
    private ulong[] _orderBits = [];

    private readonly int _maxStackNodes;
    private readonly int _maxStates;

    public MatcherEngine(CompiledGrammar grammar, TokenVocabulary vocabulary, int maxStackNodes = DefaultMaxStackNodes, int maxStates = DefaultMaxStates)
    {
        _g = grammar;
        _v = vocabulary;
        _maxStackNodes = maxStackNodes;
        _maxStates = maxStates;
        Dead = new StackSet([], false, 0);
        _states[Dead] = Dead;
    }

    public CompiledGrammar Grammar => _g;

    public TokenVocabulary Vocabulary => _v;

    public StackSet Dead { get; private set; }

    /// <summary>How many times the caches were dropped (for tests).</summary>
    public int Trims { get; private set; }

    /// <summary>The state before any input: the root rule's alternatives expanded.</summary>
    public StackSet Initial()
    {
        _scratchStacks.Clear();
        _seen.Clear();
        bool accepting = false;
        foreach (int start in _g.RuleStarts[_g.Root]) accepting |= Expand(start, null);
        return Intern(accepting);
    }

    /// <summary>Drops every cache when they have grown past their limits (only between operations).</summary>
    public void Trim()
    {
        if (_nodes.Count <= _maxStackNodes && _states.Count <= _maxStates) return;
        Trims++;
        _generation++;
        _nodes.Clear();
        _states.Clear();
        _maskedStates.Clear();
        Dead = new StackSet([], false, _generation);
        _states[Dead] = Dead;
    }

    // ------------------------------------------------------------------ transitions

    private StackNode Node(int pos, StackNode? parent)
    {
        if (!_nodes.TryGetValue((pos, parent), out var node))
        {
            node = new StackNode(pos, parent, _nextNodeId++);
            _nodes[(pos, parent)] = node;
        }

        return node;
    }

    /// <summary>
    /// Expands the position (pos, parent) until every resulting stack is topped by a char element, adding those to the
    /// scratch list; returns true when the empty stack is reached (the input so far completes the root). Rule references
    /// in tail position do not push a return, so right recursion (x* loops) keeps stacks bounded; the visited set cuts
    /// cycles of tail references.
    /// </summary>
    private bool Expand(int pos, StackNode? parent)
    {
        bool accepting = false;
        _todo.Push((pos, parent));
        while (_todo.Count > 0)
        {
            var item = _todo.Pop();
            if (!_seen.Add(item)) continue;
            var (p, par) = item;
            switch (_g.Kinds[p])
            {
                case CompiledGrammar.KindEnd:
                    if (par is null) accepting = true;
                    else _todo.Push((par.Pos, par.Parent));
                    break;
                case CompiledGrammar.KindChar:
                    _scratchStacks.Add(Node(p, par));
                    break;
                default:
                    var ret = _g.Kinds[p + 1] == CompiledGrammar.KindEnd ? par : Node(p + 1, par);
                    foreach (int start in _g.RuleStarts[_g.Args[p]]) _todo.Push((start, ret));
                    break;
            }
        }

        return accepting;
    }

    private StackSet Intern(bool accepting)
    {
        _scratchStacks.Sort(static (a, b) => a.Id.CompareTo(b.Id));
        int n = 0;
        for (int i = 0; i < _scratchStacks.Count; i++)
        {
            if (n == 0 || !ReferenceEquals(_scratchStacks[n - 1], _scratchStacks[i])) _scratchStacks[n++] = _scratchStacks[i];
        }

        var candidate = new StackSet(_scratchStacks.GetRange(0, n).ToArray(), accepting, _generation);
        if (candidate.IsDead) return Dead;
        if (_states.TryGetValue(candidate, out var existing)) return existing;
        _states[candidate] = candidate;
        return candidate;
    }

    private void Fresh(StackSet s)
    {
        if (s.Generation != _generation) s.ClearCaches(_generation);
    }

    private void EnsureCuts(StackSet s)
    {
        Fresh(s);
        if (s.Cuts is not null) return;
        var cuts = new SortedSet<int> { 0 };
        foreach (var stack in s.Stacks) _g.Classes[_g.Args[stack.Pos]].AddCuts(cuts);
        cuts.Remove(CharSet.MaxCodePoint + 1);
        s.Cuts = cuts.ToArray();
        s.Next = new StackSet?[s.Cuts.Length];
        if (s.Stacks.Length <= 64) s.Subsets = new ulong[s.Cuts.Length];
    }

    private static int IntervalOf(int[] cuts, int cp)
    {
        int lo = 0, hi = cuts.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (cuts[mid] <= cp) lo = mid;
            else hi = mid - 1;
        }

        return lo;
    }

    private static int IntervalEnd(int[] cuts, int i) => i + 1 < cuts.Length ? cuts[i + 1] : CharSet.MaxCodePoint + 1;

    private StackSet IntervalNext(StackSet s, int i)
    {
        var next = s.Next![i];
        if (next is not null) return next;
        int cp = s.Cuts![i];
        if (s.Subsets is { } subsets)
        {
            ulong subset = 0;
            for (int k = 0; k < s.Stacks.Length; k++)
            {
                if (_g.Classes[_g.Args[s.Stacks[k].Pos]].Contains(cp)) subset |= 1UL << k;
            }

            subsets[i] = subset;
            if (subset == 0)
            {
                next = Dead;
            }
            else
            {
                for (int j = 0; j < s.Next.Length; j++)
                {
                    if (j != i && s.Next[j] is { } other && subsets[j] == subset)
                    {
                        next = other;
                        break;
                    }
                }
            }
        }

        next ??= Advance(s, cp);
        s.Next[i] = next;
        return next;
    }

    private StackSet Advance(StackSet s, int cp)
    {
        _scratchStacks.Clear();
        _seen.Clear();
        bool accepting = false;
        foreach (var stack in s.Stacks)
        {
            if (_g.Classes[_g.Args[stack.Pos]].Contains(cp)) accepting |= Expand(stack.Pos + 1, stack.Parent);
        }

        return Intern(accepting);
    }

    /// <summary>The state after code point <paramref name="cp"/> (the dead state when it is not allowed).</summary>
    public StackSet Next(StackSet s, int cp)
    {
        if (s.Stacks.Length == 0) return Dead;
        EnsureCuts(s);
        return IntervalNext(s, IntervalOf(s.Cuts!, cp));
    }

    /// <summary>True when some code point in [lo, hi] is allowed in state <paramref name="s"/>.</summary>
    public bool CanStartInRange(StackSet s, int lo, int hi)
    {
        if (s.Stacks.Length == 0) return false;
        EnsureCuts(s);
        var cuts = s.Cuts!;
        for (int i = IntervalOf(cuts, lo); i < cuts.Length && cuts[i] <= hi; i++)
        {
            if (!IntervalNext(s, i).IsDead) return true;
        }

        return false;
    }

    /// <summary>
    /// Feeds bytes from state (s, partial). Returns false, leaving the outputs unspecified, when a byte breaks UTF-8 or
    /// the grammar, or when the bytes end in an unfinished character no allowed code point can complete.
    /// </summary>
    public bool TryFeed(ReadOnlySpan<byte> bytes, ref StackSet s, ref Utf8Partial partial)
    {
        foreach (byte b in bytes)
        {
            if (partial.IsPending)
            {
                if (!partial.TryAppend(b, out partial)) return false;
                if (partial.IsPending) continue;
                s = Next(s, partial.Value);
                partial = default;
            }
            else if (b < 0x80)
            {
                s = Next(s, b);
            }
            else
            {
                if (!Utf8Partial.TryStart(b, out partial)) return false;
                continue;
            }

            if (s.IsDead) return false;
        }

        return !partial.IsPending || CanStartInRange(s, partial.Lo, partial.Hi);
    }

    // ------------------------------------------------------------------ benign chains

    private void EnsureBenign(StackSet s)
    {
        EnsureCuts(s);
        if (s.BenignComputed) return;
        s.BenignComputed = true;
        if (s.Stacks.Length == 0) return;
        var cuts = s.Cuts!;

        // The candidate: where non-ASCII code points go, else the ASCII successor covering most code points.
        StackSet? benign = null;
        int nonAscii = IntervalOf(cuts, 0x80);
        var t = IntervalNext(s, nonAscii);
        if (!t.IsDead)
        {
            benign = t;
        }
        else
        {
            int best = 0;
            for (int i = 0; i < cuts.Length && cuts[i] < 0x80; i++)
            {
                var r = IntervalNext(s, i);
                int width = Math.Min(IntervalEnd(cuts, i), 0x80) - cuts[i];
                if (!r.IsDead && width > best)
                {
                    best = width;
                    benign = r;
                }
            }
        }

        if (benign is null) return;
        s.Benign = benign;
        ulong lo = 0, hi = 0;
        for (int i = 0; i < cuts.Length && cuts[i] < 0x80; i++)
        {
            if (!ReferenceEquals(IntervalNext(s, i), benign)) continue;
            int end = Math.Min(IntervalEnd(cuts, i), 0x80);
            for (int c = cuts[i]; c < end; c++)
            {
                if (c < 64) lo |= 1UL << c;
                else hi |= 1UL << (c - 64);
            }
        }

        bool all = true;
        for (int i = nonAscii; i < cuts.Length; i++)
        {
            int start = Math.Max(cuts[i], 0x80), end = IntervalEnd(cuts, i);
            if (start >= 0xD800 && end <= 0xE000) continue; // surrogates never occur
            if (!ReferenceEquals(IntervalNext(s, i), benign))
            {
                all = false;
                break;
            }
        }

        s.BenignLo = lo;
        s.BenignHi = hi;
        s.BenignNonAscii = all;
    }

    /// <summary>
    /// The code points that are benign in every state of the chain starting at <paramref name="s"/> for
    /// <paramref name="k"/> + 1 states: a trie subtree of height ≤ k + 1 using only these code points is accepted whole.
    /// </summary>
    private (ulong Lo, ulong Hi, bool NonAscii) ChainMask(StackSet s, int k)
    {
        Fresh(s);
        if (s.Chain is null)
        {
            EnsureBenign(s);
            s.Chain = [(s.BenignLo, s.BenignHi, s.BenignNonAscii)];
            s.ChainTail = s.Benign;
            s.ChainEnded = s.Benign is null;
        }

        var chain = s.Chain;
        if (ReferenceEquals(s.Benign, s)) return chain[0]; // a fixed point: the chain is constant
        while (chain.Count <= k)
        {
            if (s.ChainEnded || s.ChainTail is null) return (0, 0, false);
            var tail = s.ChainTail;
            Fresh(tail);
            EnsureBenign(tail);
            var last = chain[^1];
            var entry = (last.Lo & tail.BenignLo, last.Hi & tail.BenignHi, last.NonAscii && tail.BenignNonAscii);
            chain.Add(entry);
            if (tail.Benign is null || (entry.Item1 == 0 && entry.Item2 == 0 && !entry.Item3)) s.ChainEnded = true;
            s.ChainTail = tail.Benign;
            if (ReferenceEquals(tail.Benign, tail))
            {
                // From here on the chain repeats the fixed point: extend without walking further.
                while (chain.Count <= k) chain.Add(entry);
            }
        }

        return chain[k];
    }

    private bool SubtreeBenign(StackSet s, int node)
    {
        int height = _v.NodeHeight[node];
        bool partial = (_v.NodeFlags[node] & TokenVocabulary.FlagPartial) != 0;
        int k = partial ? height : height - 1;
        if (k < 0) return true;
        var (lo, hi, nonAscii) = ChainMask(s, k);
        if ((_v.NodeAsciiLo[node] & ~lo) != 0 || (_v.NodeAsciiHi[node] & ~hi) != 0) return false;
        if ((_v.NodeFlags[node] & (TokenVocabulary.FlagNonAscii | TokenVocabulary.FlagPartial)) != 0 && !nonAscii) return false;
        return true;
    }

    // ------------------------------------------------------------------ masks

    /// <summary>
    /// The text tokens allowed in state <paramref name="s"/> (no character pending), as a bit set over token ids, and
    /// how many there are. Cached on the state.
    /// </summary>
    public (ulong[] Mask, int Count) TextMask(StackSet s)
    {
        Fresh(s);
        if (s.Mask is not null) return (s.Mask, s.MaskCount);
        int n = _v.Order.Length;
        int words = (n + 63) >> 6;
        if (_orderBits.Length != words) _orderBits = new ulong[words];
        else Array.Clear(_orderBits);
        if (s.Stacks.Length > 0 && _v.NodeStart.Length > 0) Walk(0, s);

        var mask = new ulong[(_v.Count + 63) >> 6];
        int count = 0;
        var order = _v.Order;
        for (int w = 0; w < words; w++)
        {
            ulong bits = _orderBits[w];
            count += BitOperations.PopCount(bits);
            while (bits != 0)
            {
                int o = (w << 6) + BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                int id = order[o];
                mask[id >> 6] |= 1UL << id;
            }
        }

        s.Mask = mask;
        s.MaskCount = count;
        _maskedStates.Enqueue(s);
        if (_maskedStates.Count > MaxCachedMasks)
        {
            var old = _maskedStates.Dequeue();
            old.Mask = null;
            old.MaskCount = 0;
        }

        return (mask, count);
    }

    private void Walk(int node, StackSet s)
    {
        var v = _v;
        SetRange(v.NodeStart[node], v.NodeExactEnd[node]);
        for (int o = v.NodeExactEnd[node]; o < v.NodePartialEnd[node]; o++)
        {
            if (CanStartInRange(s, v.PartialLo[o], v.PartialHi[o])) _orderBits[o >> 6] |= 1UL << o;
        }

        int e = v.NodeFirstEdge[node];
        int edgeEnd = e + v.NodeEdgeCount[node];
        if (e == edgeEnd || s.Stacks.Length == 0) return;
        EnsureCuts(s);
        var cuts = s.Cuts!;
        var edgeCps = v.EdgeCodePoint;
        while (e < edgeEnd)
        {
            int i = IntervalOf(cuts, edgeCps[e]);
            int intervalEnd = IntervalEnd(cuts, i);
            // The edges whose code points fall in this interval all lead to the same state.
            int runEnd = e + 1;
            if (runEnd < edgeEnd && edgeCps[runEnd] < intervalEnd)
            {
                runEnd = LowerBound(edgeCps, runEnd, edgeEnd, intervalEnd);
            }

            var next = IntervalNext(s, i);
            if (!next.IsDead)
            {
                for (int k = e; k < runEnd; k++)
                {
                    int child = v.EdgeChild[k];
                    if (next.Stacks.Length > 0 && SubtreeBenign(next, child))
                    {
                        SetRange(v.NodeStart[child], v.NodeEnd[child]);
                    }
                    else
                    {
                        Walk(child, next);
                    }
                }
            }

            e = runEnd;
        }
    }

    private static int LowerBound(int[] values, int from, int to, int value)
    {
        int lo = from, hi = to;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (values[mid] < value) lo = mid + 1;
            else hi = mid;
        }

        return lo;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void SetRange(int from, int to)
    {
        if (from >= to) return;
        int first = from >> 6, last = (to - 1) >> 6;
        ulong headMask = ~0UL << (from & 63);
        ulong tailMask = ~0UL >> (63 - ((to - 1) & 63));
        if (first == last)
        {
            _orderBits[first] |= headMask & tailMask;
            return;
        }

        _orderBits[first] |= headMask;
        for (int w = first + 1; w < last; w++) _orderBits[w] = ~0UL;
        _orderBits[last] |= tailMask;
    }

    private sealed class StateComparer : IEqualityComparer<StackSet>
    {
        public static readonly StateComparer Instance = new();

        public bool Equals(StackSet? x, StackSet? y)
        {
            if (ReferenceEquals(x, y)) return true;
            if (x is null || y is null || x.Hash != y.Hash || x.Accepting != y.Accepting || x.Stacks.Length != y.Stacks.Length) return false;
            for (int i = 0; i < x.Stacks.Length; i++)
            {
                if (!ReferenceEquals(x.Stacks[i], y.Stacks[i])) return false;
            }

            return true;
        }

        public int GetHashCode(StackSet obj) => obj.Hash;
    }
}
