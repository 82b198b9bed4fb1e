namespace Hearth.Tokenizers;

/// <summary>
/// SentencePiece-style BPE over scores, as llama.cpp's <c>llm_tokenizer_spm</c>: the text starts as one symbol per
/// character; every adjacent pair whose concatenation is a vocabulary entry is a candidate, and the candidate with the
/// highest score (ties: leftmost) is merged first, repeatedly. Symbols left that are not tokens fall back to their
/// UTF-8 bytes as &lt;0xXX&gt; tokens.
/// </summary>
internal sealed class SpmEncoder
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[] _scores;
    private readonly int[] _byteTokens;
    private readonly int? _unknownId;

    public SpmEncoder(Dictionary<string, int> tokenToId, float[] scores, int[] byteTokens, int? unknownId)
    {
        _lookup = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        _scores = scores;
        _byteTokens = byteTokens;
        _unknownId = unknownId;
    }

    private struct Symbol
    {
        public int Start;
        public int Length; // in chars; 0 once merged into the left neighbour
        public int Prev;
        public int Next;
    }

    private readonly record struct Bigram(int Left, int Right, int Size);

    /// <summary>Highest score first; among equal scores the leftmost pair.</summary>
    private readonly record struct Priority(float Score, int Left);

    private sealed class PriorityComparer : IComparer<Priority>
    {
        public static readonly PriorityComparer Instance = new();

        public int Compare(Priority x, Priority y)
        {
            int c = y.Score.CompareTo(x.Score);
            return c != 0 ? c : x.Left.CompareTo(y.Left);
        }
    }

    /// <summary>Tokenizes already-escaped text (spaces replaced by ▁) and appends the ids.</summary>
    public void Encode(string text, List<int> output)
    {
        if (text.Length == 0) return;

        var symbols = new List<Symbol>(text.Length);
        for (int offset = 0; offset < text.Length;)
        {
            int length = char.IsHighSurrogate(text[offset]) && offset + 1 < text.Length && char.IsLowSurrogate(text[offset + 1]) ? 2 : 1;
            int index = symbols.Count;
            symbols.Add(new Symbol { Start = offset, Length = length, Prev = index - 1, Next = offset + length == text.Length ? -1 : index + 1 });
            offset += length;
        }

        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(symbols);
        var queue = new PriorityQueue<Bigram, Priority>(PriorityComparer.Instance);
        for (int i = 1; i < span.Length; i++) TryAddBigram(text, span, queue, i - 1, i);

        while (queue.TryDequeue(out var bigram, out _))
        {
            ref var left = ref span[bigram.Left];
            ref var right = ref span[bigram.Right];

            // One side was merged away since, or grew: this candidate is stale.
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;

            left.Length += right.Length;
            right.Length = 0;
            left.Next = right.Next;
            if (right.Next >= 0) span[right.Next].Prev = bigram.Left;

            TryAddBigram(text, span, queue, left.Prev, bigram.Left);
            TryAddBigram(text, span, queue, bigram.Left, left.Next);
        }

        Span<byte> utf8 = stackalloc byte[8];
        for (int i = 0; i != -1; i = span[i].Next)
        {
            var piece = text.AsSpan(span[i].Start, span[i].Length);
            if (_lookup.TryGetValue(piece, out int id))
            {
                output.Add(id);
                continue;
            }

            // Byte fallback. (llama.cpp's rev_merge re-segmentation can only apply to multi-character symbols, and
            // every merged symbol is a token, so for valid UTF-8 the fallback always works on single characters.)
            var bytes = piece.Length <= 2 ? utf8 : new byte[System.Text.Encoding.UTF8.GetByteCount(piece)];
            int n = System.Text.Encoding.UTF8.GetBytes(piece, bytes);
            for (int j = 0; j < n; j++)
            {
                int byteToken = _byteTokens[bytes[j]];
                if (byteToken >= 0) output.Add(byteToken);
                else if (_unknownId is int unk) output.Add(unk);
            }
        }
    }

    private void TryAddBigram(string text, Span<Symbol> symbols, PriorityQueue<Bigram, Priority> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        int size = symbols[left].Length + symbols[right].Length;
        if (!_lookup.TryGetValue(text.AsSpan(symbols[left].Start, size), out int id)) return;
        queue.Enqueue(new Bigram(left, right, size), new Priority(_scores[id], left));
    }
}
