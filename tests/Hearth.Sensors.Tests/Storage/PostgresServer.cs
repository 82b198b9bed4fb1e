using System.Diagnostics;
using Hearth.Sensors.Tests.Mqtt;
using Npgsql;

namespace Hearth.Sensors.Tests.Storage;

/// <summary>
/// A real PostgreSQL server: a new cluster in a temporary folder, listening on a free loopback port with trust
/// authentication, stopped and deleted on dispose. PostgreSQL refuses to run as root, so as root the folder is given to
/// the <c>postgres</c> user and the server programs run through <c>runuser -u postgres --</c>.
/// </summary>
internal sealed class PostgresServer : IDisposable
{
    private readonly DirectoryInfo _dir;
    private readonly string _bin;
    private bool _running;

    private PostgresServer(DirectoryInfo dir, string bin, int port)
    {
        _dir = dir;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    private string DataDirectory => Path.Combine(_dir.FullName, "data");

    private string LogFile => Path.Combine(_dir.FullName, "server.log");

    /// <summary>The folder holding initdb, pg_ctl and postgres, or a failure naming how to install them.</summary>
    public static string BinDirectory
    {
        get
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                if (HasServerPrograms(dir)) return dir;
            // Debian and Ubuntu keep the server programs off PATH, one folder per major version; take the newest.
            var versions = Directory.Exists("/usr/lib/postgresql") ? Directory.GetDirectories("/usr/lib/postgresql") : [];
            foreach (var version in versions.OrderByDescending(v => int.TryParse(Path.GetFileName(v), out int n) ? n : 0))
                if (HasServerPrograms(Path.Combine(version, "bin"))) return Path.Combine(version, "bin");
            throw new InvalidOperationException(
                "The PostgreSQL tests need the PostgreSQL server programs (initdb, pg_ctl, postgres), which were not found on PATH or in "
                + "/usr/lib/postgresql/*/bin. Install them: apt-get install -y postgresql");
        }
    }

    /// <summary>Creates a cluster and starts the server.</summary>
    public static async Task<PostgresServer> StartAsync()
    {
        string bin = BinDirectory; // fails with the install hint before anything is created
        var dir = Directory.CreateTempSubdirectory("hearth-pg-");
        var server = new PostgresServer(dir, bin, MosquittoBroker.FreePort());
        try
        {
            if (IsRoot) await RunAsync("chown", ["postgres:postgres", dir.FullName], asPostgres: false);
            await server.ServerProgramAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
            await server.LaunchAsync(fresh: true);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>A connection string for <paramref name="database"/> as the superuser (no password: trust authentication).</summary>
    public string ConnectionString(string database = "postgres") =>
        new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database, Pooling = false }.ConnectionString;

    /// <summary>Creates an empty database with a fresh name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        string name = "hearth_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"create database {name}", connection);
        await cmd.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    /// <summary>Starts the server again on the same port (stopping it first, as a crash, if it runs) and waits until it
    /// accepts connections.</summary>
    public async Task RestartAsync()
    {
        await StopAsync(immediate: true);
        await LaunchAsync(fresh: false);
    }

    /// <summary>Stops the server: <paramref name="immediate"/> is a crash (no checkpoint; recovery at the next start),
    /// otherwise a fast shutdown that disconnects clients.</summary>
    public async Task StopAsync(bool immediate = true)
    {
        if (!_running) return;
        await ServerProgramAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", immediate ? "immediate" : "fast", "-w", "-t", "60"]);
        _running = false;
    }

    /// <summary>Runs one query and returns the first column of the first row.</summary>
    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    public void Dispose()
    {
        try
        {
            StopAsync().GetAwaiter().GetResult();
        }
        catch (InvalidOperationException)
        {
            // Already gone; the folder goes anyway.
        }

        try { _dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private async Task LaunchAsync(bool fresh)
    {
        if (_running) return;
        // fsync=off: a stopped server is a killed process, whose writes the kernel still holds, so no fsync is needed to
        // keep them; the tests share a small machine.
        string serverOptions = $"-c listen_addresses=127.0.0.1 -p {Port} -c unix_socket_directories={_dir.FullName} -c fsync=off -c max_connections=30 -c TimeZone=UTC";
        try
        {
            await ServerProgramAsync("pg_ctl", ["start", "-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "-o", serverOptions]);
        }
        catch (InvalidOperationException e)
        {
            string log = File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log)";
            throw new InvalidOperationException($"{e.Message}\nserver log ({(fresh ? "new cluster" : "restart")}):\n{log}", e);
        }

        _running = true;
    }

    private static bool IsRoot => Environment.UserName == "root";

    private static bool HasServerPrograms(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "postgres"));

    private Task ServerProgramAsync(string program, string[] args) => RunAsync(Path.Combine(_bin, program), args, asPostgres: IsRoot, workingDirectory: _dir.FullName);

    private static async Task RunAsync(string program, string[] args, bool asPostgres, string? workingDirectory = null)
    {
        var psi = asPostgres ? new ProcessStartInfo("runuser", ["-u", "postgres", "--", program, .. args]) : new ProcessStartInfo(program, args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{program} did not start.");
        // The server writes to its log file (-l), not to these pipes, so reading them to the end returns when pg_ctl exits.
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} failed with status {process.ExitCode}:\n{await stdout}{await stderr}");
    }
}
