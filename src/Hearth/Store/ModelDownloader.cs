using System.Globalization;
using System.Net;
using System.Security.Cryptography;

namespace Hearth.Store;

/// <summary>What to download and where.</summary>
/// <param name="Source">The file's address.</param>
/// <param name="PartialPath">The file the bytes go to. Bytes already there are resumed from (HTTP Range).</param>
/// <param name="Name">The store name, for progress reports and messages.</param>
/// <param name="File">The file's path in its repository, for progress reports and messages.</param>
/// <param name="ExpectedSize">The size the file must have, when known.</param>
/// <param name="ExpectedSha256">The SHA-256 the file must have (lower-case hex), when known.</param>
public sealed record DownloadRequest(Uri Source, string PartialPath, string Name, string File, long? ExpectedSize = null, string? ExpectedSha256 = null);

/// <summary>A finished, verified download.</summary>
/// <param name="Size">Bytes in the file.</param>
/// <param name="Sha256">The file's SHA-256 (lower-case hex).</param>
/// <param name="Verified">Whether the hash was checked against a known value (the request's or the server's ETag).</param>
public sealed record DownloadResult(long Size, string Sha256, bool Verified);

/// <summary>
/// Downloads one file to a partial file, resumably: bytes already in the partial file are kept and the rest is
/// asked for with <c>Range: bytes=N-</c>; a server that ignores Range (200) restarts the file, and 416 means the
/// partial file is already complete (or stale, then it restarts). A dropped connection or a 5xx/429 answer is retried
/// after <see cref="HubOptions.RetryDelay"/>, up to <see cref="HubOptions.MaxAttempts"/> attempts in a row that add no
/// bytes. The SHA-256 is checked against the request's value, else the server's <c>X-Linked-Etag</c> / <c>ETag</c>
/// when it is a SHA-256. The downloader never renames anything: committing the file is the caller's business.
/// </summary>
public sealed class ModelDownloader
{
    private const int BufferSize = 1 << 17;
    private readonly HubClient _hub;

    /// <summary>A downloader sending through <paramref name="hub"/>'s client and token.</summary>
    public ModelDownloader(HubClient hub) => _hub = hub ?? throw new ArgumentNullException(nameof(hub));

    /// <summary>Downloads (or finishes downloading) <paramref name="request"/>'s file into its partial path and verifies it.</summary>
    /// <exception cref="HubNotFoundException">404.</exception>
    /// <exception cref="HubAuthorizationException">401 or 403.</exception>
    /// <exception cref="HubException">Other failures, or too many attempts without progress; the partial file is kept for a later resume.</exception>
    /// <exception cref="ModelIntegrityException">Size or SHA-256 mismatch, or more bytes than announced; the partial file is deleted.</exception>
    /// <exception cref="IOException">The partial file is in use by another pull, or the disk failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the partial file is kept.</exception>
    public async Task<DownloadResult> DownloadAsync(DownloadRequest request, IProgress<PullProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ExpectedSize is < 0 || request.ExpectedSize > _hub.Options.MaxFileBytes)
            throw new HubException($"{request.File}: the Hub gives a size of {request.ExpectedSize} bytes, beyond the {_hub.Options.MaxFileBytes} accepted");

        FileStream file;
        try
        {
            file = new FileStream(request.PartialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.Asynchronous);
        }
        catch (IOException e) when (File.Exists(request.PartialPath))
        {
            throw new IOException($"{request.PartialPath} is in use: is another pull of '{request.Name}' running?", e);
        }

        string? expected = request.ExpectedSha256;
        string actual;
        bool verified;
        await using (file.ConfigureAwait(false))
        {
            // A partial file left by an earlier run may belong to an older version of the file: if the hash then
            // fails, start once more from nothing before calling the download corrupt.
            bool resumedFromEarlierRun = file.Length > 0;
            while (true)
            {
                var fromServer = await FetchAsync(request, file, progress, cancellationToken).ConfigureAwait(false);
                expected ??= fromServer;
                progress?.Report(new PullProgress(PullStage.Verifying, request.Name, request.File, file.Length, file.Length));
                file.Position = 0;
                actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false));
                verified = expected != null;
                if (expected == null || expected == actual) break;
                if (!resumedFromEarlierRun)
                {
                    file.SetLength(0);
                    break;
                }

                resumedFromEarlierRun = false;
                file.SetLength(0);
            }
        }

        if (verified && expected != actual)
        {
            File.Delete(request.PartialPath);
            throw new ModelIntegrityException($"{request.File}: the downloaded bytes have SHA-256 {actual}, not the expected {expected}; the download is corrupt and was deleted (pull again)");
        }

        return new DownloadResult(new FileInfo(request.PartialPath).Length, actual, verified);
    }

    /// <summary>Brings the partial file to the full length; returns the SHA-256 the server announced, if any.</summary>
    private async Task<string?> FetchAsync(DownloadRequest request, FileStream file, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        long? total = request.ExpectedSize;
        string? announcedSha = null;
        int failures = 0;
        int attempt = 0;
        var buffer = new byte[BufferSize];
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            attempt++;
            long offset = file.Length;
            if (total is { } t && offset > t)
            {
                file.SetLength(0);
                offset = 0;
            }

            if (total is { } done && offset == done && done > 0) return announcedSha;

            string? failure;
            long before = offset;
            try
            {
                (failure, total, announcedSha) = await AttemptAsync(request, file, offset, total, announcedSha, buffer, attempt, progress, cancellationToken).ConfigureAwait(false);
            }
            catch (TransientException e)
            {
                failure = e.Message;
            }

            if (failure == null) return announcedSha;
            failures = file.Length > before ? 0 : failures + 1;
            if (failures >= Math.Max(1, _hub.Options.MaxAttempts))
            {
                throw new HubException($"{request.File}: download failed after {failures} attempts without progress ({failure}); " +
                    $"{file.Length} bytes are kept in {request.PartialPath} and the next pull resumes from there");
            }

            progress?.Report(new PullProgress(PullStage.Retrying, request.Name, request.File, file.Length, total, 0, attempt, failure));
            var delay = _hub.Options.RetryDelay(Math.Max(1, failures));
            if (delay > TimeSpan.Zero) await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One request. Returns null as failure when the file is complete, otherwise why the attempt must be retried.</summary>
    private async Task<(string? Failure, long? Total, string? Sha)> AttemptAsync(DownloadRequest request, FileStream file, long offset, long? total, string? sha,
        byte[] buffer, int attempt, IProgress<PullProgress>? progress, CancellationToken cancellationToken)
    {
        using var message = _hub.CreateRequest(HttpMethod.Get, request.Source);
        if (offset > 0) message.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(offset, null);
        HttpResponseMessage response;
        try
        {
            response = await _hub.Http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new TransientException($"request failed: {e.Message}");
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientException($"request timed out: {e.Message}");
        }

        using (response)
        {
            int status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                // "bytes */N": the whole file is N bytes. Equal to what we hold means it is complete.
                long? whole = response.Content.Headers.ContentRange?.Length;
                if (whole is { } w && w == offset && w > 0 && (total == null || total == w)) return (null, w, sha);
                file.SetLength(0);
                return ($"the server refused range {offset}- (416), restarting", total, sha);
            }

            if (status is 408 or 429 or >= 500) return ($"the server answered {status} {response.ReasonPhrase}", total, sha);
            _hub.ThrowForStatus(response, $"{request.Source}");
            if (status != 200 && status != 206) throw new HubException($"{request.Source}: unexpected answer {status} {response.ReasonPhrase}", status);

            sha ??= HubClient.Sha256Text(HeaderValue(response, "X-Linked-Etag")) ?? HubClient.Sha256Text(response.Headers.ETag?.Tag);
            long start;
            long? announced;
            if (response.StatusCode == HttpStatusCode.PartialContent)
            {
                var range = response.Content.Headers.ContentRange;
                if (range?.From is not { } from || from != offset)
                {
                    file.SetLength(0);
                    return ($"the server sent range {range} for a request from byte {offset}, restarting", total, sha);
                }

                start = from;
                announced = range.Length;
            }
            else
            {
                // The server ignored Range (or none was sent): the body is the whole file from byte 0.
                start = 0;
                announced = response.Content.Headers.ContentLength;
            }

            if (announced is { } a)
            {
                if (a < 0 || a > _hub.Options.MaxFileBytes)
                    throw new HubException($"{request.File}: the server announces {a} bytes, beyond the {_hub.Options.MaxFileBytes} accepted");
                if (total is { } expected && expected != a)
                {
                    file.Dispose();
                    File.Delete(request.PartialPath);
                    throw new ModelIntegrityException($"{request.File}: the server announces {a} bytes but the Hub lists {expected}; the partial download was deleted (pull again)");
                }

                total = a;
            }

            file.SetLength(start);
            file.Position = start;
            progress?.Report(new PullProgress(PullStage.Downloading, request.Name, request.File, start, total, start, attempt));
            Stream body;
            try
            {
                body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                return ($"connection dropped: {e.Message}", total, sha);
            }

            await using (body.ConfigureAwait(false))
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    int n = await ReadAsync(body, buffer, cancellationToken).ConfigureAwait(false);
                    if (n == 0) break;
                    if (total is { } limit ? file.Length + n > limit : file.Length + n > _hub.Options.MaxFileBytes)
                    {
                        file.Dispose();
                        File.Delete(request.PartialPath);
                        throw new ModelIntegrityException($"{request.File}: the server sent more than the {total ?? _hub.Options.MaxFileBytes} bytes announced; the partial download was deleted");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
                    progress?.Report(new PullProgress(PullStage.Downloading, request.Name, request.File, file.Length, total, start, attempt));
                }
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (total is { } full && file.Length < full)
                return (string.Create(CultureInfo.InvariantCulture, $"connection closed at byte {file.Length} of {full}"), total, sha);
            return (null, total ?? file.Length, sha);
        }
    }

    /// <summary>Reads the next bytes, turning a dropped connection or a stalled read into <see cref="TransientException"/>.</summary>
    private async Task<int> ReadAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stall.CancelAfter(_hub.Options.ReadTimeout);
        try
        {
            return await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransientException($"no data for {_hub.Options.ReadTimeout.TotalSeconds:F0} s");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new TransientException($"connection dropped: {e.Message}");
        }
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private sealed class TransientException(string message) : Exception(message);
}
