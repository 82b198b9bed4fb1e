using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using Hearth.Models.Blocks;
using Hearth.Tensors;

namespace Hearth.Models;

/// <summary>
/// The weights of one decoder block. Attention takes either separate q/k/v projections or a fused one; the FFN either
/// separate gate and up projections or a fused gate+up. Optional parts are null when an architecture lacks them.
/// </summary>
public sealed class LayerWeights
{
    /// <summary>[n_embd]</summary>
    public required ReadOnlyMemory<float> AttnNorm { get; init; }

    /// <summary>[n_embd, n_head·head_dim], ne[0] contiguous.</summary>
    public Weight? Wq { get; init; }

    /// <summary>[n_embd, n_head_kv·head_dim]</summary>
    public Weight? Wk { get; init; }

    /// <summary>[n_embd, n_head_kv·head_dim_v]</summary>
    public Weight? Wv { get; init; }

    /// <summary>Fused [n_embd, (n_head + 2·n_head_kv)·head_dim]: q rows, then k rows, then v rows.</summary>
    public Weight? Wqkv { get; init; }

    public ReadOnlyMemory<float>? Bq { get; init; }

    public ReadOnlyMemory<float>? Bk { get; init; }

    public ReadOnlyMemory<float>? Bv { get; init; }

    /// <summary>Per-head RMS norm weights of q and k, [head_dim] (Qwen3, Gemma 3).</summary>
    public ReadOnlyMemory<float>? QNorm { get; init; }

    public ReadOnlyMemory<float>? KNorm { get; init; }

    /// <summary>[n_head·head_dim_v, n_embd]</summary>
    public required Weight Wo { get; init; }

    /// <summary>Norm of the attention output before the residual add (Gemma 2/3).</summary>
    public ReadOnlyMemory<float>? PostAttnNorm { get; init; }

    /// <summary>[n_embd]</summary>
    public required ReadOnlyMemory<float> FfnNorm { get; init; }

    /// <summary>[n_embd, n_ff]</summary>
    public Weight? Gate { get; init; }

    /// <summary>[n_embd, n_ff]</summary>
    public Weight? Up { get; init; }

    /// <summary>Fused [n_embd, 2·n_ff]: gate rows then up rows (Phi-3).</summary>
    public Weight? GateUp { get; init; }

    /// <summary>[n_ff, n_embd]</summary>
    public required Weight Down { get; init; }

    /// <summary>Norm of the FFN output before the residual add (Gemma 2/3).</summary>
    public ReadOnlyMemory<float>? PostFfnNorm { get; init; }

    /// <summary>RoPE settings of this layer (base and factors can differ per layer).</summary>
    public required Rope Rope { get; init; }

    /// <summary>True when this layer attends only to the last <see cref="TransformerSpec.SlidingWindow"/> positions.</summary>
    public bool Sliding { get; init; }
}

/// <summary>The architecture-level switches of the shared forward pass.</summary>
public sealed record TransformerSpec
{
    public Activation Activation { get; init; } = Activation.Silu;

    /// <summary>Multiplier of the token embeddings (√n_embd for Gemma, 1 otherwise).</summary>
    public float EmbeddingScale { get; init; } = 1f;

    /// <summary>Multiplier of q·k (1/√head_dim unless the architecture says otherwise).</summary>
    public required float AttentionScale { get; init; }

    /// <summary>Soft-cap of attention scores, 0 for none.</summary>
    public float AttentionSoftCap { get; init; }

    /// <summary>Soft-cap of the final logits, 0 for none.</summary>
    public float FinalSoftCap { get; init; }

    /// <summary>Window of the sliding layers: key j is hidden from query i when i − j ≥ window.</summary>
    public int SlidingWindow { get; init; }
}

/// <summary>
/// A decoder-only transformer over memory-mapped weights: the forward pass every architecture shares. Architectures
/// differ only in how they bind weights and set <see cref="TransformerSpec"/>. The weights are immutable and shared;
/// each sequence brings its own <see cref="InferenceState"/>.
/// </summary>
public sealed class Transformer
{
    public Transformer(HyperParameters hp, TransformerSpec spec, Weight tokenEmbedding, ReadOnlyMemory<float> outputNorm, Weight output, LayerWeights[] layers)
    {
        Hp = hp;
        Spec = spec;
        TokenEmbedding = tokenEmbedding;
        OutputNorm = outputNorm;
        LmHead = output;
        Layers = layers;
        VocabSize = output.Rows;
    }

    public HyperParameters Hp { get; }

    public TransformerSpec Spec { get; }

    /// <summary>[n_embd, n_vocab]</summary>
    public Weight TokenEmbedding { get; }

    /// <summary>[n_embd]</summary>
    public ReadOnlyMemory<float> OutputNorm { get; }

    /// <summary>[n_embd, n_vocab]; the token embedding itself when the head is tied.</summary>
    public Weight LmHead { get; }

    public IReadOnlyList<LayerWeights> Layers { get; }

    public int VocabSize { get; }

    /// <summary>
    /// Runs <paramref name="tokens"/> at the state's next positions (prompt tokens go through in batches) and writes
    /// logits: for every token when <paramref name="allLogits"/> ([n][vocab]), else for the last token only ([vocab]).
    /// </summary>
    /// <exception cref="ContextOverflowException">The tokens do not fit in the state's context.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A token id is outside the vocabulary.</exception>
    public void Forward(InferenceState state, ReadOnlySpan<int> tokens, Span<float> logits, bool allLogits, ComputePool? pool = null) =>
        Run(state, tokens, logits, allLogits ? Output.AllLogits : Output.LastLogits, pool);

    /// <summary>
    /// Runs <paramref name="tokens"/> like <see cref="Forward"/> but writes the final hidden state of every token (after
    /// the output norm, before the LM head), [n][n_embd]: what embeddings are pooled from.
    /// </summary>
    public void ForwardHidden(InferenceState state, ReadOnlySpan<int> tokens, Span<float> hidden, ComputePool? pool = null) =>
        Run(state, tokens, hidden, Output.AllHidden, pool);

    /// <summary>
    /// One decode step for several sequences at once: <paramref name="tokens"/>[i] runs at the next position of
    /// <paramref name="sequences"/>[i], and <paramref name="logits"/> receives [n][vocab]. The matrix products read each
    /// weight once for the whole step (the batch's activation rows live in <paramref name="scratch"/>); attention runs per
    /// sequence against its own KV cache. Every output is bit-identical to running each sequence alone through
    /// <see cref="Forward"/>: the kernels give the same result for a row whatever the batch around it.
    /// </summary>
    /// <remarks>
    /// Sequences with LoRA adapters batch together when they all share one adapter set (the same adapter objects with
    /// the same scales, in the same order, see <see cref="InferenceState.SameAdapters(InferenceState)"/>): the step applies that set to
    /// every row. Sequences with different sets must go through separate calls.
    /// </remarks>
    /// <exception cref="ArgumentException">Counts disagree, the batch exceeds the scratch's batch size, a sequence appears
    /// twice, the scratch has adapters of its own, or the sequences do not all share one adapter set.</exception>
    /// <exception cref="ContextOverflowException">A sequence's context is full.</exception>
    public void ForwardSequences(InferenceState scratch, ReadOnlySpan<InferenceState> sequences, ReadOnlySpan<int> tokens, Span<float> logits, ComputePool? pool = null)
    {
        int n = tokens.Length;
        if (n == 0) throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (sequences.Length != n) throw new ArgumentException($"{n} tokens for {sequences.Length} sequences: give one token per sequence", nameof(sequences));
        if (n > scratch.BatchSize) throw new ArgumentException($"{n} sequences exceed the scratch state's batch size {scratch.BatchSize}", nameof(scratch));
        if (logits.Length < n * VocabSize) throw new ArgumentException($"logits buffer holds {logits.Length} floats, {n * VocabSize} needed", nameof(logits));
        if (scratch.Adapters.Length != 0) throw new ArgumentException("the scratch state must not have adapters", nameof(scratch));
        for (int i = 0; i < n; i++)
        {
            var seq = sequences[i];
            if (!seq.SameAdapters(sequences[0])) throw new ArgumentException($"sequence {i} has a different LoRA adapter set from sequence 0; group sequences by adapter set", nameof(sequences));
            if (seq.Position + 1 > seq.Cache.Context) throw new ContextOverflowException(seq.Position, 1, seq.Cache.Context);
            if ((uint)tokens[i] >= (uint)TokenEmbedding.Rows) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {tokens[i]} is outside the vocabulary (0..{TokenEmbedding.Rows - 1})");
            for (int j = 0; j < i; j++)
            {
                if (ReferenceEquals(sequences[j], seq)) throw new ArgumentException($"sequences {j} and {i} are the same state", nameof(sequences));
            }
        }

        // The rows of the step are projected through the scratch state, so it carries the group's adapters for the step.
        scratch.BorrowAdapters(sequences[0]);
        try
        {
            ForwardBatch(scratch, sequences, tokens, logits[..(n * VocabSize)], Output.AllLogits, lastChunk: true, pool);
        }
        finally
        {
            scratch.ReturnAdapters();
        }
    }

    private enum Output
    {
        LastLogits,
        AllLogits,
        AllHidden,
    }

    private void Run(InferenceState state, ReadOnlySpan<int> tokens, Span<float> output, Output kind, ComputePool? pool)
    {
        if (tokens.IsEmpty) throw new ArgumentException("no tokens to evaluate", nameof(tokens));
        if (state.Position + tokens.Length > state.Cache.Context) throw new ContextOverflowException(state.Position, tokens.Length, state.Cache.Context);
        int width = kind == Output.AllHidden ? Hp.EmbeddingLength : VocabSize;
        int need = kind == Output.LastLogits ? width : tokens.Length * width;
        if (output.Length < need) throw new ArgumentException($"output buffer holds {output.Length} floats, {need} needed", nameof(output));
        foreach (var t in tokens)
        {
            if ((uint)t >= (uint)TokenEmbedding.Rows) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{TokenEmbedding.Rows - 1})");
        }

        for (int start = 0; start < tokens.Length; start += state.BatchSize)
        {
            int n = Math.Min(state.BatchSize, tokens.Length - start);
            bool last = start + n == tokens.Length;
            var chunk = kind == Output.LastLogits ? output[..width] : output.Slice(start * width, n * width);
            ForwardBatch(state, [], tokens.Slice(start, n), chunk, kind, last, pool);
        }
    }

    /// <summary>
    /// Runs a batch of rows through every layer. With no <paramref name="seqs"/>, the rows are consecutive positions of
    /// <paramref name="s"/>; otherwise row t is the next position of seqs[t] and <paramref name="s"/> is only scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void ForwardBatch(InferenceState s, ReadOnlySpan<InferenceState> seqs, ReadOnlySpan<int> tokens, Span<float> output, Output kind, bool lastChunk, ComputePool? pool)
    {
        int n = tokens.Length;
        int e = Hp.EmbeddingLength;
        int pos0 = s.Position;
        var x = s.X.AsSpan(0, n * e);
        var xb = s.Xb.AsSpan(0, n * e);

        for (int t = 0; t < n; t++)
        {
            var row = x.Slice(t * e, e);
            TokenEmbedding.ReadRow(tokens[t], row);
            if (Spec.EmbeddingScale != 1f) TensorPrimitives.Multiply(row, Spec.EmbeddingScale, row);
        }

        for (int l = 0; l < Layers.Count; l++)
        {
            var layer = Layers[l];
            Attention(s, seqs, layer, l, x, xb, n, pos0, pool);
            if (layer.PostAttnNorm is { } pan) NormRows(xb, pan.Span, n, e);
            Add(x, xb);
            FeedForward(s, layer, x, xb, n, pool);
            if (layer.PostFfnNorm is { } pfn) NormRows(xb, pfn.Span, n, e);
            Add(x, xb);
        }

        if (seqs.IsEmpty) s.Position += n;
        foreach (var seq in seqs) seq.Position++;
        if (kind == Output.LastLogits && !lastChunk) return;

        int first = kind == Output.LastLogits ? n - 1 : 0;
        int rows = n - first;
        var normed = kind == Output.AllHidden ? output[..(n * e)] : xb[..(rows * e)];
        for (int t = first; t < n; t++) RmsNorm.Apply(x.Slice(t * e, e), OutputNorm.Span, normed.Slice((t - first) * e, e), Hp.RmsEpsilon);
        if (kind == Output.AllHidden) return;
        var outLogits = output[..(rows * VocabSize)];
        Project(s, LmHead, normed, rows, outLogits, pool);
        if (Spec.FinalSoftCap > 0) Activations.SoftCap(outLogits, Spec.FinalSoftCap);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Attention(InferenceState s, ReadOnlySpan<InferenceState> seqs, LayerWeights layer, int l, Span<float> x, Span<float> xb, int n, int pos0, ComputePool? pool)
    {
        int e = Hp.EmbeddingLength;
        int hd = Hp.KeyLength;
        int hdv = Hp.ValueLength;
        int nh = Hp.HeadCount;
        int nkv = Hp.HeadCountKv;
        int qw = Hp.QueryWidth;
        int kw = Hp.KvWidth;
        int vw = Hp.ValueWidth;

        NormRows(x, layer.AttnNorm.Span, n, e, xb);
        var q = s.Q.AsSpan(0, n * qw);
        var k = s.K.AsSpan(0, n * kw);
        var v = s.V.AsSpan(0, n * vw);
        if (layer.Wqkv is { } wqkv)
        {
            int fused = qw + kw + vw;
            var qkv = s.Qkv.AsSpan(0, n * fused);
            Project(s, wqkv, xb, n, qkv, pool);
            for (int t = 0; t < n; t++)
            {
                var row = qkv.Slice(t * fused, fused);
                row[..qw].CopyTo(q.Slice(t * qw, qw));
                row.Slice(qw, kw).CopyTo(k.Slice(t * kw, kw));
                row.Slice(qw + kw, vw).CopyTo(v.Slice(t * vw, vw));
            }
        }
        else if (CanFuse(s, pool))
        {
            ProjectFused(pool!, xb, n, layer.Wq!, q, layer.Wk!, k, layer.Wv!, v);
        }
        else
        {
            Project(s, layer.Wq!, xb, n, q, pool);
            Project(s, layer.Wk!, xb, n, k, pool);
            Project(s, layer.Wv!, xb, n, v, pool);
        }

        for (int t = 0; t < n; t++)
        {
            var qt = q.Slice(t * qw, qw);
            var kt = k.Slice(t * kw, kw);
            var vt = v.Slice(t * vw, vw);
            if (layer.Bq is { } bq) Add(qt, bq.Span);
            if (layer.Bk is { } bk) Add(kt, bk.Span);
            if (layer.Bv is { } bv) Add(vt, bv.Span);
            if (layer.QNorm is { } qn)
            {
                for (int h = 0; h < nh; h++) RmsNorm.ApplyInPlace(qt.Slice(h * hd, hd), qn.Span, Hp.RmsEpsilon);
            }

            if (layer.KNorm is { } kn)
            {
                for (int h = 0; h < nkv; h++) RmsNorm.ApplyInPlace(kt.Slice(h * hd, hd), kn.Span, Hp.RmsEpsilon);
            }

            var (seq, pos) = seqs.IsEmpty ? (s, pos0 + t) : (seqs[t], seqs[t].Position);
            layer.Rope.Apply(qt, kt, hd, pos);
            seq.Cache.Store(l, pos, kt, vt);
        }

        // Scaled dot-product attention with grouped-query heads, causal and (on sliding layers) windowed.
        var outAll = s.AttnOut.AsSpan(0, n * nh * hdv);
        if (seqs.IsEmpty)
        {
            SelfAttention(s, layer, l, q, n, pos0, pool);
        }
        else
        {
            // Each sequence attends over its own cache: its query row goes through its own buffers, as when it runs alone.
            int ow = nh * hdv;
            for (int t = 0; t < n; t++)
            {
                var seq = seqs[t];
                q.Slice(t * qw, qw).CopyTo(seq.Q);
                SelfAttention(seq, layer, l, seq.Q.AsSpan(0, qw), 1, seq.Position, pool);
                seq.AttnOut.AsSpan(0, ow).CopyTo(outAll.Slice(t * ow, ow));
            }
        }

        Project(s, layer.Wo, outAll, n, xb, pool);
    }

    /// <summary>Attention of n query rows (in s.Q) at positions pos0.. of s's cache, into s.AttnOut.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void SelfAttention(InferenceState s, LayerWeights layer, int l, Span<float> q, int n, int pos0, ComputePool? pool)
    {
        s.Cache.PrepareQuery(q);
        s.Attention.Prepare(s.Cache, l, s.Q, s.AttnOut, n, pos0, layer.Sliding ? Spec.SlidingWindow : 0, Hp, Spec.AttentionScale, Spec.AttentionSoftCap, pool?.ThreadCount ?? 1);
        // Attention of one token over a short context is less work than handing it to the workers and back.
        long attnWork = (long)n * Hp.HeadCount * Math.Max(Hp.KeyLength, Hp.ValueLength) * (pos0 + n);
        if (pool != null && attnWork > InlineAttentionWork) pool.Run(s.Attention);
        else s.Attention.Execute(0, 1);
    }

    /// <summary>Multiply-adds (per q·k or weight·v pass) below which attention runs on the calling thread.</summary>
    private const long InlineAttentionWork = 1L << 16;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FeedForward(InferenceState s, LayerWeights layer, Span<float> x, Span<float> xb, int n, ComputePool? pool)
    {
        int e = Hp.EmbeddingLength;
        int f = Hp.FeedForwardLength;
        NormRows(x, layer.FfnNorm.Span, n, e, xb);
        var gate = s.Gate.AsSpan(0, n * f);
        var up = s.Up.AsSpan(0, n * f);
        if (layer.GateUp is { } gu)
        {
            var both = s.GateUp.AsSpan(0, n * 2 * f);
            Project(s, gu, xb, n, both, pool);
            for (int t = 0; t < n; t++)
            {
                both.Slice(t * 2 * f, f).CopyTo(gate.Slice(t * f, f));
                both.Slice(t * 2 * f + f, f).CopyTo(up.Slice(t * f, f));
            }
        }
        else if (CanFuse(s, pool))
        {
            ProjectFused(pool!, xb, n, layer.Gate!, gate, layer.Up!, up, null, default);
        }
        else
        {
            Project(s, layer.Gate!, xb, n, gate, pool);
            Project(s, layer.Up!, xb, n, up, pool);
        }

        Activations.GatedInPlace(Spec.Activation, gate, up);
        Project(s, layer.Down, gate, n, xb, pool);
    }

    /// <summary>
    /// y = W·x for n rows of x, plus, for every adapter active in the state that targets W,
    /// factor · B·(A·x) (LoRA applied at run time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Project(InferenceState s, Weight w, ReadOnlySpan<float> x, int n, Span<float> y, ComputePool? pool)
    {
        w.Multiply(x, n, y, pool);
        var adapters = s.Adapters;
        for (int i = 0; i < adapters.Length; i++)
        {
            var (adapter, scale) = adapters[i];
            if (!adapter.TryGet(w.Name, out var a, out var b)) continue;
            var ax = s.LoraRank.AsSpan(0, n * a.Rows);
            var bax = s.LoraOut.AsSpan(0, n * b.Rows);
            a.Multiply(x, n, ax, pool);
            b.Multiply(ax, n, bax, pool);
            float factor = adapter.Factor(a, scale);
            var yn = y[..(n * b.Rows)];
            TensorPrimitives.MultiplyAdd(bax[..yn.Length], factor, yn, yn);
        }
    }

    /// <summary>Matmuls that share their input run as one pool job unless an adapter may need to add to them.</summary>
    private static bool CanFuse(InferenceState s, ComputePool? pool) => pool != null && s.Adapters.Length == 0;

    /// <summary>y0 = W0·x, y1 = W1·x (and y2 = W2·x when <paramref name="w2"/> is given) as one pool job; same results as three <see cref="Project"/> calls without adapters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ProjectFused(ComputePool pool, ReadOnlySpan<float> x, int n, Weight w0, Span<float> y0, Weight w1, Span<float> y1, Weight? w2, Span<float> y2)
    {
        if (w1.Cols != w0.Cols || (w2 != null && w2.Cols != w0.Cols))
        {
            w0.Multiply(x, n, y0, pool);
            w1.Multiply(x, n, y1, pool);
            w2?.Multiply(x, n, y2, pool);
            return;
        }

        FusedMatMulJob.Multiply(pool, x, w0.Cols, n,
            w0.Pointer, w0.Type, w0.Rows, y0,
            w1.Pointer, w1.Type, w1.Rows, y1,
            w2 is null ? null : w2.Pointer, w2?.Type ?? w0.Type, w2?.Rows ?? 0, y2);
    }

    /// <summary>RMS-normalises each of n rows of width <paramref name="width"/>, scaled by the weight (in place, or into dst).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NormRows(Span<float> src, ReadOnlySpan<float> weight, int n, int width, Span<float> dst = default)
    {
        if (dst.IsEmpty) dst = src;
        for (int t = 0; t < n; t++) RmsNorm.Apply(src.Slice(t * width, width), weight, dst.Slice(t * width, width), Hp.RmsEpsilon);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Add(Span<float> acc, ReadOnlySpan<float> v) => TensorPrimitives.Add(acc, v, acc);
}

/// <summary>
/// Everything one sequence needs to run: its KV cache, its position, and every activation buffer, allocated once so
/// that <see cref="Transformer.Forward"/> allocates nothing.
/// </summary>
public sealed class InferenceState
{
    public InferenceState(Transformer model, int context, int batchSize = 64, KvCacheType cacheType = KvCacheType.F32)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"batch size {batchSize} must be positive");
        var hp = model.Hp;
        Cache = new KvCache(hp, context, cacheType);
        BatchSize = batchSize;
        int e = hp.EmbeddingLength;
        X = new float[batchSize * e];
        Xb = new float[batchSize * e];
        Q = new float[batchSize * hp.QueryWidth];
        K = new float[batchSize * hp.KvWidth];
        V = new float[batchSize * hp.ValueWidth];
        Qkv = new float[batchSize * (hp.QueryWidth + hp.KvWidth + hp.ValueWidth)];
        AttnOut = new float[batchSize * hp.HeadCount * hp.ValueLength];
        Gate = new float[batchSize * hp.FeedForwardLength];
        Up = new float[batchSize * hp.FeedForwardLength];
        GateUp = new float[batchSize * 2 * hp.FeedForwardLength];
    }

    public KvCache Cache { get; }

    /// <summary>LoRA adapters applied to this sequence, with their scales (empty: the base model).</summary>
    public ReadOnlySpan<ActiveAdapter> Adapters => _adapters;

    private ActiveAdapter[] _adapters = [];

    /// <summary>Chooses the adapters for this sequence; switching needs no reload of the base weights.</summary>
    public void SetAdapters(IReadOnlyList<ActiveAdapter> adapters)
    {
        int rank = adapters.Count == 0 ? 0 : adapters.Max(a => a.Adapter.MaxRank);
        int width = adapters.Count == 0 ? 0 : adapters.Max(a => a.Adapter.MaxOutput);
        if (LoraRank.Length < BatchSize * rank) LoraRank = new float[BatchSize * rank];
        if (LoraOut.Length < BatchSize * width) LoraOut = new float[BatchSize * width];
        _adapters = adapters.ToArray();
    }

    /// <summary>
    /// True when this state applies exactly the adapters of <paramref name="other"/>: the same adapter objects with the
    /// same scales in the same order (so their decode steps may be batched).
    /// </summary>
    public bool SameAdapters(InferenceState other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return SameAdapters(other._adapters);
    }

    /// <summary>True when this state applies exactly <paramref name="adapters"/> (same objects, scales and order).</summary>
    public bool SameAdapters(IReadOnlyList<ActiveAdapter> adapters)
    {
        ArgumentNullException.ThrowIfNull(adapters);
        if (adapters.Count != _adapters.Length) return false;
        for (int i = 0; i < _adapters.Length; i++)
        {
            if (!ReferenceEquals(_adapters[i].Adapter, adapters[i].Adapter) || _adapters[i].Scale.CompareTo(adapters[i].Scale) != 0) return false;
        }

        return true;
    }

    /// <summary>Takes another state's adapter set for one batched step (growing the LoRA buffers only if needed).</summary>
    internal void BorrowAdapters(InferenceState other)
    {
        if (other._adapters.Length == 0) return;
        if (_adapters.Length != 0) throw new InvalidOperationException("the state already has adapters");
        int rank = other._adapters.Max(a => a.Adapter.MaxRank);
        int width = other._adapters.Max(a => a.Adapter.MaxOutput);
        if (LoraRank.Length < BatchSize * rank) LoraRank = new float[BatchSize * rank];
        if (LoraOut.Length < BatchSize * width) LoraOut = new float[BatchSize * width];
        _adapters = other._adapters;
    }

    internal void ReturnAdapters() => _adapters = [];

    internal float[] LoraRank { get; private set; } = [];
    internal float[] LoraOut { get; private set; } = [];

    /// <summary>How many positions are filled; the next token goes here.</summary>
    public int Position { get; internal set; }

    public int BatchSize { get; }

    internal float[] X { get; }
    internal float[] Xb { get; }
    internal float[] Q { get; }
    internal float[] K { get; }
    internal float[] V { get; }
    internal float[] Qkv { get; }
    internal float[] AttnOut { get; }
    internal AttentionWork Attention { get; } = new();
    internal float[] Gate { get; }
    internal float[] Up { get; }
    internal float[] GateUp { get; }

    /// <summary>
    /// Bytes of the activation buffers a state of this model would allocate for <paramref name="batchSize"/> tokens per
    /// batch, without adapters (what <see cref="ScratchBytes"/> reports for a new state), for planning before allocating.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch size is not positive.</exception>
    public static long EstimateScratchBytes(HyperParameters hp, int batchSize)
    {
        ArgumentNullException.ThrowIfNull(hp);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        long fused = hp.QueryWidth + hp.KvWidth + hp.ValueWidth;
        long perToken = 2L * hp.EmbeddingLength // X, Xb
            + hp.QueryWidth + hp.KvWidth + hp.ValueWidth // Q, K, V
            + fused // Qkv
            + (long)hp.HeadCount * hp.ValueLength // AttnOut
            + 2L * hp.FeedForwardLength // Gate, Up
            + 2L * hp.FeedForwardLength; // GateUp
        return 4L * batchSize * perToken;
    }

    /// <summary>Bytes of the activation buffers (everything this state holds besides the KV cache).</summary>
    public long ScratchBytes =>
        4L * (X.Length + Xb.Length + Q.Length + K.Length + V.Length + Qkv.Length + AttnOut.Length + Gate.Length + Up.Length + GateUp.Length + LoraRank.Length + LoraOut.Length);

    /// <summary>Forgets every position (the cache contents are simply overwritten later).</summary>
    public void Reset() => Position = 0;

    /// <summary>Drops positions from <paramref name="position"/> on, so that a shared prefix can be reused.</summary>
    public void Truncate(int position)
    {
        if (position < 0 || position > Position) throw new ArgumentOutOfRangeException(nameof(position), $"cannot truncate to {position}: {Position} positions are filled");
        Position = position;
    }
}
