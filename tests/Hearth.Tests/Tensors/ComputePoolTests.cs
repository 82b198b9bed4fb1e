using Hearth.Tensors;

namespace Hearth.Tests.Tensors;

public class ComputePoolTests
{
    private sealed class RecordingWork(int workers) : IComputeWork
    {
        public readonly int[] Calls = new int[workers];
        public readonly int[] ThreadIds = new int[workers];
        public int SeenCount = -1;

        public void Execute(int workerIndex, int workerCount)
        {
            Interlocked.Increment(ref Calls[workerIndex]);
            ThreadIds[workerIndex] = Environment.CurrentManagedThreadId;
            SeenCount = workerCount;
        }
    }

    private sealed class DelegateWork(Action<int, int> body) : IComputeWork
    {
        public void Execute(int workerIndex, int workerCount) => body(workerIndex, workerCount);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void EveryWorkerRunsOncePerJob(int threads)
    {
        using var pool = new ComputePool(threads);
        Assert.Equal(threads, pool.ThreadCount);
        for (int job = 0; job < 300; job++)
        {
            var work = new RecordingWork(threads);
            pool.Run(work);
            Assert.All(work.Calls, c => Assert.Equal(1, c));
            Assert.Equal(threads, work.SeenCount);
            Assert.Equal(Environment.CurrentManagedThreadId, work.ThreadIds[0]); // the caller is worker 0
            Assert.Equal(threads, work.ThreadIds.Distinct().Count());
        }
    }

    [Fact]
    public void AWorkersExceptionReachesTheCallerAndThePoolKeepsWorking()
    {
        using var pool = new ComputePool(3);
        var ex = Assert.Throws<InvalidDataException>(() => pool.Run(new DelegateWork((i, _) =>
        {
            if (i == 2)
            {
                throw new InvalidDataException("worker 2 failed");
            }
        })));
        Assert.Equal("worker 2 failed", ex.Message);

        var work = new RecordingWork(3);
        pool.Run(work);
        Assert.All(work.Calls, c => Assert.Equal(1, c));
    }

    [Fact]
    public void SeveralFailuresAreAggregated()
    {
        using var pool = new ComputePool(3);
        var ex = Assert.Throws<AggregateException>(() => pool.Run(new DelegateWork((i, _) => throw new InvalidOperationException($"w{i}"))));
        Assert.Equal(3, ex.InnerExceptions.Count);
    }

    [Fact]
    public void TheCallersExceptionWaitsForTheOtherWorkers()
    {
        using var pool = new ComputePool(2);
        int finished = 0;
        Assert.Throws<TimeoutException>(() => pool.Run(new DelegateWork((i, _) =>
        {
            if (i == 0)
            {
                throw new TimeoutException();
            }

            Thread.Sleep(50);
            Volatile.Write(ref finished, 1);
        })));
        Assert.Equal(1, Volatile.Read(ref finished));
    }

    [Fact]
    public void RunningAJobFromInsideAJobIsRefused()
    {
        using var pool = new ComputePool(2);
        var ex = Assert.Throws<AggregateException>(() => pool.Run(new DelegateWork((_, _) => pool.Run(new RecordingWork(2)))));
        Assert.All(ex.InnerExceptions, e => Assert.IsType<InvalidOperationException>(e));
    }

    [Fact]
    public async Task ConcurrentCallersAreSerialised()
    {
        using var pool = new ComputePool(2);
        int inside = 0, overlaps = 0;
        var work = new DelegateWork((i, _) =>
        {
            if (i == 0)
            {
                if (Interlocked.Increment(ref inside) > 1)
                {
                    Interlocked.Increment(ref overlaps);
                }

                Thread.SpinWait(1000);
                Interlocked.Decrement(ref inside);
            }
        });
        var callers = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
        {
            for (int k = 0; k < 100; k++)
            {
                pool.Run(work);
            }
        })).ToArray();
        await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, overlaps);
    }

    [Fact]
    public void DisposeIsIdempotentAndLaterRunsFail()
    {
        var pool = new ComputePool(3);
        pool.Run(new RecordingWork(3));
        pool.Dispose();
        pool.Dispose();
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new RecordingWork(3)));
        Assert.Throws<ObjectDisposedException>(() => MatMul.Multiply(new byte[18], GgmlType.Q4_0, 1, 32, new float[32], 1, new float[1], pool));
    }

    [Fact]
    public void IdleWorkersSleepAndWakeUp()
    {
        using var pool = new ComputePool(2);
        pool.Run(new RecordingWork(2));
        Thread.Sleep(100); // long past the spin phase: the worker is blocked on the monitor now
        var work = new RecordingWork(2);
        pool.Run(work);
        Assert.All(work.Calls, c => Assert.Equal(1, c));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1025)]
    public void ThreadCountIsValidated(int threads) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComputePool(threads));
}
