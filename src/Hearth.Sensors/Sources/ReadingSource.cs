using System.Diagnostics;

namespace Hearth.Sensors.Sources;

/// <summary>What became of a payload once the monitor handled it.</summary>
public enum PayloadOutcome
{
    /// <summary>Parsed, decided and stored.</summary>
    Accepted,
    /// <summary>Set aside with a reason, and stored as such.</summary>
    Quarantined,
    /// <summary>Already stored (a redelivery); skipped before it reached the rules.</summary>
    Duplicate,
    /// <summary>Not stored: the monitor stopped (or its store kept failing) before it was. Redeliver it.</summary>
    NotStored,
}

/// <summary>The outcome of one payload, with the quarantine reason when it was quarantined.</summary>
/// <param name="Outcome">What happened.</param>
/// <param name="Reason">Why it was quarantined; null otherwise.</param>
public readonly record struct PayloadResult(PayloadOutcome Outcome, QuarantineReason? Reason = null);

/// <summary>
/// One payload a source received: its bytes, where they came from, and what to tell the source once the monitor has
/// stored it (an MQTT PUBACK, an HTTP answer). A source creates it; the monitor completes it exactly once.
/// </summary>
public sealed class SourcePayload
{
    private readonly Func<PayloadResult, ValueTask>? _onDone;
    private int _done;

    /// <summary>Creates a payload.</summary>
    /// <param name="source">The reading's source: an MQTT topic, a file name, <c>stdin</c>, <c>http</c>.</param>
    /// <param name="bytes">The payload (UTF-8 JSON), or its first bytes when the source cut an oversized one short.</param>
    /// <param name="position">Its 1-based position in the source (a line number, a message count).</param>
    /// <param name="length">The payload's full length in bytes when <paramref name="bytes"/> holds only its start; by default the bytes' length.</param>
    /// <param name="onDone">Called once, on the monitor's decision loop, after the payload is stored (or found to be stored
    /// already, or given up); must be quick.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is shorter than <paramref name="bytes"/>.</exception>
    public SourcePayload(string source, ReadOnlyMemory<byte> bytes, long position, long? length = null, Func<PayloadResult, ValueTask>? onDone = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        Length = length ?? bytes.Length;
        ArgumentOutOfRangeException.ThrowIfLessThan(Length, bytes.Length, nameof(length));
        Source = source;
        Bytes = bytes;
        Position = position;
        _onDone = onDone;
    }

    /// <summary>The reading's source.</summary>
    public string Source { get; }

    /// <summary>The payload, or its first bytes when <see cref="Truncated"/>.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    /// <summary>The payload's full length in bytes.</summary>
    public long Length { get; }

    /// <summary>True when the source kept only the first bytes of an oversized payload (it is quarantined as too large).</summary>
    public bool Truncated => Length > Bytes.Length;

    /// <summary>Its 1-based position in its source.</summary>
    public long Position { get; }

    /// <summary>When it was received (wall clock).</summary>
    public DateTimeOffset ReceivedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary>When it was received, in <see cref="Stopwatch"/> ticks (for latencies).</summary>
    public long ReceivedTimestamp { get; } = Stopwatch.GetTimestamp();

    /// <summary>Reports the outcome to the source; only the first call has an effect.</summary>
    public ValueTask CompleteAsync(PayloadResult result) =>
        Interlocked.Exchange(ref _done, 1) == 0 && _onDone != null ? _onDone(result) : ValueTask.CompletedTask;
}

/// <summary>Where a source stands.</summary>
public enum SourceState
{
    /// <summary>Not yet connected (or opened) for the first time.</summary>
    Starting,
    /// <summary>Connected (MQTT), open (a file, stdin) or listening (HTTP).</summary>
    Connected,
    /// <summary>Lost its connection (or its file) and is trying to get it back.</summary>
    Disconnected,
    /// <summary>Ran to its end (end of standard input, the last simulated reading).</summary>
    Finished,
    /// <summary>Stopped on an error it cannot recover from.</summary>
    Failed,
}

/// <summary>A source's state, since when, the error behind it if any, and how many payloads it has produced.</summary>
public sealed record SourceStatus(string Name, string Kind, SourceState State, DateTimeOffset Since, string? LastError, long Payloads);

/// <summary>
/// Produces payloads for the monitor. <see cref="RunAsync"/> runs once: it hands each payload to the monitor (which may
/// make it wait: back-pressure) and returns when the source has ended or <c>stop</c> fires. A source keeps what it needs
/// to acknowledge payloads until it is disposed, which the monitor does only after it has handled them all.
/// </summary>
public abstract class ReadingSource : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private SourceStatus _status;
    private long _payloads;

    /// <summary>Creates a source with a name (the policy's) and a kind (<c>mqtt</c>, <c>file</c>, ...).</summary>
    protected ReadingSource(string name, string kind)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Kind = kind;
        _status = new SourceStatus(name, kind, SourceState.Starting, DateTimeOffset.UtcNow, null, 0);
    }

    /// <summary>The source's name.</summary>
    public string Name { get; }

    /// <summary>Its kind.</summary>
    public string Kind { get; }

    /// <summary>Its current state.</summary>
    public SourceStatus Status
    {
        get
        {
            lock (_gate) return _status with { Payloads = Interlocked.Read(ref _payloads) };
        }
    }

    /// <summary>Produces payloads into <paramref name="emit"/> until the source ends or <paramref name="stop"/> fires.
    /// An exception from <paramref name="emit"/> (the monitor stopped taking payloads) ends the run quietly.</summary>
    public async Task RunAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(emit);
        try
        {
            await RunCoreAsync(async (p, ct) =>
            {
                await emit(p, ct).ConfigureAwait(false);
                Interlocked.Increment(ref _payloads);
            }, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException && stop.IsCancellationRequested || e is System.Threading.Channels.ChannelClosedException)
        {
        }
        catch (Exception e)
        {
            SetState(SourceState.Failed, e.Message);
        }
    }

    /// <summary>The source's work; see <see cref="RunAsync"/>.</summary>
    protected abstract Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop);

    /// <summary>Records a change of state (the time only when the state changes); <paramref name="error"/> replaces the last error when given.</summary>
    protected void SetState(SourceState state, string? error = null)
    {
        lock (_gate)
        {
            _status = _status with
            {
                State = state,
                Since = state == _status.State ? _status.Since : DateTimeOffset.UtcNow,
                LastError = error ?? (state == SourceState.Connected ? null : _status.LastError),
            };
        }
    }

    /// <summary>Emits the lines an assembler completed as payloads of <paramref name="source"/>.</summary>
    protected static async Task EmitLinesAsync(List<JsonLine> lines, string source, Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        foreach (var line in lines) await emit(new SourcePayload(source, line.Bytes, line.Number, line.Length), stop).ConfigureAwait(false);
        lines.Clear();
    }

    /// <summary>Releases what the source holds (an MQTT connection); payloads not yet acknowledged stay unacknowledged.</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}
