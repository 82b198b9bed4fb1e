using Hearth.Quantization;
using Hearth.Synthesis;

namespace Hearth.Tests.Planning;

/// <summary>
/// Random-weight twins of real model shapes, written once into a temporary folder for the planning tests and deleted
/// afterwards. Each file is written on first use.
/// </summary>
public sealed class PlanningTwins : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hearth-fit-" + Guid.NewGuid().ToString("N"));
    private readonly Dictionary<string, string> _files = [];
    private readonly Lock _lock = new();

    public PlanningTwins() => Directory.CreateDirectory(_dir);

    /// <summary>The tiny model the arithmetic tests state by hand: smollm2-135m with 2 layers and 512 tokens.</summary>
    public static ModelShape Tiny { get; } = ModelShapes.SmolLm2_135M.Scaled(layers: 2, vocab: 512);

    /// <summary>The twin of <paramref name="shape"/> stored as <paramref name="type"/> (seed 1).</summary>
    public string Get(ModelShape shape, LlamaFileType type)
    {
        string key = $"{shape.Name}-L{shape.BlockCount}-V{shape.VocabSize}.{type}";
        lock (_lock)
        {
            if (_files.TryGetValue(key, out var path)) return path;
            path = Path.Combine(_dir, key + ".gguf");
            ModelSynthesizer.Write(shape, path, new SynthesisOptions { FileType = type, Seed = 1 });
            _files[key] = path;
            return path;
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The planning tests share one set of twins (and run one at a time, so they are written once).</summary>
[CollectionDefinition(Name)]
public sealed class PlanningCollection : ICollectionFixture<PlanningTwins>
{
    public const string Name = "planning twins";
}
