using Hearth.Models;

namespace Hearth.Generation;

/// <summary>
/// A saved start of a sequence: the token ids of its first positions and the keys and values a model computed for them,
/// so that a later prompt beginning with the same tokens needs to process only the rest (see
/// <see cref="TextGenerator.SavePrefix"/> and <see cref="TextGenerator.LoadPrefix"/>). Immutable once saved; it belongs to
/// the model (and LoRA adapter set) it was computed with.
/// </summary>
/// <remarks>Memory: <see cref="ByteSize"/> = tokens × layers × (key width + value width) × 4 bytes for an F32 cache (2 for
/// F16); for Qwen2.5-0.5B (24 layers, 2 KV heads of 64) that is 24 KiB a token.</remarks>
public sealed class PromptPrefix
{
    private readonly int[] _tokens;

    internal PromptPrefix(int[] tokens, KvCache cache, Transformer model, ActiveAdapter[] adapters)
    {
        _tokens = tokens;
        Cache = cache;
        Model = model;
        Adapters = adapters;
    }

    /// <summary>The token ids, position by position.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    /// <summary>How many positions it holds.</summary>
    public int Length => _tokens.Length;

    /// <summary>Bytes its keys and values take.</summary>
    public long ByteSize => Cache.ByteSize;

    internal KvCache Cache { get; }

    internal Transformer Model { get; }

    internal ActiveAdapter[] Adapters { get; }
}
