using System.Buffers;
using System.Text;

namespace Hearth.Tokenizers;

/// <summary>
/// Turns generated tokens, fed one at a time, into text. A token's piece can end in the middle of a multi-byte UTF-8
/// character (byte-fallback and byte-level BPE tokens often do); those bytes are held back until the character is
/// complete, so the output never contains half a character. Bytes that can never form a character come out as U+FFFD
/// straight away. Pieces are llama.cpp's token_to_piece output, without the leading-space removal of
/// <see cref="Tokenizer.Decode"/> and without its space clean-up. Not thread-safe: one decoder per stream.
/// </summary>
public sealed class StreamingDecoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _unparseSpecial;
    private readonly byte[] _pending = new byte[4];
    private int _pendingCount;

    internal StreamingDecoder(Tokenizer tokenizer, bool unparseSpecial)
    {
        _tokenizer = tokenizer;
        _unparseSpecial = unparseSpecial;
    }

    /// <summary>Number of bytes held back, waiting for the rest of a character.</summary>
    public int PendingByteCount => _pendingCount;

    /// <summary>Adds one token; returns the text that is now complete (possibly empty).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a valid token id.</exception>
    public string Append(int tokenId) => AppendBytes(_tokenizer.Piece(tokenId, _unparseSpecial));

    /// <summary>Adds several tokens; returns the text that is now complete.</summary>
    public string Append(IEnumerable<int> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        var sb = new StringBuilder();
        foreach (int id in tokenIds) sb.Append(Append(id));
        return sb.ToString();
    }

    /// <summary>Ends the stream: any held-back bytes (an unfinished character) come out as U+FFFD.</summary>
    public string Flush()
    {
        if (_pendingCount == 0) return "";
        string rest = Encoding.UTF8.GetString(_pending, 0, _pendingCount);
        _pendingCount = 0;
        return rest;
    }

    /// <summary>Forgets any held-back bytes.</summary>
    public void Reset() => _pendingCount = 0;

    private string AppendBytes(ReadOnlySpan<byte> piece)
    {
        if (piece.IsEmpty) return "";

        int total = _pendingCount + piece.Length;
        byte[]? rented = null;
        Span<byte> buffer = total <= 256 ? stackalloc byte[total] : (rented = ArrayPool<byte>.Shared.Rent(total)).AsSpan(0, total);
        try
        {
            _pending.AsSpan(0, _pendingCount).CopyTo(buffer);
            piece.CopyTo(buffer[_pendingCount..]);
            _pendingCount = 0;

            var sb = new StringBuilder(total);
            int pos = 0;
            while (pos < total)
            {
                var status = Rune.DecodeFromUtf8(buffer[pos..], out var rune, out int consumed);
                if (status == System.Buffers.OperationStatus.NeedMoreData)
                {
                    // A valid start of a character that the next token may finish (at most 3 bytes).
                    buffer[pos..].CopyTo(_pending);
                    _pendingCount = total - pos;
                    break;
                }

                // Done: the character; InvalidData: rune is U+FFFD for the maximal invalid subsequence.
                sb.Append(rune.ToString());
                pos += consumed;
            }

            return sb.ToString();
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
