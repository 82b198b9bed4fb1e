using Hearth.Gguf;

namespace Hearth.Models.Architectures;

/// <summary>Maps <c>general.architecture</c> to the class that builds it.</summary>
public static class ArchitectureRegistry
{
    private static readonly Dictionary<string, IModelArchitecture> s_architectures = new IModelArchitecture[]
    {
        new LlamaArchitecture(),
        new Qwen2Architecture(),
        new Qwen3Architecture(),
        new Phi3Architecture(),
        new Gemma2Architecture(),
        new Gemma3Architecture(),
    }.ToDictionary(a => a.Name, StringComparer.Ordinal);

    public static IEnumerable<string> Names => s_architectures.Keys.Order();

    /// <summary>The architecture of a file.</summary>
    /// <exception cref="ModelFormatException">general.architecture is missing or names an architecture Hearth does not know.</exception>
    public static IModelArchitecture Resolve(GgufFile file)
    {
        var name = file.GetString("general.architecture") ?? throw new ModelFormatException($"{file.Path}: metadata 'general.architecture' is missing");
        if (file.GetString("general.type") is "adapter")
            throw new ModelFormatException($"{file.Path}: this is an adapter file (general.type = adapter), not a model");
        return s_architectures.TryGetValue(name, out var arch)
            ? arch
            : throw new ModelFormatException($"{file.Path}: unknown architecture '{name}' (supported: {string.Join(", ", Names)})");
    }
}
