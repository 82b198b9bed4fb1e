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

    private sealed class CountingLoop(int count) : IComputeLoop
    {
        public readonly int[] Hits = new int[count];
        public int Calls;

        public void Execute(int start, int end)
        {
            Interlocked.Increment(ref Calls);
            for (int i = start; i < end; i++)
            {
                Interlocked.Increment(ref Hits[i]);
            }
        }
    }

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(1, 100, 1)]
    [InlineData(2, 1, 1)]
    [InlineData(2, 1000, 1)]
    [InlineData(3, 17, 4)]
    [InlineData(4, 100000, 64)]
    public void ForCoversEveryIndexExactlyOnce(int threads, int count, int grain)
    {
        using var pool = new ComputePool(threads);
        for (int repeat = 0; repeat < 20; repeat++)
        {
            var loop = new CountingLoop(count);
            pool.For(count, loop, grain);
            Assert.All(loop.Hits, h => Assert.Equal(1, h));
            if (threads == 1 || count <= grain)
            {
                Assert.Equal(count == 0 ? 0 : 1, loop.Calls); // inline: one call over the whole range
            }
        }
    }

    private sealed class ThrowingLoop : IComputeLoop
    {
        public void Execute(int start, int end)
        {
            if (start == 0)
            {
                throw new InvalidDataException("first chunk failed");
            }
        }
    }

    [Fact]
    public void ForPropagatesExceptionsAndValidates()
    {
        using var pool = new ComputePool(3);
        Assert.Throws<InvalidDataException>(() => pool.For(1000, new ThrowingLoop()));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.For(-1, new CountingLoop(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.For(10, new CountingLoop(10), grain: 0));
        var loop = new CountingLoop(50);
        pool.For(50, loop);
        Assert.All(loop.Hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ForAndRunAllocateNothing()
    {
        using var pool = new ComputePool(2);
        var loop = new CountingLoop(4096);
        var work = new RecordingWork(2);
        for (int i = 0; i < 200; i++)
        {
            pool.For(4096, loop, 16);
            pool.Run(work);
        }

        Thread.Sleep(300);
        for (int i = 0; i < 100; i++)
        {
            pool.For(4096, loop, 16);
            pool.Run(work);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            pool.For(4096, loop, 16);
            pool.Run(work);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(0, 3)]
    [InlineData(2, 3)]
    [InlineData(10, 3)]
    [InlineData(10, 4)]
    [InlineData(1000, 7)]
    public void PartitionSplitsEvenlyAndCoversTheRange(int count, int workers)
    {
        int next = 0;
        for (int w = 0; w < workers; w++)
        {
            var (start, end) = ComputePool.Partition(count, w, workers);
            Assert.Equal(next, start);
            Assert.InRange(end - start, count / workers, count / workers + 1);
            next = end;
        }

        Assert.Equal(count, next);
        Assert.Throws<ArgumentOutOfRangeException>(() => ComputePool.Partition(count, workers, workers));
        Assert.Throws<ArgumentOutOfRangeException>(() => ComputePool.Partition(-1, 0, workers));
    }

    [Fact]
    public void BackToBackJobsWithIdleGapsAllComplete()
    {
        // Jobs arriving while workers spin, just after they went to sleep, and long after: none may be lost.
        using var pool = new ComputePool(3);
        var loop = new CountingLoop(300);
        foreach (int gapMs in new[] { 0, 0, 1, 0, 5, 0, 30, 0 })
        {
            for (int i = 0; i < 50; i++)
            {
                pool.For(300, loop);
            }

            Thread.Sleep(gapMs);
        }

        Assert.All(loop.Hits, h => Assert.Equal(8 * 50, h));
    }

    [Fact]
    public void ChunkedJobsRunEachChunkOnceWhenWorkersArriveLate()
    {
        // More workers than cores: workers often arrive after the caller has taken every chunk and closed the job; they
        // must skip it (and the next job must not be run twice by a worker that slept through the previous one).
        using var pool = new ComputePool(Math.Max(4, Environment.ProcessorCount * 2));
        var loop = new CountingLoop(64);
        for (int i = 0; i < 3000; i++)
        {
            pool.For(64, loop);
            if (i % 500 == 0)
            {
                Thread.Sleep(2);
            }
        }

        Assert.All(loop.Hits, h => Assert.Equal(3000, h));

        // Per-worker jobs still need every worker.
        for (int i = 0; i < 200; i++)
        {
            var work = new RecordingWork(pool.ThreadCount);
            pool.Run(work);
            Assert.All(work.Calls, c => Assert.Equal(1, c));
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1025)]
    public void ThreadCountIsValidated(int threads) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ComputePool(threads));
}
