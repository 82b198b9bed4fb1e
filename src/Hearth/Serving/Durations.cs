using System.Globalization;

namespace Hearth.Serving;

/// <summary>Durations as servers and command lines write them: Go's <c>1h30m</c>, <c>5m</c>, <c>300ms</c>, or plain seconds.</summary>
public static class Durations
{
    /// <summary>The longest duration accepted (a keep-alive beyond it is as good as forever; use a negative one).</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(3650);

    /// <summary>
    /// Parses a duration: a number of seconds (<c>300</c>, <c>-1</c>, <c>2.5</c>) or a sequence of numbers with the units
    /// <c>ns us µs ms s m h</c> (<c>1h30m</c>, <c>-1m</c>, <c>1.5h</c>), optionally signed.
    /// </summary>
    /// <exception cref="FormatException">The text is not a duration, or its magnitude is above <see cref="Max"/>.</exception>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = text.Trim();
        if (s.Length == 0 || s.Length > 64) throw new FormatException($"'{Shorten(text)}' is not a duration (such as 5m, 1h30m, 300 seconds or -1)");
        if (double.TryParse(s, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
            return Checked(seconds, text);

        int i = 0;
        double sign = 1;
        if (s[0] is '+' or '-')
        {
            sign = s[0] == '-' ? -1 : 1;
            i = 1;
        }

        double total = 0;
        bool any = false;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"'{Shorten(text)}' is not a duration (such as 5m, 1h30m, 300 seconds or -1)");
            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            double scale = s[unitStart..i] switch
            {
                "ns" => 1e-9,
                "us" or "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => throw new FormatException($"'{Shorten(text)}': unknown duration unit '{s[unitStart..i]}' (use ms, s, m or h)"),
            };
            total += value * scale;
            any = true;
        }

        if (!any) throw new FormatException($"'{Shorten(text)}' is not a duration");
        return Checked(sign * total, text);
    }

    /// <summary>A number of seconds as a duration (negative means forever to a keep-alive).</summary>
    /// <exception cref="FormatException">The magnitude is above <see cref="Max"/> or the number is not finite.</exception>
    public static TimeSpan FromSeconds(double seconds) => Checked(seconds, seconds.ToString(CultureInfo.InvariantCulture));

    private static TimeSpan Checked(double seconds, string text)
    {
        if (!double.IsFinite(seconds) || Math.Abs(seconds) > Max.TotalSeconds)
            throw new FormatException($"'{Shorten(text)}' is out of range (at most {Max.TotalDays:F0} days either way)");
        return TimeSpan.FromSeconds(seconds);
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
