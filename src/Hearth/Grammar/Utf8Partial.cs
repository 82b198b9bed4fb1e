namespace Hearth.Grammar;

/// <summary>
/// The first bytes of a UTF-8 character whose remaining bytes have not arrived yet (a token can end in the middle of a
/// character), with the range of code points it can still become. Only well-formed prefixes exist: no overlong forms,
/// no surrogates, nothing above U+10FFFF. <see cref="Remaining"/> = 0 means no character is pending.
/// </summary>
internal readonly struct Utf8Partial
{
    private Utf8Partial(int value, int remaining, int length, int lo, int hi)
    {
        Value = value;
        Remaining = remaining;
        Length = length;
        Lo = lo;
        Hi = hi;
    }

    /// <summary>The bits read so far.</summary>
    public int Value { get; }

    /// <summary>Continuation bytes still expected (0 = nothing pending).</summary>
    public int Remaining { get; }

    /// <summary>Total length of the character in bytes (2 to 4).</summary>
    public int Length { get; }

    /// <summary>Smallest code point the character can still become.</summary>
    public int Lo { get; }

    /// <summary>Largest code point the character can still become.</summary>
    public int Hi { get; }

    public bool IsPending => Remaining > 0;

    public static bool IsContinuation(byte b) => (b & 0xC0) == 0x80;

    /// <summary>Starts a multi-byte character from its lead byte; false for a byte that cannot lead one.</summary>
    public static bool TryStart(byte lead, out Utf8Partial partial)
    {
        partial = default;
        return lead switch
        {
            >= 0xC2 and <= 0xDF => TryMake(lead & 0x1F, 1, 2, out partial),
            >= 0xE0 and <= 0xEF => TryMake(lead & 0x0F, 2, 3, out partial),
            >= 0xF0 and <= 0xF4 => TryMake(lead & 0x07, 3, 4, out partial),
            _ => false,
        };
    }

    /// <summary>
    /// Adds a continuation byte. False when <paramref name="b"/> is not a continuation byte or the prefix can no longer
    /// become a valid character. When the character is complete, <paramref name="next"/> has Remaining = 0 and
    /// <see cref="Value"/> is the code point.
    /// </summary>
    public bool TryAppend(byte b, out Utf8Partial next)
    {
        // Read this before writing next: callers may pass this very variable as next.
        int value = Value, remaining = Remaining, length = Length;
        next = default;
        if (!IsContinuation(b) || remaining == 0) return false;
        return TryMake((value << 6) | (b & 0x3F), remaining - 1, length, out next);
    }

    private static bool TryMake(int value, int remaining, int length, out Utf8Partial partial)
    {
        int shift = 6 * remaining;
        int lo = value << shift;
        int hi = lo | ((1 << shift) - 1);
        (int min, int max) = length switch
        {
            2 => (0x80, 0x7FF),
            3 => (0x800, 0xFFFF),
            _ => (0x10000, 0x10FFFF),
        };
        lo = Math.Max(lo, min);
        hi = Math.Min(hi, max);
        if (length == 3)
        {
            // Surrogates are not characters. Blocks are aligned, so a range touching them is [D000, DFFF] or inside them.
            if (lo >= 0xD800 && hi <= 0xDFFF) return Fail(out partial);
            if (hi >= 0xD800 && lo < 0xD800) hi = 0xD7FF;
        }

        if (lo > hi) return Fail(out partial);
        partial = new Utf8Partial(value, remaining, length, lo, hi);
        return true;
    }

    private static bool Fail(out Utf8Partial partial)
    {
        partial = default;
        return false;
    }
}
