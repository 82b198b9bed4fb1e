using System.Collections.ObjectModel;
using System.Text;
using Hearth.Gguf;

namespace Hearth.Tokenizers;

/// <summary>
/// A tokenizer built from a GGUF file's <c>tokenizer.ggml.*</c> metadata that reproduces llama.cpp's
/// (<c>llama-vocab.cpp</c>) tokenization and detokenization exactly: SentencePiece (<c>llama</c>) and byte-level BPE
/// (<c>gpt2</c>) with llama.cpp's pre-tokenizer variants, special-token parsing, BOS/EOS rules and end-of-generation set.
/// Immutable once built; every method is thread-safe.
/// </summary>
public sealed class Tokenizer
{
    // Metadata keys (llama-arch.cpp's LLM_KV_TOKENIZER_*).
    public const string KeyModel = "tokenizer.ggml.model";
    public const string KeyPre = "tokenizer.ggml.pre";
    public const string KeyTokens = "tokenizer.ggml.tokens";
    public const string KeyScores = "tokenizer.ggml.scores";
    public const string KeyTokenType = "tokenizer.ggml.token_type";
    public const string KeyMerges = "tokenizer.ggml.merges";
    public const string KeyBosId = "tokenizer.ggml.bos_token_id";
    public const string KeyEosId = "tokenizer.ggml.eos_token_id";
    public const string KeyEotId = "tokenizer.ggml.eot_token_id";
    public const string KeyEomId = "tokenizer.ggml.eom_token_id";
    public const string KeyUnknownId = "tokenizer.ggml.unknown_token_id";
    public const string KeySeparatorId = "tokenizer.ggml.seperator_token_id"; // sic, as llama.cpp spells it
    public const string KeyPaddingId = "tokenizer.ggml.padding_token_id";
    public const string KeyMaskId = "tokenizer.ggml.mask_token_id";
    public const string KeyFimPreId = "tokenizer.ggml.fim_pre_token_id";
    public const string KeyFimSufId = "tokenizer.ggml.fim_suf_token_id";
    public const string KeyFimMidId = "tokenizer.ggml.fim_mid_token_id";
    public const string KeyFimPadId = "tokenizer.ggml.fim_pad_token_id";
    public const string KeyFimRepId = "tokenizer.ggml.fim_rep_token_id";
    public const string KeyFimSepId = "tokenizer.ggml.fim_sep_token_id";
    public const string KeyAddBos = "tokenizer.ggml.add_bos_token";
    public const string KeyAddEos = "tokenizer.ggml.add_eos_token";
    public const string KeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix";

    private const char SpaceEscape = '\u2581'; // ▁

    private readonly string[] _texts;
    private readonly float[] _scores;
    private readonly TokenType[] _types;
    private readonly TokenAttributes[] _attributes;
    private readonly byte[][] _pieces;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly int[] _specialTokens;
    private readonly HashSet<int> _endOfGeneration;
    private readonly SpmEncoder? _spm;
    private readonly BpeEncoder? _bpe;
    private readonly PreTokenizer? _preTokenizer;

    private Tokenizer(Loader l)
    {
        Model = l.Model;
        ModelName = l.ModelName;
        PreTokenizerName = l.PreName;
        _texts = l.Texts;
        _scores = l.Scores;
        _types = l.Types;
        _attributes = l.Attributes;
        _pieces = l.Pieces;
        _tokenToId = l.TokenToId;
        _specialTokens = l.SpecialTokens;
        _endOfGeneration = l.EndOfGeneration;
        EndOfGenerationIds = new ReadOnlySet<int>(new SortedSet<int>(l.EndOfGeneration));
        _spm = l.Spm;
        _bpe = l.Bpe;
        _preTokenizer = l.PreTokenizer;
        BosId = l.Bos;
        EosId = l.Eos;
        EotId = l.Eot;
        EomId = l.Eom;
        UnknownId = l.Unk;
        SeparatorId = l.Sep;
        PaddingId = l.Pad;
        MaskId = l.Mask;
        FimPrefixId = l.FimPre;
        FimSuffixId = l.FimSuf;
        FimMiddleId = l.FimMid;
        FimPadId = l.FimPad;
        FimRepoId = l.FimRep;
        FimSeparatorId = l.FimSep;
        AddBos = l.AddBos;
        AddEos = l.AddEos;
        AddSpacePrefix = l.AddSpacePrefix;
        CleanSpaces = l.CleanSpaces;
        IgnoreMerges = l.IgnoreMerges;
        NewlineId = ComputeNewlineId(l);
    }

    /// <summary>The algorithm.</summary>
    public TokenizerModel Model { get; }

    /// <summary>The <c>tokenizer.ggml.model</c> value (<c>llama</c> or <c>gpt2</c>).</summary>
    public string ModelName { get; }

    /// <summary>The pre-tokenizer variant in use (BPE), e.g. <c>llama-bpe</c>, <c>qwen2</c>; <c>default</c> when the
    /// file names none, and for SentencePiece, which has no pre-tokenizer.</summary>
    public string PreTokenizerName { get; }

    /// <summary>Number of tokens; valid ids are 0 to VocabSize - 1.</summary>
    public int VocabSize => _texts.Length;

    /// <summary>Beginning-of-sequence token, or null when the vocabulary has none.</summary>
    public int? BosId { get; }

    /// <summary>End-of-sequence token, or null.</summary>
    public int? EosId { get; }

    /// <summary>End-of-turn token (from the metadata, or found by text such as <c>&lt;|eot_id|&gt;</c>, <c>&lt;|im_end|&gt;</c>), or null.</summary>
    public int? EotId { get; }

    /// <summary>End-of-message token (<c>&lt;|eom_id|&gt;</c>), or null.</summary>
    public int? EomId { get; }

    public int? UnknownId { get; }

    public int? SeparatorId { get; }

    public int? PaddingId { get; }

    public int? MaskId { get; }

    public int? FimPrefixId { get; }

    public int? FimSuffixId { get; }

    public int? FimMiddleId { get; }

    public int? FimPadId { get; }

    public int? FimRepoId { get; }

    public int? FimSeparatorId { get; }

    /// <summary>The token a lone "\n" becomes, or <see cref="PaddingId"/> when there is none (as in llama.cpp).</summary>
    public int? NewlineId { get; }

    /// <summary>Whether <see cref="Encode"/> with addSpecial prepends BOS (<c>tokenizer.ggml.add_bos_token</c>, else
    /// llama.cpp's default: true for SentencePiece and for the Llama 3 / Tekken / Chameleon pre-tokenizers).</summary>
    public bool AddBos { get; }

    /// <summary>Whether <see cref="Encode"/> with addSpecial appends EOS (<c>tokenizer.ggml.add_eos_token</c>, default false).</summary>
    public bool AddEos { get; }

    /// <summary>SentencePiece: a space is put before text that starts the input or follows a special token, and
    /// <see cref="Decode"/> drops one leading space again (<c>tokenizer.ggml.add_space_prefix</c>, default true for SPM).</summary>
    public bool AddSpacePrefix { get; }

    /// <summary>Whether <see cref="Decode"/> applies llama.cpp's clean-up of spaces before punctuation and contractions.</summary>
    public bool CleanSpaces { get; }

    /// <summary>BPE: a pre-tokenized word that is itself a token is emitted without merging (Llama 3, Tekken).</summary>
    public bool IgnoreMerges { get; }

    /// <summary>Every token that ends generation: EOS, EOT, EOM, FIM pad/repo/separator and control tokens whose text
    /// is a known end marker, as llama.cpp determines them. Sorted ascending.</summary>
    public IReadOnlySet<int> EndOfGenerationIds { get; }

    /// <summary>True when generating <paramref name="id"/> should end generation.</summary>
    public bool IsEndOfGeneration(int id) => _endOfGeneration.Contains(id);

    /// <summary>True for control tokens (BOS, EOS, chat markers, ...), which render empty unless asked for.</summary>
    public bool IsControl(int id) => (GetTokenAttributes(id) & TokenAttributes.Control) != 0;

    /// <summary>The token's type as stored in the file.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid id.</exception>
    public TokenType GetTokenType(int id) => _types[CheckId(id)];

    /// <summary>The token's effective attributes.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid id.</exception>
    public TokenAttributes GetTokenAttributes(int id) => _attributes[CheckId(id)];

    /// <summary>The token's score (SentencePiece log-probability; 0 when the file has no scores).</summary>
    public float GetTokenScore(int id) => _scores[CheckId(id)];

    /// <summary>The token's raw text as stored in the vocabulary (e.g. <c>▁Hello</c>, <c>ĠHello</c>, <c>&lt;0x0A&gt;</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid id.</exception>
    public string TokenText(int id) => _texts[CheckId(id)];

    /// <summary>
    /// The bytes the token contributes to decoded text (llama.cpp's <c>token_to_piece</c> without space stripping):
    /// SPM ▁ becomes a space, &lt;0xXX&gt; byte tokens their byte, byte-level BPE text is mapped back to bytes;
    /// control and unknown tokens give their text when <paramref name="special"/> is true and nothing otherwise. A
    /// piece may be part of a multi-byte UTF-8 character.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid id.</exception>
    public byte[] TokenBytes(int id, bool special = true) => Piece(id, special).ToArray();

    /// <summary>The id of the token whose raw text is exactly <paramref name="text"/>.</summary>
    public bool TryGetTokenId(string text, out int id) => _tokenToId.TryGetValue(text, out id);

    private int CheckId(int id)
    {
        if ((uint)id >= (uint)_texts.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id must be in [0, {_texts.Length})");
        return id;
    }

    internal ReadOnlySpan<byte> Piece(int id, bool special)
    {
        CheckId(id);
        if (!special && (_attributes[id] & (TokenAttributes.Unknown | TokenAttributes.Control)) != 0) return default;
        return _pieces[id];
    }

    // ------------------------------------------------------------------ encode

    /// <summary>
    /// Tokenizes text as llama.cpp's <c>llama_tokenize</c>.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="addSpecial">Add BOS and/or EOS as <see cref="AddBos"/>/<see cref="AddEos"/> say.</param>
    /// <param name="parseSpecial">Recognise the text of control (and unknown) tokens such as <c>&lt;|im_start|&gt;</c>
    /// in the input and emit them as single tokens. User-defined tokens are always recognised.</param>
    public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        var fragments = Partition(text, parseSpecial);

        if (addSpecial && AddBos) output.Add(BosId!.Value);

        if (Model == TokenizerModel.SentencePiece)
        {
            bool previousIsSpecial = true; // the first text gets the space prefix
            var sb = new StringBuilder();
            foreach (var fragment in fragments)
            {
                if (fragment.Token >= 0)
                {
                    output.Add(fragment.Token);
                    previousIsSpecial = true;
                    continue;
                }

                sb.Clear();
                if (AddSpacePrefix && previousIsSpecial) sb.Append(' ');
                sb.Append(text, fragment.Offset, fragment.Length);
                sb.Replace(' ', SpaceEscape);
                _spm!.Encode(sb.ToString(), output);
                previousIsSpecial = false;
            }
        }
        else
        {
            var utf8 = new List<byte>();
            foreach (var fragment in fragments)
            {
                if (fragment.Token >= 0)
                {
                    output.Add(fragment.Token);
                    continue;
                }

                int[] cps = UnicodeData.ToCodepoints(text.AsSpan(fragment.Offset, fragment.Length));
                int start = 0;
                foreach (int length in _preTokenizer!.Split(cps))
                {
                    utf8.Clear();
                    for (int i = start; i < start + length; i++) UnicodeData.AppendUtf8(utf8, cps[i]);
                    _bpe!.EncodeWord(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(utf8), output);
                    start += length;
                }
            }
        }

        if (addSpecial && AddEos) output.Add(EosId!.Value);
        return output.ToArray();
    }

    /// <summary>A piece of the input: either a special token (Token ≥ 0) or raw text (Token = -1).</summary>
    private readonly record struct Fragment(int Token, int Offset, int Length);

    /// <summary>
    /// llama.cpp's <c>tokenizer_st_partition</c>: for each special token, longest text first, every raw fragment is
    /// split around its occurrences. Control and unknown tokens only take part when parsing special tokens;
    /// user-defined tokens always do. LStrip/RStrip tokens swallow the ASCII whitespace beside them.
    /// </summary>
    private List<Fragment> Partition(string text, bool parseSpecial)
    {
        var buffer = new List<Fragment>();
        if (text.Length == 0) return buffer;
        buffer.Add(new Fragment(-1, 0, text.Length));

        foreach (int id in _specialTokens)
        {
            var attributes = _attributes[id];
            if (!parseSpecial && (attributes & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0) continue;
            string special = _texts[id];
            if (!text.Contains(special, StringComparison.Ordinal)) continue;

            var next = new List<Fragment>(buffer.Count + 4);
            foreach (var fragment in buffer)
            {
                if (fragment.Token >= 0)
                {
                    next.Add(fragment);
                    continue;
                }

                int baseOffset = fragment.Offset;
                int baseLength = fragment.Length;
                while (true)
                {
                    int match = baseLength == 0 ? -1 : text.IndexOf(special, baseOffset, baseLength, StringComparison.Ordinal);
                    if (match < 0)
                    {
                        if (baseLength > 0) next.Add(new Fragment(-1, baseOffset, baseLength));
                        break;
                    }

                    int leftLength = match - baseOffset;
                    if ((attributes & TokenAttributes.LStrip) != 0)
                    {
                        while (leftLength > 0 && IsCSpace(text[baseOffset + leftLength - 1])) leftLength--;
                    }

                    if (leftLength > 0) next.Add(new Fragment(-1, baseOffset, leftLength));
                    next.Add(new Fragment(id, 0, 0));

                    int rightOffset = match + special.Length;
                    int rightLength = baseOffset + baseLength - rightOffset;
                    if (rightLength <= 0) break;
                    if ((attributes & TokenAttributes.RStrip) != 0)
                    {
                        while (rightLength > 0 && IsCSpace(text[rightOffset]))
                        {
                            rightOffset++;
                            rightLength--;
                        }
                    }

                    baseOffset = rightOffset;
                    baseLength = rightLength;
                }
            }

            buffer = next;
        }

        return buffer;
    }

    /// <summary>C's isspace in the "C" locale, which is what llama.cpp strips with.</summary>
    private static bool IsCSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    // ------------------------------------------------------------------ decode

    /// <summary>
    /// Detokenizes as llama.cpp's <c>llama_detokenize</c>, returning text (invalid UTF-8, e.g. a cut-off multi-byte
    /// character, becomes U+FFFD).
    /// </summary>
    /// <param name="ids">Token ids.</param>
    /// <param name="removeSpecial">Drop a leading BOS (when <see cref="AddBos"/>) and a trailing EOS (when <see cref="AddEos"/>).</param>
    /// <param name="unparseSpecial">Render control and unknown tokens as their text instead of nothing.</param>
    /// <remarks>
    /// With <see cref="AddSpacePrefix"/> (SentencePiece) one leading space of the first token's piece is removed, undoing
    /// the prefix <see cref="Encode"/> adds; like llama.cpp this happens for the first token even when it is a BOS that
    /// renders empty, and not at all when <paramref name="removeSpecial"/> removed a BOS. With <see cref="CleanSpaces"/>
    /// the result gets llama.cpp's clean-up (" ?" → "?", " 's" → "'s", ...).
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is not valid.</exception>
    public string Decode(IEnumerable<int> ids, bool removeSpecial = false, bool unparseSpecial = false)
        => Encoding.UTF8.GetString(DecodeToBytes(ids, removeSpecial, unparseSpecial));

    /// <summary>As <see cref="Decode"/>, but returns the raw bytes.</summary>
    public byte[] DecodeToBytes(IEnumerable<int> ids, bool removeSpecial = false, bool unparseSpecial = false)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = ids as int[] ?? ids.ToArray();
        int first = 0;
        int count = tokens.Length;
        bool removeSpace = AddSpacePrefix;

        if (removeSpecial && AddBos && count > 0 && tokens[0] == BosId)
        {
            removeSpace = false;
            first++;
            count--;
        }

        if (removeSpecial && AddEos && count > 0 && tokens[first + count - 1] == EosId) count--;

        var bytes = new List<byte>(count * 4);
        for (int i = first; i < first + count; i++)
        {
            var piece = Piece(tokens[i], unparseSpecial);
            if (removeSpace && piece.Length > 0 && piece[0] == (byte)' ') piece = piece[1..];
            removeSpace = false;
            bytes.AddRange(piece);
        }

        var result = bytes.ToArray();
        return CleanSpaces ? CleanUpSpaces(result) : result;
    }

    /// <summary>Creates a decoder that turns tokens, fed one at a time, into text without splitting characters.</summary>
    /// <param name="unparseSpecial">Render control and unknown tokens as their text instead of nothing.</param>
    public StreamingDecoder CreateDecoder(bool unparseSpecial = false) => new(this, unparseSpecial);

    /// <summary>llama.cpp's three clean-up passes over the detokenized bytes.</summary>
    private static byte[] CleanUpSpaces(byte[] text)
    {
        // Pass 1: " ?", " !", " .", " ," lose the space.
        var pass1 = new List<byte>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            byte x = text[i];
            if (i > 0 && text[i - 1] == ' ' && x is (byte)'?' or (byte)'!' or (byte)'.' or (byte)',') pass1.RemoveAt(pass1.Count - 1);
            pass1.Add(x);
        }

        // Pass 2: " ' " becomes "'" (a lone apostrophe between spaces).
        var a = pass1.ToArray();
        var pass2 = new List<byte>(a.Length);
        for (int i = 0; i < a.Length; i++)
        {
            byte x = a[i];
            if (i > 0 && x == '\'' && i + 1 < a.Length && a[i - 1] == ' ' && a[i + 1] == ' ')
            {
                pass2.RemoveAt(pass2.Count - 1);
                a[++i] = 0; // the next space is skipped, and no longer counts as a space before the following byte
            }

            pass2.Add(x);
        }

        // Pass 3: contractions " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
        var b = pass2.ToArray();
        var pass3 = new List<byte>(b.Length);
        for (int i = 0; i < b.Length; i++)
        {
            byte x = b[i];
            if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.Length)
            {
                byte x1 = b[i + 1];
                if (x1 is (byte)'s' or (byte)'m') pass3.RemoveAt(pass3.Count - 1);
                else if (x1 is not ((byte)'t' or (byte)'d') && i + 2 < b.Length)
                {
                    byte x2 = b[i + 2];
                    if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) pass3.RemoveAt(pass3.Count - 1);
                }
            }

            pass3.Add(x);
        }

        return pass3.ToArray();
    }

    private int? ComputeNewlineId(Loader l)
    {
        if (Model == TokenizerModel.SentencePiece)
        {
            int byteToken = l.SpmByteTokens![(byte)'\n'];
            return byteToken >= 0 ? byteToken : l.Pad;
        }

        var ids = Encode("\n", addSpecial: false);
        return ids.Length > 0 ? ids[0] : l.Pad;
    }

    // ------------------------------------------------------------------ load

    /// <summary>
    /// Builds the tokenizer from a GGUF file's <c>tokenizer.ggml.*</c> metadata, applying llama.cpp's defaults and
    /// fix-ups (special token ids, add_bos/add_eos per model type, end-of-generation detection by token text).
    /// </summary>
    /// <exception cref="TokenizerFormatException">The metadata is missing or invalid (the message names the key), or the
    /// tokenizer model / pre-tokenizer is one Hearth does not support.</exception>
    /// <exception cref="ModelFormatException">A key has the wrong type.</exception>
    public static Tokenizer FromGguf(GgufFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var loader = new Loader(file);
        loader.Load();
        return new Tokenizer(loader);
    }

    /// <summary>The loading steps, in llama.cpp's order (<c>llama_vocab::impl::load</c>).</summary>
    private sealed class Loader(GgufFile file)
    {
        private readonly string _path = file.Path;

        public TokenizerModel Model;
        public string ModelName = "";
        public string PreName = "default";
        public string[] Texts = [];
        public float[] Scores = [];
        public TokenType[] Types = [];
        public TokenAttributes[] Attributes = [];
        public byte[][] Pieces = [];
        public Dictionary<string, int> TokenToId = new(StringComparer.Ordinal);
        public int[] SpecialTokens = [];
        public HashSet<int> EndOfGeneration = [];
        public SpmEncoder? Spm;
        public int[]? SpmByteTokens;
        public BpeEncoder? Bpe;
        public PreTokenizer? PreTokenizer;
        public int? Bos, Eos, Eot, Eom, Unk, Sep, Pad, Mask, FimPre, FimSuf, FimMid, FimPad, FimRep, FimSep;
        public bool AddBos, AddEos, AddSpacePrefix, CleanSpaces, IgnoreMerges;

        private TokenizerFormatException Error(string key, string problem) => new(_path, key, problem);

        public void Load()
        {
            ReadModel();
            ReadTokens();
            ReadSpecialIds();
            ReadAddFlags();
            DetectSpecialTokensByText();
            DetectUnused();
            BuildEndOfGeneration();
            BuildSpecialCache();
            BuildPieces();
            ApplyPerModelAttributes();
            BuildEncoders();
        }

        private void ReadModel()
        {
            string? model = file.GetString(KeyModel);
            if (model == null)
            {
                throw Error(KeyModel, file.Contains(KeyModel) ? "is not a string" : "is missing: the file has no tokenizer (expected 'llama' or 'gpt2')");
            }

            ModelName = model;
            string? pre = file.GetString(KeyPre);
            switch (model)
            {
                case "llama":
                    Model = TokenizerModel.SentencePiece;
                    Bos = 1;
                    Eos = 2;
                    Unk = 0;
                    AddSpacePrefix = true;
                    CleanSpaces = false;
                    AddBos = true;
                    AddEos = false;
                    break;
                case "gpt2":
                {
                    Model = TokenizerModel.BytePairEncoding;
                    if (pre == null && file.Contains(KeyPre)) throw Error(KeyPre, $"is {file.Get(KeyPre)!.Type}, expected a string");
                    if (PreTokenizerSpec.IsKnownButUnsupported(pre)) throw Error(KeyPre, $"pre-tokenizer type '{pre}' is not supported by Hearth");
                    var spec = PreTokenizerSpec.Find(pre)
                        ?? throw Error(KeyPre, $"unknown pre-tokenizer type '{pre}' (known: {string.Join(", ", PreTokenizerSpec.KnownNames)})");
                    PreName = spec.Name;
                    Bos = spec.ClearBos ? null : 11;
                    Eos = 11;
                    Unk = null;
                    AddSpacePrefix = false;
                    CleanSpaces = spec.CleanSpaces;
                    IgnoreMerges = spec.IgnoreMerges;
                    AddBos = spec.AddBos;
                    AddEos = false;
                    PreTokenizer = PreTokenizer.Create(spec);
                    break;
                }

                case "no_vocab" or "none":
                    throw Error(KeyModel, $"is '{model}': the model has no vocabulary to tokenize with");
                case "bert" or "t5" or "rwkv" or "plamo2" or "gemma4" or "hybriddna" or "whitespace":
                    throw Error(KeyModel, $"tokenizer model '{model}' is not supported (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)");
                default:
                    throw Error(KeyModel, $"unknown tokenizer model '{model}' (supported: 'llama' SentencePiece, 'gpt2' byte-level BPE)");
            }

            if (file.GetBool(KeyAddSpacePrefix) is bool addSpacePrefix) AddSpacePrefix = addSpacePrefix;
        }

        private void ReadTokens()
        {
            var tokens = file.GetArray<string>(KeyTokens) ?? throw Error(KeyTokens, "is missing: the file has no vocabulary");
            int n = tokens.Length;
            if (n == 0) throw Error(KeyTokens, "is empty");

            Scores = new float[n];
            var scoresValue = file.Get(KeyScores);
            if (scoresValue != null)
            {
                switch (scoresValue.AsArray?.Items)
                {
                    case float[] f when f.Length == n:
                        Array.Copy(f, Scores, n);
                        break;
                    case int[] i when i.Length == n:
                        for (int k = 0; k < n; k++) Scores[k] = i[k];
                        break;
                    case float[] or int[]:
                        throw Error(KeyScores, $"has {scoresValue.AsArray!.Count} entries but '{KeyTokens}' has {n}");
                    default:
                        throw Error(KeyScores, $"is {scoresValue.Type}, expected an array of float32 (or int32)");
                }
            }

            Types = new TokenType[n];
            Attributes = new TokenAttributes[n];
            Array.Fill(Types, TokenType.Normal);
            var types = file.GetIntArray(KeyTokenType);
            if (types != null && types.Length != n) throw Error(KeyTokenType, $"has {types.Length} entries but '{KeyTokens}' has {n}");

            Texts = new string[n];
            TokenToId = new Dictionary<string, int>(n, StringComparer.Ordinal);
            for (int id = 0; id < n; id++)
            {
                string text = tokens[id];
                if (text.Length == 0) text = $"[EMPTY_{id}]"; // as llama.cpp
                if (!TokenToId.TryAdd(text, id))
                {
                    throw Error(KeyTokens, $"duplicate token '{text}' at ids {TokenToId[text]} and {id}");
                }

                Texts[id] = text;
                var type = types == null ? TokenType.Normal : types[id] is >= 0 and <= 6 ? (TokenType)types[id] : TokenType.Undefined;
                Types[id] = type;
                Attributes[id] = type switch
                {
                    TokenType.Unknown => TokenAttributes.Unknown,
                    TokenType.Unused => TokenAttributes.Unused,
                    TokenType.Normal => TokenAttributes.Normal,
                    TokenType.Control => TokenAttributes.Control,
                    TokenType.UserDefined => TokenAttributes.UserDefined,
                    TokenType.Byte => TokenAttributes.Byte,
                    _ => TokenAttributes.Undefined,
                };
            }
        }

        private void ReadSpecialIds()
        {
            int n = Texts.Length;

            // Defaults outside the vocabulary are disabled; a value in the file replaces the default. For an id outside
            // the vocabulary llama.cpp warns and keeps the default. We do the same for llama.cpp's "none" sentinel
            // (-1 / 0xFFFFFFFF, what its model saver writes for absent tokens) and for the ids tokenization never
            // emits (padding, separator, mask, FIM), but reject a corrupt BOS/EOS/EOT/EOM/UNK id.
            int? Read(string key, int? current, bool strict = false)
            {
                if (current is int c && c >= n) current = null;
                long? value = file.GetInteger(key);
                if (value is not long v) return current;
                if (v == -1 || v == uint.MaxValue) return current;
                if (v >= 0 && v < n) return (int)v;
                if (strict) throw Error(key, $"token id {v} is outside the vocabulary of {n} tokens");
                return current;
            }

            Bos = Read(KeyBosId, Bos, strict: true);
            Eos = Read(KeyEosId, Eos, strict: true);
            Eot = Read(KeyEotId, Eot, strict: true);
            Eom = Read(KeyEomId, Eom, strict: true);
            Unk = Read(KeyUnknownId, Unk, strict: true);
            Sep = Read(KeySeparatorId, Sep);
            Pad = Read(KeyPaddingId, Pad);
            Mask = Read(KeyMaskId, Mask);
            FimPre = Read(KeyFimPreId, FimPre);
            FimSuf = Read(KeyFimSufId, FimSuf);
            FimMid = Read(KeyFimMidId, FimMid);
            FimPad = Read(KeyFimPadId, FimPad);
            FimRep = Read(KeyFimRepId, FimRep);
            FimSep = Read(KeyFimSepId, FimSep);
            // deprecated spellings
            FimPre = Read("tokenizer.ggml.prefix_token_id", FimPre);
            FimSuf = Read("tokenizer.ggml.suffix_token_id", FimSuf);
            FimMid = Read("tokenizer.ggml.middle_token_id", FimMid);
        }

        private void ReadAddFlags()
        {
            if (file.GetBool(KeyAddBos) is bool addBos) AddBos = addBos;
            if (file.GetBool(KeyAddEos) is bool addEos) AddEos = addEos;
            if (AddBos && Bos == null) throw Error(KeyAddBos, $"is true, but '{KeyBosId}' is not set");
            if (AddEos && Eos == null) throw Error(KeyAddEos, $"is true, but '{KeyEosId}' is not set");
        }

        private static readonly string[] s_eotTexts =
        [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
            "[EOT]", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<end_of_utterance>",
        ];

        private static readonly string[] s_eomTexts = ["<|eom_id|>"];

        private static readonly string[] s_fimPreTexts =
            ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>", "\u2581<PRE>", "<|code_prefix|>", "<|prefix|>"];

        private static readonly string[] s_fimSufTexts =
            ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>", "\u2581<SUF>", "<|code_suffix|>", "<|suffix|>"];

        private static readonly string[] s_fimMidTexts =
            ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>", "\u2581<MID>", "<|code_middle|>", "<|middle|>"];

        private static readonly string[] s_fimPadTexts = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];

        private static readonly string[] s_fimRepTexts = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];

        private static readonly string[] s_fimSepTexts = ["<|file_sep|>"];

        /// <summary>Texts of tokens that end generation whatever the metadata says.</summary>
        private static readonly string[] s_endOfGenerationTexts =
        [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "[e~[",
        ];

        /// <summary>Marks a token found by its text as a control token (llama.cpp overrides the type too).</summary>
        private void MarkControl(int id) => Attributes[id] |= TokenAttributes.Control;

        /// <summary>
        /// Finds EOT, EOM and FIM tokens by text when the metadata does not name them. llama.cpp walks an unordered map,
        /// so when several texts match, which one wins is unspecified there; we take the first text in list order
        /// (so Llama 3 gets &lt;|eot_id|&gt; rather than &lt;|end_of_text|&gt;, Qwen &lt;|im_end|&gt; rather than &lt;|endoftext|&gt;,
        /// which is what llama.cpp reports for those models).
        /// </summary>
        private void DetectSpecialTokensByText()
        {
            void Detect(ref int? slot, string[] candidates)
            {
                if (slot != null) return;
                foreach (string text in candidates)
                {
                    if (!TokenToId.TryGetValue(text, out int id)) continue;
                    slot = id;
                    MarkControl(id);
                    return;
                }
            }

            Detect(ref Eot, s_eotTexts);
            Detect(ref Eom, s_eomTexts);
            Detect(ref FimPre, s_fimPreTexts);
            Detect(ref FimSuf, s_fimSufTexts);
            Detect(ref FimMid, s_fimMidTexts);
            Detect(ref FimPad, s_fimPadTexts);
            Detect(ref FimRep, s_fimRepTexts);
            Detect(ref FimSep, s_fimSepTexts);
        }

        /// <summary>Control tokens with "unused" in their text are unused.</summary>
        private void DetectUnused()
        {
            for (int id = 0; id < Texts.Length; id++)
            {
                if ((Attributes[id] & TokenAttributes.Control) != 0 && Texts[id].Contains("unused", StringComparison.Ordinal))
                {
                    Attributes[id] |= TokenAttributes.Unused;
                }
            }
        }

        private void BuildEndOfGeneration()
        {
            var eog = new HashSet<int>();
            if (FimPad is int fimPad) eog.Add(fimPad);
            if (FimRep is int fimRep) eog.Add(fimRep);
            if (FimSep is int fimSep) eog.Add(fimSep);

            foreach (string text in s_endOfGenerationTexts)
            {
                if (!TokenToId.TryGetValue(text, out int id)) continue;
                eog.Add(id);
                MarkControl(id);
            }

            // gpt-oss: these always render.
            foreach (string text in (string[])["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"])
            {
                if (TokenToId.TryGetValue(text, out int id)) Attributes[id] = TokenAttributes.UserDefined;
            }

            if (Eos is int eos) eog.Add(eos);
            if (Eot is int eot) eog.Add(eot);
            if (Eom is int eom) eog.Add(eom);

            // o200k_harmony and solar-open: "<|end|>" ends a message, not the generation.
            bool Has(string text) => TokenToId.TryGetValue(text, out int id) && eog.Contains(id);
            bool hasCall = Has("<|call|>") || Has("<|calls|>");
            if (Has("<|end|>") && ((Has("<|return|>") && hasCall) || (hasCall && Has("<|flush|>"))))
            {
                int end = TokenToId["<|end|>"];
                eog.Remove(end);
                Attributes[end] = TokenAttributes.UserDefined;
            }

            // gemma4 and paddleocr: "</s>" is not an end of generation when "<|tool_response>" is.
            if (Has("<|tool_response>") && Has("</s>"))
            {
                int s = TokenToId["</s>"];
                eog.Remove(s);
                Attributes[s] = TokenAttributes.Normal;
            }

            EndOfGeneration = eog;
        }

        private void BuildSpecialCache()
        {
            var special = new List<int>();
            for (int id = 0; id < Texts.Length; id++)
            {
                if ((Attributes[id] & (TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown)) != 0) special.Add(id);
            }

            // Longest text (in UTF-8 bytes) first; llama.cpp's sort is unstable, we break ties by id.
            var lengths = special.ToDictionary(id => id, id => Encoding.UTF8.GetByteCount(Texts[id]));
            special.Sort((a, b) => lengths[a] != lengths[b] ? lengths[b].CompareTo(lengths[a]) : a.CompareTo(b));
            SpecialTokens = special.ToArray();
        }

        /// <summary>llama.cpp's token_to_piece(special: true) for every token.</summary>
        private void BuildPieces()
        {
            Pieces = new byte[Texts.Length][];
            for (int id = 0; id < Texts.Length; id++)
            {
                var a = Attributes[id];
                string text = Texts[id];
                if ((a & (TokenAttributes.Unknown | TokenAttributes.Control | TokenAttributes.UserDefined)) != 0)
                {
                    Pieces[id] = Encoding.UTF8.GetBytes(text);
                }
                else if ((a & TokenAttributes.Normal) != 0)
                {
                    Pieces[id] = Model == TokenizerModel.SentencePiece
                        ? Encoding.UTF8.GetBytes(text.Replace(SpaceEscape, ' '))
                        : ByteLevelDecode(text);
                }
                else if ((a & TokenAttributes.Byte) != 0)
                {
                    Pieces[id] = [ParseByteToken(text)];
                }
                else
                {
                    Pieces[id] = []; // undefined and unused tokens render as nothing
                }
            }
        }

        /// <summary>Maps byte-level BPE text back to bytes; characters outside the alphabet become llama.cpp's
        /// "[UNK_BYTE_0x..]" marker.</summary>
        private static byte[] ByteLevelDecode(string text)
        {
            var bytes = new List<byte>(text.Length);
            Span<byte> utf8 = stackalloc byte[4];
            foreach (var rune in text.EnumerateRunes())
            {
                int b = ByteLevel.CharToByte(rune.Value);
                if (b >= 0)
                {
                    bytes.Add((byte)b);
                    continue;
                }

                var sb = new StringBuilder("[UNK_BYTE_0x");
                int n = rune.EncodeToUtf8(utf8);
                for (int i = 0; i < n; i++) sb.Append(utf8[i].ToString("x2"));
                sb.Append(text).Append(']');
                bytes.AddRange(Encoding.UTF8.GetBytes(sb.ToString()));
            }

            return bytes.ToArray();
        }

        /// <summary>The byte of a "&lt;0xXX&gt;" token (strtol on characters 3..4, as llama.cpp; 0 when unparsable).</summary>
        private static byte ParseByteToken(string text)
        {
            int value = 0;
            for (int i = 3; i < Math.Min(5, text.Length); i++)
            {
                int digit = HexDigit(text[i]);
                if (digit < 0) break;
                value = value * 16 + digit;
            }

            return (byte)value;
        }

        private static int HexDigit(char c) => c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };

        /// <summary>Attributes llama.cpp sets by model, tokenizer or architecture name.</summary>
        private void ApplyPerModelAttributes()
        {
            string modelName = (file.GetString("general.name") ?? "").ToLowerInvariant();
            string pre = file.GetString(KeyPre) ?? "";
            string arch = file.GetString("general.architecture") ?? "";

            void Set(string text, TokenAttributes attribute, bool value)
            {
                if (!TokenToId.TryGetValue(text, out int id)) return;
                Attributes[id] = value ? Attributes[id] | attribute : Attributes[id] & ~attribute;
            }

            if (pre.Contains("jina-v2-de") || pre.Contains("jina-v2-es") || pre.Contains("jina-v2-code")
                || arch.Contains("nomic-bert-moe") || arch.Contains("jina-bert-v3"))
            {
                Set("<mask>", TokenAttributes.LStrip, true);
            }
            else if (modelName.Contains("phi-3") || modelName.Contains("phi3"))
            {
                foreach (int id in SpecialTokens) Attributes[id] |= TokenAttributes.RStrip;
                Set("</s>", TokenAttributes.RStrip, true);
                foreach (string text in (string[])["<unk>", "<s>", "<|endoftext|>"]) Set(text, TokenAttributes.RStrip, false);
            }
            else if (modelName.Contains("modern-bert"))
            {
                Set("[MASK]", TokenAttributes.LStrip, true);
            }
        }

        private void BuildEncoders()
        {
            if (Model == TokenizerModel.SentencePiece)
            {
                // <0xXX> byte tokens; otherwise a one-character token for ASCII bytes (llama.cpp's byte_to_token).
                SpmByteTokens = new int[256];
                for (int b = 0; b < 256; b++)
                {
                    SpmByteTokens[b] = TokenToId.TryGetValue($"<0x{b:X2}>", out int id) ? id
                        : b < 0x80 && TokenToId.TryGetValue(((char)b).ToString(), out id) ? id : -1;
                }

                Spm = new SpmEncoder(TokenToId, Scores, SpmByteTokens, Unk);
                return;
            }

            var merges = file.GetArray<string>(KeyMerges) ?? throw Error(KeyMerges, "is missing; byte-level BPE ('gpt2') needs the merge list");
            Bpe = BpeEncoder.Create(_path, TokenToId, Texts.Length, merges, IgnoreMerges);
        }
    }
}
