using Hearth.Store;

namespace Hearth.Cli;

/// <summary>What a MODEL argument names: a GGUF file, or else a model in the store (such as <c>qwen2.5:0.5b</c>).</summary>
internal static class ModelPaths
{
    /// <exception cref="FileNotFoundException">Neither a file nor a stored model goes by that name.</exception>
    public static string Resolve(string model)
    {
        if (File.Exists(model)) return model;
        try
        {
            return ModelStore.FromEnvironment().Resolve(model);
        }
        catch (ModelStoreException e)
        {
            throw new FileNotFoundException($"{model}: no such file, and not a model in the store ({e.Message}); `hearth list` shows the store, `hearth pull NAME` adds to it", model);
        }
    }
}
