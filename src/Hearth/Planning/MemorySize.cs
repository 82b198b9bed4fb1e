using System.Globalization;

namespace Hearth.Planning;

/// <summary>
/// Parses and formats amounts of memory such as <c>10GB</c>, <c>512MiB</c> or <c>8G</c>.
/// </summary>
/// <remarks>
/// <para>The rule is the SI / IEC one (as Kubernetes uses it): a unit with an <c>i</c> is binary, one without is
/// decimal.</para>
/// <list type="bullet">
/// <item>Decimal: <c>K</c>/<c>KB</c> = 1e3, <c>M</c>/<c>MB</c> = 1e6, <c>G</c>/<c>GB</c> = 1e9, <c>T</c>/<c>TB</c> = 1e12
/// bytes. So <c>8G</c> is 8,000,000,000 bytes.</item>
/// <item>Binary: <c>Ki</c>/<c>KiB</c> = 2^10, <c>Mi</c>/<c>MiB</c> = 2^20, <c>Gi</c>/<c>GiB</c> = 2^30, <c>Ti</c>/<c>TiB</c>
/// = 2^40 bytes.</item>
/// <item><c>B</c> or no unit: bytes.</item>
/// </list>
/// <para>Units are case-insensitive (<c>10gb</c> = <c>10GB</c>); the number may have a fraction (<c>1.5GiB</c>) and
/// may be separated from the unit by spaces. The result is rounded down to whole bytes and must be positive.</para>
/// </remarks>
public static class MemorySize
{
    private static readonly (string Unit, long Factor)[] s_units =
    [
        ("b", 1),
        ("k", 1_000), ("kb", 1_000), ("m", 1_000_000), ("mb", 1_000_000),
        ("g", 1_000_000_000), ("gb", 1_000_000_000), ("t", 1_000_000_000_000), ("tb", 1_000_000_000_000),
        ("ki", 1L << 10), ("kib", 1L << 10), ("mi", 1L << 20), ("mib", 1L << 20),
        ("gi", 1L << 30), ("gib", 1L << 30), ("ti", 1L << 40), ("tib", 1L << 40),
    ];

    /// <summary>Bytes in one MiB (2^20).</summary>
    public const long MiB = 1L << 20;

    /// <summary>Parses an amount of memory; see the remarks of <see cref="MemorySize"/> for the units.</summary>
    /// <exception cref="ArgumentException">The text is empty, not a number with a known unit, not positive, or more than
    /// <see cref="long.MaxValue"/> bytes; the message shows valid examples.</exception>
    public static long Parse(string text) =>
        TryParse(text, out long bytes, out string? error)
            ? bytes
            : throw new ArgumentException($"memory size '{text}': {error} (examples: 10GB, 512MiB, 8G, 1.5GiB)", nameof(text));

    /// <summary>Parses an amount of memory; false (and 0) when <see cref="Parse"/> would throw.</summary>
    public static bool TryParse(string? text, out long bytes) => TryParse(text, out bytes, out _);

    private static bool TryParse(string? text, out long bytes, out string? error)
    {
        bytes = 0;
        var s = (text ?? "").Trim();
        if (s.Length == 0)
        {
            error = "it is empty";
            return false;
        }

        int end = 0;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.')) end++;
        var number = s[..end];
        var unit = s[end..].Trim().ToLowerInvariant();
        if (number.Length == 0 || number.Count(c => c == '.') > 1 || number == "." ||
            !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            error = s.StartsWith('-') ? "it must be positive" : "it does not start with a number";
            return false;
        }

        long factor = 0;
        if (unit.Length == 0) factor = 1;
        foreach (var (name, f) in s_units)
        {
            if (name == unit) factor = f;
        }

        if (factor == 0)
        {
            error = $"unknown unit '{s[end..].Trim()}' (K, M, G, T and KB..TB are powers of 1000; Ki, Mi, Gi, Ti and KiB..TiB powers of 1024; B is bytes)";
            return false;
        }

        if (value >= long.MaxValue || value * factor >= long.MaxValue)
        {
            error = "it is too large";
            return false;
        }

        bytes = (long)decimal.Floor(value * factor);
        if (bytes <= 0)
        {
            error = "it must be at least one byte";
            bytes = 0;
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Bytes as MiB with one decimal, e.g. <c>137.6 MiB</c> (invariant culture).</summary>
    public static string Format(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)MiB:F1} MiB");
}
