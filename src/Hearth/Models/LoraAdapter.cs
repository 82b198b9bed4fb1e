using Hearth.Gguf;

namespace Hearth.Models;

/// <summary>
/// A LoRA adapter in the reference's GGUF format (<c>general.type = adapter</c>, <c>adapter.type = lora</c>,
/// <c>adapter.lora.alpha</c>, tensors <c>NAME.lora_a</c> [n_in, r] and <c>NAME.lora_b</c> [r, n_out] for a base weight
/// NAME). Applied at run time as y = W·x + scale · (alpha / r) · B·(A·x); the mapped base weights are never touched.
/// </summary>
public sealed class LoraAdapter : IDisposable
{
    private readonly GgufFile _file;
    private readonly Dictionary<string, (Weight A, Weight B)> _pairs;

    private LoraAdapter(GgufFile file, Transformer model, float alpha, Dictionary<string, (Weight A, Weight B)> pairs)
    {
        _file = file;
        Model = model;
        Alpha = alpha;
        _pairs = pairs;
        MaxRank = pairs.Values.Max(p => p.A.Rows);
        MaxOutput = pairs.Values.Max(p => p.B.Rows);
    }

    public string Path => _file.Path;

    /// <summary>The model this adapter was loaded (and validated) for; it must not be applied to another.</summary>
    public Transformer Model { get; }

    /// <summary><c>adapter.lora.alpha</c>; 0 means "scale only", as in the reference.</summary>
    public float Alpha { get; }

    public int MaxRank { get; }

    public int MaxOutput { get; }

    /// <summary>Names of the base weights this adapter changes.</summary>
    public IEnumerable<string> Targets => _pairs.Keys;

    /// <summary>The A and B matrices for a base weight, if the adapter targets it.</summary>
    public bool TryGet(string baseWeight, out Weight a, out Weight b)
    {
        if (_pairs.TryGetValue(baseWeight, out var p))
        {
            (a, b) = p;
            return true;
        }

        a = b = null!;
        return false;
    }

    /// <summary>Multiplier of B·(A·x) for a user scale: scale · alpha / rank (or just scale when alpha is 0).</summary>
    public float Factor(Weight a, float scale) => Alpha == 0 ? scale : scale * Alpha / a.Rows;

    /// <summary>Opens an adapter and checks it against the model it will be applied to.</summary>
    /// <exception cref="ModelFormatException">The file is not a LoRA adapter, is for another architecture, or a pair does not fit its base weight.</exception>
    public static LoraAdapter Load(string path, Transformer model)
    {
        var file = GgufFile.Open(path);
        try
        {
            if (file.GetString("general.type") != "adapter" || file.GetString("adapter.type") != "lora")
                throw new ModelFormatException($"{path}: not a LoRA adapter (needs general.type = adapter and adapter.type = lora)");
            var arch = file.GetString("general.architecture");
            if (arch != model.Hp.Architecture)
                throw new ModelFormatException($"{path}: adapter is for architecture '{arch}', the model is '{model.Hp.Architecture}'");
            float alpha = (float)(file.GetNumber("adapter.lora.alpha") ?? 0);
            var bases = BaseWeights(model);
            var binder = new WeightBinder(file);
            var pairs = new Dictionary<string, (Weight, Weight)>(StringComparer.Ordinal);
            foreach (var t in file.Tensors)
            {
                if (!t.Name.EndsWith(".lora_a", StringComparison.Ordinal)) continue;
                var name = t.Name[..^".lora_a".Length];
                if (!bases.TryGetValue(name, out var w))
                    throw new ModelFormatException($"{path}: tensor '{t.Name}' targets '{name}', which this model does not apply adapters to");
                if (t.Shape.Length != 2 || t.Shape[1] <= 0 || t.Shape[1] > w.Cols)
                    throw new ModelFormatException($"{path}: tensor '{t.Name}' has shape {t.ShapeText}, expected [{w.Cols}, rank]");
                long rank = t.Shape[1];
                var a = binder.Require(t.Name, w.Cols, rank);
                var b = binder.Require(name + ".lora_b", rank, w.Rows);
                pairs.Add(name, (a, b));
            }

            var orphan = file.Tensors.FirstOrDefault(t => t.Name.EndsWith(".lora_b", StringComparison.Ordinal) && !pairs.ContainsKey(t.Name[..^".lora_b".Length]));
            if (orphan != null) throw new ModelFormatException($"{path}: tensor '{orphan.Name}' has no matching lora_a");
            if (pairs.Count == 0) throw new ModelFormatException($"{path}: the adapter has no lora_a/lora_b tensor pairs");
            return new LoraAdapter(file, model, alpha, pairs);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Every weight the forward pass multiplies through <c>Transformer.Project</c>, by name.</summary>
    private static Dictionary<string, Weight> BaseWeights(Transformer model)
    {
        var all = new Dictionary<string, Weight>(StringComparer.Ordinal);
        void Add(Weight? w)
        {
            if (w != null) all.TryAdd(w.Name, w);
        }

        foreach (var l in model.Layers)
        {
            Add(l.Wq);
            Add(l.Wk);
            Add(l.Wv);
            Add(l.Wqkv);
            Add(l.Wo);
            Add(l.Gate);
            Add(l.Up);
            Add(l.GateUp);
            Add(l.Down);
        }

        if (model.LmHead != model.TokenEmbedding) Add(model.LmHead);
        return all;
    }

    public void Dispose() => _file.Dispose();
}

/// <summary>An adapter and the scale a request applies it with.</summary>
public readonly record struct ActiveAdapter(LoraAdapter Adapter, float Scale);
