using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Hearth.Server;

/// <summary>A model loaded in a running server, as <c>/api/ps</c> reports it.</summary>
public sealed record RunningModel(string Name, long Size, long SizeVram, DateTimeOffset? ExpiresAt);

/// <summary>A client of a running Hearth server, for the CLI's <c>hearth ps</c>.</summary>
public static class ServerClient
{
    /// <summary>Largest answer read from the server.</summary>
    public const int MaxResponseBytes = 1 << 20;

    /// <summary>Most models accepted in one answer.</summary>
    public const int MaxModels = 10_000;

    /// <summary>The base address of a server on <paramref name="host"/> and <paramref name="port"/> (IPv6 in brackets).</summary>
    /// <exception cref="ArgumentException">The host or port is not valid.</exception>
    public static Uri BaseAddress(string host, int port)
    {
        if (port is < 1 or > 65535) throw new ArgumentException($"--port {port} must be within 1..65535");
        var h = host is "0.0.0.0" ? "127.0.0.1" : host is "::" ? "::1" : host;
        if (h.Contains(':', StringComparison.Ordinal) && !h.StartsWith('[')) h = $"[{h}]";
        return Uri.TryCreate($"http://{h}:{port}/", UriKind.Absolute, out var uri) ? uri : throw new ArgumentException($"--host '{host}' is not a host name or address");
    }

    /// <summary>GETs <c>/api/ps</c> and reads its <c>models</c>.</summary>
    /// <exception cref="HttpRequestException">The server could not be reached or answered with an error status.</exception>
    /// <exception cref="InvalidDataException">The answer is not the expected JSON, or too large.</exception>
    public static async Task<IReadOnlyList<RunningModel>> RunningModelsAsync(Uri baseAddress, string? apiKey, CancellationToken cancellation = default)
    {
        using var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30), MaxResponseContentBufferSize = MaxResponseBytes };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/ps");
        if (!string.IsNullOrEmpty(apiKey)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        using var response = await http.SendAsync(request, cancellation).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{baseAddress}api/ps answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellation).ConfigureAwait(false);
        return ParseRunningModels(bytes);
    }

    /// <summary>Reads an <c>/api/ps</c> answer: <c>{"models":[{"name","size","size_vram","expires_at"},...]}</c>.</summary>
    /// <exception cref="InvalidDataException">Not that shape, a negative size, or more than <see cref="MaxModels"/> models.</exception>
    public static IReadOnlyList<RunningModel> ParseRunningModels(ReadOnlySpan<byte> json)
    {
        if (json.Length > MaxResponseBytes) throw new InvalidDataException($"the answer is larger than {MaxResponseBytes} bytes");
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 16 });
            using var doc = JsonDocument.ParseValue(ref reader);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("models", out var models) || models.ValueKind != JsonValueKind.Array)
                throw new InvalidDataException("the answer has no models array");
            if (models.GetArrayLength() > MaxModels) throw new InvalidDataException($"the answer lists more than {MaxModels} models");
            var result = new List<RunningModel>();
            foreach (var m in models.EnumerateArray())
            {
                var name = m.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw new InvalidDataException("a model has no name");
                long size = Size(m, "size"), vram = Size(m, "size_vram");
                DateTimeOffset? expires = m.TryGetProperty("expires_at", out var e) && e.ValueKind == JsonValueKind.String && e.TryGetDateTimeOffset(out var at) ? at : null;
                result.Add(new RunningModel(name, size, vram, expires));
            }

            return result;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the answer is not valid JSON: {e.Message}");
        }
    }

    /// <summary>The models as a table: name, size, processor, and when each is unloaded.</summary>
    public static string FormatTable(IReadOnlyList<RunningModel> models, DateTimeOffset now)
    {
        var rows = new List<string[]> { new[] { "NAME", "SIZE", "PROCESSOR", "UNTIL" } };
        foreach (var m in models)
        {
            string until = m.ExpiresAt is not { } at ? "-"
                : at.Year >= 2200 ? "Forever"
                : at <= now ? "now"
                : $"{Describe(at - now)} from now";
            rows.Add([Sanitize(m.Name), Bytes(m.Size), m.SizeVram > 0 ? "GPU" : "100% CPU", until]);
        }

        var widths = Enumerable.Range(0, 4).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var s = new StringBuilder();
        foreach (var r in rows) s.AppendLine(string.Join("   ", r.Select((cell, c) => c == 3 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        return s.ToString();
    }

    private static long Size(JsonElement m, string key)
    {
        if (!m.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return 0;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var n) || n < 0) throw new InvalidDataException($"a model's {key} is not a byte count");
        return n;
    }

    private static string Bytes(long n) => n switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{n / (double)(1L << 30):F1} GB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{n / (double)(1L << 20):F1} MB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{n / (double)(1L << 10):F1} KB"),
        _ => $"{n} B",
    };

    private static string Describe(TimeSpan t) =>
        t.TotalHours >= 1 ? $"{(int)t.TotalHours} hours" : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes} minutes" : $"{Math.Max(1, (int)t.TotalSeconds)} seconds";

    /// <summary>A name from the network, with control characters (terminal escapes) replaced.</summary>
    private static string Sanitize(string name)
    {
        var clean = new string(name.Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return clean.Length > 80 ? clean[..80] + "…" : clean;
    }
}
