using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace Hearth.Tensors;

/// <summary>A piece of parallel work: <see cref="ComputePool.Run"/> calls <see cref="Execute"/> once per worker.</summary>
public interface IComputeWork
{
    /// <summary>Does worker <paramref name="workerIndex"/>'s share (0 ≤ index &lt; <paramref name="workerCount"/>).</summary>
    void Execute(int workerIndex, int workerCount);
}

/// <summary>
/// Work handed out in chunks from a shared counter, so any worker can do any part of it and the caller alone can finish
/// it: once the caller's <see cref="IComputeWork.Execute"/> returns, the job is complete apart from what workers that
/// already started are doing, and workers that have not started yet are released instead of waited for. That keeps a
/// worker the operating system has not scheduled yet (another program on the core) from stalling the caller.
/// </summary>
internal interface IChunkedComputeWork : IComputeWork
{
}

/// <summary>A loop body for <see cref="ComputePool.For"/>: called with disjoint index ranges that together cover the loop.</summary>
public interface IComputeLoop
{
    /// <summary>Processes indices [<paramref name="start"/>, <paramref name="end"/>).</summary>
    void Execute(int start, int end);
}

/// <summary>
/// A persistent pool of compute threads, created once per inference session and reused for every matrix multiply:
/// per-token work is too small to pay for a fresh <c>Parallel.For</c> each time. The calling thread is worker 0 and
/// <c>ThreadCount - 1</c> background threads are the others; with one thread everything runs inline.
/// </summary>
/// <remarks>
/// <para>
/// Hand-over is built for back-to-back jobs a few microseconds apart (the matmuls of one token): publishing a job is one
/// interlocked increment that spinning workers see at once, and the caller spins for the last worker to finish. Workers
/// that find no job for <see cref="SpinMicroseconds"/> block on a monitor (an idle pool costs no CPU) and are woken with
/// a pulse only when one of them is actually asleep. The caller likewise spins briefly, then blocks.
/// </para>
/// <para>
/// Parallelising your own loop without allocating: implement <see cref="IComputeWork"/> (split the range yourself, e.g.
/// with <see cref="Partition"/>) or <see cref="IComputeLoop"/> (passed to <see cref="For"/>, which hands out chunks
/// dynamically) on an object created once, set its fields, and call <see cref="Run"/> / <see cref="For"/> each time.
/// Neither call allocates. Runs from several threads are serialised. The pool also owns the scratch buffer
/// <see cref="MatMul"/> quantizes activations into. Not reentrant: a work item must not use the pool it runs on.
/// </para>
/// </remarks>
public sealed class ComputePool : IDisposable
{
    /// <summary>How long a worker looks for the next job before it blocks; covers the gaps between the matmuls of a token.</summary>
    private const int SpinMicroseconds = 200;

    /// <summary>How long the caller spins for the workers to finish before it blocks.</summary>
    private const int CallerSpinMicroseconds = 2000;

    private static readonly long s_workerSpinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
    private static readonly long s_callerSpinTicks = Stopwatch.Frequency * CallerSpinMicroseconds / 1_000_000;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private readonly Lock _runLock = new();
    private readonly object _doneGate = new();
    private readonly int _threadCount;

    /// <summary>Entry state of the current job: generation (high 32 bits), closed flag (bit 31), workers entered (bits 0-30).</summary>
    private const long ClosedBit = 1L << 31;
    private const long EnteredMask = ClosedBit - 1;

    private IComputeWork? _work;
    private long _generation;
    private long _entry;
    private int _finished;
    private int _sleepers;
    private int _callerBlocked;
    private volatile bool _disposed;
    private bool _running;
    private int _runningThreadId;
    private List<Exception>? _errors;
    private byte[] _scratch = [];
    private byte[][] _workerScratch = [];
    private MatMulJob? _matMulJob;
    private ActivationJob? _activationJob;
    private ForJob? _forJob;
    private FusedMatMulJob? _fusedMatMulJob;

    /// <summary>Creates a pool of <paramref name="threadCount"/> threads including the caller's.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threadCount"/> is below 1 or above 1024.</exception>
    public ComputePool(int threadCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(threadCount, 1024);
        _threadCount = threadCount;
        _workers = new Thread[threadCount - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            int index = i + 1;
            _workers[i] = new Thread(() => WorkerLoop(index))
            {
                IsBackground = true,
                Name = $"Hearth compute {index}",
            };
            _workers[i].Start();
        }
    }

    /// <summary>Workers per job, the calling thread included.</summary>
    public int ThreadCount => _threadCount;

    /// <summary>
    /// The contiguous share of [0, <paramref name="count"/>) that worker <paramref name="workerIndex"/> of
    /// <paramref name="workerCount"/> takes when a range is split evenly: the first <c>count % workerCount</c> workers get
    /// one index more. Shares are disjoint, cover the range, and may be empty.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or the index is outside [0, workerCount).</exception>
    public static (int Start, int End) Partition(int count, int workerIndex, int workerCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workerCount);
        ArgumentOutOfRangeException.ThrowIfNegative(workerIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(workerIndex, workerCount);
        int q = count / workerCount, r = count % workerCount;
        int start = workerIndex * q + Math.Min(workerIndex, r);
        return (start, start + q + (workerIndex < r ? 1 : 0));
    }

    /// <summary>
    /// Runs <paramref name="work"/> on every worker (the caller is worker 0) and returns when all have finished.
    /// If any share throws, the others still finish; then the exception is rethrown (several are wrapped in an
    /// <see cref="AggregateException"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The pool has been disposed.</exception>
    /// <exception cref="InvalidOperationException">Called from inside a job running on this pool.</exception>
    public void Run(IComputeWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using (EnterExclusive())
        {
            RunLocked(work);
        }
    }

    /// <summary>
    /// Calls <paramref name="body"/> on disjoint ranges that cover [0, <paramref name="count"/>), spread over the workers:
    /// chunks of at least <paramref name="grain"/> indices are handed out from a shared counter (about four per worker),
    /// so uneven iterations balance out. With one thread, or when the loop is a single chunk, it runs inline as
    /// <c>body.Execute(0, count)</c>. Exceptions propagate as in <see cref="Run"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="grain"/> below 1.</exception>
    /// <exception cref="ObjectDisposedException">The pool has been disposed.</exception>
    /// <exception cref="InvalidOperationException">Called from inside a job running on this pool.</exception>
    public void For(int count, IComputeLoop body, int grain = 1)
    {
        ArgumentNullException.ThrowIfNull(body);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(grain, 1);
        using (EnterExclusive())
        {
            if (count == 0)
            {
                return;
            }

            int chunk = Math.Max(grain, count / (_threadCount * 4));
            if (_threadCount == 1 || chunk >= count)
            {
                RunInline(body, count);
                return;
            }

            var job = _forJob ??= new ForJob();
            job.Set(body, count, chunk);
            try
            {
                RunLocked(job);
            }
            finally
            {
                job.Clear();
            }
        }
    }

    /// <summary>Stops and joins the worker threads. Idempotent; waits for a run in progress on another thread.</summary>
    /// <exception cref="InvalidOperationException">Called from inside a job running on this pool.</exception>
    public void Dispose()
    {
        ThrowIfInsideJob();
        using (_runLock.EnterScope())
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            Interlocked.Increment(ref _generation);
            lock (_gate)
            {
                Monitor.PulseAll(_gate);
            }

            foreach (var t in _workers)
            {
                t.Join();
            }

            _scratch = [];
            _workerScratch = [];
            _matMulJob = null;
            _activationJob = null;
            _forJob = null;
            _fusedMatMulJob = null;
        }
    }

    /// <summary>Takes the pool for a sequence of steps that share its scratch (a matmul's quantize + run).</summary>
    internal Lock.Scope EnterExclusive()
    {
        ThrowIfInsideJob();
        var scope = _runLock.EnterScope();
        if (_disposed)
        {
            scope.Dispose();
            throw new ObjectDisposedException(nameof(ComputePool));
        }

        return scope;
    }

    /// <summary>The pool's scratch buffer, grown to at least <paramref name="bytes"/>; valid while the caller holds <see cref="EnterExclusive"/>.</summary>
    internal byte[] Scratch(int bytes)
    {
        if (_scratch.Length < bytes)
        {
            _scratch = new byte[bytes];
        }

        return _scratch;
    }

    /// <summary>
    /// Worker <paramref name="worker"/>'s own scratch (pinned), grown to at least <paramref name="bytes"/>: only that
    /// worker touches it, from inside a job. Its address is stable until it grows.
    /// </summary>
    internal unsafe byte* WorkerScratch(int worker, long bytes)
    {
        var all = _workerScratch;
        if (all.Length != _threadCount)
        {
            // Sized on the caller's thread (worker 0) before any worker can ask: see MatMulJob.Set.
            throw new InvalidOperationException("worker scratch is not set up");
        }

        var mine = all[worker];
        if (mine.Length < bytes)
        {
            mine = all[worker] = GC.AllocateUninitializedArray<byte>(checked((int)bytes), pinned: true);
        }

        return (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(mine));
    }

    /// <summary>Makes sure every worker has a scratch slot (called by the caller before a job that uses <see cref="WorkerScratch"/>).</summary>
    internal void EnsureWorkerScratch()
    {
        if (_workerScratch.Length != _threadCount)
        {
            var all = new byte[_threadCount][];
            Array.Fill(all, []);
            _workerScratch = all;
        }
    }

    /// <summary>The pool's reusable matmul job; valid while the caller holds <see cref="EnterExclusive"/>.</summary>
    internal MatMulJob MatMulJob => _matMulJob ??= new MatMulJob();

    /// <summary>The pool's reusable fused-matmul job; valid while the caller holds <see cref="EnterExclusive"/>.</summary>
    internal FusedMatMulJob FusedMatMulJob => _fusedMatMulJob ??= new FusedMatMulJob();

    /// <summary>The pool's reusable activation-conversion job; valid while the caller holds <see cref="EnterExclusive"/>.</summary>
    internal ActivationJob ActivationJob => _activationJob ??= new ActivationJob();

    /// <summary>Runs a job; the caller holds <see cref="EnterExclusive"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void RunLocked(IComputeWork work)
    {
        _running = true;
        _runningThreadId = Environment.CurrentManagedThreadId;
        try
        {
            if (_workers.Length == 0)
            {
                work.Execute(0, 1);
                return;
            }

            _work = work;
            _errors = null;
            Volatile.Write(ref _finished, 0);
            long generation = _generation + 1;
            Volatile.Write(ref _entry, generation << 32);

            // Publish (a full fence), then wake sleepers only if there are any: spinning workers see the new generation
            // by themselves. A worker counts itself a sleeper before its last look at the generation, under the gate, so
            // either it sees this job or this read sees it (both sides use interlocked operations).
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) != 0)
            {
                lock (_gate)
                {
                    Monitor.PulseAll(_gate);
                }
            }

            try
            {
                work.Execute(0, _threadCount);
            }
            catch (Exception e)
            {
                AddError(e);
            }

            // A chunked job is done once our share returns, except for what workers already inside are doing: close it
            // and wait for those only. Any other job needs every worker's share. Always wait, even after our own share
            // failed: the workers may still be using the caller's buffers.
            int expected = work is IChunkedComputeWork
                ? (int)(Interlocked.Or(ref _entry, ClosedBit) & EnteredMask)
                : _workers.Length;
            WaitForWorkers(expected);
            _work = null;

            var errors = _errors;
            _errors = null;
            if (errors is { Count: 1 })
            {
                ExceptionDispatchInfo.Capture(errors[0]).Throw();
            }
            else if (errors is { Count: > 1 })
            {
                throw new AggregateException("several compute workers failed", errors);
            }
        }
        finally
        {
            _running = false;
            _runningThreadId = 0;
        }
    }

    private static void RunInline(IComputeLoop body, int count) => body.Execute(0, count);

    /// <summary>
    /// Spins until <paramref name="expected"/> workers have finished the job, then blocks on a monitor. The caller
    /// announces that it blocks (an interlocked write) before its last look at the count; a worker counts itself finished
    /// (interlocked) before it looks at the announcement, so one of them always sees the other, and the pulse is sent under
    /// the gate the caller waits on. Nothing here allocates.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WaitForWorkers(int expected)
    {
        if (Volatile.Read(ref _finished) == expected)
        {
            return;
        }

        long deadline = Stopwatch.GetTimestamp() + s_callerSpinTicks;
        while (Volatile.Read(ref _finished) != expected)
        {
            if (Stopwatch.GetTimestamp() < deadline)
            {
                Thread.SpinWait(4);
                continue;
            }

            lock (_doneGate)
            {
                Interlocked.Exchange(ref _callerBlocked, 1);
                while (Volatile.Read(ref _finished) != expected)
                {
                    Monitor.Wait(_doneGate);
                }

                Interlocked.Exchange(ref _callerBlocked, 0);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void WorkerLoop(int index)
    {
        long seen = 0;
        while (true)
        {
            seen = WaitForNextGeneration(seen);
            if (_disposed)
            {
                return;
            }

            if (!TryEnter(seen))
            {
                continue; // a chunked job the caller already finished and closed: nothing to do, nobody waits for us
            }

            try
            {
                _work!.Execute(index, _threadCount);
            }
            catch (Exception e)
            {
                AddError(e);
            }

            Interlocked.Increment(ref _finished);
            if (Volatile.Read(ref _callerBlocked) != 0)
            {
                lock (_doneGate)
                {
                    Monitor.PulseAll(_doneGate);
                }
            }
        }
    }

    /// <summary>Counts this worker into job <paramref name="generation"/> unless the caller has closed it (or moved on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool TryEnter(long generation)
    {
        while (true)
        {
            long state = Volatile.Read(ref _entry);
            if (((ulong)state >> 32) != ((ulong)generation & 0xFFFF_FFFFUL) || (state & ClosedBit) != 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _entry, state + 1, state) == state)
            {
                return true;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private long WaitForNextGeneration(long seen)
    {
        long g = Volatile.Read(ref _generation);
        if (g != seen)
        {
            return g;
        }

        long deadline = Stopwatch.GetTimestamp() + s_workerSpinTicks;
        do
        {
            for (int i = 0; i < 16; i++)
            {
                Thread.SpinWait(4);
                g = Volatile.Read(ref _generation);
                if (g != seen)
                {
                    return g;
                }
            }
        }
        while (Stopwatch.GetTimestamp() < deadline);

        lock (_gate)
        {
            Interlocked.Increment(ref _sleepers);
            try
            {
                while ((g = Volatile.Read(ref _generation)) == seen)
                {
                    Monitor.Wait(_gate);
                }
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }

            return g;
        }
    }

    private void AddError(Exception e)
    {
        lock (_gate)
        {
            (_errors ??= []).Add(e);
        }
    }

    private void ThrowIfInsideJob()
    {
        var current = Thread.CurrentThread;
        if (Array.IndexOf(_workers, current) >= 0 || (_running && _runningThreadId == Environment.CurrentManagedThreadId))
        {
            throw new InvalidOperationException("a compute job cannot use the pool it is running on");
        }
    }

    /// <summary>The job behind <see cref="For"/>: chunks handed out from an atomic counter.</summary>
    private sealed class ForJob : IChunkedComputeWork
    {
        private IComputeLoop? _body;
        private int _count;
        private int _chunk;
        private int _next;

        public void Set(IComputeLoop body, int count, int chunk)
        {
            _body = body;
            _count = count;
            _chunk = chunk;
            _next = 0;
        }

        public void Clear() => _body = null;

        public void Execute(int workerIndex, int workerCount)
        {
            var body = _body!;
            int count = _count, chunk = _chunk;
            while (true)
            {
                int start = Interlocked.Add(ref _next, chunk) - chunk;
                if (start >= count)
                {
                    return;
                }

                body.Execute(start, Math.Min(count, start + chunk));
            }
        }
    }
}
