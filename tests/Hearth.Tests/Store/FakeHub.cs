using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hearth.Tests.Store;

/// <summary>
/// A real HTTP server on 127.0.0.1 that imitates the Hugging Face Hub's URLs: <c>/api/models/{owner}/{repo}</c>
/// (siblings with size and lfs.sha256) and <c>/{owner}/{repo}/resolve/main/{file}</c> with Range, Content-Range,
/// Content-Length, ETag and X-Linked-Etag. Knobs break it in the ways real networks break.
/// </summary>
internal sealed class FakeHub : IDisposable
{
    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.OrdinalIgnoreCase);

    public FakeHub()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                _listener = listener;
                Endpoint = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }

        _loop = Task.Run(ServeAsync);
    }

    public Uri Endpoint { get; }

    /// <summary>Download responses abort the connection once the file position reaches this offset.</summary>
    public long? DropAtOffset { get; set; }

    /// <summary>How many download responses are still dropped at <see cref="DropAtOffset"/>.</summary>
    public int DropsLeft { get; set; }

    /// <summary>Answer every download with 200 and the whole file, whatever the Range says.</summary>
    public bool IgnoreRange { get; set; }

    /// <summary>Flip one byte in every served file (the announced SHA-256 stays that of the true bytes).</summary>
    public bool Corrupt { get; set; }

    /// <summary>When set, every request must carry <c>Authorization: Bearer</c> with this token, else 401.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Whether the listing carries lfs.sha256 (downloads still send ETag headers).</summary>
    public bool ListSha { get; set; } = true;

    /// <summary>The Range header of each download request, in order (null when there was none).</summary>
    public ConcurrentQueue<string?> DownloadRanges { get; } = new();

    public void AddFile(string owner, string repo, string path, byte[] content)
    {
        var r = _repos.GetOrAdd(owner + "/" + repo, _ => new Repo());
        r.Files[path] = content;
    }

    public static string Sha256(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                Handle(context);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The client went away; the next request is served as usual.
            }
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (RequiredToken != null && request.Headers["Authorization"] != "Bearer " + RequiredToken)
        {
            Finish(response, 401, "text/plain", Encoding.UTF8.GetBytes("unauthorized"));
            return;
        }

        var path = request.Url!.AbsolutePath.Trim('/').Split('/').Select(Uri.UnescapeDataString).ToArray();
        if (path.Length == 4 && path[0] == "api" && path[1] == "models" && _repos.TryGetValue(path[2] + "/" + path[3], out var listed))
        {
            var siblings = listed.Files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => ListSha
                ? (object)new { rfilename = f.Key, size = f.Value.Length, lfs = new { sha256 = Sha256(f.Value), size = f.Value.Length, pointerSize = 134 } }
                : new { rfilename = f.Key });
            Finish(response, 200, "application/json", JsonSerializer.SerializeToUtf8Bytes(new { id = path[2] + "/" + path[3], siblings }));
            return;
        }

        if (path.Length >= 5 && path[2] == "resolve" && path[3] == "main" && _repos.TryGetValue(path[0] + "/" + path[1], out var repo)
            && repo.Files.TryGetValue(string.Join('/', path[4..]), out var content))
        {
            ServeFile(request, response, content);
            return;
        }

        Finish(response, 404, "text/plain", Encoding.UTF8.GetBytes("Entry not found"));
    }

    private void ServeFile(HttpListenerRequest request, HttpListenerResponse response, byte[] content)
    {
        var range = request.Headers["Range"];
        DownloadRanges.Enqueue(range);
        var etag = "\"" + Sha256(content) + "\"";
        response.Headers["ETag"] = etag;
        response.Headers["X-Linked-Etag"] = etag;
        response.Headers["Accept-Ranges"] = "bytes";
        var body = content;
        if (Corrupt)
        {
            body = (byte[])content.Clone();
            body[body.Length / 2] ^= 0x5A;
        }

        long start = 0;
        if (range != null && !IgnoreRange && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range[6..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= body.Length)
            {
                response.Headers["Content-Range"] = $"bytes */{body.Length}";
                Finish(response, 416, "text/plain", []);
                return;
            }

            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{body.Length - 1}/{body.Length}";
        }
        else
        {
            response.StatusCode = 200;
        }

        response.ContentType = "application/octet-stream";
        response.ContentLength64 = body.Length - start;
        long end = body.Length;
        bool drop = false;
        lock (_repos)
        {
            if (DropAtOffset is { } at && DropsLeft > 0)
            {
                DropsLeft--;
                end = Math.Max(start, Math.Min(at, body.Length));
                drop = true;
            }
        }

        var output = response.OutputStream;
        output.Write(body, (int)start, (int)(end - start));
        output.Flush();
        if (drop)
        {
            response.Abort();
            return;
        }

        response.Close();
    }

    private static void Finish(HttpListenerResponse response, int status, string type, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = type;
        response.ContentLength64 = body.Length;
        response.OutputStream.Write(body);
        response.Close();
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
        }
    }

    private sealed class Repo
    {
        public ConcurrentDictionary<string, byte[]> Files { get; } = new(StringComparer.Ordinal);
    }
}
