using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using static Hearth.Sensors.Tests.Monitoring.MonitorTestKit;

namespace Hearth.Sensors.Tests.Monitoring;

/// <summary>The <c>hearth</c> CLI the test project was built with, in its own process (as a user runs it), its output
/// collected line by line; killed on dispose if still running.</summary>
internal sealed class CliChild : IDisposable
{
    public readonly Process Process;
    public readonly ConcurrentQueue<string> Out = new(), Err = new();

    public CliChild(params string[] args) : this(new Dictionary<string, string>(), args)
    {
    }

    /// <summary>Starts the CLI with <paramref name="args"/>, adding <paramref name="environment"/> to the inherited environment.</summary>
    public CliChild(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Hearth.Cli.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        Process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dotnet}");
        Process.OutputDataReceived += (_, e) => { if (e.Data != null) Out.Enqueue(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data != null) Err.Enqueue(e.Data); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public string Errors => string.Join("\n", Err);

    /// <summary>The JSON lines printed so far.</summary>
    public JsonObject[] Json => Out.Where(l => l.StartsWith('{')).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();

    /// <summary>Waits for the monitor's start-up line (its store is open by then) and returns it; fails if the process ends first.</summary>
    public async Task<string> StartedAsync()
    {
        await EventuallyAsync(() => Err.Any(l => l.StartsWith("monitor: watching")) || Process.HasExited, "the monitor to start", TimeSpan.FromMinutes(3));
        Assert.False(Process.HasExited, Errors);
        return Err.First(l => l.StartsWith("monitor: watching"));
    }

    /// <summary>The monitor's HTTP address, from its start-up line.</summary>
    public async Task<Uri> HttpAddressAsync()
    {
        var line = await StartedAsync();
        int at = line.IndexOf("http http://", StringComparison.Ordinal);
        Assert.True(at >= 0, line);
        var rest = line[(at + "http ".Length)..];
        int end = rest.IndexOfAny([';', ' ']);
        return new Uri(end < 0 ? rest : rest[..end]);
    }

    public async Task<int> ExitAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await Process.WaitForExitAsync(cts.Token);
        Process.WaitForExit(); // and the output to be read to its end
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: no chance to drain, flush or close anything.</summary>
    public async Task KillAsync()
    {
        Process.Kill();
        await ExitAsync();
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}
