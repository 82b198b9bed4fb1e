using Hearth.Store;
using Hearth.Serving;

namespace Hearth.Tests.Serving;

/// <summary>Loading on first use, sharing, keep-alive and the memory budget.</summary>
public sealed class ModelHostTests
{
    /// <summary>A clock the test moves by hand.</summary>
    private sealed class ManualTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly string[] Known = ["parity-llama-tied.Q8_0", "parity-qwen2.Q4_0"];

    private static ModelHost Host(ManualTime time, long budget = 0) => new(new ModelHostOptions
    {
        Resolve = name => Known.Contains(name) ? TestData.Path("golden", "models", name + ".gguf") : throw new ModelNotFoundException(name),
        MemoryBudget = budget,
        Time = time,
        Threads = 1,
        Scheduler = new SchedulerOptions { Parallel = 2, Context = 32 },
    });

    [Fact]
    public async Task AModelLoadsOnFirstUseAndIsSharedByLaterRequests()
    {
        var time = new ManualTime();
        using var host = Host(time);
        Assert.Empty(host.Loaded);
        using var a = await host.AcquireAsync(Known[0]);
        using var b = await host.AcquireAsync(Known[0]);
        Assert.Same(a.Model, b.Model);
        Assert.Single(host.Loaded);
        Assert.False(host.IsLoading);
        var model = host.Loaded[0];
        long kv = 2L * 2 * model.Model.Transformer.Hp.BlockCount * 32 * model.Model.Transformer.Hp.KvWidth * 4;
        Assert.True(model.Bytes >= new FileInfo(model.Path).Length + kv, "the footprint counts the file and both sequences' caches");
    }

    [Fact]
    public async Task IdleModelsAreUnloadedWhenTheirKeepAliveEnds()
    {
        var time = new ManualTime();
        using var host = Host(time);
        (await host.AcquireAsync(Known[0], TimeSpan.FromMinutes(1))).Dispose();
        time.Now += TimeSpan.FromSeconds(59);
        host.Collect();
        Assert.Single(host.Loaded);
        time.Now += TimeSpan.FromSeconds(2);
        host.Collect();
        Assert.Empty(host.Loaded);

        (await host.AcquireAsync(Known[0], TimeSpan.Zero)).Dispose();
        Assert.Empty(host.Loaded);

        (await host.AcquireAsync(Known[0], TimeSpan.FromSeconds(-1))).Dispose();
        time.Now += TimeSpan.FromDays(365);
        host.Collect();
        Assert.Single(host.Loaded);
        Assert.True(host.Unload(Known[0]));
        Assert.Empty(host.Loaded);
    }

    [Fact]
    public async Task AModelInUseIsNotUnloadedEvenPastItsKeepAlive()
    {
        var time = new ManualTime();
        using var host = Host(time);
        using var lease = await host.AcquireAsync(Known[0], TimeSpan.FromSeconds(1));
        time.Now += TimeSpan.FromHours(1);
        host.Collect();
        Assert.Single(host.Loaded);
    }

    [Fact]
    public async Task TheBudgetEvictsTheLeastRecentlyUsedIdleModelAndRefusesWhenModelsAreInUse()
    {
        var time = new ManualTime();
        long a, b;
        using (var probe = Host(time))
        {
            using var la = await probe.AcquireAsync(Known[0]);
            using var lb = await probe.AcquireAsync(Known[1]);
            (a, b) = (la.Model.Bytes, lb.Model.Bytes);
        }

        // Room for either model, not for both.
        using var host = Host(time, budget: Math.Max(a, b) + Math.Min(a, b) / 2);
        (await host.AcquireAsync(Known[0])).Dispose();
        using (var second = await host.AcquireAsync(Known[1]))
        {
            Assert.Equal([Known[1]], host.Loaded.Select(m => m.Name));
            var e = await Assert.ThrowsAsync<ModelMemoryException>(() => host.AcquireAsync(Known[0]));
            Assert.Contains("in use", e.Message);
        }
    }

    [Fact]
    public async Task UnknownNamesAndOversizedModelsGetTypedErrors()
    {
        var time = new ManualTime();
        using var host = Host(time, budget: 1000);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => host.AcquireAsync("no-such-model"));
        var e = await Assert.ThrowsAsync<ModelMemoryException>(() => host.AcquireAsync(Known[0]));
        Assert.Contains("budget", e.Message);
        Assert.False(host.IsLoading);
    }
}
