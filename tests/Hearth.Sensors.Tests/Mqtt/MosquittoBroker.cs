using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>A real mosquitto process on a free loopback port with a temporary configuration; killed on dispose.</summary>
internal sealed class MosquittoBroker : IDisposable
{
    private readonly DirectoryInfo _dir;
    private readonly string _config;
    private Process? _process;

    private MosquittoBroker(DirectoryInfo dir, string config, int port)
    {
        _dir = dir;
        _config = config;
        Port = port;
    }

    public int Port { get; }

    public string Directory => _dir.FullName;

    /// <summary>The mosquitto executable, or a failure naming how to install it.</summary>
    public static string Executable
    {
        get
        {
            foreach (var candidate in new[] { "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto", "/opt/homebrew/sbin/mosquitto" })
                if (File.Exists(candidate)) return candidate;
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                if (File.Exists(Path.Combine(dir, "mosquitto"))) return Path.Combine(dir, "mosquitto");
            throw new InvalidOperationException(
                "The MQTT tests need the mosquitto broker, which was not found at /usr/sbin/mosquitto or on PATH. Install it: apt-get install -y mosquitto");
        }
    }

    /// <summary>Starts a broker. <paramref name="extraConfig"/> gets the temp directory and returns more config lines.
    /// With <paramref name="persistent"/>, retained messages, persistent sessions and their queued QoS 1 messages are
    /// saved in the temp directory when the broker stops gracefully (<see cref="StopGracefully"/>) and loaded at its restart.</summary>
    public static async Task<MosquittoBroker> StartAsync(Func<string, string>? extraConfig = null, bool anonymous = true, int? port = null,
        bool persistent = false)
    {
        _ = Executable; // fails with the install hint before anything is created
        var dir = System.IO.Directory.CreateTempSubdirectory("hearth-mosquitto-");
        int listen = port ?? FreePort();
        string config = Path.Combine(dir.FullName, "mosquitto.conf");
        string extra = extraConfig?.Invoke(dir.FullName) ?? "";
        // Running as root, mosquitto would switch to the 'mosquitto' user, which cannot read the temp directory.
        string user = Environment.UserName == "root" ? "user root\n" : "";
        string persistence = persistent
            ? $"persistence true\npersistence_location {dir.FullName}/\nautosave_interval 3600\nmax_queued_messages 100000\n"
            : "persistence false\n";
        File.WriteAllText(config, $"{user}{persistence}log_dest none\nlistener {listen} 127.0.0.1\nallow_anonymous {(anonymous ? "true" : "false")}\n{extra}");
        var broker = new MosquittoBroker(dir, config, listen);
        await broker.RestartAsync();
        return broker;
    }

    /// <summary>Starts the process (again) on the same port and waits until it accepts TCP connections.</summary>
    public async Task RestartAsync()
    {
        Kill();
        var psi = new ProcessStartInfo(Executable, ["-c", _config])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(psi) ?? throw new InvalidOperationException("mosquitto did not start.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        for (int attempt = 0; attempt < 200; attempt++)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"mosquitto exited with status {_process.ExitCode} at start-up (config {_config}).");
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new InvalidOperationException($"mosquitto did not listen on port {Port}.");
    }

    /// <summary>Stops the broker with SIGTERM, so it saves its persistence file, and waits for it to exit.</summary>
    public void StopGracefully()
    {
        if (_process is null) return;
        if (!_process.HasExited) Signals.Send(_process.Id, Signals.SigTerm);
        if (!_process.WaitForExit(TimeSpan.FromSeconds(20))) _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public void Kill()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        Kill();
        try { _dir.Delete(recursive: true); } catch (IOException) { }
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
