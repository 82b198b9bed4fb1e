using Npgsql;
using NpgsqlTypes;

namespace Hearth.Sensors.Storage;

/// <summary>Options of <see cref="PostgresSync"/>.</summary>
public sealed record PostgresSyncOptions
{
    /// <summary>An Npgsql connection string (<c>Host=...;Port=...;Database=...;Username=...;Password=...</c>); for Supabase,
    /// the project's direct or session-pooler connection with <c>SSL Mode=Require</c>. Never logged or shown: see
    /// <see cref="PostgresSync.Target"/>.</summary>
    public required string ConnectionString { get; init; }

    /// <summary>The most rows of each table sent in one PostgreSQL transaction (1 to 10,000).</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>How long <see cref="PostgresSync.RunAsync"/> waits between rounds when the last one succeeded, unless
    /// <see cref="PostgresSync.Notify"/> wakes it sooner.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The wait after the first failed round; it doubles with each further failure up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between failed rounds.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>What one <see cref="PostgresSync.SyncOnceAsync"/> did.</summary>
/// <param name="Sent">Rows sent, per table.</param>
/// <param name="Inserted">Rows PostgreSQL did not have yet; the rest (<see cref="AlreadyPresent"/>) were re-sends.</param>
public sealed record SyncResult(StoreCounts Sent, StoreCounts Inserted)
{
    /// <summary>Rows sent that PostgreSQL already held (a batch re-sent after a crash or a lost commit acknowledgement).</summary>
    public StoreCounts AlreadyPresent => Sent - Inserted;
}

/// <summary>The sync's state for a health endpoint.</summary>
/// <param name="Target">Where it syncs to, without credentials (see <see cref="PostgresSync.Target"/>).</param>
/// <param name="Connected">True when the last round reached PostgreSQL; false before the first round and after a failed
/// one. (A round after a success with nothing to send does not connect, so an outage shows once there is something to send.)</param>
/// <param name="Pending">Rows not yet synced, per table (read from the store now).</param>
/// <param name="LastSuccess">When a round last completed; null when none has.</param>
/// <param name="LastAttempt">When a round last started; null when none has.</param>
/// <param name="LastError">Why the last round failed; null when it succeeded.</param>
/// <param name="ConsecutiveFailures">Failed rounds since the last success.</param>
/// <param name="RowsSent">Rows sent since start, including re-sends.</param>
/// <param name="RowsAlreadyPresent">Rows sent since start that PostgreSQL already held.</param>
public sealed record PostgresSyncStatus(
    string Target, bool Connected, StoreCounts Pending, DateTimeOffset? LastSuccess, DateTimeOffset? LastAttempt, string? LastError,
    int ConsecutiveFailures, long RowsSent, long RowsAlreadyPresent);

/// <summary>
/// Store-and-forward from a <see cref="SqliteMonitorStore"/> to PostgreSQL. A round reads the rows after the store's sync
/// cursor in batches (insertion order), inserts each batch in one PostgreSQL transaction with
/// <c>INSERT ... ON CONFLICT (key) DO NOTHING</c>, and only after that commit moves the cursor in SQLite. A crash or
/// outage between the two leaves the cursor behind, so the batch is sent again and PostgreSQL ignores the rows it has:
/// no row is lost and none is duplicated. The tables are created when missing (<see cref="SchemaSql"/>).
/// </summary>
/// <remarks>One round runs at a time: <see cref="RunAsync"/>'s loop and a direct <see cref="SyncOnceAsync"/> (a final
/// flush at shutdown) wait for each other.</remarks>
public sealed class PostgresSync : IAsyncDisposable
{
    private const string ReadingsSql = """
        insert into public.hearth_readings (key, source, received_at, reading_ts, payload)
        select * from unnest(@key, @source, @received_at, @reading_ts, @payload)
        on conflict (key) do nothing
        """;

    private const string DecisionsSql = """
        insert into public.hearth_decisions
            (key, reading_key, kind, rule, check_name, model, label, active_rules, inputs, latency_us, model_output, timed_out, decided_at)
        select key, reading_key, kind, rule, check_name, model, label, active_rules::jsonb, inputs::jsonb, latency_us, model_output, timed_out, decided_at
        from unnest(@key, @reading_key, @kind, @rule, @check_name, @model, @label, @active_rules, @inputs, @latency_us, @model_output, @timed_out, @decided_at)
            as t (key, reading_key, kind, rule, check_name, model, label, active_rules, inputs, latency_us, model_output, timed_out, decided_at)
        on conflict (key) do nothing
        """;

    private const string AlertsSql = """
        insert into public.hearth_alerts (key, from_label, to_label, rule, severity, since, raised_at, sinks)
        select key, from_label, to_label, rule, severity, since, raised_at, sinks::jsonb
        from unnest(@key, @from_label, @to_label, @rule, @severity, @since, @raised_at, @sinks)
            as t (key, from_label, to_label, rule, severity, since, raised_at, sinks)
        on conflict (key) do nothing
        """;

    private const string QuarantineSql = """
        insert into public.hearth_quarantine (key, position, reason, detail, excerpt)
        select * from unnest(@key, @position, @reason, @detail, @excerpt)
        on conflict (key) do nothing
        """;

    private static readonly Lazy<string> s_schemaSql = new(() =>
    {
        using var stream = typeof(PostgresSync).Assembly.GetManifestResourceStream("Hearth.Sensors.Storage.postgres-schema.sql")
            ?? throw new InvalidOperationException("The PostgreSQL schema resource is missing from Hearth.Sensors.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private readonly SqliteMonitorStore _store;
    private readonly PostgresSyncOptions _options;
    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _round = new(1, 1);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _statusGate = new();
    private bool _schemaReady, _connected;
    private DateTimeOffset? _lastSuccess, _lastAttempt;
    private string? _lastError;
    private int _failures;
    private long _rowsSent, _rowsAlreadyPresent;

    /// <summary>Creates the sync (it connects on the first round, not here).</summary>
    /// <exception cref="ArgumentException">The store was not opened with <see cref="SqliteStoreOptions.SyncTarget"/> (its
    /// retention could delete rows before they are sent); the connection string is not valid; an option is out of range.</exception>
    public PostgresSync(SqliteMonitorStore store, PostgresSyncOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        if (!store.Options.SyncTarget)
            throw new ArgumentException("Open the store with SyncTarget = true before syncing it, so that retention keeps rows that are not yet sent.", nameof(store));
        if (options.BatchSize is < 1 or > 10_000) throw new ArgumentException("The sync batch size must be 1 to 10,000 rows.", nameof(options));
        if (options.PollInterval <= TimeSpan.Zero || options.MinBackoff <= TimeSpan.Zero || options.MaxBackoff < options.MinBackoff)
            throw new ArgumentException("The sync's poll interval and backoffs must be positive, and the largest backoff at least the smallest.", nameof(options));
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException e)
        {
            // The message names the offending keyword, never the string (which may hold a password).
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {e.Message}", nameof(options));
        }

        if (string.IsNullOrEmpty(builder.ApplicationName)) builder.ApplicationName = "hearth-monitor";
        Target = $"{builder.Username ?? "(default user)"}@{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? "(default database)"}";
        _store = store;
        _options = options;
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>The DDL that creates the PostgreSQL tables (the embedded <c>postgres-schema.sql</c>; idempotent). A sync runs
    /// it on its first connection; an operator can run it by hand to create the tables before granting the monitor a
    /// role that may only insert.</summary>
    public static string SchemaSql => s_schemaSql.Value;

    /// <summary>Where the sync goes, as <c>user@host:port/database</c>: safe to log and show (no password).</summary>
    public string Target { get; }

    /// <summary>Set by tests to simulate a crash after the PostgreSQL commit and before the SQLite cursor moves: called with
    /// each committed batch; when it throws, the round fails as if the process had died there.</summary>
    internal Func<StoreBatch, CancellationToken, Task>? AfterPostgresCommit { get; set; }

    /// <summary>The current state; <see cref="PostgresSyncStatus.Pending"/> is counted in the store now.</summary>
    public PostgresSyncStatus Status()
    {
        var pending = _store.PendingCounts();
        lock (_statusGate)
            return new PostgresSyncStatus(Target, _connected, pending, _lastSuccess, _lastAttempt, _lastError, _failures, _rowsSent, _rowsAlreadyPresent);
    }

    /// <summary>Wakes <see cref="RunAsync"/> for a round now (after a write, say) instead of at its next poll. Cheap; never blocks.</summary>
    public void Notify()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    /// <summary>
    /// Sends every row stored before the call (in batches of <see cref="PostgresSyncOptions.BatchSize"/>, each committed in
    /// PostgreSQL and then marked synced in SQLite). Rows stored while it runs wait for the next round. Creates the tables
    /// when missing.
    /// </summary>
    /// <exception cref="PostgresSyncException">PostgreSQL is unreachable, refused the connection, or a statement failed. Batches
    /// committed before the failure stay marked; the failed one is sent again by the next round.</exception>
    /// <exception cref="MonitorStoreException">The local store failed.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancel"/> fired.</exception>
    public async Task<SyncResult> SyncOnceAsync(CancellationToken cancel = default)
    {
        await _round.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            lock (_statusGate) _lastAttempt = DateTimeOffset.UtcNow;
            StoreCounts sent = default, inserted = default;
            try
            {
                if (!_schemaReady)
                {
                    // First round, or the first after a failure: connect even with nothing to send, so the tables exist
                    // and the status tells the truth about the server.
                    await using var connection = await _dataSource.OpenConnectionAsync(cancel).ConfigureAwait(false);
                    await EnsureSchemaAsync(connection, cancel).ConfigureAwait(false);
                }

                var head = _store.Head();
                while (true)
                {
                    var batch = _store.ReadUnsynced(_options.BatchSize, head);
                    if (batch.IsEmpty) break;
                    var added = await SendAsync(batch, cancel).ConfigureAwait(false);
                    if (AfterPostgresCommit is { } hook) await hook(batch, cancel).ConfigureAwait(false);
                    _store.MarkSynced(batch.End);
                    sent += batch.Counts;
                    inserted += added;
                    lock (_statusGate)
                    {
                        _rowsSent += batch.Counts.Total;
                        _rowsAlreadyPresent += (batch.Counts - added).Total;
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                var failure = e is NpgsqlException or TimeoutException or IOException or System.Net.Sockets.SocketException
                    ? new PostgresSyncException($"Syncing to PostgreSQL at {Target} failed: {e.Message}", e)
                    : e;
                Failed(failure.Message);
                if (ReferenceEquals(failure, e)) throw;
                throw failure;
            }

            lock (_statusGate)
            {
                _lastSuccess = DateTimeOffset.UtcNow;
                _lastError = null;
                _failures = 0;
            }

            return new SyncResult(sent, inserted);
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>
    /// Syncs until <paramref name="cancel"/> fires: a round, then a wait of <see cref="PostgresSyncOptions.PollInterval"/>
    /// (cut short by <see cref="Notify"/>); after a failed round a backoff from <see cref="PostgresSyncOptions.MinBackoff"/>
    /// doubling to <see cref="PostgresSyncOptions.MaxBackoff"/>, so an outage is retried until PostgreSQL is back. Failures
    /// are kept in <see cref="Status"/>, never thrown. Completes (without throwing) when cancelled; call
    /// <see cref="SyncOnceAsync"/> afterwards for a final flush.
    /// </summary>
    public async Task RunAsync(CancellationToken cancel)
    {
        var backoff = _options.MinBackoff;
        while (!cancel.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                await SyncOnceAsync(cancel).ConfigureAwait(false);
                backoff = _options.MinBackoff;
                wait = _options.PollInterval;
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // the store was closed under the loop: nothing more can be sent
            }
            catch (Exception)
            {
                wait = backoff;
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            }

            try
            {
                await _wake.WaitAsync(wait, cancel).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Closes the pooled PostgreSQL connections. Does not close the store.</summary>
    public async ValueTask DisposeAsync()
    {
        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _round.Dispose();
        _wake.Dispose();
    }

    private void Failed(string message)
    {
        lock (_statusGate)
        {
            _connected = false;
            _schemaReady = false; // the server may be a new one: check the tables again on reconnect
            _lastError = message;
            _failures++;
        }

        // Pooled connections to a server that went away are dead; drop them so the next round opens fresh ones.
        _dataSource.Clear();
    }

    private async Task<StoreCounts> SendAsync(StoreBatch batch, CancellationToken cancel)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancel).ConfigureAwait(false);
        if (!_schemaReady) await EnsureSchemaAsync(connection, cancel).ConfigureAwait(false);
        await using var tx = await connection.BeginTransactionAsync(cancel).ConfigureAwait(false);
        var r = batch.Readings;
        var d = batch.Decisions;
        var a = batch.Alerts;
        var q = batch.Quarantine;
        int readings = r.Count == 0 ? 0 : await Execute(connection, tx, ReadingsSql,
        [
            Text("key", r.Select(x => x.Key)), Text("source", r.Select(x => x.Source)), Times("received_at", r.Select(x => (DateTimeOffset?)x.ReceivedAt)),
            Times("reading_ts", r.Select(x => x.Timestamp)), Text("payload", r.Select(x => x.Payload)),
        ], cancel).ConfigureAwait(false);
        int decisions = d.Count == 0 ? 0 : await Execute(connection, tx, DecisionsSql,
        [
            Text("key", d.Select(x => x.Key)), Text("reading_key", d.Select(x => x.ReadingKey)),
            Text("kind", d.Select(x => x.Kind == DecisionKind.Model ? "model" : "rule")), Text("rule", d.Select(x => x.Rule)),
            Text("check_name", d.Select(x => x.Check)), Text("model", d.Select(x => x.Model)), Text("label", d.Select(x => x.Label)),
            Text("active_rules", d.Select(x => x.ActiveRulesJson)), Text("inputs", d.Select(x => x.InputsJson)),
            Array("latency_us", NpgsqlDbType.Double, d.Select(x => x.LatencyMicroseconds).ToArray()), Text("model_output", d.Select(x => x.ModelOutput)),
            Array("timed_out", NpgsqlDbType.Boolean, d.Select(x => x.TimedOut).ToArray()), Times("decided_at", d.Select(x => (DateTimeOffset?)x.DecidedAt)),
        ], cancel).ConfigureAwait(false);
        int alerts = a.Count == 0 ? 0 : await Execute(connection, tx, AlertsSql,
        [
            Text("key", a.Select(x => x.Key)), Text("from_label", a.Select(x => x.From)), Text("to_label", a.Select(x => x.To)),
            Text("rule", a.Select(x => x.Rule)), Text("severity", a.Select(x => x.Severity)), Times("since", a.Select(x => (DateTimeOffset?)x.Since)),
            Times("raised_at", a.Select(x => (DateTimeOffset?)x.RaisedAt)), Text("sinks", a.Select(x => x.SinksJson)),
        ], cancel).ConfigureAwait(false);
        int quarantine = q.Count == 0 ? 0 : await Execute(connection, tx, QuarantineSql,
        [
            Text("key", q.Select(x => x.Key)), Array("position", NpgsqlDbType.Bigint, q.Select(x => x.Position).ToArray()),
            Text("reason", q.Select(x => x.Reason)), Text("detail", q.Select(x => x.Detail)), Text("excerpt", q.Select(x => x.Excerpt)),
        ], cancel).ConfigureAwait(false);
        await tx.CommitAsync(cancel).ConfigureAwait(false);
        lock (_statusGate) _connected = true;
        return new StoreCounts(readings, decisions, alerts, quarantine);
    }

    private async Task EnsureSchemaAsync(NpgsqlConnection connection, CancellationToken cancel)
    {
        await using var tx = await connection.BeginTransactionAsync(cancel).ConfigureAwait(false);
        // Serialises monitors creating the tables in one database at the same moment.
        await Execute(connection, tx, "select pg_advisory_xact_lock(7243551049318)", [], cancel).ConfigureAwait(false);
        await Execute(connection, tx, SchemaSql, [], cancel).ConfigureAwait(false);
        await tx.CommitAsync(cancel).ConfigureAwait(false);
        _schemaReady = true;
        lock (_statusGate) _connected = true;
    }

    private static async Task<int> Execute(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, NpgsqlParameter[] parameters, CancellationToken cancel)
    {
        await using var cmd = new NpgsqlCommand(sql, connection, tx);
        cmd.Parameters.AddRange(parameters);
        return await cmd.ExecuteNonQueryAsync(cancel).ConfigureAwait(false);
    }

    private static NpgsqlParameter Text(string name, IEnumerable<string?> values) =>
        Array(name, NpgsqlDbType.Text, values.Select(StoreText.CleanOrNull).ToArray());

    // PostgreSQL keeps microseconds; the store's 100 ns ticks are rounded by the server.
    private static NpgsqlParameter Times(string name, IEnumerable<DateTimeOffset?> values) =>
        Array(name, NpgsqlDbType.TimestampTz, values.Select(t => t?.UtcDateTime).ToArray());

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, T[] values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values };
}
