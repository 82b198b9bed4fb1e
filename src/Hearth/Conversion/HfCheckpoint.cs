using System.Text.Json;

namespace Hearth.Conversion;

/// <summary>
/// The weights of a Hugging Face model directory: one <c>model.safetensors</c>, or the shards that
/// <c>model.safetensors.index.json</c>'s <c>weight_map</c> names. Every tensor is found in exactly one file.
/// </summary>
public sealed class HfCheckpoint : IDisposable
{
    private readonly List<SafetensorsFile> _files;
    private readonly Dictionary<string, (SafetensorsFile File, SafetensorsTensorInfo Info)> _tensors;

    private HfCheckpoint(List<SafetensorsFile> files, Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)> tensors)
    {
        _files = files;
        _tensors = tensors;
    }

    /// <summary>Every tensor name, in file order.</summary>
    public IReadOnlyCollection<string> Names => _tensors.Keys;

    /// <summary>Looks up a tensor.</summary>
    public (SafetensorsFile File, SafetensorsTensorInfo Info)? Find(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : null;

    /// <summary>Opens the weights of <paramref name="directory"/>.</summary>
    /// <exception cref="HearthException">No weights were found, the index is malformed, or a tensor is missing or duplicated.</exception>
    public static HfCheckpoint Open(string directory)
    {
        string index = Path.Combine(directory, "model.safetensors.index.json");
        string single = Path.Combine(directory, "model.safetensors");
        var files = new List<SafetensorsFile>();
        var tensors = new Dictionary<string, (SafetensorsFile, SafetensorsTensorInfo)>(StringComparer.Ordinal);
        try
        {
            if (File.Exists(index))
            {
                var weightMap = ReadIndex(index);
                var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
                foreach (var (tensor, shard) in weightMap)
                {
                    if (shard.Contains('/') || shard.Contains('\\') || shard.Contains(".."))
                        throw new HearthException($"{index}: shard name '{shard}' must be a file name in the model directory");
                    if (!shards.TryGetValue(shard, out var file))
                    {
                        string shardPath = Path.Combine(directory, shard);
                        if (!File.Exists(shardPath)) throw new HearthException($"{index}: shard '{shard}' (holding '{tensor}') does not exist");
                        file = SafetensorsFile.Open(shardPath);
                        files.Add(file);
                        shards[shard] = file;
                    }

                    var info = file.Find(tensor) ?? throw new HearthException($"{index}: tensor '{tensor}' is not in shard '{shard}'");
                    tensors[tensor] = (file, info);
                }

                foreach (var f in files)
                {
                    foreach (var t in f.Tensors)
                    {
                        if (!tensors.ContainsKey(t.Name)) throw new HearthException($"{f.Path}: tensor '{t.Name}' is not listed in {index}");
                    }
                }
            }
            else if (File.Exists(single))
            {
                var file = SafetensorsFile.Open(single);
                files.Add(file);
                foreach (var t in file.Tensors) tensors[t.Name] = (file, t);
            }
            else
            {
                throw new HearthException($"{directory}: no model.safetensors or model.safetensors.index.json (only safetensors checkpoints can be converted)");
            }
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }

        return new HfCheckpoint(files, tensors);
    }

    private static List<(string Tensor, string Shard)> ReadIndex(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new HearthException($"{path}: 'weight_map' object is missing");
            var result = new List<(string, string)>();
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String) throw new HearthException($"{path}: weight_map entry '{p.Name}' is not a file name");
                result.Add((p.Name, p.Value.GetString()!));
            }

            return result;
        }
        catch (JsonException e)
        {
            throw new HearthException($"{path}: not valid JSON: {e.Message}");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
