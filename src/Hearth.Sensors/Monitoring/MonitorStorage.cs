using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Monitoring;

/// <summary>What <see cref="MonitorStorage.Open"/> takes besides the policy: the command line's overrides and where
/// environment variables are read.</summary>
public sealed record MonitorStorageOptions
{
    /// <summary>The SQLite file (<c>--store</c>); wins over the policy's <c>store.path</c>. Null: the policy's, if any.</summary>
    public string? StorePath { get; init; }

    /// <summary>The name of the environment variable holding the PostgreSQL connection string (<c>--sync</c>); wins over the
    /// policy's <c>store.postgres.connection_env</c>. Null: the policy's, if any.</summary>
    public string? SyncVariable { get; init; }

    /// <summary>Reads environment variables; default the process environment.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;
}

/// <summary>
/// Where a live monitor keeps what it sees: the SQLite store (<see cref="SqliteMonitorStore"/>) and, when asked, its
/// store-and-forward sync to PostgreSQL (<see cref="PostgresSync"/>), set up from the policy's <c>store:</c> section and the
/// command line. Hand both to <see cref="MonitorHost.Create"/> (the store as its store, the sync in
/// <see cref="MonitorHostOptions.Sync"/>), which runs the sync beside the monitor. Disposing closes the sync, then the store.
/// </summary>
/// <remarks>Nothing is kept by default: without <c>--store</c> and without a <c>store:</c> section there is no storage.
/// The connection string only ever comes from the environment: <c>--sync</c> and <c>connection_env</c> name the variable.</remarks>
public sealed class MonitorStorage : IAsyncDisposable
{
    private MonitorStorage(SqliteMonitorStore store, PostgresSync? sync)
    {
        Store = store;
        Sync = sync;
    }

    /// <summary>The SQLite store.</summary>
    public SqliteMonitorStore Store { get; }

    /// <summary>The PostgreSQL sync, or null when the store is not forwarded.</summary>
    public PostgresSync? Sync { get; }

    /// <summary>Opens the store (and creates the sync) the policy and the options ask for; null when they ask for none.</summary>
    /// <exception cref="MonitorConfigurationException">A sync without a store path; a <c>--sync</c> value that is a connection
    /// string rather than a variable name; the variable is not set; its value is not a valid connection string.</exception>
    /// <exception cref="MonitorStoreException">The SQLite file cannot be opened or is not a monitor store.</exception>
    public static MonitorStorage? Open(MonitorPolicy policy, MonitorStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new MonitorStorageOptions();
        var spec = policy.Store;
        var path = options.StorePath ?? spec?.Path;
        var variable = options.SyncVariable ?? spec?.Postgres?.ConnectionEnv;
        if (options.SyncVariable is { } given && (given.Contains('=') || given.Contains("://", StringComparison.Ordinal) || given.Contains(' ')))
            throw new MonitorConfigurationException(
                "--sync takes the name of an environment variable that holds the PostgreSQL connection string, not the string itself (which would show in the process list); for example: export HEARTH_PG='Host=...;Username=...;Password=...' and --sync HEARTH_PG");
        if (path == null)
        {
            if (variable != null)
                throw new MonitorConfigurationException("syncing to PostgreSQL needs a local store to forward from: give --store PATH or a 'store:' section with a path");
            return null;
        }

        string? connection = null;
        if (variable != null)
        {
            connection = options.Environment(variable);
            if (string.IsNullOrWhiteSpace(connection))
                throw new MonitorConfigurationException($"the PostgreSQL sync: the environment variable {variable} is not set (it should hold an Npgsql connection string: Host=...;Username=...;Password=...;Database=...)");
        }

        var store = SqliteMonitorStore.Open(path, new SqliteStoreOptions
        {
            Durability = spec?.Durability ?? StoreDurability.Full,
            Retention = spec?.Retention ?? StoreRetention.KeepAll,
            SyncTarget = connection != null,
        });
        if (connection == null) return new MonitorStorage(store, null);
        try
        {
            var postgres = spec?.Postgres;
            var maxBackoff = postgres?.MaxBackoff ?? TimeSpan.FromSeconds(60);
            var sync = new PostgresSync(store, new PostgresSyncOptions
            {
                ConnectionString = connection,
                BatchSize = postgres?.BatchSize ?? 500,
                PollInterval = postgres?.PollInterval ?? TimeSpan.FromSeconds(1),
                MinBackoff = maxBackoff < TimeSpan.FromSeconds(1) ? maxBackoff : TimeSpan.FromSeconds(1),
                MaxBackoff = maxBackoff,
            });
            return new MonitorStorage(store, sync);
        }
        catch (ArgumentException e)
        {
            store.Dispose();
            // PostgresSync's message names the bad keyword, never the string (which may hold a password).
            throw new MonitorConfigurationException($"the PostgreSQL sync ({variable}): {e.Message}");
        }
    }

    /// <summary>Closes the sync's connections, then the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Sync != null) await Sync.DisposeAsync().ConfigureAwait(false);
        Store.Dispose();
    }
}
