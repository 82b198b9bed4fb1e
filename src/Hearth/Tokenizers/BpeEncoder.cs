namespace Hearth.Tokenizers;

/// <summary>
/// Byte-level BPE as llama.cpp's <c>llm_tokenizer_bpe</c>: within each pre-tokenized word (in the GPT-2 byte alphabet)
/// the adjacent pair with the lowest merge rank (ties: leftmost) is merged, repeatedly. Merge parts are interned to
/// integer symbols at load time so the hot loop looks up pairs of ints, never builds strings.
/// </summary>
internal sealed class BpeEncoder
{
    private readonly int _vocabSize;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Dictionary<long, Merge> _merges;
    private readonly int[] _byteSymbols;
    private readonly int[] _asciiTokens;
    private readonly bool _ignoreMerges;

    /// <summary>A merge: its rank and the symbol it produces.</summary>
    private readonly record struct Merge(int Rank, int Result);

    private BpeEncoder(int vocabSize, Dictionary<string, int> tokenToId, Dictionary<long, Merge> merges, int[] byteSymbols, bool ignoreMerges)
    {
        _vocabSize = vocabSize;
        _lookup = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        _merges = merges;
        _byteSymbols = byteSymbols;
        _ignoreMerges = ignoreMerges;
        _asciiTokens = new int[128];
        for (int c = 0; c < 128; c++) _asciiTokens[c] = tokenToId.TryGetValue(((char)c).ToString(), out int id) ? id : -1;
    }

    /// <summary>
    /// Builds the merge table. Each merge is "left right" split at the first space after the first character (as
    /// llama.cpp does); symbols are token ids when the text is a token, fresh ids past the vocabulary otherwise.
    /// </summary>
    /// <exception cref="TokenizerFormatException">A merge entry has no separating space.</exception>
    public static BpeEncoder Create(string path, Dictionary<string, int> tokenToId, int vocabSize, string[] merges, bool ignoreMerges)
    {
        var extra = new Dictionary<string, int>(StringComparer.Ordinal);
        var tokenLookup = tokenToId.GetAlternateLookup<ReadOnlySpan<char>>();
        var extraLookup = extra.GetAlternateLookup<ReadOnlySpan<char>>();
        int Intern(ReadOnlySpan<char> s)
        {
            if (tokenLookup.TryGetValue(s, out int id)) return id;
            if (extraLookup.TryGetValue(s, out id)) return id;
            id = vocabSize + extra.Count;
            extra.Add(s.ToString(), id);
            return id;
        }

        var table = new Dictionary<long, Merge>(merges.Length, PairComparer.Instance);
        var joined = new char[256];
        for (int rank = 0; rank < merges.Length; rank++)
        {
            string merge = merges[rank];
            int space = merge.Length > 1 ? merge.IndexOf(' ', 1) : -1;
            if (space < 0)
            {
                throw new TokenizerFormatException(path, "tokenizer.ggml.merges", $"entry {rank} ('{Truncate(merge)}') is not two symbols separated by a space");
            }

            var first = merge.AsSpan(0, space);
            var second = merge.AsSpan(space + 1);
            int a = Intern(first);
            int b = Intern(second);
            long key = Key(a, b);
            if (table.ContainsKey(key)) continue;

            // The merged text is the entry without its separating space.
            if (joined.Length < merge.Length) joined = new char[merge.Length * 2];
            first.CopyTo(joined);
            second.CopyTo(joined.AsSpan(first.Length));
            table.Add(key, new Merge(rank, Intern(joined.AsSpan(0, merge.Length - 1))));
        }

        var byteSymbols = new int[256];
        for (int b = 0; b < 256; b++)
        {
            byteSymbols[b] = tokenToId.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out int id) ? id
                : extra.TryGetValue(ByteLevel.ByteToChar[b].ToString(), out id) ? id : -1;
        }

        return new BpeEncoder(vocabSize, tokenToId, table, byteSymbols, ignoreMerges);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>
    /// Hashes a packed pair well: long's own hash (high ^ low) collides badly for pairs of small ids.
    /// </summary>
    private sealed class PairComparer : IEqualityComparer<long>
    {
        public static readonly PairComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long value) => (int)(((ulong)value * 0x9E3779B97F4A7C15UL) >> 32);
    }

    private struct Symbol
    {
        public int Id;     // interned symbol, or -1 for a byte no merge or token knows
        public int Start;  // in bytes of the word
        public int Length; // in bytes; 0 once merged into the left neighbour
        public int Prev;
        public int Next;
    }

    private readonly record struct Bigram(int Left, int Right, int Size, int Result);

    /// <summary>Tokenizes one pre-tokenized word given as UTF-8 bytes and appends the ids.</summary>
    public void EncodeWord(ReadOnlySpan<byte> word, List<int> output)
    {
        if (word.Length == 0) return;

        if (_ignoreMerges)
        {
            // Whole-word lookup first (Llama 3, Tekken): a word that is itself a token is emitted as is.
            Span<char> mapped = word.Length <= 256 ? stackalloc char[word.Length] : new char[word.Length];
            for (int i = 0; i < word.Length; i++) mapped[i] = ByteLevel.ByteToChar[word[i]];
            if (_lookup.TryGetValue(mapped, out int whole))
            {
                output.Add(whole);
                return;
            }
        }

        Span<Symbol> symbols = word.Length <= 64 ? stackalloc Symbol[word.Length] : new Symbol[word.Length];
        for (int i = 0; i < word.Length; i++)
        {
            symbols[i] = new Symbol { Id = _byteSymbols[word[i]], Start = i, Length = 1, Prev = i - 1, Next = i + 1 == word.Length ? -1 : i + 1 };
        }

        if (word.Length > 1)
        {
            // Lowest rank first, then leftmost: both packed into one long priority.
            var queue = new PriorityQueue<Bigram, long>();
            for (int i = 1; i < word.Length; i++) TryAddBigram(symbols, queue, i - 1, i);

            while (queue.TryDequeue(out var bigram, out _))
            {
                ref var left = ref symbols[bigram.Left];
                ref var right = ref symbols[bigram.Right];

                // One side was merged away since, or grew: this candidate is stale.
                if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != bigram.Size) continue;

                left.Length += right.Length;
                left.Id = bigram.Result;
                right.Length = 0;
                left.Next = right.Next;
                if (right.Next >= 0) symbols[right.Next].Prev = bigram.Left;

                TryAddBigram(symbols, queue, left.Prev, bigram.Left);
                TryAddBigram(symbols, queue, bigram.Left, left.Next);
            }
        }

        for (int i = 0; i != -1; i = symbols[i].Next)
        {
            ref var symbol = ref symbols[i];
            if ((uint)symbol.Id < (uint)_vocabSize)
            {
                output.Add(symbol.Id);
                continue;
            }

            // Not a token: llama.cpp looks up each byte of the symbol's UTF-8 text (in the mapped alphabet) as a
            // one-byte token. Only mapped characters below U+0080 are one byte; the others are silently dropped.
            for (int j = symbol.Start; j < symbol.Start + symbol.Length; j++)
            {
                char c = ByteLevel.ByteToChar[word[j]];
                if (c < 0x80 && _asciiTokens[c] >= 0) output.Add(_asciiTokens[c]);
            }
        }
    }

    private void TryAddBigram(Span<Symbol> symbols, PriorityQueue<Bigram, long> queue, int left, int right)
    {
        if (left == -1 || right == -1) return;
        int a = symbols[left].Id;
        int b = symbols[right].Id;
        if (a < 0 || b < 0) return;
        if (!_merges.TryGetValue(Key(a, b), out var merge)) return;
        queue.Enqueue(new Bigram(left, right, symbols[left].Length + symbols[right].Length, merge.Result), ((long)merge.Rank << 32) | (uint)left);
    }
}
