using System.Globalization;

namespace Hearth.Serving;

/// <summary>Byte counts as people write them: <c>8GB</c>, <c>512MiB</c>, <c>1.5G</c>, <c>1048576</c>.</summary>
public static class ByteSizes
{
    /// <summary>
    /// Parses a size: a number with an optional unit. <c>K M G T</c> with or without <c>B</c> and <c>KiB MiB GiB TiB</c>
    /// are all binary (1024-based), as memory is counted; no unit (or <c>B</c>) is bytes. Case does not matter.
    /// </summary>
    /// <exception cref="FormatException">Not a size, negative, or above 2^62 bytes.</exception>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
        if (i == 0 || s.Length > 32 || !double.TryParse(s.AsSpan(0, i), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
            throw new FormatException($"'{text}' is not a size (such as 8GB, 512MiB or 1048576)");
        double scale = s[i..].Trim().ToUpperInvariant() switch
        {
            "" or "B" => 1,
            "K" or "KB" or "KIB" => 1L << 10,
            "M" or "MB" or "MIB" => 1L << 20,
            "G" or "GB" or "GIB" => 1L << 30,
            "T" or "TB" or "TIB" => 1L << 40,
            var unit => throw new FormatException($"'{text}': unknown size unit '{unit}' (use K, M, G or T)"),
        };
        double bytes = Math.Round(value * scale);
        if (!double.IsFinite(bytes) || bytes > (double)(1L << 62)) throw new FormatException($"'{text}' is too large");
        return (long)bytes;
    }
}
