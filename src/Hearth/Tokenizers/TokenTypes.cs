namespace Hearth.Tokenizers;

/// <summary>The tokenizer algorithm named by <c>tokenizer.ggml.model</c>.</summary>
public enum TokenizerModel
{
    /// <summary><c>llama</c>: SentencePiece BPE over token scores, with byte fallback (Llama 2, Mistral, Phi-3, TinyLlama).</summary>
    SentencePiece,

    /// <summary><c>gpt2</c>: byte-level BPE over ranked merges, after a regex pre-tokenizer (GPT-2, Llama 3, Qwen, ...).</summary>
    BytePairEncoding,
}

/// <summary>A token's type as stored in <c>tokenizer.ggml.token_type</c> (llama.cpp's <c>llama_token_type</c>).</summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>
/// A token's effective attributes (llama.cpp's <c>llama_token_attr</c>): derived from its <see cref="TokenType"/> and
/// then adjusted the way llama.cpp does (end-of-turn texts become control tokens, control tokens named "unused" are
/// unused, Phi-3's special tokens strip spaces to their right, ...).
/// </summary>
[Flags]
public enum TokenAttributes
{
    Undefined = 0,
    Unknown = 1 << 0,
    Unused = 1 << 1,
    Normal = 1 << 2,
    Control = 1 << 3,
    UserDefined = 1 << 4,
    Byte = 1 << 5,
    Normalized = 1 << 6,

    /// <summary>When parsed out of text, whitespace to its left is dropped.</summary>
    LStrip = 1 << 7,

    /// <summary>When parsed out of text, whitespace to its right is dropped.</summary>
    RStrip = 1 << 8,
    SingleWord = 1 << 9,
}

/// <summary>
/// The tokenizer metadata in a model file is missing, malformed or of a kind Hearth does not support. The message
/// names the file and the metadata key.
/// </summary>
public sealed class TokenizerFormatException : ModelFormatException
{
    public TokenizerFormatException(string path, string key, string problem)
        : base($"{path}: metadata '{key}': {problem}")
    {
        FilePath = path;
        Key = key;
        Problem = problem;
    }

    /// <summary>The model file.</summary>
    public string FilePath { get; }

    /// <summary>The metadata key at fault, e.g. <c>tokenizer.ggml.tokens</c>.</summary>
    public string Key { get; }

    /// <summary>The problem alone, without file and key.</summary>
    public string Problem { get; }
}
