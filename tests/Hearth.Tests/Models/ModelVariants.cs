using Hearth.Gguf;
using Hearth.Tests.Gguf;

namespace Hearth.Tests.Models;

/// <summary>Writes edited copies of real model files: changed metadata, dropped or reshaped tensors, extra F32 tensors.</summary>
internal static class ModelVariants
{
    public static string Write(
        TempFiles files,
        string source,
        Action<GgufWriter> metadata,
        Func<GgufTensorInfo, GgufTensorInfo?>? tensors = null,
        params (string Name, float[] Data)[] extra)
    {
        using var src = GgufFile.Open(source);
        var w = new GgufWriter().CopyMetadata(src);
        metadata(w);
        foreach (var t in src.Tensors)
        {
            var kept = tensors == null ? t : tensors(t);
            if (kept != null) w.AddTensor(kept.Name, kept.Shape, kept.Type, src.TensorData(t).ToArray());
        }

        foreach (var (name, data) in extra) w.AddTensor(name, [data.Length], data);
        var path = files.NewPath($"variant-{Guid.NewGuid():N}.gguf");
        w.Write(path);
        return path;
    }
}
