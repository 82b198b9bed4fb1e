using System.Globalization;
using Hearth.Gguf;
using Hearth.Quantization;
using Hearth.Tensors;

namespace Hearth.Synthesis;

/// <summary>What a synthetic tensor holds.</summary>
public enum SyntheticTensorKind
{
    /// <summary>A weight matrix (or the token embedding): random, N(0, 0.02²).</summary>
    Matrix,

    /// <summary>An RMS norm weight: all 1.</summary>
    Norm,

    /// <summary>A projection bias: random, N(0, 0.01²).</summary>
    Bias,

    /// <summary>RoPE frequency factors (llama3 <c>rope_freqs</c>, LongRoPE short/long): a fixed smooth curve.</summary>
    RopeFactors,
}

/// <summary>One tensor of a synthetic model: ggml name, shape (ne[0] first), the type it is stored in, and its content.</summary>
/// <param name="Name">ggml tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Shape">ggml shape, row length first.</param>
/// <param name="Type">The stored type, after the file type's mix and fallbacks.</param>
/// <param name="PreferredType">The type the mix asked for before the row-length fallback.</param>
/// <param name="Kind">What the tensor holds.</param>
public sealed record PlannedTensor(string Name, long[] Shape, GgmlType Type, GgmlType PreferredType, SyntheticTensorKind Kind)
{
    /// <summary>Elements per row (ne[0]).</summary>
    public long RowLength => Shape[0];

    public long RowCount => Shape.Skip(1).Aggregate(1L, (a, b) => a * b);

    public long ElementCount => RowLength * RowCount;

    /// <summary>Bytes of the tensor's data in <see cref="Type"/>.</summary>
    public long ByteSize => RowCount * GgmlTypes.Get(Type).RowBytes(RowLength);

    /// <summary>True when the row length could not hold <see cref="PreferredType"/>.</summary>
    public bool FellBack => Type != PreferredType;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// Everything about a synthetic model file except its random numbers: the metadata, and the tensor table with each
/// tensor's type under the chosen file type. Computing a plan writes nothing, so the tensor table and the exact file size
/// of even the largest shapes are cheap to inspect.
/// </summary>
public sealed class SynthesisPlan
{
    /// <summary>Standard deviation of synthetic weight matrices.</summary>
    public const float WeightSigma = 0.02f;

    /// <summary>Standard deviation of synthetic biases.</summary>
    public const float BiasSigma = 0.01f;

    private readonly Dictionary<string, PlannedTensor> _byName;

    private SynthesisPlan(ModelShape shape, LlamaFileType fileType, PlannedTensor[] tensors)
    {
        Shape = shape;
        FileType = fileType;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public ModelShape Shape { get; }

    public LlamaFileType FileType { get; }

    /// <summary>The tensors in file order (llama.cpp's: global tensors, then block by block, by name within each).</summary>
    public IReadOnlyList<PlannedTensor> Tensors { get; }

    /// <summary>Total number of weights.</summary>
    public long ParameterCount => Tensors.Sum(t => t.ElementCount);

    /// <summary>Total bytes of tensor data, without alignment padding.</summary>
    public long TensorBytes => Tensors.Sum(t => t.ByteSize);

    /// <summary>How many tensors fell back to another type because of their row length.</summary>
    public int FallbackCount => Tensors.Count(t => t.FellBack);

    /// <summary>The tensor with this name.</summary>
    /// <exception cref="KeyNotFoundException">The plan has no such tensor.</exception>
    public PlannedTensor this[string name] => _byName.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"the {Shape.Name} plan has no tensor '{name}'");

    public PlannedTensor? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Plans <paramref name="shape"/> stored as <paramref name="fileType"/>.</summary>
    /// <exception cref="ArgumentException">The shape is invalid, or the file type is not one Hearth can write.</exception>
    public static SynthesisPlan Create(ModelShape shape, LlamaFileType fileType)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate();
        if (!QuantizationMix.IsSupported(fileType))
            throw new ArgumentException($"file type {fileType} cannot be written (supported: {string.Join(", ", QuantizationMix.SupportedFileTypes)})", nameof(fileType));

        var raw = TensorTable(shape);
        raw.Sort((a, b) => QuantizationMix.CompareTensorNames(a.Name, b.Name));
        var model = new QuantizationModel(shape.Architecture, shape.BlockCount, shape.HeadCount, shape.HeadCountKv);
        TensorTypeChoice[] choices;
        try
        {
            choices = QuantizationMix.Choose(model, raw.Select(t => new TensorToQuantize(t.Name, t.Shape, GgmlType.F32)).ToArray(), fileType);
        }
        catch (QuantizationException e)
        {
            throw new ArgumentException($"{shape.Name}: {e.Message}", nameof(shape), e);
        }

        var tensors = raw.Select((t, i) => new PlannedTensor(t.Name, t.Shape, choices[i].Type, choices[i].Preferred, t.Kind)).ToArray();
        return new SynthesisPlan(shape, fileType, tensors);
    }

    /// <summary>
    /// The exact size in bytes of the file <see cref="ModelSynthesizer"/> writes for this plan: header, metadata
    /// (vocabulary included), tensor table and aligned tensor data.
    /// </summary>
    public long FileSize()
    {
        var counter = new CountingSink();
        CreateWriter(t => s => WriteZeros(s, t.ByteSize)).Write(counter);
        return counter.Length;
    }

    /// <summary>One line: what was written where.</summary>
    public string Summary(string path, long fileBytes) => string.Create(CultureInfo.InvariantCulture,
        $"wrote {path}: {Shape.Name} ({Shape.Architecture}) {FileType}, {Tensors.Count} tensors, {ParameterCount / 1e6:F1} M parameters, {fileBytes} bytes ({fileBytes / 1048576.0:F1} MiB)");

    /// <summary>The shape, the exact file size, bytes per tensor type and the tensor table, as text.</summary>
    public string Describe()
    {
        var s = Shape;
        var inv = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        long size = FileSize();
        sb.Append(inv, $"shape: {s.Name} ({s.Architecture}), {FileType}: {Tensors.Count} tensors, {ParameterCount / 1e6:F1} M parameters\n");
        sb.Append(inv, $"  n_embd {s.EmbeddingLength}, {s.BlockCount} layers, {s.HeadCount}/{s.HeadCountKv} heads of {s.HeadDim} ({s.RopeDimensionCount} rotated), ffn {s.FeedForwardLength}, vocab {s.VocabSize}, context {s.ContextLength}, {(s.TiedOutput ? "tied" : "separate")} output\n");
        sb.Append(inv, $"file size: {size} bytes ({size / 1048576.0:F2} MiB); tensor data {TensorBytes} bytes; {FallbackCount} tensor(s) fell back for their row length\n");
        foreach (var g in Tensors.GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)))
        {
            sb.Append(inv, $"  {g.Key,-5} {g.Count(),4} tensors {g.Sum(t => t.ByteSize) / 1048576.0,10:F2} MiB\n");
        }

        sb.Append('\n');
        int nameWidth = Tensors.Max(t => t.Name.Length);
        foreach (var t in Tensors)
        {
            sb.Append("  ").Append(t.Name.PadRight(nameWidth)).Append("  ").Append(t.Type.ToString().PadRight(5)).Append("  ")
              .Append(t.ShapeText.PadRight(16)).Append(t.ByteSize.ToString(inv).PadLeft(12));
            if (t.FellBack) sb.Append(inv, $"  (fallback from {t.PreferredType})");
            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>A writer holding this plan's metadata and tensor table, each tensor's bytes produced by <paramref name="data"/>.</summary>
    internal GgufWriter CreateWriter(Func<PlannedTensor, Action<Stream>> data)
    {
        var w = new GgufWriter();
        AddMetadata(w);
        foreach (var t in Tensors) w.AddTensor(t.Name, t.Shape, t.Type, data(t));
        return w;
    }

    private void AddMetadata(GgufWriter w)
    {
        var s = Shape;
        string a = s.Architecture;
        void U(string key, int value) => w.Set($"{a}.{key}", (uint)value);
        void F(string key, float value) => w.Set($"{a}.{key}", value);

        w.Set("general.architecture", a);
        w.Set("general.type", "model");
        w.Set("general.name", s.Name + " (synthetic)");
        U("block_count", s.BlockCount);
        U("context_length", s.ContextLength);
        U("embedding_length", s.EmbeddingLength);
        U("feed_forward_length", s.FeedForwardLength);
        U("attention.head_count", s.HeadCount);
        U("attention.head_count_kv", s.HeadCountKv);
        F("rope.freq_base", s.RopeFreqBase);
        F("attention.layer_norm_rms_epsilon", s.RmsEpsilon);
        if (s.NeedsHeadDimKeys)
        {
            U("attention.key_length", s.HeadDim);
            U("attention.value_length", s.HeadDim);
        }

        // Architecture extras, as llama.cpp's converter writes them.
        if (a == "llama")
        {
            U("vocab_size", s.VocabSize);
            U("rope.dimension_count", s.RopeDimensionCount);
        }

        if (a == "phi3") U("rope.dimension_count", s.RopeDimensionCount);
        if (s.SlidingWindow > 0) U("attention.sliding_window", s.SlidingWindow);
        if (s.LongRope is { } lr)
        {
            U("rope.scaling.original_context_length", lr.OriginalContext);
            double scale = s.ContextLength / (double)lr.OriginalContext;
            F("rope.scaling.attn_factor", scale > 1 ? (float)Math.Sqrt(1 + Math.Log(scale) / Math.Log(lr.OriginalContext)) : 1f);
        }

        w.Set("general.file_type", (uint)FileType);
        w.Set("general.quantization_version", LlamaFileTypes.QuantizationVersion);
        SyntheticVocabulary.AddTo(w, s.VocabSize);
    }

    private static List<(string Name, long[] Shape, SyntheticTensorKind Kind)> TensorTable(ModelShape s)
    {
        long e = s.EmbeddingLength, f = s.FeedForwardLength, q = s.QueryWidth, kv = s.KvWidth, v = s.VocabSize;
        var list = new List<(string, long[], SyntheticTensorKind)>
        {
            ("token_embd.weight", [e, v], SyntheticTensorKind.Matrix), // [n_embd, n_vocab]
            ("output_norm.weight", [e], SyntheticTensorKind.Norm),
        };
        if (!s.TiedOutput) list.Add(("output.weight", [e, v], SyntheticTensorKind.Matrix)); // [n_embd, n_vocab]
        if (s.Llama3Rope != null) list.Add(("rope_freqs.weight", [s.RopeDimensionCount / 2], SyntheticTensorKind.RopeFactors));
        if (s.LongRope != null)
        {
            list.Add(("rope_factors_long.weight", [s.RopeDimensionCount / 2], SyntheticTensorKind.RopeFactors));
            list.Add(("rope_factors_short.weight", [s.RopeDimensionCount / 2], SyntheticTensorKind.RopeFactors));
        }

        for (int il = 0; il < s.BlockCount; il++)
        {
            string P(string name) => string.Create(CultureInfo.InvariantCulture, $"blk.{il}.{name}");
            list.Add((P("attn_norm.weight"), [e], SyntheticTensorKind.Norm));
            if (s.FusedQkv)
            {
                list.Add((P("attn_qkv.weight"), [e, q + 2 * kv], SyntheticTensorKind.Matrix)); // [n_embd, q + k + v]
            }
            else
            {
                list.Add((P("attn_q.weight"), [e, q], SyntheticTensorKind.Matrix)); // [n_embd, n_head·head_dim]
                list.Add((P("attn_k.weight"), [e, kv], SyntheticTensorKind.Matrix)); // [n_embd, n_head_kv·head_dim]
                list.Add((P("attn_v.weight"), [e, kv], SyntheticTensorKind.Matrix));
            }

            if (s.QkvBias)
            {
                list.Add((P("attn_q.bias"), [q], SyntheticTensorKind.Bias));
                list.Add((P("attn_k.bias"), [kv], SyntheticTensorKind.Bias));
                list.Add((P("attn_v.bias"), [kv], SyntheticTensorKind.Bias));
            }

            if (s.QkNorm)
            {
                list.Add((P("attn_q_norm.weight"), [s.HeadDim], SyntheticTensorKind.Norm));
                list.Add((P("attn_k_norm.weight"), [s.HeadDim], SyntheticTensorKind.Norm));
            }

            list.Add((P("attn_output.weight"), [q, e], SyntheticTensorKind.Matrix)); // [n_head·head_dim, n_embd]
            if (s.PostNorms) list.Add((P("post_attention_norm.weight"), [e], SyntheticTensorKind.Norm));
            list.Add((P("ffn_norm.weight"), [e], SyntheticTensorKind.Norm));
            if (s.FusedGateUp)
            {
                list.Add((P("ffn_up.weight"), [e, 2 * f], SyntheticTensorKind.Matrix)); // [n_embd, 2·n_ff]: gate rows, then up rows
            }
            else
            {
                list.Add((P("ffn_gate.weight"), [e, f], SyntheticTensorKind.Matrix)); // [n_embd, n_ff]
                list.Add((P("ffn_up.weight"), [e, f], SyntheticTensorKind.Matrix));
            }

            list.Add((P("ffn_down.weight"), [f, e], SyntheticTensorKind.Matrix)); // [n_ff, n_embd]
            if (s.PostNorms) list.Add((P("post_ffw_norm.weight"), [e], SyntheticTensorKind.Norm));
        }

        return list;
    }

    private static void WriteZeros(Stream s, long n)
    {
        var zeros = new byte[(int)Math.Min(n, 1 << 16)];
        while (n > 0)
        {
            int k = (int)Math.Min(n, zeros.Length);
            s.Write(zeros, 0, k);
            n -= k;
        }
    }

    /// <summary>A write-only stream that only counts.</summary>
    private sealed class CountingSink : Stream
    {
        private long _length;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;
    }
}
