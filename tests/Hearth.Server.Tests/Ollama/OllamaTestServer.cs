using Hearth.Store;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hearth.Gguf;
using Hearth.Serving;
using Hearth.Server.Ollama;
using Hearth.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hearth.Server.Tests.Ollama;

/// <summary>
/// A model source over a directory of GGUF files, as a server's models directory would be. Names are file names
/// without <c>.gguf</c>; pulling does what <see cref="Pull"/> says.
/// </summary>
internal sealed partial class DirectoryModelSource(string directory) : IModelSource
{
    public string Directory { get; } = directory;

    /// <summary>What a pull does; null: this source cannot pull.</summary>
    public Func<string, IProgress<PullStatus>, CancellationToken, Task>? Pull { get; init; }

    public IReadOnlyList<ModelEntry> List() =>
        new DirectoryInfo(Directory).GetFiles("*.gguf").OrderBy(f => f.Name, StringComparer.Ordinal)
            .Select(f => new ModelEntry(Path.GetFileNameWithoutExtension(f.Name), f.FullName, f.Length, f.LastWriteTimeUtc)).ToList();

    public string Resolve(string name)
    {
        if (!ValidName().IsMatch(name)) throw new ModelNotFoundException(name, $"model '{name}' not found: not a valid model name");
        var path = Path.Combine(Directory, name + ".gguf");
        return File.Exists(path) ? path : throw new ModelNotFoundException(name);
    }

    public Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation) =>
        Pull is { } pull ? pull(name, progress, cancellation) : throw new NotSupportedException("this source cannot pull models");

    public bool Delete(string name)
    {
        if (!ValidName().IsMatch(name)) return false;
        var path = Path.Combine(Directory, name + ".gguf");
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex ValidName();
}

/// <summary>
/// A running server with the Ollama API on a free loopback port, serving a copy of stories260K as "stories". Only this
/// class knows how the server is put together: when <c>HearthServer.Build</c> exists, <see cref="StartAsync"/> can
/// build through it and every test stays as it is.
/// </summary>
public sealed class OllamaTestServer : IAsyncDisposable
{
    public const string Model = "stories";

    private readonly WebApplication _app;

    private OllamaTestServer(WebApplication app, ModelHost host, string directory, HttpClient client)
    {
        _app = app;
        Host = host;
        Directory = directory;
        Client = client;
    }

    public ModelHost Host { get; }

    /// <summary>The models directory (a fresh temporary one).</summary>
    public string Directory { get; }

    public HttpClient Client { get; }

    /// <summary>Requests whose client went away, as the server saw them (<c>HttpContext.RequestAborted</c>).</summary>
    public int AbortedRequests => _aborted;

    private int _aborted;

    /// <summary>Starts a server; <paramref name="configure"/> may change the source (pull behaviour) and the scheduler.</summary>
    internal static async Task<OllamaTestServer> StartAsync(
        Func<string, DirectoryModelSource>? source = null, SchedulerOptions? scheduler = null, HearthServerOptions? options = null)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "hearth-ollama-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        File.Copy(TestData.Path("models", "stories260K.gguf"), System.IO.Path.Combine(directory, Model + ".gguf"));
        var models = source?.Invoke(directory) ?? new DirectoryModelSource(directory);
        options ??= new HearthServerOptions { Port = 0, MaxTokens = 128, MaxPromptTokens = 1536 };
        var host = new ModelHost(new ModelHostOptions
        {
            Resolve = models.Resolve,
            Threads = 1,
            KeepAlive = options.KeepAlive,
            Scheduler = scheduler ?? new SchedulerOptions { Parallel = 2, Context = 2048 },
        });

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton(host);
        builder.Services.AddSingleton<IModelSource>(models);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new ServerMetrics());
        var app = builder.Build();
        OllamaTestServer? server = null;
        app.Use(async (context, next) =>
        {
            using var _ = context.RequestAborted.Register(() => Interlocked.Increment(ref server!._aborted));
            await next(context);
        });
        app.MapOllama();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromMinutes(2) };
        server = new OllamaTestServer(app, host, directory, client);
        return server;
    }

    /// <summary>
    /// Adds <paramref name="name"/>: stories260K with <paramref name="template"/> as its <c>tokenizer.chat_template</c>
    /// (stories260K ships none), a file from <c>../shared/templates</c>.
    /// </summary>
    public void AddModelWithTemplate(string name, string template)
    {
        var path = System.IO.Path.Combine(Directory, name + ".gguf");
        if (File.Exists(path)) return;
        using var source = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var writer = new GgufWriter().CopyMetadata(source).Set("tokenizer.chat_template", File.ReadAllText(TestData.Path("templates", template)));
        foreach (var t in source.Tensors) writer.AddTensor(t.Name, t.Shape, t.Type, source.TensorData(t).ToArray());
        writer.Write(path);
    }

    /// <summary>POSTs <paramref name="json"/> (sent as is, so it may be malformed).</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json, CancellationToken cancellation = default) =>
        Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), cancellation);

    public Task<HttpResponseMessage> PostAsync(string path, JsonNode body, CancellationToken cancellation = default) =>
        PostAsync(path, body.ToJsonString(), cancellation);

    /// <summary>A POST whose answer must be one JSON object with the given status.</summary>
    public async Task<JsonObject> PostObjectAsync(string path, JsonNode body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await PostAsync(path, body);
        return await ObjectAsync(response, expected);
    }

    public async Task<JsonObject> GetObjectAsync(string path)
    {
        using var response = await Client.GetAsync(path);
        return await ObjectAsync(response, HttpStatusCode.OK);
    }

    public static async Task<JsonObject> ObjectAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return Assert.IsType<JsonObject>(JsonNode.Parse(text));
    }

    /// <summary>A POST whose answer must be an NDJSON stream: every line one JSON object.</summary>
    public async Task<List<JsonObject>> PostStreamAsync(string path, JsonNode body)
    {
        using var response = await PostAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith("\n", text);
        var lines = text.Split('\n');
        Assert.Equal("", lines[^1]);
        return lines[..^1].Select(line =>
        {
            Assert.False(string.IsNullOrWhiteSpace(line), "no blank lines in NDJSON");
            using var _ = JsonDocument.Parse(line); // each line on its own is a complete JSON text
            return Assert.IsType<JsonObject>(JsonNode.Parse(line));
        }).ToList();
    }

    /// <summary>The error object of a refused request, with its status.</summary>
    public async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var error = await ObjectAsync(response, expected);
        Assert.Single(error);
        return error["error"]!.GetValue<string>();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Host.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One server shared by the tests of a class (they run one after another).</summary>
public sealed class OllamaServerFixture : IAsyncLifetime
{
    public OllamaTestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await OllamaTestServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
