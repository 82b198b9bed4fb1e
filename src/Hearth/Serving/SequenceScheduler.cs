using System.Diagnostics;
using System.Threading.Channels;
using Hearth.Generation;
using Hearth.Models;

namespace Hearth.Serving;

/// <summary>How a <see cref="SequenceScheduler"/> shares one model between requests.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Sequences decoded together; each has its own KV cache. Requests beyond it wait in the queue.</summary>
    public int Parallel { get; init; } = 4;

    /// <summary>Requests that may wait for a free sequence; one more is refused with <see cref="SchedulerBusyException"/>.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>Context of every sequence; 0 uses the model's.</summary>
    public int Context { get; init; }

    public KvCacheType CacheType { get; init; } = KvCacheType.F32;

    /// <summary>Prompt tokens evaluated per step; a long prompt is taken in chunks so running streams keep flowing.</summary>
    public int PrefillChunk { get; init; } = 64;

    /// <exception cref="ArgumentOutOfRangeException">A value is outside its range.</exception>
    public void Validate()
    {
        if (Parallel is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(Parallel), $"parallel {Parallel} must be within 1..256");
        if (MaxQueue < 0) throw new ArgumentOutOfRangeException(nameof(MaxQueue), $"queue length {MaxQueue} must be ≥ 0");
        if (Context < 0) throw new ArgumentOutOfRangeException(nameof(Context), $"context {Context} must be ≥ 0");
        if (PrefillChunk is < 1 or > 4096) throw new ArgumentOutOfRangeException(nameof(PrefillChunk), $"prefill chunk {PrefillChunk} must be within 1..4096");
    }
}

/// <summary>One generation to run: prompt tokens, options, and whether to report log-probabilities.</summary>
public sealed record SequenceRequest
{
    public required int[] Prompt { get; init; }

    public required GenerationOptions Options { get; init; }

    /// <summary>Report ln p of each sampled token.</summary>
    public bool Logprobs { get; init; }

    /// <summary>Also report this many most likely alternatives per token (0..20).</summary>
    public int TopLogprobs { get; init; }

    /// <summary>Positions this request may fill (prompt + output); 0 is the scheduler's whole context.</summary>
    public int Context { get; init; }

    /// <summary>
    /// LoRA adapters (loaded for this scheduler's model) applied to this request only, with their scales; empty runs the
    /// base model. Requests with the same adapter set (same adapter objects and scales) decode together.
    /// </summary>
    public IReadOnlyList<ActiveAdapter> Adapters { get; init; } = [];
}

/// <summary>A submitted request: its tokens as they are sampled, and its statistics when it ends.</summary>
public sealed class SequenceHandle
{
    internal SequenceHandle(ChannelReader<SampledToken> tokens, Task<GenerationStats> completion)
    {
        Tokens = tokens;
        Completion = completion;
    }

    /// <summary>
    /// Every sampled token in order, then, if the end released held-back text, one entry with token −1 carrying it.
    /// Completes when the sequence ends; faults with the exception if it failed.
    /// </summary>
    public ChannelReader<SampledToken> Tokens { get; }

    /// <summary>Counts, timings and the finish reason; completes after <see cref="Tokens"/>.</summary>
    public Task<GenerationStats> Completion { get; }
}

/// <summary>The scheduler's queue is full; try again later.</summary>
public sealed class SchedulerBusyException(int queued) : HearthException($"the server is busy: {queued} requests are already waiting")
{
    public int Queued { get; } = queued;
}

/// <summary>Counters of everything a scheduler has done (for metrics).</summary>
public readonly record struct SchedulerCounters(long Requests, long PromptTokens, long GeneratedTokens, double PromptSeconds, double GenerationSeconds, long Rejected, long Cancelled);

/// <summary>
/// Serves one loaded model to many requests at once. Every sequence has its own KV cache (a slot), the weights are
/// shared, and the decode steps of all running sequences go through the model together
/// (<see cref="Transformer.ForwardSequences"/>), so N streams cost far less than N separate runs. Prompts are evaluated
/// in chunks between decode steps. One thread drives the model, so the compute pool is never contended.
/// </summary>
/// <remarks>
/// Results do not depend on the company a request keeps: batched decoding is bit-identical to decoding alone, and each
/// request samples with its own seeded sampler. A cancelled request stops at its next token and frees its slot.
/// </remarks>
public sealed class SequenceScheduler : IDisposable
{
    private readonly LanguageModel _model;
    private readonly SchedulerOptions _options;
    private readonly Slot[] _slots;
    private readonly InferenceState _scratch;
    private readonly float[] _batchLogits;
    private readonly InferenceState[] _batchStates;
    private readonly int[] _batchTokens;
    private readonly Slot[] _batchSlots;
    private readonly Queue<Pending> _queue = new();
    private readonly Queue<ExclusiveJob> _jobs = new();
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private bool _disposed;
    private long _requests, _promptTokens, _generatedTokens, _rejected, _cancelled;
    private double _promptSeconds, _generationSeconds;

    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public SequenceScheduler(LanguageModel model, SchedulerOptions? options = null)
    {
        _model = model;
        _options = options ?? new SchedulerOptions();
        _options.Validate();
        Context = _options.Context > 0 ? _options.Context : model.Context;
        _slots = new Slot[_options.Parallel];
        for (int i = 0; i < _slots.Length; i++) _slots[i] = new Slot(model.CreateState(Context, _options.CacheType, _options.PrefillChunk), model.Transformer.VocabSize);
        _scratch = model.CreateState(1, KvCacheType.F32, _options.Parallel);
        _batchLogits = new float[_options.Parallel * model.Transformer.VocabSize];
        _batchStates = new InferenceState[_options.Parallel];
        _batchTokens = new int[_options.Parallel];
        _batchSlots = new Slot[_options.Parallel];
        _thread = new Thread(Loop) { IsBackground = true, Name = "hearth-scheduler" };
        _thread.Start();
    }

    public LanguageModel Model => _model;

    public SchedulerOptions Options => _options;

    /// <summary>Context of every sequence.</summary>
    public int Context { get; }

    /// <summary>Bytes of every slot's KV cache and buffers, plus the batch scratch.</summary>
    public long StateBytes => _slots.Sum(s => s.State.Cache.ByteSize + s.State.ScratchBytes + 4L * s.Logits.Length) + _scratch.ScratchBytes + _scratch.Cache.ByteSize + 4L * _batchLogits.Length;

    /// <summary>What <see cref="StateBytes"/> will be for a model run with these options, before creating anything.</summary>
    public static long EstimateStateBytes(LanguageModel model, SchedulerOptions options)
    {
        var hp = model.Transformer.Hp;
        int context = options.Context > 0 ? options.Context : model.Context;
        long logits = 4L * model.Transformer.VocabSize;
        long slot = KvCache.EstimateBytes(hp, context, options.CacheType) + InferenceState.EstimateScratchBytes(hp, options.PrefillChunk) + logits;
        long scratch = KvCache.EstimateBytes(hp, 1, KvCacheType.F32) + InferenceState.EstimateScratchBytes(hp, options.Parallel) + options.Parallel * logits;
        return options.Parallel * slot + scratch;
    }

    /// <summary>Requests waiting for a slot.</summary>
    public int QueueDepth
    {
        get
        {
            lock (_gate) return _queue.Count;
        }
    }

    /// <summary>Sequences running now.</summary>
    public int Active
    {
        get
        {
            lock (_gate) return _slots.Count(s => s.Busy);
        }
    }

    /// <summary>True when nothing runs or waits.</summary>
    public bool Idle
    {
        get
        {
            lock (_gate) return _queue.Count == 0 && _jobs.Count == 0 && !_slots.Any(s => s.Busy);
        }
    }

    public SchedulerCounters Counters
    {
        get
        {
            lock (_gate) return new(_requests, _promptTokens, _generatedTokens, _promptSeconds, _generationSeconds, _rejected, _cancelled);
        }
    }

    /// <summary>Queues a generation. Its tokens stream through the returned handle.</summary>
    /// <exception cref="SchedulerBusyException">The queue is full.</exception>
    /// <exception cref="ContextOverflowException">The prompt does not fit in the context.</exception>
    /// <exception cref="ArgumentException">The request is malformed (no tokens, a token outside the vocabulary, bad options).</exception>
    /// <exception cref="ObjectDisposedException">The scheduler has been disposed.</exception>
    public SequenceHandle Submit(SequenceRequest request, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Options.Validate();
        if (request.Prompt.Length == 0) throw new ArgumentException("the prompt has no tokens", nameof(request));
        if (request.TopLogprobs is < 0 or > SequenceSampler.MaxTopLogprobs) throw new ArgumentOutOfRangeException(nameof(request), $"top logprobs {request.TopLogprobs} must be within 0..{SequenceSampler.MaxTopLogprobs}");
        int vocab = _model.Transformer.TokenEmbedding.Rows;
        foreach (var t in request.Prompt)
        {
            if ((uint)t >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(request), $"prompt token id {t} is outside the vocabulary (0..{vocab - 1})");
        }

        ArgumentNullException.ThrowIfNull(request.Adapters, nameof(request.Adapters));
        foreach (var a in request.Adapters)
        {
            if (a.Adapter is null) throw new ArgumentException("an adapter in the request is null", nameof(request));
            if (!ReferenceEquals(a.Adapter.Model, _model.Transformer)) throw new ArgumentException($"adapter '{a.Adapter.Path}' was loaded for another model; load it through this model's Adapters", nameof(request));
            if (!float.IsFinite(a.Scale)) throw new ArgumentOutOfRangeException(nameof(request), $"adapter scale {a.Scale} must be a finite number");
        }

        int context = request.Context > 0 ? Math.Min(request.Context, Context) : Context;
        if (request.Prompt.Length >= context) throw new ContextOverflowException(0, request.Prompt.Length, context);

        Pending pending;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int free = _slots.Count(s => !s.Busy);
            if (_queue.Count >= free + _options.MaxQueue)
            {
                _rejected++;
                throw new SchedulerBusyException(_queue.Count);
            }

            _requests++;
            pending = new Pending(request, context, cancellation, _requests);
            _queue.Enqueue(pending);
        }

        _wake.Release();
        if (cancellation.CanBeCanceled) cancellation.Register(static p => ((SequenceScheduler)p!).WakeFromCancellation(), this);
        return new SequenceHandle(pending.Channel.Reader, pending.Done.Task);
    }

    /// <summary>A request's token was cancelled: wake the loop to drop it. The token may outlive the scheduler.</summary>
    private void WakeFromCancellation()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // Cancelled after the scheduler (the model) was disposed: nothing is left to stop.
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the scheduler's thread between decode steps, with the model to itself (for
    /// embeddings and other one-off passes that must not contend for the compute pool).
    /// </summary>
    public Task<T> RunExclusiveAsync<T>(Func<LanguageModel, T> work, CancellationToken cancellation = default)
    {
        var job = new ExclusiveJob(m => work(m)!, cancellation);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _jobs.Enqueue(job);
        }

        _wake.Release();
        return job.Done.Task.ContinueWith(t => (T)t.Result, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void Loop()
    {
        while (true)
        {
            bool worked;
            try
            {
                worked = Step();
            }
            catch (Exception e)
            {
                // A failure of the model itself: fail every running sequence rather than leave it hanging.
                FailAll(e);
                worked = true;
            }

            if (!worked)
            {
                lock (_gate)
                {
                    if (_disposed) break;
                }

                _wake.Wait(TimeSpan.FromMilliseconds(250));
            }
        }

        FailAll(new ObjectDisposedException(nameof(SequenceScheduler), "the model was unloaded"));
    }

    /// <summary>One round: admit, one exclusive job, one prompt chunk, sample every ready sequence, one batched decode.</summary>
    private bool Step()
    {
        bool worked = false;
        ExclusiveJob? job = null;
        lock (_gate)
        {
            if (_disposed) return false;
            DropCancelledWaiting();
            foreach (var slot in _slots)
            {
                if (slot.Busy || _queue.Count == 0) continue;
                slot.Start(_queue.Dequeue(), _model);
                worked = true;
            }

            if (_jobs.Count > 0) job = _jobs.Dequeue();
        }

        if (job != null)
        {
            job.Run(_model);
            worked = true;
        }

        // One prompt chunk per round, oldest request first, so running streams are held up by one chunk at most.
        Slot? prefill = null;
        foreach (var slot in _slots)
        {
            if (slot.Phase == Phase.Prefill && (prefill == null || slot.Order < prefill.Order)) prefill = slot;
        }

        if (prefill != null)
        {
            worked = true;
            if (prefill.Cancellation.IsCancellationRequested) Finish(prefill, FinishReason.Cancelled);
            else PrefillChunk(prefill);
        }

        int batch = 0;
        foreach (var slot in _slots)
        {
            if (slot.Phase != Phase.Sample) continue;
            worked = true;
            if (!Sample(slot)) continue;
            _batchSlots[batch] = slot;
            _batchStates[batch] = slot.State;
            _batchTokens[batch] = slot.NextToken;
            batch++;
        }

        if (batch > 0)
        {
            long started = Stopwatch.GetTimestamp();
            int vocab = _model.Transformer.VocabSize;
            var logits = _batchLogits.AsSpan(0, batch * vocab);
            // Sequences sharing an adapter set (usually all: none) go through the weights together; each set is one call.
            for (int start = 0; start < batch;)
            {
                int end = start + 1;
                for (int j = start + 1; j < batch; j++)
                {
                    if (!_batchStates[j].SameAdapters(_batchStates[start])) continue;
                    (_batchStates[j], _batchStates[end]) = (_batchStates[end], _batchStates[j]);
                    (_batchSlots[j], _batchSlots[end]) = (_batchSlots[end], _batchSlots[j]);
                    (_batchTokens[j], _batchTokens[end]) = (_batchTokens[end], _batchTokens[j]);
                    end++;
                }

                int count = end - start;
                _model.Transformer.ForwardSequences(_scratch, _batchStates.AsSpan(start, count), _batchTokens.AsSpan(start, count), logits.Slice(start * vocab, count * vocab), _model.Pool);
                start = end;
            }

            for (int i = 0; i < batch; i++)
            {
                logits.Slice(i * vocab, vocab).CopyTo(_batchSlots[i].Logits);
                _batchSlots[i].Phase = Phase.Sample;
                _batchStates[i] = null!;
                _batchSlots[i] = null!;
            }

            lock (_gate) _generationSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        }

        return worked;
    }

    private void PrefillChunk(Slot slot)
    {
        long started = Stopwatch.GetTimestamp();
        var prompt = slot.Request!.Prompt;
        int n = Math.Min(_options.PrefillChunk, prompt.Length - slot.Prefilled);
        _model.Transformer.Forward(slot.State, prompt.AsSpan(slot.Prefilled, n), slot.Logits, allLogits: false, _model.Pool);
        slot.Prefilled += n;
        var elapsed = Stopwatch.GetElapsedTime(started);
        slot.PromptTime += elapsed;
        if (slot.Prefilled == prompt.Length)
        {
            slot.Phase = Phase.Sample;
            slot.Clock.Restart();
        }

        lock (_gate)
        {
            _promptSeconds += elapsed.TotalSeconds;
            _promptTokens += n;
        }
    }

    /// <summary>Samples a slot's next token and streams it; true when the token must run forward.</summary>
    private bool Sample(Slot slot)
    {
        var sampler = slot.Sampler!;
        bool cancelled = slot.Cancellation.IsCancellationRequested;
        if (!sampler.TryNext(slot.Logits, slot.State.Position, slot.Context, cancelled, out var next))
        {
            Finish(slot, sampler.Reason);
            return false;
        }

        slot.Channel!.Writer.TryWrite(next);
        lock (_gate) _generatedTokens++;
        if (sampler.Reason != FinishReason.None)
        {
            Finish(slot, sampler.Reason);
            return false;
        }

        slot.NextToken = next.Token;
        slot.Phase = Phase.Decode;
        return true;
    }

    private void Finish(Slot slot, FinishReason reason)
    {
        var sampler = slot.Sampler!;
        var tail = sampler.Finish(reason);
        if (tail.Length > 0) slot.Channel!.Writer.TryWrite(new SampledToken(-1, tail, 0, null));
        var stats = new GenerationStats
        {
            PromptTokens = slot.Request!.Prompt.Length,
            PromptTime = slot.PromptTime,
            GeneratedTokens = sampler.Generated,
            GenerationTime = slot.Clock.Elapsed,
            FinishReason = sampler.Reason,
        };
        var channel = slot.Channel!;
        var done = slot.Done!;
        lock (_gate)
        {
            if (sampler.Reason == FinishReason.Cancelled) _cancelled++;
            slot.Clear();
        }

        channel.Writer.TryComplete();
        done.TrySetResult(stats);
        _wake.Release();
    }

    private void DropCancelledWaiting()
    {
        if (!_queue.Any(p => p.Cancellation.IsCancellationRequested)) return;
        var keep = _queue.Where(p => !p.Cancellation.IsCancellationRequested).ToList();
        foreach (var p in _queue.Where(p => p.Cancellation.IsCancellationRequested))
        {
            _cancelled++;
            p.Channel.Writer.TryComplete();
            p.Done.TrySetResult(new GenerationStats { PromptTokens = p.Request.Prompt.Length, FinishReason = FinishReason.Cancelled });
        }

        _queue.Clear();
        foreach (var p in keep) _queue.Enqueue(p);
    }

    private void FailAll(Exception e)
    {
        List<(Channel<SampledToken>, TaskCompletionSource<GenerationStats>)> failed = [];
        List<ExclusiveJob> jobs;
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                if (!slot.Busy) continue;
                failed.Add((slot.Channel!, slot.Done!));
                slot.Clear();
            }

            while (_queue.Count > 0)
            {
                var p = _queue.Dequeue();
                failed.Add((p.Channel, p.Done));
            }

            jobs = [.. _jobs];
            _jobs.Clear();
        }

        foreach (var (channel, done) in failed)
        {
            channel.Writer.TryComplete(e);
            done.TrySetException(e);
        }

        foreach (var job in jobs) job.Done.TrySetException(e);
    }

    /// <summary>Stops the scheduler: waiting and running requests fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }

        _wake.Release();
        _thread.Join();
        _wake.Dispose();
    }

    private enum Phase
    {
        Idle,
        Prefill,
        Sample,
        Decode,
    }

    private sealed class Pending(SequenceRequest request, int context, CancellationToken cancellation, long order)
    {
        public SequenceRequest Request { get; } = request;

        public int Context { get; } = context;

        public CancellationToken Cancellation { get; } = cancellation;

        public long Order { get; } = order;

        public Channel<SampledToken> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<SampledToken>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public TaskCompletionSource<GenerationStats> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Slot(InferenceState state, int vocab)
    {
        public InferenceState State { get; } = state;

        public float[] Logits { get; } = new float[vocab];

        public Stopwatch Clock { get; } = new();

        public Phase Phase { get; set; }

        public bool Busy => Phase != Phase.Idle;

        public SequenceRequest? Request { get; private set; }

        public SequenceSampler? Sampler { get; private set; }

        public Channel<SampledToken>? Channel { get; private set; }

        public TaskCompletionSource<GenerationStats>? Done { get; private set; }

        public CancellationToken Cancellation { get; private set; }

        public int Context { get; private set; }

        public long Order { get; private set; }

        public int Prefilled { get; set; }

        public TimeSpan PromptTime { get; set; }

        public int NextToken { get; set; }

        public void Start(Pending p, LanguageModel model)
        {
            Request = p.Request;
            Channel = p.Channel;
            Done = p.Done;
            Cancellation = p.Cancellation;
            Context = p.Context;
            Order = p.Order;
            Prefilled = 0;
            PromptTime = TimeSpan.Zero;
            Clock.Reset();
            State.Reset();
            State.SetAdapters(p.Request.Adapters);
            Sampler = new SequenceSampler(model, p.Request.Options, p.Request.Logprobs, p.Request.TopLogprobs);
            Sampler.AcceptPrompt(p.Request.Prompt);
            Phase = Phase.Prefill;
        }

        public void Clear()
        {
            Request = null;
            Sampler = null;
            Channel = null;
            Done = null;
            Cancellation = default;
            State.SetAdapters([]);
            Phase = Phase.Idle;
        }
    }

    private sealed class ExclusiveJob(Func<LanguageModel, object> work, CancellationToken cancellation)
    {
        public TaskCompletionSource<object> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Run(LanguageModel model)
        {
            if (cancellation.IsCancellationRequested)
            {
                Done.TrySetCanceled(cancellation);
                return;
            }

            try
            {
                Done.TrySetResult(work(model));
            }
            catch (Exception e)
            {
                Done.TrySetException(e);
            }
        }
    }
}
