using System.Runtime.ExceptionServices;

namespace Hearth.Tensors;

/// <summary>A piece of parallel work: <see cref="ComputePool.Run"/> calls <see cref="Execute"/> once per worker.</summary>
public interface IComputeWork
{
    /// <summary>Does worker <paramref name="workerIndex"/>'s share (0 ≤ index &lt; <paramref name="workerCount"/>).</summary>
    void Execute(int workerIndex, int workerCount);
}

/// <summary>
/// A persistent pool of compute threads, created once per inference session and reused for every matrix multiply:
/// per-token work is too small to pay for a fresh <c>Parallel.For</c> each time. The calling thread is worker 0 and
/// <c>ThreadCount - 1</c> background threads are the others; with one thread everything runs inline.
/// </summary>
/// <remarks>
/// Workers spin briefly waiting for the next job (so back-to-back matmuls hand over in microseconds) and then sleep on
/// a monitor, so an idle pool costs no CPU. Runs from several threads are serialised. The pool also owns the scratch
/// buffer <see cref="MatMul"/> quantizes activations into. Not reentrant: a work item must not call <see cref="Run"/>
/// on its own pool.
/// </remarks>
public sealed class ComputePool : IDisposable
{
    /// <summary>SpinWait.SpinOnce calls a worker makes before it blocks; tens of microseconds.</summary>
    private const int SpinIterations = 40;

    private readonly Thread[] _workers;
    private readonly object _gate = new();
    private readonly Lock _runLock = new();
    private readonly ManualResetEventSlim _done = new(false, spinCount: 200);
    private readonly int _threadCount;

    private IComputeWork? _work;
    private long _generation;
    private int _pending;
    private volatile bool _disposed;
    private bool _running;
    private int _runningThreadId;
    private List<Exception>? _errors;
    private byte[] _scratch = [];
    private MatMulJob? _matMulJob;

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
            lock (_gate)
            {
                Interlocked.Increment(ref _generation);
                Monitor.PulseAll(_gate);
            }

            foreach (var t in _workers)
            {
                t.Join();
            }

            _done.Dispose();
            _scratch = [];
            _matMulJob = null;
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

    /// <summary>The pool's reusable matmul job; valid while the caller holds <see cref="EnterExclusive"/>.</summary>
    internal MatMulJob MatMulJob => _matMulJob ??= new MatMulJob();

    /// <summary>Runs a job; the caller holds <see cref="EnterExclusive"/>.</summary>
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
            _pending = _workers.Length;
            _done.Reset();
            lock (_gate)
            {
                Interlocked.Increment(ref _generation);
                Monitor.PulseAll(_gate);
            }

            try
            {
                work.Execute(0, _threadCount);
            }
            catch (Exception e)
            {
                AddError(e);
            }

            // Always wait, even after our own share failed: the workers may still be using the caller's buffers.
            _done.Wait();
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

            try
            {
                _work!.Execute(index, _threadCount);
            }
            catch (Exception e)
            {
                AddError(e);
            }

            if (Interlocked.Decrement(ref _pending) == 0)
            {
                _done.Set();
            }
        }
    }

    private long WaitForNextGeneration(long seen)
    {
        var spinner = new SpinWait();
        for (int i = 0; i < SpinIterations; i++)
        {
            long g = Volatile.Read(ref _generation);
            if (g != seen)
            {
                return g;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        lock (_gate)
        {
            while (Volatile.Read(ref _generation) == seen)
            {
                Monitor.Wait(_gate);
            }

            return Volatile.Read(ref _generation);
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
}
