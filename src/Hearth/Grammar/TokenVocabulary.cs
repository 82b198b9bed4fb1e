using Hearth.Tokenizers;

namespace Hearth.Grammar;

/// <summary>
/// What grammar matching needs to know about every token of a vocabulary, computed once per model and shared by all
/// matchers (immutable, thread-safe): each token's bytes decoded into code points, the end-of-generation set, and a
/// trie of the tokens by code point that mask computation walks with the grammar state, pruning subtrees the grammar
/// cannot accept.
/// </summary>
/// <remarks>
/// Token classes: end-of-generation tokens (allowed only where the grammar can be complete); text tokens, whose bytes
/// are well-formed UTF-8 that may end in the middle of a character; continuation tokens, whose bytes start with UTF-8
/// continuation bytes and so can only follow a token that ended mid-character; and tokens that are never allowed under
/// a grammar: control, unknown and unused tokens that do not end generation, tokens with no text, and tokens whose
/// bytes are not UTF-8 in any context.
/// </remarks>
public sealed class TokenVocabulary
{
    internal const byte KindNever = 0;
    internal const byte KindEndOfGeneration = 1;
    internal const byte KindText = 2;
    internal const byte KindContinuation = 3;

    internal const byte FlagNonAscii = 1;
    internal const byte FlagPartial = 2;

    private readonly byte[][] _bytes;

    private TokenVocabulary(byte[][] bytes, byte[] kinds)
    {
        _bytes = bytes;
        Kinds = kinds;
        var texts = new List<(int Id, int[] CodePoints, bool Partial, int Lo, int Hi)>();
        var continuation = new List<int>();
        for (int id = 0; id < bytes.Length; id++)
        {
            if (kinds[id] == KindEndOfGeneration)
            {
                EndOfGenerationTokens.Add(id);
                continue;
            }

            if (kinds[id] != KindText) continue;
            var b = bytes[id];
            if (b.Length == 0)
            {
                kinds[id] = KindNever;
                continue;
            }

            if (Utf8Partial.IsContinuation(b[0]))
            {
                kinds[id] = KindContinuation;
                continuation.Add(id);
                continue;
            }

            if (!TryDecode(b, out var cps, out var partial))
            {
                kinds[id] = KindNever;
                continue;
            }

            texts.Add((id, cps, partial.IsPending, partial.Lo, partial.Hi));
        }

        ContinuationTokens = continuation.ToArray();
        BuildTrie(texts);
    }

    /// <summary>Number of tokens; ids are 0 to Count - 1.</summary>
    public int Count => _bytes.Length;

    /// <summary>Number of tokens that can appear inside grammar-constrained text (text and continuation tokens).</summary>
    public int TextTokenCount => Order.Length + ContinuationTokens.Length;

    internal byte[] Kinds { get; }

    internal List<int> EndOfGenerationTokens { get; } = [];

    internal int[] ContinuationTokens { get; }

    // ---- trie (nodes in depth-first order; node 0 is the root) ----

    /// <summary>Text token ids in depth-first trie order: a node's tokens are a contiguous range of this array.</summary>
    internal int[] Order { get; private set; } = [];

    /// <summary>For an order position holding a token that ends mid-character: the code points it can still become.</summary>
    internal int[] PartialLo { get; private set; } = [];

    internal int[] PartialHi { get; private set; } = [];

    /// <summary>Order range of the node's subtree: [NodeStart, NodeEnd). Tokens ending exactly at the node come first,
    /// [NodeStart, NodeExactEnd); then the node's tokens ending mid-character, [NodeExactEnd, NodePartialEnd).</summary>
    internal int[] NodeStart { get; private set; } = [];

    internal int[] NodeExactEnd { get; private set; } = [];

    internal int[] NodePartialEnd { get; private set; } = [];

    internal int[] NodeEnd { get; private set; } = [];

    /// <summary>The node's child edges are [NodeFirstEdge, NodeFirstEdge + NodeEdgeCount), sorted by code point.</summary>
    internal int[] NodeFirstEdge { get; private set; } = [];

    internal int[] NodeEdgeCount { get; private set; } = [];

    /// <summary>Longest path (in edges) below the node.</summary>
    internal int[] NodeHeight { get; private set; } = [];

    /// <summary>The ASCII code points on edges below the node (bit c of Lo for c &lt; 64, of Hi for 64 ≤ c &lt; 128).</summary>
    internal ulong[] NodeAsciiLo { get; private set; } = [];

    internal ulong[] NodeAsciiHi { get; private set; } = [];

    /// <summary><see cref="FlagNonAscii"/>: some edge below is non-ASCII; <see cref="FlagPartial"/>: some token in the
    /// subtree ends mid-character.</summary>
    internal byte[] NodeFlags { get; private set; } = [];

    internal int[] EdgeCodePoint { get; private set; } = [];

    internal int[] EdgeChild { get; private set; } = [];

    /// <summary>The bytes token <paramref name="id"/> contributes to the text (empty for tokens with no text).</summary>
    public ReadOnlySpan<byte> TokenBytes(int id)
    {
        if ((uint)id >= (uint)_bytes.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id must be in [0, {_bytes.Length})");
        return _bytes[id];
    }

    /// <summary>True when <paramref name="id"/> ends generation (allowed under a grammar only where it can be complete).</summary>
    public bool IsEndOfGeneration(int id) => (uint)id < (uint)Kinds.Length && Kinds[id] == KindEndOfGeneration;

    /// <summary>
    /// Precomputes the vocabulary of <paramref name="tokenizer"/>. A token's text is its piece without special-token
    /// text (<see cref="Tokenizer.TokenBytes"/> with special = false), which is what the streaming decoder emits.
    /// </summary>
    public static TokenVocabulary FromTokenizer(Tokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        int n = tokenizer.VocabSize;
        var bytes = new byte[n][];
        var kinds = new byte[n];
        for (int id = 0; id < n; id++)
        {
            if (tokenizer.IsEndOfGeneration(id))
            {
                bytes[id] = [];
                kinds[id] = KindEndOfGeneration;
                continue;
            }

            var attributes = tokenizer.GetTokenAttributes(id);
            if ((attributes & (TokenAttributes.Control | TokenAttributes.Unknown | TokenAttributes.Unused)) != 0)
            {
                bytes[id] = [];
                kinds[id] = KindNever;
                continue;
            }

            bytes[id] = tokenizer.TokenBytes(id, special: false);
            kinds[id] = KindText;
        }

        return new TokenVocabulary(bytes, kinds);
    }

    /// <summary>
    /// A vocabulary from raw token bytes (tests, synthetic vocabularies). Tokens listed in
    /// <paramref name="endOfGeneration"/> end generation; empty tokens are never allowed.
    /// </summary>
    public static TokenVocabulary FromTokens(IReadOnlyList<byte[]> tokens, IEnumerable<int> endOfGeneration)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(endOfGeneration);
        var bytes = new byte[tokens.Count][];
        var kinds = new byte[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
        {
            bytes[i] = (tokens[i] ?? throw new ArgumentException($"token {i} is null", nameof(tokens))).ToArray();
            kinds[i] = KindText;
        }

        foreach (int id in endOfGeneration)
        {
            if ((uint)id >= (uint)tokens.Count) throw new ArgumentOutOfRangeException(nameof(endOfGeneration), id, "end-of-generation id is not a token");
            kinds[id] = KindEndOfGeneration;
            bytes[id] = [];
        }

        return new TokenVocabulary(bytes, kinds);
    }

    /// <summary>Decodes well-formed UTF-8 that may end in an unfinished character.</summary>
    internal static bool TryDecode(ReadOnlySpan<byte> bytes, out int[] codePoints, out Utf8Partial partial)
    {
        var cps = new List<int>(bytes.Length);
        partial = default;
        foreach (byte b in bytes)
        {
            if (partial.IsPending)
            {
                if (!partial.TryAppend(b, out partial))
                {
                    codePoints = [];
                    return false;
                }

                if (!partial.IsPending) cps.Add(partial.Value);
            }
            else if (b < 0x80)
            {
                cps.Add(b);
            }
            else if (!Utf8Partial.TryStart(b, out partial))
            {
                codePoints = [];
                return false;
            }
        }

        codePoints = cps.ToArray();
        return true;
    }

    private void BuildTrie(List<(int Id, int[] CodePoints, bool Partial, int Lo, int Hi)> tokens)
    {
        tokens.Sort((a, b) =>
        {
            int n = Math.Min(a.CodePoints.Length, b.CodePoints.Length);
            for (int i = 0; i < n; i++)
            {
                int c = a.CodePoints[i].CompareTo(b.CodePoints[i]);
                if (c != 0) return c;
            }

            int byLength = a.CodePoints.Length.CompareTo(b.CodePoints.Length);
            if (byLength != 0) return byLength;
            int byPartial = a.Partial.CompareTo(b.Partial);
            if (byPartial != 0) return byPartial;
            int byLo = a.Lo.CompareTo(b.Lo);
            return byLo != 0 ? byLo : a.Id.CompareTo(b.Id);
        });

        int count = tokens.Count;
        Order = new int[count];
        PartialLo = new int[count];
        PartialHi = new int[count];
        for (int i = 0; i < count; i++)
        {
            Order[i] = tokens[i].Id;
            PartialLo[i] = tokens[i].Lo;
            PartialHi[i] = tokens[i].Hi;
        }

        var start = new List<int>();
        var exactEnd = new List<int>();
        var partialEnd = new List<int>();
        var end = new List<int>();
        var firstEdge = new List<int>();
        var edgeCount = new List<int>();
        var height = new List<int>();
        var asciiLo = new List<ulong>();
        var asciiHi = new List<ulong>();
        var flags = new List<byte>();
        var edgeCp = new List<int>();
        var edgeChild = new List<int>();

        // Nodes are created depth-first; a node's edges are reserved as one block when the node is expanded.
        int Build(int from, int to, int depth)
        {
            int node = start.Count;
            start.Add(from);
            exactEnd.Add(0);
            partialEnd.Add(0);
            end.Add(to);
            firstEdge.Add(0);
            edgeCount.Add(0);
            height.Add(0);
            asciiLo.Add(0);
            asciiHi.Add(0);
            flags.Add(0);

            int i = from;
            while (i < to && tokens[i].CodePoints.Length == depth && !tokens[i].Partial) i++;
            exactEnd[node] = i;
            bool partialHere = false;
            while (i < to && tokens[i].CodePoints.Length == depth)
            {
                partialHere = true;
                i++;
            }

            partialEnd[node] = i;

            // Group the rest by the next code point.
            var groups = new List<(int Cp, int From, int To)>();
            while (i < to)
            {
                int cp = tokens[i].CodePoints[depth];
                int j = i + 1;
                while (j < to && tokens[j].CodePoints[depth] == cp) j++;
                groups.Add((cp, i, j));
                i = j;
            }

            int edgeBase = edgeCp.Count;
            firstEdge[node] = edgeBase;
            edgeCount[node] = groups.Count;
            foreach (var g in groups)
            {
                edgeCp.Add(g.Cp);
                edgeChild.Add(-1);
            }

            ulong lo = 0, hi = 0;
            byte f = partialHere ? FlagPartial : (byte)0;
            int h = 0;
            for (int k = 0; k < groups.Count; k++)
            {
                var (cp, gFrom, gTo) = groups[k];
                int child = Build(gFrom, gTo, depth + 1);
                edgeChild[edgeBase + k] = child;
                if (cp < 64) lo |= 1UL << cp;
                else if (cp < 128) hi |= 1UL << (cp - 64);
                else f |= FlagNonAscii;
                lo |= asciiLo[child];
                hi |= asciiHi[child];
                f |= flags[child];
                h = Math.Max(h, height[child] + 1);
            }

            asciiLo[node] = lo;
            asciiHi[node] = hi;
            flags[node] = f;
            height[node] = h;
            return node;
        }

        Build(0, count, 0);
        NodeStart = start.ToArray();
        NodeExactEnd = exactEnd.ToArray();
        NodePartialEnd = partialEnd.ToArray();
        NodeEnd = end.ToArray();
        NodeFirstEdge = firstEdge.ToArray();
        NodeEdgeCount = edgeCount.ToArray();
        NodeHeight = height.ToArray();
        NodeAsciiLo = asciiLo.ToArray();
        NodeAsciiHi = asciiHi.ToArray();
        NodeFlags = flags.ToArray();
        EdgeCodePoint = edgeCp.ToArray();
        EdgeChild = edgeChild.ToArray();
    }
}
