using System.Text.Json;

namespace Hearth.Sensors.Sources;

/// <summary>What the monitor made of one HTTP ingest request.</summary>
/// <param name="Accepted">Payloads decided and stored.</param>
/// <param name="Quarantined">Payloads set aside (and stored as such).</param>
/// <param name="Duplicates">Payloads already stored before (a retried request).</param>
/// <param name="NotStored">Payloads the monitor did not store (it is stopping): send them again.</param>
/// <param name="Reasons">Quarantined payloads by reason (snake_case names).</param>
public sealed record IngestResult(int Accepted, int Quarantined, int Duplicates, int NotStored, IReadOnlyDictionary<string, int> Reasons);

/// <summary>
/// Payloads posted to the monitor's HTTP endpoint (<c>POST /ingest/NAME</c>; see <see cref="Monitoring.MonitorHttpEndpoint"/>).
/// A request is answered once every payload in it is stored, so a client that got its answer knows its readings are kept.
/// Readings' source is <c>http</c>.
/// </summary>
public sealed class HttpIngestSource : ReadingSource
{
    /// <summary>The readings' source.</summary>
    public const string SourceName = "http";

    private volatile Func<SourcePayload, CancellationToken, ValueTask>? _emit;
    private CancellationToken _stop;
    private long _position;

    /// <summary>Creates the source.</summary>
    /// <param name="name">The source's name (its URL is <c>/ingest/NAME</c>).</param>
    /// <param name="apiKey">The key clients must send (<c>x-api-key</c> or <c>Authorization: Bearer</c>); null for none.</param>
    /// <param name="maxBodyBytes">The largest request body taken; a larger one is refused (413) with its start quarantined.</param>
    public HttpIngestSource(string name, string? apiKey, int maxBodyBytes) : base(name, "http")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBodyBytes, 1);
        if (apiKey is { Length: 0 }) throw new ArgumentException("An empty API key protects nothing; give null for none.", nameof(apiKey));
        ApiKey = apiKey;
        MaxBodyBytes = maxBodyBytes;
    }

    /// <summary>The key clients must send, or null.</summary>
    public string? ApiKey { get; }

    /// <summary>The largest request body taken.</summary>
    public int MaxBodyBytes { get; }

    /// <summary>True while the monitor takes payloads from this source.</summary>
    public bool IsAccepting => _emit != null;

    protected override async Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        _stop = stop;
        _emit = emit;
        SetState(SourceState.Connected);
        try
        {
            await Task.Delay(Timeout.Infinite, stop).ConfigureAwait(false);
        }
        finally
        {
            _emit = null;
        }
    }

    /// <summary>Hands a request's payloads to the monitor in order and waits until each is stored (or given up).</summary>
    /// <param name="payloads">Each payload's bytes and full length (longer than the bytes when only the start was kept).</param>
    /// <param name="cancel">Stops waiting (the client went away); payloads already handed over are still processed.</param>
    /// <exception cref="MonitorUnavailableException">The monitor is not taking payloads (not started, or stopping).</exception>
    public async Task<IngestResult> SubmitAsync(IReadOnlyList<(ReadOnlyMemory<byte> Bytes, long Length)> payloads, CancellationToken cancel)
    {
        var results = new List<Task<PayloadResult>>(payloads.Count);
        try
        {
            foreach (var (bytes, length) in payloads)
            {
                var emit = _emit ?? throw new MonitorUnavailableException($"the monitor is not taking readings on '{Name}' (it is not running, or stopping)");
                var done = new TaskCompletionSource<PayloadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
                await emit(new SourcePayload(SourceName, bytes, Interlocked.Increment(ref _position), length, r =>
                {
                    done.TrySetResult(r);
                    return ValueTask.CompletedTask;
                }), _stop).ConfigureAwait(false);
                results.Add(done.Task);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            results.AddRange(Enumerable.Repeat(Task.FromResult(new PayloadResult(PayloadOutcome.NotStored)), payloads.Count - results.Count));
        }

        var outcomes = await Task.WhenAll(results).WaitAsync(cancel).ConfigureAwait(false);
        var reasons = outcomes.Where(o => o.Reason != null).GroupBy(o => MonitorFormat.Reason(o.Reason!.Value))
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count());
        int Count(PayloadOutcome k) => outcomes.Count(o => o.Outcome == k);
        return new IngestResult(Count(PayloadOutcome.Accepted), Count(PayloadOutcome.Quarantined), Count(PayloadOutcome.Duplicate),
            Count(PayloadOutcome.NotStored), reasons);
    }

    /// <summary>Splits a request body into payloads: a JSON array gives one payload per element (its exact text), a body
    /// that is one JSON value is one payload, and anything else is read as JSON lines (each line a payload, so a
    /// malformed line is quarantined on its own).</summary>
    public static List<ReadOnlyMemory<byte>> Split(ReadOnlyMemory<byte> body)
    {
        var payloads = new List<ReadOnlyMemory<byte>>();
        var trimmed = body.Span.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty) return payloads;
        if (OneValue(body.Span, out var isArray))
        {
            if (!isArray)
            {
                payloads.Add(body);
                return payloads;
            }

            var reader = new Utf8JsonReader(body.Span);
            reader.Read(); // [
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                int start = (int)reader.TokenStartIndex;
                reader.Skip();
                payloads.Add(body[start..(int)reader.BytesConsumed]);
            }

            return payloads;
        }

        var lines = new JsonLineAssembler(int.MaxValue - 1);
        var done = new List<JsonLine>();
        lines.Append(body.Span, done);
        if (lines.Finish() is { } last) done.Add(last);
        payloads.AddRange(done.Select(l => l.Bytes));
        return payloads;
    }

    private static bool OneValue(ReadOnlySpan<byte> body, out bool isArray)
    {
        isArray = false;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read()) return false;
            isArray = reader.TokenType == JsonTokenType.StartArray;
            reader.Skip();
            return !reader.Read(); // nothing after the value
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

/// <summary>The monitor is not taking payloads right now (not started yet, or stopping); try again later.</summary>
public sealed class MonitorUnavailableException(string message) : HearthException(message);
