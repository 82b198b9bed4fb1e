using System.Globalization;
using System.Text.Json;

namespace Hearth.Server.Ollama;

/// <summary>
/// Ollama's <c>keep_alive</c>: a number of seconds, or a Go-style duration string (<c>"5m"</c>, <c>"1h30m"</c>,
/// <c>"300ms"</c>, <c>"0"</c>; a bare number in a string is seconds too). Negative values keep the model loaded for
/// ever, as in Ollama; zero unloads it when the request ends.
/// </summary>
internal static class OllamaKeepAlive
{
    /// <summary>Durations at least this long are "for ever" (and stay clear of <see cref="TimeSpan"/> overflow).</summary>
    private static readonly double s_foreverSeconds = TimeSpan.FromDays(365 * 100).TotalSeconds;

    private const int MaxLength = 64;

    /// <summary>The keep-alive of a request: null when absent (the server's default), negative for ever.</summary>
    /// <exception cref="OllamaRequestException">The value is neither a number nor a duration.</exception>
    public static TimeSpan? Read(OllamaJson body)
    {
        if (body.Get("keep_alive") is not { } v) return null;
        double seconds;
        switch (v.ValueKind)
        {
            case JsonValueKind.Number when v.TryGetDouble(out var d) && double.IsFinite(d):
                seconds = d;
                break;
            case JsonValueKind.String:
                var text = v.GetString()!;
                if (!TryParseSeconds(text, out seconds)) throw body.Bad("keep_alive", $"'{Truncate(text)}' is not a duration (such as \"5m\", \"1h\", \"30s\", \"0\" or a number of seconds)");
                break;
            default:
                throw body.Bad("keep_alive", "must be a duration string or a number of seconds");
        }

        if (seconds < 0 || seconds >= s_foreverSeconds) return TimeSpan.FromSeconds(-1);
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>Parses a Go duration (<c>[-+]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+</c>, or <c>0</c>) or a bare number of seconds.</summary>
    internal static bool TryParseSeconds(string text, out double seconds)
    {
        seconds = 0;
        var s = text.Trim();
        if (s.Length == 0 || s.Length > MaxLength) return false;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare))
        {
            if (!double.IsFinite(bare)) return false;
            seconds = bare;
            return true;
        }

        int i = 0;
        double sign = 1;
        if (s[0] is '-' or '+')
        {
            sign = s[0] == '-' ? -1 : 1;
            i++;
        }

        if (i == s.Length) return false;
        double total = 0;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)) return false;
            int unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.') i++;
            double scale = s[unitStart..i] switch
            {
                "ns" => 1e-9,
                "us" or "µs" or "μs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                _ => double.NaN,
            };
            if (double.IsNaN(scale)) return false;
            total += value * scale;
        }

        seconds = sign * total;
        return double.IsFinite(seconds);
    }

    private static string Truncate(string s) => s.Length <= MaxLength ? s : s[..MaxLength] + "…";
}
