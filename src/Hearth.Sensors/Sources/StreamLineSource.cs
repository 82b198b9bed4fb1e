namespace Hearth.Sensors.Sources;

/// <summary>JSON lines read from a stream to its end: standard input, a pipe. The last line needs no newline. The
/// source is finished at end of input.</summary>
public sealed class StreamLineSource : ReadingSource
{
    private readonly Func<Stream> _open;
    private readonly string _source;
    private readonly int _limit;

    /// <summary>Creates the source.</summary>
    /// <param name="name">The source's name.</param>
    /// <param name="open">Opens the stream (called once, when the source runs; the source disposes it).</param>
    /// <param name="source">The readings' source (<c>stdin</c>).</param>
    /// <param name="maxLineBytes">Bytes kept of a line (the policy's <c>max_reading_bytes</c>); longer lines are quarantined.</param>
    public StreamLineSource(string name, Func<Stream> open, string source, int maxLineBytes) : base(name, "stdin")
    {
        ArgumentNullException.ThrowIfNull(open);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _open = open;
        _source = source;
        _limit = maxLineBytes;
    }

    protected override async Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        await using var stream = _open();
        SetState(SourceState.Connected);
        var assembler = new JsonLineAssembler(_limit);
        var lines = new List<JsonLine>();
        var buffer = new byte[64 * 1024];
        int n;
        // A pipe's read may not observe cancellation; WaitAsync lets the source stop anyway.
        while ((n = await stream.ReadAsync(buffer, stop).AsTask().WaitAsync(stop).ConfigureAwait(false)) > 0)
        {
            assembler.Append(buffer.AsSpan(0, n), lines);
            await EmitLinesAsync(lines, _source, emit, stop).ConfigureAwait(false);
        }

        if (assembler.Finish() is { } last) lines.Add(last);
        await EmitLinesAsync(lines, _source, emit, stop).ConfigureAwait(false);
        SetState(SourceState.Finished);
    }
}
