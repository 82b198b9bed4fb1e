namespace Hearth.Sensors.Sources;

/// <summary>
/// Follows a JSON-lines file like <c>tail -f</c>: reads what is there (or starts at the end), then every appended line.
/// A partial last line waits for its newline. When the file is truncated, or replaced by a new file at the same path
/// (log rotation), reading continues at the new content's beginning, after the old file's remaining lines. Readings'
/// source is the file name. A file that does not exist yet is waited for.
/// </summary>
/// <remarks>Replacement is noticed by the path's file becoming shorter than the read position or its first bytes (up to
/// 256) changing; a new file that starts with exactly the old one's first bytes and is already longer than the read
/// position is taken for the same file. Re-reading is harmless to the monitor, which skips payloads it has stored.</remarks>
public sealed class JsonLinesFileSource : ReadingSource
{
    private const int FingerprintBytes = 256;
    private readonly string _path;
    private readonly string _source;
    private readonly int _limit;
    private readonly bool _fromEnd;
    private readonly TimeSpan _poll;

    /// <summary>Creates the source.</summary>
    /// <param name="name">The source's name.</param>
    /// <param name="path">The file.</param>
    /// <param name="maxLineBytes">Bytes kept of a line (the policy's <c>max_reading_bytes</c>); longer lines are quarantined.</param>
    /// <param name="fromEnd">Skip what the file holds when it is first opened.</param>
    /// <param name="poll">How often to look for new lines, truncation and rotation.</param>
    public JsonLinesFileSource(string name, string path, int maxLineBytes, bool fromEnd, TimeSpan poll) : base(name, "file")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(poll, TimeSpan.Zero);
        _path = path;
        _source = Path.GetFileName(path);
        _limit = maxLineBytes;
        _fromEnd = fromEnd;
        _poll = poll;
    }

    protected override async Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        var assembler = new JsonLineAssembler(_limit);
        var lines = new List<JsonLine>();
        var buffer = new byte[64 * 1024];
        FileStream? file = null;
        byte[] fingerprint = [];
        bool first = true;
        try
        {
            while (true)
            {
                stop.ThrowIfCancellationRequested();
                if (file == null)
                {
                    file = Open(_path);
                    if (file == null)
                    {
                        SetState(SourceState.Disconnected, $"{_path} does not exist (yet)");
                        await Task.Delay(_poll, stop).ConfigureAwait(false);
                        continue;
                    }

                    file.Position = first && _fromEnd ? file.Length : 0;
                    first = false;
                    fingerprint = Head(file, Math.Min(FingerprintBytes, file.Length));
                    assembler.Reset();
                    SetState(SourceState.Connected);
                }

                int n = await file.ReadAsync(buffer, stop).ConfigureAwait(false);
                if (n > 0)
                {
                    assembler.Append(buffer.AsSpan(0, n), lines);
                    await EmitLinesAsync(lines, _source, emit, stop).ConfigureAwait(false);
                    continue;
                }

                // At the end of what we have. Truncated in place?
                if (file.Length < file.Position)
                {
                    file.Position = 0;
                    assembler.Reset();
                    fingerprint = [];
                    continue;
                }

                if (fingerprint.Length < FingerprintBytes && file.Position > fingerprint.Length)
                    fingerprint = Head(file, Math.Min(FingerprintBytes, file.Position));
                if (Replaced(fingerprint, file.Position))
                {
                    // Rotated: the old file's last lines were read above (an unterminated one is dropped); start the new one.
                    await file.DisposeAsync().ConfigureAwait(false);
                    file = null;
                    continue;
                }

                await Task.Delay(_poll, stop).ConfigureAwait(false);
            }
        }
        finally
        {
            if (file != null) await file.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileStream? Open(string path)
    {
        try
        {
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.ReadWrite | FileShare.Delete, Options = FileOptions.Asynchronous,
            });
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static byte[] Head(FileStream file, long count)
    {
        var head = new byte[count];
        int got = RandomAccess.Read(file.SafeFileHandle, head, 0);
        return got == head.Length ? head : head[..got];
    }

    /// <summary>Whether the path now names another file than the one open (see the remarks).</summary>
    private bool Replaced(byte[] fingerprint, long position)
    {
        using var now = Open(_path);
        if (now == null) return false; // being rotated: keep reading the old file until the new one appears
        if (now.Length < position || now.Length < fingerprint.Length) return true;
        return !Head(now, fingerprint.Length).AsSpan().SequenceEqual(fingerprint);
    }
}
