using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hearth.Sensors;

/// <summary>Why a reading was quarantined instead of evaluated.</summary>
public enum QuarantineReason
{
    /// <summary>The payload is not JSON.</summary>
    MalformedJson,
    /// <summary>The payload is JSON but not an object.</summary>
    NotAnObject,
    /// <summary>The payload is larger than the policy's <c>max_reading_bytes</c> (it was not parsed), or a text signal's
    /// value is longer than its <c>max_bytes</c>.</summary>
    TooLarge,
    /// <summary>Neither <c>ts</c> nor <c>timestamp</c> is present.</summary>
    MissingTimestamp,
    /// <summary>The timestamp is neither ISO-8601 text nor unix seconds/milliseconds.</summary>
    BadTimestamp,
    /// <summary>A signal's value is not of its type: not a number for a number signal, not a string for a text signal.</summary>
    WrongType,
    /// <summary>A field is neither a declared signal nor a known metadata key.</summary>
    UnknownSignal,
    /// <summary>The reading names a source (<c>source</c>/<c>sensor</c>) no signal is declared for.</summary>
    UnknownSensor,
}

/// <summary>A reading that was set aside, with why.</summary>
/// <param name="Position">Its 1-based position in the stream (a line number for JSON lines).</param>
/// <param name="Reason">Why.</param>
/// <param name="Detail">What exactly was wrong.</param>
/// <param name="Excerpt">The start of the payload (at most 200 characters).</param>
public sealed record QuarantinedReading(long Position, QuarantineReason Reason, string Detail, string Excerpt);

/// <summary>The outcome of parsing one payload: a reading, or a quarantine.</summary>
public readonly record struct ParsedReading(Reading? Reading, QuarantinedReading? Quarantined);

/// <summary>
/// Turns JSON payloads into <see cref="Reading"/>s against a policy. A payload is an object with a timestamp
/// (<c>ts</c> or <c>timestamp</c>: ISO-8601 text, or unix seconds — or milliseconds when larger than 10^11), numbers
/// for declared number signals and strings of at most their <c>max_bytes</c> UTF-8 bytes for text signals (null counts as
/// absent), and optionally <c>source</c>/<c>sensor</c>, <c>id</c>, <c>seq</c>.
/// Anything else is quarantined with its reason; parsing never throws for bad input.
/// </summary>
public sealed class ReadingParser
{
    private const int ExcerptChars = 200;
    private static readonly string[] s_metadataKeys = ["ts", "timestamp", "source", "sensor", "id", "seq"];
    private readonly MonitorPolicy _policy;
    private readonly Dictionary<string, SignalSpec> _fields;
    private readonly HashSet<string> _sources;

    /// <summary>Creates a parser for a policy's signals and byte limit.</summary>
    public ReadingParser(MonitorPolicy policy)
    {
        _policy = policy;
        // The loader makes a field's type the same in every signal that reads it; the smallest text limit applies.
        _fields = policy.Signals.GroupBy(s => s.Field, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.MinBy(s => s.MaxBytes)!, StringComparer.Ordinal);
        _sources = policy.Signals.Where(s => s.Source != null).Select(s => s.Source!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Parses a UTF-8 payload; <paramref name="source"/> is the reading's source unless the payload names one.</summary>
    public ParsedReading Parse(ReadOnlySpan<byte> utf8, string source, long position)
    {
        if (utf8.Length > _policy.MaxReadingBytes)
            return Quarantine(position, QuarantineReason.TooLarge, $"{utf8.Length} bytes is over the limit of {_policy.MaxReadingBytes}", utf8);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(utf8);
        }
        catch (JsonException e)
        {
            return Quarantine(position, QuarantineReason.MalformedJson, e.Message, utf8);
        }

        if (node is not JsonObject obj) return Quarantine(position, QuarantineReason.NotAnObject, $"a reading is a JSON object, not {Kind(node)}", utf8);

        foreach (var (key, value) in obj)
        {
            if (s_metadataKeys.Contains(key)) continue;
            if (!_fields.TryGetValue(key, out var signal)) return Quarantine(position, QuarantineReason.UnknownSignal, $"field '{key}' is not a declared signal", utf8);
            if (value == null) continue;
            if (signal.Kind == SignalKind.Number && value.GetValueKind() != JsonValueKind.Number)
                return Quarantine(position, QuarantineReason.WrongType, $"signal field '{key}' is {Kind(value)}, not a number", utf8);
            if (signal.Kind == SignalKind.Text)
            {
                if (value.GetValueKind() != JsonValueKind.String)
                    return Quarantine(position, QuarantineReason.WrongType, $"text signal field '{key}' is {Kind(value)}, not text", utf8);
                int bytes = Encoding.UTF8.GetByteCount(value.GetValue<string>());
                if (bytes > signal.MaxBytes)
                    return Quarantine(position, QuarantineReason.TooLarge, $"text signal field '{key}' is {bytes} bytes, over its limit of {signal.MaxBytes}", utf8);
            }
        }

        if ((obj["source"] ?? obj["sensor"]) is { } named)
        {
            if (named.GetValueKind() != JsonValueKind.String) return Quarantine(position, QuarantineReason.WrongType, $"source is {Kind(named)}, not text", utf8);
            source = named.GetValue<string>();
            if (_sources.Count > 0 && !_sources.Contains(source))
                return Quarantine(position, QuarantineReason.UnknownSensor, $"source '{source}' has no declared signals", utf8);
        }

        var ts = obj["ts"] ?? obj["timestamp"];
        if (ts == null) return Quarantine(position, QuarantineReason.MissingTimestamp, "no 'ts' or 'timestamp' field", utf8);
        if (!TryTimestamp(ts, out var when, out var problem)) return Quarantine(position, QuarantineReason.BadTimestamp, problem, utf8);
        return new ParsedReading(new Reading(source, when, obj), null);
    }

    /// <summary>Parses a text payload (see <see cref="Parse(ReadOnlySpan{byte}, string, long)"/>).</summary>
    public ParsedReading Parse(string json, string source, long position) => Parse(Encoding.UTF8.GetBytes(json), source, position);

    /// <summary>A quarantine for a payload too large to have been read whole (see <see cref="JsonLinesReader"/>).</summary>
    public QuarantinedReading Oversized(long position, long bytes, ReadOnlySpan<byte> head) =>
        Quarantine(position, QuarantineReason.TooLarge, $"{bytes} bytes is over the limit of {_policy.MaxReadingBytes}", head).Quarantined!;

    private static bool TryTimestamp(JsonNode ts, out DateTimeOffset when, out string problem)
    {
        when = default;
        problem = "";
        switch (ts.GetValueKind())
        {
            case JsonValueKind.String:
                var text = ts.GetValue<string>();
                if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out when)) return true;
                problem = $"timestamp '{text}' is not ISO-8601";
                return false;
            case JsonValueKind.Number:
                double v = ts.GetValue<double>();
                // Unix seconds until 10^11 (the year 5138); beyond that the number can only be milliseconds.
                double ms = v > 1e11 ? v : v * 1000;
                if (double.IsFinite(ms) && ms >= 0 && ms <= 253402300799999)
                {
                    when = DateTimeOffset.UnixEpoch.AddTicks((long)Math.Round(ms * TimeSpan.TicksPerMillisecond));
                    return true;
                }

                problem = $"timestamp {v.ToString(CultureInfo.InvariantCulture)} is out of range";
                return false;
            default:
                problem = $"timestamp is {Kind(ts)}, not text or a number";
                return false;
        }
    }

    private static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        null or JsonValueKind.Null => "null",
        JsonValueKind.String => "text",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    private static ParsedReading Quarantine(long position, QuarantineReason reason, string detail, ReadOnlySpan<byte> payload)
    {
        var head = payload[..Math.Min(payload.Length, ExcerptChars * 4)];
        var text = Encoding.UTF8.GetString(head);
        if (text.Length > ExcerptChars) text = text[..ExcerptChars];
        return new ParsedReading(null, new QuarantinedReading(position, reason, detail, text));
    }
}
