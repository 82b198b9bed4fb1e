using System.Text.Json;
using Hearth.Serving;

namespace Hearth.Server.Ollama;

/// <summary>
/// Ollama's <c>keep_alive</c>: a number of seconds, or a duration string (<see cref="Durations.Parse"/>: <c>"5m"</c>,
/// <c>"1h30m"</c>, <c>"0"</c>). Negative values, and values too long to matter, keep the model loaded for ever, as in
/// Ollama; zero unloads it when the request ends.
/// </summary>
internal static class OllamaKeepAlive
{
    /// <summary>The keep-alive of a request: null when absent (the server's default), negative for ever.</summary>
    /// <exception cref="OllamaRequestException">The value is neither a number nor a duration.</exception>
    public static TimeSpan? Read(OllamaJson body)
    {
        if (body.Get("keep_alive") is not { } v) return null;
        TimeSpan keep;
        try
        {
            keep = v.ValueKind switch
            {
                JsonValueKind.Number when v.TryGetDouble(out var d) && double.IsFinite(d) => Durations.FromSeconds(Math.Clamp(d, -1, Durations.Max.TotalSeconds)),
                JsonValueKind.String => Durations.Parse(v.GetString()!),
                _ => throw body.Bad("keep_alive", "must be a duration string or a number of seconds"),
            };
        }
        catch (FormatException e)
        {
            throw body.Bad("keep_alive", e.Message);
        }

        return keep < TimeSpan.Zero || keep >= Durations.Max ? TimeSpan.FromSeconds(-1) : keep;
    }
}
