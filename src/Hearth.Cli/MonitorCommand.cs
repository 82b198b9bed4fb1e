using System.CommandLine;
using System.Diagnostics;
using Hearth.Sensors;

namespace Hearth.Cli;

/// <summary><c>hearth monitor replay</c>: runs a policy's rules over recorded (or simulated) readings and prints decisions, alerts and statistics.</summary>
internal static class MonitorCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
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
            bool recorded = r.GetValue(speed)!.Trim().ToLowerInvariant() switch
            {
                "recorded" => true,
                "max" => false,
                var other => throw new ArgumentException($"--speed: '{other}' is not a speed (recorded or max)"),
            };
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
        return new Command("monitor", "Watch sensor readings with a rules policy.") { replay, MonitorBenchCommand.Create(stdout) };
    }
}
