using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Hearth.Sensors;
using Hearth.Sensors.Monitoring;
using Hearth.Sensors.Slm;

namespace Hearth.Cli;

/// <summary><c>hearth monitor</c>: the live monitor (sources, rules, store, sinks, health) until Ctrl+C or SIGTERM; and
/// <c>hearth monitor replay</c>: a policy's rules over recorded (or simulated) readings, printing decisions, alerts and statistics.</summary>
internal static class MonitorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var monitor = Live(stdout, stderr);
        monitor.Subcommands.Add(Replay(stdout, stderr));
        monitor.Subcommands.Add(MonitorBenchCommand.Create(stdout));
        return monitor;
    }

    /// <summary>True when the command line runs the live monitor, which handles Ctrl+C and SIGTERM itself (it drains
    /// and flushes within its own --shutdown-timeout), so the command line must not cut it short.</summary>
    public static bool HandlesTermination(ParseResult parsed) => parsed.Errors.Count == 0 && parsed.CommandResult.Command.Name == "monitor";

    private static Command Live(TextWriter stdout, TextWriter stderr)
    {
        var policy = new Option<string>("--policy") { Description = "policy YAML file (with sources and sinks), or 'seed' for the built-in seed policy", Required = true };
        var simulate = new Option<long?>("--simulate")
        {
            Description = "add a simulated sensor feed (temperature, vibration, injected anomalies); N readings, or endless without N",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var speed = new Option<string>("--speed") { Description = "simulated feed: realtime (one reading a second) or max", DefaultValueFactory = _ => "realtime" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the simulated feed", DefaultValueFactory = _ => 1 };
        var store = new Option<string?>("--store")
        {
            Description = "keep readings, decisions and alerts in this SQLite file (WAL; created when missing); overrides the policy's store.path. Without it or a store: section nothing is kept",
        };
        var sync = new Option<string?>("--sync")
        {
            Description = "copy the store to PostgreSQL: the NAME of an environment variable holding the connection string (Host=...;Username=...;Password=...;Database=...); overrides store.postgres.connection_env",
        };
        var http = new Option<string?>("--http") { Description = "HOST:PORT for GET /health, GET /stats and HTTP ingest (POST /ingest/NAME), e.g. 127.0.0.1:8089" };
        var json = new Option<bool>("--json") { Description = "print alerts (when the policy has no sinks) and statistics as JSON lines" };
        var statsEvery = new Option<double>("--stats-every") { Description = "print statistics every S seconds (0: only at the end)" };
        var shutdown = new Option<double>("--shutdown-timeout") { Description = "seconds a stop may take to drain the queue and flush sinks", DefaultValueFactory = _ => 10 };
        var live = new Command("monitor", "Watch live sensor streams with a policy: decide, alert and keep every reading, until Ctrl+C or SIGTERM.")
        {
            policy, simulate, speed, seed, store, sync, http, json, statsEvery, shutdown,
        };
        live.SetAction(async (r, cancel) =>
        {
            var monitorPolicy = PolicyLoader.Load(r.GetValue(policy)!);
            bool realTime = ParseSpeed(r.GetValue(speed)!, "realtime");
            double every = r.GetValue(statsEvery), shutdownSeconds = r.GetValue(shutdown);
            if (every < 0 || !double.IsFinite(every)) throw new ArgumentException("--stats-every: give a number of seconds, 0 or more");
            if (shutdownSeconds < 0 || !double.IsFinite(shutdownSeconds)) throw new ArgumentException("--shutdown-timeout: give a number of seconds, 0 or more");
            bool simulated = r.GetResult(simulate) != null;
            if (r.GetValue(simulate) < 0) throw new ArgumentException("--simulate: the number of readings must not be negative");
            bool asJson = r.GetValue(json);

            await using var storage = MonitorStorage.Open(monitorPolicy, new MonitorStorageOptions { StorePath = r.GetValue(store), SyncVariable = r.GetValue(sync) });
            await using var host = MonitorHost.Create(monitorPolicy, storage?.Store, new MonitorHostOptions
            {
                Simulate = simulated,
                SimulateCount = r.GetValue(simulate),
                SimulateRealTime = realTime,
                Simulation = simulated ? new SimulationOptions
                {
                    Seed = r.GetValue(seed), Start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
                } : null,
                HttpAddress = r.GetValue(http),
                Stdout = stdout,
                Json = asJson,
                Runner = new MonitorRunnerOptions { ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds) },
                Sync = storage?.Sync,
                Slm = new EngineSlmOptions { ResolveModel = ModelPaths.Resolve },
            });

            // The first Ctrl+C or SIGTERM stops gracefully; a second one ends the process at once.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            int signals = 0;
            void OnSignal(PosixSignalContext c)
            {
                if (Interlocked.Increment(ref signals) > 1) return;
                c.Cancel = true;
                stderr.WriteLine("monitor: stopping (again to quit at once)");
                stop.Cancel();
            }

            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            var sources = string.Join(", ", host.Runner.Sources.Select(s => $"{s.Name} ({s.Kind})"));
            var stats = await host.RunAsync(stop.Token, () =>
            {
                stderr.WriteLine($"monitor: watching {sources}" + (host.Http != null ? $"; http {host.Http.Address}" : "")
                    + (storage == null ? "; no --store: readings are not kept" : $"; store {storage.Store.Path}")
                    + (storage?.Sync is { } s ? $"; sync to {s.Target}" : "")
                    + (monitorPolicy.SlmChecks.Count > 0 ? $"; slm checks: {string.Join(", ", monitorPolicy.SlmChecks.Select(c => c.Name))}" : ""));
                if (every > 0) _ = PrintStatsAsync(host.Runner, stdout, asJson, TimeSpan.FromSeconds(every), stop.Token);
            });
            if (host.FinalSync is { Pending.Total: > 0 } left)
                stderr.WriteLine($"monitor: {left.Pending.Total} rows are not yet in PostgreSQL ({left.LastError ?? "no time left"}); they are sent at the next start");
            lock (stdout)
            {
                stdout.Write(asJson ? MonitorFormat.ToJson(stats, final: true) + "\n" : MonitorFormat.ToText(stats));
                stdout.Flush();
            }

            return 0;
        });
        return live;
    }

    private static async Task PrintStatsAsync(MonitorRunner runner, TextWriter stdout, bool json, TimeSpan every, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var stats = runner.Stats();
                lock (stdout)
                {
                    stdout.Write(json ? MonitorFormat.ToJson(stats) + "\n" : MonitorFormat.ToText(stats));
                    stdout.Flush();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool ParseSpeed(string text, string paced) => text.Trim().ToLowerInvariant() switch
    {
        var p when p == paced => true,
        "max" => false,
        var other => throw new ArgumentException($"--speed: '{other}' is not a speed ({paced} or max)"),
    };

    private static Command Replay(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string?>("file") { Description = "JSON-lines file of readings ('-' for stdin; not needed with --simulate)", Arity = ArgumentArity.ZeroOrOne };
        var policy = new Option<string>("--policy") { Description = "policy YAML file, or 'seed' for the built-in seed policy", Required = true };
        var speed = new Option<string>("--speed") { Description = "recorded: wait between readings as their timestamps did; max: as fast as possible", DefaultValueFactory = _ => "max" };
        var json = new Option<bool>("--json") { Description = "print JSON lines instead of text" };
        var simulate = new Option<long?>("--simulate") { Description = "replay this many simulated readings (temperature, vibration, injected anomalies) instead of a file" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the simulated readings", DefaultValueFactory = _ => 1 };
        var alertsOnly = new Option<bool>("--alerts-only") { Description = "print alerts and quarantines, not every decision" };
        var replay = new Command("replay", "Run a policy's rules over recorded readings and print decisions, alerts and a summary.")
        {
            file, policy, speed, json, simulate, seed, alertsOnly,
        };
        replay.SetAction((r, cancel) =>
        {
            var monitorPolicy = PolicyLoader.Load(r.GetValue(policy)!);
            bool recorded = ParseSpeed(r.GetValue(speed)!, "recorded");
            bool asJson = r.GetValue(json), decisions = !r.GetValue(alertsOnly);
            var session = new MonitorSession(monitorPolicy);
            var pacer = recorded ? new ReplayPacer() : null;
            var clock = Stopwatch.StartNew();

            void Show(Decision? d, QuarantinedReading? q)
            {
                if (q != null) (asJson ? stdout : stderr).WriteLine(asJson ? MonitorFormat.ToJson(q) : MonitorFormat.ToText(q));
                if (d == null) return;
                if (decisions) stdout.WriteLine(asJson ? MonitorFormat.ToJson(d) : MonitorFormat.ToText(d));
                if (d.Alert != null) stdout.WriteLine(asJson ? MonitorFormat.ToJson(d.Alert) : MonitorFormat.ToText(d.Alert));
            }

            void Pace(DateTimeOffset ts)
            {
                if (pacer?.Next(ts) is { } wait && wait > TimeSpan.Zero) cancel.WaitHandle.WaitOne(wait);
            }

            if (r.GetValue(simulate) is { } count)
            {
                if (r.GetValue(file) != null) throw new ArgumentException("give a file or --simulate N, not both");
                if (count < 0) throw new ArgumentException("--simulate: the number of readings must not be negative");
                foreach (var reading in SimulatedSensorFeed.Generate(count, new SimulationOptions { Seed = r.GetValue(seed) }))
                {
                    if (cancel.IsCancellationRequested) break;
                    Pace(reading.Timestamp);
                    Show(session.Accept(reading), null);
                }
            }
            else
            {
                var path = r.GetValue(file) ?? throw new ArgumentException("give a JSON-lines file of readings, or --simulate N");
                using var stream = path == "-" ? Console.OpenStandardInput() : File.OpenRead(path);
                var source = path == "-" ? "stdin" : Path.GetFileName(path);
                foreach (var line in JsonLinesReader.Read(stream, monitorPolicy.MaxReadingBytes))
                {
                    if (cancel.IsCancellationRequested) break;
                    var (d, q) = session.Accept(line, source);
                    if (d != null) Pace(d.Timestamp);
                    Show(d, q);
                }
            }

            var stats = session.Stats();
            stdout.Write(asJson ? MonitorFormat.ToJson(stats, clock.Elapsed) + "\n" : MonitorFormat.ToText(stats, clock.Elapsed));
            return Task.FromResult(0);
        });
        return replay;
    }
}
