using Hearth.Gguf;
using Hearth.Store;

namespace Hearth.Tests.Store;

/// <summary>A temporary store, a <see cref="FakeHub"/> and a client pointed at it; all gone when the test ends.</summary>
public abstract class StoreTestKit : IDisposable
{
    private readonly HttpClient _http = new();
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-store-test-");

    internal FakeHub Server { get; } = new();

    protected string StoreRoot => Path.Combine(_dir.FullName, "home");

    protected ModelStore Store => new(StoreRoot);

    /// <summary>A Hub client for the fake server; retries without pauses so no test depends on timing.</summary>
    protected HubClient Hub(string? token = null, int maxAttempts = 5) =>
        new(_http, new HubOptions { Endpoint = Server.Endpoint, Token = token, MaxAttempts = maxAttempts, RetryDelay = _ => TimeSpan.Zero });

    /// <summary>
    /// The bytes of a small valid GGUF file: llama metadata (context 512, Q4_K_M file type, a chat template) and one
    /// 64 x 1024 F32 tensor of seeded values, 256 KiB, so a download takes several reads.
    /// </summary>
    protected static byte[] TestGguf(int seed, string fileType = "Q4_K_M")
    {
        var rng = new Random(seed);
        var values = new float[64 * 1024];
        for (int i = 0; i < values.Length; i++) values[i] = (float)rng.NextDouble();
        var writer = new GgufWriter()
            .Set("general.architecture", "llama")
            .Set("general.name", $"test model {seed}")
            .Set("general.file_type", (uint)Hearth.Quantization.LlamaFileTypes.Parse(fileType))
            .Set("llama.context_length", 512u)
            .Set("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}")
            .AddTensor("token_embd.weight", [64, 1024], values);
        using var ms = new MemoryStream();
        writer.Write(ms);
        return ms.ToArray();
    }

    /// <summary>Every file in the store's models directory, by name.</summary>
    protected string[] StoreFiles() =>
        Directory.Exists(Store.ModelsDirectory) ? Directory.GetFiles(Store.ModelsDirectory).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray() : [];

    public void Dispose()
    {
        Server.Dispose();
        _http.Dispose();
        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>Collects progress reports synchronously (unlike <see cref="Progress{T}"/>, which posts them later).</summary>
internal sealed class ProgressLog(Action<PullProgress>? onReport = null) : IProgress<PullProgress>
{
    public List<PullProgress> Reports { get; } = [];

    public void Report(PullProgress value)
    {
        lock (Reports) Reports.Add(value);
        onReport?.Invoke(value);
    }
}
