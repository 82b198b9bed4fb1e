using System.Diagnostics;
using System.Globalization;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests.Storage;

/// <summary>
/// The kill -9 tests need a monitor-like process to kill. The test assembly is itself runnable (the test SDK's generated
/// entry point is switched off in the project file and this one takes its place): <c>dotnet Hearth.Sensors.Tests.dll
/// store-writer DB COUNT [POSTGRES]</c> writes <see cref="StorePlan"/> records 0 to COUNT - 1 into the store at DB, printing
/// <c>ok I</c> once record I is committed; with a PostgreSQL connection string it also runs <see cref="PostgresSync"/> in the
/// background and flushes it before printing <c>done</c> and exiting 0. Records already stored are skipped by the store's
/// keys, so a restarted writer picks up where a killed one stopped. The test runner never calls this entry point.
/// </summary>
internal static class StoreWriterProgram
{
    public static int Main(string[] args)
    {
        if (args is not ["store-writer", var db, var countText, ..] || !long.TryParse(countText, CultureInfo.InvariantCulture, out long count))
        {
            Console.Error.WriteLine("usage: dotnet Hearth.Sensors.Tests.dll store-writer DB COUNT [POSTGRES_CONNECTION_STRING] (a test helper)");
            return 2;
        }

        return RunAsync(db, count, args.Length > 3 ? args[3] : null).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(string db, long count, string? postgres)
    {
        using var store = SqliteMonitorStore.Open(db, new SqliteStoreOptions { SyncTarget = postgres != null });
        await using var sync = postgres == null ? null : new PostgresSync(store, StorePlan.QuickSync(postgres));
        using var stop = new CancellationTokenSource();
        var loop = sync?.RunAsync(stop.Token) ?? Task.CompletedTask;
        for (long i = 0; i < count; i++)
        {
            StorePlan.Write(store, i);
            Console.Out.WriteLine($"ok {i}");
            if (i % 20 == 0) sync?.Notify();
        }

        stop.Cancel();
        await loop;
        if (sync != null)
        {
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    await sync.SyncOnceAsync();
                    break;
                }
                catch (PostgresSyncException) when (attempt < 100)
                {
                    await Task.Delay(200);
                }
            }
        }

        Console.Out.WriteLine("done");
        return 0;
    }
}

/// <summary>A running <see cref="StoreWriterProgram"/> child, as the tests see it.</summary>
internal sealed class StoreWriterProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task _stdout;
    private readonly Task<string> _stderr;
    private long _lastCommitted = -1;
    private volatile bool _done;

    private StoreWriterProcess(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        _stdout = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("ok ", StringComparison.Ordinal)) Interlocked.Exchange(ref _lastCommitted, long.Parse(line[3..], CultureInfo.InvariantCulture));
                else if (line == "done") _done = true;
            }
        });
    }

    /// <summary>The highest record number the child reported committed; -1 before the first.</summary>
    public long LastCommitted => Interlocked.Read(ref _lastCommitted);

    /// <summary>True once the child printed <c>done</c>.</summary>
    public bool Done => _done;

    public bool HasExited => _process.HasExited;

    public static StoreWriterProcess Start(string db, long count, string? postgres = null)
    {
        string assembly = typeof(StoreWriterProgram).Assembly.Location;
        var psi = new ProcessStartInfo(DotnetHost, ["exec", assembly, "store-writer", db, count.ToString(CultureInfo.InvariantCulture), .. postgres is null ? Array.Empty<string>() : [postgres]])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return new StoreWriterProcess(Process.Start(psi) ?? throw new InvalidOperationException("The store writer did not start."));
    }

    /// <summary>SIGKILL: the process gets no chance to finish a write, flush or close anything (.NET's Process.Kill sends
    /// SIGKILL on Unix). Returns once it is gone and its output is read.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
        await _stdout;
    }

    /// <summary>Waits for the child to exit by itself; fails with its error output if it exits non-zero.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        await _stdout;
        Assert.True(_process.ExitCode == 0, $"the store writer exited with {_process.ExitCode}: {await _stderr}");
        return _process.ExitCode;
    }

    /// <summary>Fails the test with the child's error output when it has exited early.</summary>
    public async Task<bool> RunningOrFailAsync()
    {
        if (!_process.HasExited) return true;
        await _stdout;
        Assert.Fail($"the store writer exited early with {_process.ExitCode}: {await _stderr}");
        return false;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    // `dotnet test` names the host that runs it; outside it, the dotnet on PATH.
    private static string DotnetHost => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
}
