using Hearth.Gguf;
using Hearth.Serving;
using Hearth.Tests;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Hearth.Server.Tests;

/// <summary>
/// The real server (Kestrel on 127.0.0.1, a free port) over a temporary models directory holding a copy of the trained
/// stories260K model as <c>stories</c>. Disposing it stops the server and deletes the directory.
/// </summary>
internal sealed class RunningServer : IAsyncDisposable
{
    public const string Model = "stories";

    /// <summary>The same model with a real tool-calling chat template (Hermes 2 Pro) written into its metadata.</summary>
    public const string ToolModel = "stories-tools";

    private readonly WebApplication _app;
    private readonly DirectoryInfo _dir;
    private readonly ModelHost? _ownHost;

    private RunningServer(WebApplication app, DirectoryInfo dir, ModelHost? ownHost, string url)
    {
        _app = app;
        _dir = dir;
        _ownHost = ownHost;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>The base address, such as <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; }

    public HttpClient Http { get; }

    public ModelHost Host => _app.Services.GetRequiredService<ModelHost>();

    public string ModelsDirectory => _dir.FullName;

    /// <param name="configure">Changes to the test defaults (port 0, 2 threads, 4 sequences).</param>
    /// <param name="host">Makes the model host from the directory source; by default the server makes its own.</param>
    public static async Task<RunningServer> StartAsync(Func<HearthServerOptions, HearthServerOptions>? configure = null, Func<IModelSource, ModelHost>? host = null)
    {
        var dir = Directory.CreateTempSubdirectory("hearth-server-test-");
        File.Copy(TestData.Path("models", "stories260K.gguf"), Path.Combine(dir.FullName, Model + ".gguf"));
        WriteWithTemplate(TestData.Path("models", "stories260K.gguf"), Path.Combine(dir.FullName, ToolModel + ".gguf"),
            File.ReadAllText(TestData.Path("templates", "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja")));
        var options = new HearthServerOptions { Port = 0, ModelsDirectory = dir.FullName, Threads = 2, Parallel = 4 };
        options = configure?.Invoke(options) ?? options;
        var source = new DirectoryModelSource(dir.FullName);
        var ownHost = host?.Invoke(source);
        var app = HearthServer.Build(options, ownHost, source);
        await app.StartAsync();
        var url = HearthServer.Addresses(app).Single();
        return new RunningServer(app, dir, ownHost, url);
    }

    /// <summary>Copies a GGUF file with <c>tokenizer.chat_template</c> set.</summary>
    private static void WriteWithTemplate(string source, string target, string template)
    {
        using var src = GgufFile.Open(source);
        var w = new GgufWriter().CopyMetadata(src).Set("tokenizer.chat_template", template);
        foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Shape, t.Type, src.TensorData(t).ToArray());
        w.Write(target);
    }

    /// <summary>A host like the server's default one, for tests that need to see or steer it.</summary>
    public static ModelHost HostFor(IModelSource source, int parallel = 4, int maxQueue = 32, Func<string, string>? resolve = null) => new(new ModelHostOptions
    {
        Resolve = resolve ?? source.Resolve,
        Threads = 2,
        Scheduler = new SchedulerOptions { Parallel = parallel, MaxQueue = maxQueue },
    });

    /// <summary>Polls <paramref name="condition"/> until it holds; the deadline only guards against a hang.</summary>
    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"gave up waiting until {what}");
            await Task.Delay(10);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _ownHost?.Dispose();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
