using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Hearth.Store;

/// <summary>Where the Hub is and how to talk to it.</summary>
public sealed record HubOptions
{
    /// <summary>The public Hugging Face Hub.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    /// <summary>The Hub's base address (a mirror or a test server may stand in); <c>HF_ENDPOINT</c> in <see cref="FromEnvironment"/>.</summary>
    public Uri Endpoint { get; init; } = DefaultEndpoint;

    /// <summary>A Hub access token sent as <c>Authorization: Bearer</c>; <c>HF_TOKEN</c> in <see cref="FromEnvironment"/>.</summary>
    public string? Token { get; init; }

    /// <summary>Download attempts in a row that may fail without receiving a byte before the pull gives up (at least 1).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The pause before retry number n (1-based); by default 1, 2, 4, 8 ... seconds, at most 30.</summary>
    public Func<int, TimeSpan> RetryDelay { get; init; } = n => TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(n - 1, 5)));

    /// <summary>How long a read may wait for the next bytes before the connection counts as dropped.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The largest file a download accepts (a server announcing more is refused before anything is written).</summary>
    public long MaxFileBytes { get; init; } = 1L << 40;

    /// <summary>The largest Hub API (JSON) response read.</summary>
    public int MaxApiResponseBytes { get; init; } = 32 << 20;

    /// <summary>
    /// Options from the environment: <c>HF_ENDPOINT</c> (an absolute http/https address) and <c>HF_TOKEN</c>.
    /// </summary>
    /// <param name="getVariable">Reads a variable; <see cref="Environment.GetEnvironmentVariable(string)"/> when null.</param>
    /// <exception cref="ModelStoreException"><c>HF_ENDPOINT</c> is not an absolute http or https address.</exception>
    public static HubOptions FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var endpoint = getVariable("HF_ENDPOINT");
        var token = getVariable("HF_TOKEN");
        return new HubOptions
        {
            Endpoint = string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : ParseEndpoint(endpoint, "HF_ENDPOINT"),
            Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim(),
        };
    }

    /// <summary>Parses an endpoint address.</summary>
    /// <exception cref="ModelStoreException">Not an absolute http or https address.</exception>
    public static Uri ParseEndpoint(string text, string what = "endpoint")
    {
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ModelStoreException($"{what} '{text}' is not an absolute http:// or https:// address");
        return uri;
    }
}

/// <summary>A file in a Hub repository.</summary>
/// <param name="Owner">The repository's owner.</param>
/// <param name="Repository">The repository.</param>
/// <param name="Revision">The branch, tag or commit.</param>
/// <param name="Path">The file's path in the repository.</param>
/// <param name="Size">Its size in bytes when the Hub said.</param>
/// <param name="Sha256">Its SHA-256 (lower-case hex) when the Hub said (LFS files).</param>
public sealed record HubFile(string Owner, string Repository, string Revision, string Path, long? Size, string? Sha256);

/// <summary>
/// The small part of the Hugging Face Hub API a pull needs: list a repository's files, pick one, and build its
/// download address <c>{endpoint}/{owner}/{repo}/resolve/{revision}/{file}</c>. The <see cref="HttpClient"/> is the
/// caller's (tests point it and <see cref="HubOptions.Endpoint"/> at a local server).
/// </summary>
public sealed class HubClient
{
    private readonly HttpClient _http;

    public HubClient(HttpClient http, HubOptions? options = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        Options = options ?? new HubOptions();
    }

    public HubOptions Options { get; }

    /// <summary>The download address of a file.</summary>
    public Uri FileUri(string owner, string repository, string revision, string path) =>
        new(Base, $"{Escape(owner)}/{Escape(repository)}/resolve/{Escape(revision)}/{string.Join('/', path.Split('/').Select(Escape))}");

    /// <summary>
    /// Lists a repository's files through <c>GET {endpoint}/api/models/{owner}/{repo}[/revision/{rev}]?blobs=true</c>
    /// (<c>siblings[].rfilename</c>, with <c>size</c> and <c>lfs.sha256</c> when present).
    /// </summary>
    /// <exception cref="HubNotFoundException">No such repository (or it is private and no token was given).</exception>
    /// <exception cref="HubAuthorizationException">The token is missing or refused.</exception>
    /// <exception cref="HubException">Any other failure, or a malformed answer.</exception>
    public async Task<IReadOnlyList<HubFile>> ListFilesAsync(string owner, string repository, string revision = "main", CancellationToken cancellationToken = default)
    {
        var path = $"api/models/{Escape(owner)}/{Escape(repository)}" + (revision == "main" ? "" : $"/revision/{Escape(revision)}") + "?blobs=true";
        using var request = CreateRequest(HttpMethod.Get, new Uri(Base, path));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new HubException($"cannot reach {Options.Endpoint}: {e.Message}", e);
        }

        using (response)
        {
            ThrowForStatus(response, $"repository {owner}/{repository}");
            var json = await ReadLimitedAsync(response, Options.MaxApiResponseBytes, cancellationToken).ConfigureAwait(false);
            return ParseListing(owner, repository, revision, json);
        }
    }

    /// <summary>
    /// Finds the file a reference stands for: an exact file is looked up in the listing (for its size and SHA-256);
    /// a quantization tag selects among the listing's GGUF files (single-file models preferred); a bare
    /// <c>hf:owner/repo</c> takes the only GGUF file, otherwise <see cref="ModelReference.DefaultQuantization"/>.
    /// A SHA-256 pinned by the catalog wins over the Hub's.
    /// </summary>
    /// <exception cref="HubNotFoundException">The repository or the file does not exist; the message lists the GGUF files there are.</exception>
    /// <exception cref="QuantizationSelectionException">The tag matches no file, several, or only a split model.</exception>
    /// <exception cref="HubException">The Hub failed or answered nonsense.</exception>
    public async Task<HubFile> ResolveAsync(ModelReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var files = await ListFilesAsync(reference.Owner, reference.Repository, reference.Revision, cancellationToken).ConfigureAwait(false);
        HubFile file;
        if (reference.File != null)
        {
            file = files.FirstOrDefault(f => f.Path == reference.File)
                ?? throw new HubNotFoundException($"{reference.RepositoryId} has no file '{reference.File}'; its GGUF files: {GgufList(files)}");
        }
        else if (reference.Quantization != null)
        {
            file = QuantizationTags.Select(reference.RepositoryId, files, reference.Quantization);
        }
        else
        {
            var single = files.Where(f => QuantizationTags.IsModelFile(f.Path) && !QuantizationTags.IsSplitPart(f.Path)).ToList();
            file = single.Count == 1 ? single[0] : QuantizationTags.Select(reference.RepositoryId, files, ModelReference.DefaultQuantization);
        }

        return reference.Sha256 != null ? file with { Sha256 = reference.Sha256 } : file;
    }

    /// <summary>A request with the token attached (when there is one).</summary>
    internal HttpRequestMessage CreateRequest(HttpMethod method, Uri uri)
    {
        var request = new HttpRequestMessage(method, uri);
        if (Options.Token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Options.Token);
        return request;
    }

    internal HttpClient Http => _http;

    /// <summary>Throws the typed exception for a failing status; does nothing for success.</summary>
    internal void ThrowForStatus(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        int status = (int)response.StatusCode;
        throw response.StatusCode switch
        {
            HttpStatusCode.NotFound => new HubNotFoundException($"{what} not found at {Options.Endpoint} (404); check the name, or set HF_TOKEN if it is private"),
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => new HubAuthorizationException(
                Options.Token == null
                    ? $"{what}: access denied ({status}); the repository is gated or private: accept its terms on the Hub and set HF_TOKEN"
                    : $"{what}: access denied ({status}) with the HF_TOKEN given; check that the token is valid and has access to the repository",
                status),
            _ => new HubException($"{what}: the Hub answered {status} {response.ReasonPhrase}", status),
        };
    }

    private Uri Base => Options.Endpoint.AbsoluteUri.EndsWith('/') ? Options.Endpoint : new Uri(Options.Endpoint.AbsoluteUri + "/");

    private static string Escape(string segment) => Uri.EscapeDataString(segment);

    private static string GgufList(IReadOnlyList<HubFile> files)
    {
        var names = files.Where(f => QuantizationTags.IsModelFile(f.Path)).Select(f => f.Path).ToList();
        return names.Count == 0 ? "none" : string.Join(", ", names);
    }

    private static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > limit) throw new HubException($"the Hub's answer is {response.Content.Headers.ContentLength} bytes, more than the {limit} accepted");
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + n > limit) throw new HubException($"the Hub's answer is more than the {limit} bytes accepted");
                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            throw new HubException($"the connection to the Hub dropped while reading its answer: {e.Message}", e);
        }
    }

    internal static IReadOnlyList<HubFile> ParseListing(string owner, string repository, string revision, byte[] json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("siblings", out var siblings) || siblings.ValueKind != JsonValueKind.Array)
                throw new HubException($"the Hub's listing of {owner}/{repository} has no 'siblings' array");
            var files = new List<HubFile>();
            foreach (var s in siblings.EnumerateArray())
            {
                if (s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("rfilename", out var nameElement) || nameElement.ValueKind != JsonValueKind.String) continue;
                var path = nameElement.GetString()!;
                if (!IsSafeRepoPath(path)) continue;
                long? size = s.TryGetProperty("size", out var sizeElement) && sizeElement.TryGetInt64(out var sz) && sz >= 0 ? sz : null;
                string? sha = null;
                if (s.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    sha = Sha256Text(lfs.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String ? h.GetString()
                        : lfs.TryGetProperty("oid", out var oid) && oid.ValueKind == JsonValueKind.String ? oid.GetString() : null);
                    if (lfs.TryGetProperty("size", out var lfsSize) && lfsSize.TryGetInt64(out var ls) && ls >= 0) size = ls;
                }

                files.Add(new HubFile(owner, repository, revision, path, size, sha));
            }

            return files;
        }
        catch (JsonException e)
        {
            throw new HubException($"the Hub's listing of {owner}/{repository} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>A lower-case SHA-256 from a header or JSON value (quotes, <c>W/</c> and <c>sha256:</c> removed), or null if it is not one.</summary>
    internal static string? Sha256Text(string? value)
    {
        if (value == null) return null;
        var v = value.Trim();
        if (v.StartsWith("W/", StringComparison.Ordinal)) v = v[2..];
        v = v.Trim('"');
        if (v.StartsWith("sha256:", StringComparison.OrdinalIgnoreCase)) v = v[7..];
        return v.Length == 64 && v.All(char.IsAsciiHexDigit) ? v.ToLowerInvariant() : null;
    }

    private static bool IsSafeRepoPath(string path) =>
        path.Length is > 0 and <= 1000 && !path.StartsWith('/') && !path.Contains('\\') && !path.Any(char.IsControl)
        && path.Split('/').All(p => p.Length > 0 && p != "." && p != "..");
}
