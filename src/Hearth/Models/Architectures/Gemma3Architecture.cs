using Hearth.Gguf;
using Hearth.Models.Blocks;

namespace Hearth.Models.Architectures;

/// <summary>
/// <c>gemma3</c> (text): Gemma 2's block without soft-capping, plus per-head q/k norms. Layers follow
/// <c>attention.sliding_window_pattern</c> (default 6): in each group of that many layers all but the last slide over
/// the window with RoPE base <c>rope.freq_base_swa</c> (default 10000); the last is global with <c>rope.freq_base</c>
/// and the file's linear RoPE scaling.
/// </summary>
public sealed class Gemma3Architecture : IModelArchitecture
{
    public string Name => "gemma3";

    public Transformer Build(GgufFile file, int context)
    {
        var hp = HyperParameters.Read(file, Name);
        long pattern = file.GetInteger($"{Name}.attention.sliding_window_pattern") ?? 6;
        if (pattern is < 1 or > 4096) throw new ModelFormatException($"{file.Path}: {Name}.attention.sliding_window_pattern {pattern} is out of range");
        float swaBase = (float)(file.GetNumber($"{Name}.rope.freq_base_swa") ?? 10000.0);
        var global = new Rope(hp.RopeDimensionCount, hp.RopeFreqBase, hp.RopeFreqScale, hp.RopeAttnFactor, null, RopeLayout.NeoX);
        var local = new Rope(hp.RopeDimensionCount, swaBase, 1f, 1f, null, RopeLayout.NeoX);
        var spec = new TransformerSpec
        {
            Activation = Activation.GeluTanh,
            EmbeddingScale = MathF.Sqrt(hp.EmbeddingLength),
            AttentionScale = GemmaCommon.AttentionScale(hp, largeModelLayers: 62),
            SlidingWindow = hp.SlidingWindow == 0 ? 512 : hp.SlidingWindow,
        };
        return GemmaCommon.Build(file, hp, spec, new LayerLayout { QkNorm = true }, il =>
        {
            bool sliding = il % pattern < pattern - 1;
            return (sliding ? local : global, sliding);
        });
    }
}
