using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Hearth.Sensors.Storage;

/// <summary>
/// The monitor's store in one SQLite file in WAL mode: payloads (<c>readings</c>), rule and model decisions
/// (<c>decisions</c>), <c>alerts</c> and <c>quarantine</c>. Every row has a unique key and an insertion sequence
/// number (<c>seq</c>, never reused); a payload and its decision, alert or quarantine are written in one transaction,
/// so a kill -9 leaves either all of them or none. A <c>sync_cursor</c> table records how far each table has been
/// forwarded to PostgreSQL (see <see cref="PostgresSync"/>), and <c>pending_checks</c> the model checks a stored reading
/// still waits for (<see cref="PendingChecks"/>; written with the reading, deleted with the check's result).
/// </summary>
/// <remarks>
/// <para>Thread safety: writes (the <c>Record*</c> methods, <see cref="MarkSynced"/>, <see cref="ApplyRetention"/>) go
/// through one connection, one at a time; reads (<see cref="Contains"/>, counts, <see cref="ReadUnsynced"/>) go through a
/// second connection, so a health or statistics request never waits for a write, and sees only committed rows.</para>
/// <para>Durability: WAL mode with <c>synchronous=FULL</c> by default (see <see cref="StoreDurability"/>). A record is
/// durable when its <c>Record*</c> call returns.</para>
/// <para>Times are stored as UTC text (<c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>); the retention clock
/// (<c>stored_at</c>, unix milliseconds) is when the row was written.</para>
/// </remarks>
public sealed class SqliteMonitorStore : IMonitorStore
{
    /// <summary>The schema version this build writes (SQLite's <c>PRAGMA user_version</c>).</summary>
    public const int SchemaVersion = 2;

    /// <summary>Marks the file as a Hearth monitor store (SQLite's <c>PRAGMA application_id</c>; "Hrth").</summary>
    public const int ApplicationId = 0x48727468;

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'";

    // One table name per column of StoreCounts/SyncCursor, in that order. Table names are never user input.
    private static readonly string[] s_tables = ["readings", "decisions", "alerts", "quarantine"];
    private static readonly JsonWriterOptions s_jsonWriter = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Version 1. AUTOINCREMENT matters: without it SQLite may reuse the largest seq after that row is deleted, and a
    // reused seq at or below the sync cursor would never be sent.
    private const string SchemaV1 = """
        CREATE TABLE readings (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            received_at TEXT NOT NULL,
            reading_ts TEXT,
            payload TEXT NOT NULL,
            stored_at INTEGER NOT NULL);
        CREATE INDEX readings_stored_at ON readings (stored_at);
        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            reading_key TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('rule', 'model')),
            rule TEXT,
            check_name TEXT,
            model TEXT,
            label TEXT NOT NULL,
            active_rules TEXT,
            inputs TEXT NOT NULL,
            latency_us REAL NOT NULL,
            model_output TEXT,
            timed_out INTEGER,
            decided_at TEXT NOT NULL,
            stored_at INTEGER NOT NULL);
        CREATE INDEX decisions_stored_at ON decisions (stored_at);
        CREATE TABLE alerts (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            from_label TEXT NOT NULL,
            to_label TEXT NOT NULL,
            rule TEXT,
            severity TEXT NOT NULL,
            since TEXT NOT NULL,
            raised_at TEXT NOT NULL,
            sinks TEXT NOT NULL,
            stored_at INTEGER NOT NULL);
        CREATE INDEX alerts_stored_at ON alerts (stored_at);
        CREATE TABLE quarantine (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            position INTEGER NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT NOT NULL,
            excerpt TEXT NOT NULL,
            stored_at INTEGER NOT NULL);
        CREATE INDEX quarantine_stored_at ON quarantine (stored_at);
        CREATE TABLE sync_cursor (table_name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO sync_cursor (table_name, seq) VALUES ('readings', 0), ('decisions', 0), ('alerts', 0), ('quarantine', 0);
        """;

    // Version 2: model checks owed for stored readings (see PendingChecks). Local bookkeeping, never synced; a row lives
    // from its reading's transaction until its result's.
    private const string SchemaV2 = """
        CREATE TABLE pending_checks (
            key TEXT PRIMARY KEY,
            reading_key TEXT NOT NULL,
            check_name TEXT NOT NULL,
            source TEXT NOT NULL,
            rule_label TEXT NOT NULL,
            input TEXT NOT NULL,
            stored_at INTEGER NOT NULL);
        """;

    private readonly SqliteConnection _write;
    private readonly SqliteConnection _read;
    private readonly Lock _writeGate = new();
    private readonly Lock _readGate = new();
    private DateTimeOffset? _lastRetention;
    private bool _disposed;

    private SqliteMonitorStore(string path, SqliteStoreOptions options, SqliteConnection write, SqliteConnection read)
    {
        Path = path;
        Options = options;
        _write = write;
        _read = read;
    }

    /// <summary>The database file's full path.</summary>
    public string Path { get; }

    /// <summary>The options it was opened with.</summary>
    public SqliteStoreOptions Options { get; }

    /// <summary>
    /// Opens (creating when missing) the store at <paramref name="path"/>: switches it to WAL mode, sets the durability
    /// and busy timeout, and creates or migrates the schema (inside one transaction, so two processes opening one new
    /// file at once do not both create it).
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="MonitorStoreException">The path is a folder or its folder does not exist; the file is not a SQLite
    /// database or is corrupt; it belongs to another application; its schema is newer than <see cref="SchemaVersion"/>;
    /// or SQLite cannot open or write it.</exception>
    public static SqliteMonitorStore Open(string path, SqliteStoreOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new SqliteStoreOptions();
        Validate(options);
        string full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new MonitorStoreException($"The monitor store '{full}' is a folder; give a file path (for example {System.IO.Path.Combine(full, "monitor.db")}).");
        string? folder = System.IO.Path.GetDirectoryName(full);
        if (folder != null && !Directory.Exists(folder))
            throw new MonitorStoreException($"The folder of the monitor store '{full}' does not exist; create it or choose another path.");

        SqliteConnection? write = null, read = null;
        try
        {
            write = Connect(full, options, SqliteOpenMode.ReadWriteCreate);
            string mode = (string)Scalar(write, null, "PRAGMA journal_mode = WAL")!;
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
                throw new MonitorStoreException($"The monitor store '{full}' cannot use write-ahead logging (SQLite kept journal mode '{mode}'); put it on a local file system.");
            Execute(write, null, options.Durability == StoreDurability.Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
            Migrate(write, full);
            read = Connect(full, options, SqliteOpenMode.ReadWrite);
            Execute(read, null, "PRAGMA query_only = 1");
            return new SqliteMonitorStore(full, options, write, read);
        }
        catch (Exception e)
        {
            read?.Dispose();
            write?.Dispose();
            if (e is SqliteException se) throw Failure(full, "open", se);
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>The payload row and its decision (with its alert) or its quarantine are committed together. The decision
    /// and the quarantine take the payload's key, the alert its decision's key. Keys are unique within the retention
    /// window: a payload whose row retention has deleted is stored again.</remarks>
    /// <exception cref="ArgumentException">The record holds both or neither of a decision and a quarantine.</exception>
    /// <exception cref="MonitorStoreException">SQLite failed (disk full, I/O error); nothing was stored.</exception>
    public bool RecordReading(ReadingRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if ((record.Decision is null) == (record.Quarantined is null))
            throw new ArgumentException("A reading record holds exactly one of a decision and a quarantine.", nameof(record));
        return Write("store a reading", (tx, storedAt) =>
        {
            int added = Execute(_write, tx, """
                INSERT INTO readings (key, source, received_at, reading_ts, payload, stored_at)
                VALUES ($key, $source, $received_at, $reading_ts, $payload, $stored_at) ON CONFLICT (key) DO NOTHING
                """,
                ("$key", record.Key), ("$source", record.Source), ("$received_at", Time(record.ReceivedAt)),
                ("$reading_ts", record.Decision is { } d ? Time(d.Timestamp) : null), ("$payload", record.Payload), ("$stored_at", storedAt));
            if (added == 0) return false;
            if (record.Decision is { } decision)
            {
                InsertRuleDecision(tx, record.Key, record.Key, decision, storedAt);
                foreach (var check in record.Checks)
                {
                    Execute(_write, tx, """
                        INSERT INTO pending_checks (key, reading_key, check_name, source, rule_label, input, stored_at)
                        VALUES ($key, $reading_key, $check, $source, $rule_label, $input, $stored_at) ON CONFLICT (key) DO NOTHING
                        """,
                        ("$key", check.Key), ("$reading_key", check.ReadingKey), ("$check", check.Check), ("$source", check.Source),
                        ("$rule_label", check.RuleLabel), ("$input", check.Input), ("$stored_at", storedAt));
                }
            }
            else InsertQuarantine(tx, record.Key, record.Quarantined!, storedAt);
            return true;
        });
    }

    /// <inheritdoc />
    /// <remarks>The decision (with its alert, keyed by <paramref name="key"/> too) is committed in one transaction.</remarks>
    /// <exception cref="MonitorStoreException">SQLite failed; nothing was stored.</exception>
    public bool RecordTick(string key, Decision decision)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(decision);
        return Write("store a tick decision", (tx, storedAt) => InsertRuleDecision(tx, key, null, decision, storedAt));
    }

    /// <inheritdoc />
    /// <remarks>The pending check with the same key (if any) is deleted in the same transaction, also when the result
    /// itself was stored before.</remarks>
    /// <exception cref="MonitorStoreException">SQLite failed; nothing was stored.</exception>
    public bool RecordModelDecision(ModelDecisionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        bool added = false;
        Write("store a model decision", (tx, storedAt) =>
        {
            added = InsertModelDecision(tx, record, storedAt);
            int done = Execute(_write, tx, "DELETE FROM pending_checks WHERE key = $key", ("$key", record.Key));
            return added || done > 0;
        });
        return added;
    }

    /// <inheritdoc />
    public IReadOnlyList<PendingCheck> PendingChecks() => Read("read pending checks", c =>
    {
        using var cmd = Command(c, null, "SELECT key, reading_key, check_name, input, source, rule_label FROM pending_checks ORDER BY rowid", []);
        using var r = cmd.ExecuteReader();
        var checks = new List<PendingCheck>();
        while (r.Read()) checks.Add(new PendingCheck(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5)));
        return checks;
    });

    /// <inheritdoc />
    /// <exception cref="MonitorStoreException">SQLite failed; nothing was deleted.</exception>
    public void DropPendingCheck(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Write("drop a pending check", (tx, _) => Execute(_write, tx, "DELETE FROM pending_checks WHERE key = $key", ("$key", key)) > 0, retention: false);
    }

    private bool InsertModelDecision(SqliteTransaction tx, ModelDecisionRecord record, long storedAt) => Execute(_write, tx, """
            INSERT INTO decisions (key, reading_key, kind, check_name, model, label, inputs, latency_us, model_output, timed_out, decided_at, stored_at)
            VALUES ($key, $reading_key, 'model', $check, $model, $label, $inputs, $latency_us, $model_output, $timed_out, $decided_at, $stored_at)
            ON CONFLICT (key) DO NOTHING
            """,
            ("$key", record.Key), ("$reading_key", record.ReadingKey), ("$check", record.Check), ("$model", record.Model), ("$label", record.Label),
            ("$inputs", Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("text", StoreText.Clean(record.Input));
                w.WriteEndObject();
            })),
            ("$latency_us", record.Latency.TotalMicroseconds), ("$model_output", record.ModelOutput), ("$timed_out", record.TimedOut ? 1 : 0),
            ("$decided_at", Time(record.DecidedAt)), ("$stored_at", storedAt)) == 1;

    /// <inheritdoc />
    public bool Contains(string readingKey) =>
        Read("look up a reading", c => Scalar(c, null, "SELECT 1 FROM readings WHERE key = $key", ("$key", readingKey)) != null);

    /// <inheritdoc />
    /// <remarks>Retention never deletes the newest alert, so this survives it.</remarks>
    public string? LastAlertedLabel() =>
        Read("read the last alert", c => (string?)Scalar(c, null, "SELECT to_label FROM alerts ORDER BY seq DESC LIMIT 1"));

    /// <summary>How many rows each table holds.</summary>
    public StoreCounts Counts() => Read("count rows", c => PerTable(t => (long)Scalar(c, null, $"SELECT count(*) FROM {t}")!));

    /// <summary>How many rows of each table have not been synced yet (their seq is past the sync cursor).</summary>
    public StoreCounts PendingCounts() => Read("count unsynced rows", c => PerTable(t =>
        (long)Scalar(c, null, $"SELECT count(*) FROM {t} WHERE seq > (SELECT seq FROM sync_cursor WHERE table_name = '{t}')")!));

    /// <summary>The newest seq of each table (0 for an empty table).</summary>
    public SyncCursor Head() => Read("read the newest rows", c =>
        ToCursor(PerTable(t => (long)Scalar(c, null, $"SELECT coalesce(max(seq), 0) FROM {t}")!)));

    /// <summary>The sync cursor: every row at or before it has been forwarded.</summary>
    public SyncCursor SyncedThrough() => Read("read the sync cursor", c => ToCursor(ReadCursor(c, null)));

    /// <summary>
    /// Reads the rows after the sync cursor and at or before <paramref name="upTo"/>, at most
    /// <paramref name="limitPerTable"/> of each table, in insertion order, from one consistent snapshot.
    /// <see cref="StoreBatch.End"/> is the cursor to pass to <see cref="MarkSynced"/> once they are safely elsewhere.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limitPerTable"/> is not positive.</exception>
    public StoreBatch ReadUnsynced(int limitPerTable, SyncCursor upTo)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limitPerTable);
        return Read("read unsynced rows", c =>
        {
            using var tx = c.BeginTransaction(deferred: true);
            var from = ReadCursor(c, tx);
            var to = FromCursor(upTo);
            var readings = Query(c, tx, "SELECT seq, key, source, received_at, reading_ts, payload FROM readings", from.Readings, to.Readings, limitPerTable,
                r => new ReadingRow(r.GetInt64(0), r.GetString(1), r.GetString(2), ParseTime(r.GetString(3)), r.IsDBNull(4) ? null : ParseTime(r.GetString(4)), r.GetString(5)));
            var decisions = Query(c, tx,
                "SELECT seq, key, reading_key, kind, rule, check_name, model, label, active_rules, inputs, latency_us, model_output, timed_out, decided_at FROM decisions",
                from.Decisions, to.Decisions, limitPerTable,
                r => new DecisionRow(r.GetInt64(0), r.GetString(1), Text(r, 2), r.GetString(3) == "model" ? DecisionKind.Model : DecisionKind.Rule,
                    Text(r, 4), Text(r, 5), Text(r, 6), r.GetString(7), Text(r, 8), r.GetString(9), r.GetDouble(10), Text(r, 11),
                    r.IsDBNull(12) ? null : r.GetInt64(12) != 0, ParseTime(r.GetString(13))));
            var alerts = Query(c, tx, "SELECT seq, key, from_label, to_label, rule, severity, since, raised_at, sinks FROM alerts",
                from.Alerts, to.Alerts, limitPerTable,
                r => new AlertRow(r.GetInt64(0), r.GetString(1), r.GetString(2), r.GetString(3), Text(r, 4), r.GetString(5),
                    ParseTime(r.GetString(6)), ParseTime(r.GetString(7)), r.GetString(8)));
            var quarantine = Query(c, tx, "SELECT seq, key, position, reason, detail, excerpt FROM quarantine",
                from.Quarantine, to.Quarantine, limitPerTable,
                r => new QuarantineRow(r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5)));
            var end = new SyncCursor(
                readings.Count > 0 ? readings[^1].Seq : from.Readings, decisions.Count > 0 ? decisions[^1].Seq : from.Decisions,
                alerts.Count > 0 ? alerts[^1].Seq : from.Alerts, quarantine.Count > 0 ? quarantine[^1].Seq : from.Quarantine);
            return new StoreBatch(readings, decisions, alerts, quarantine, end);
        });
    }

    /// <summary>Moves the sync cursor forward to <paramref name="through"/> (a table's cursor never moves back), in one
    /// durable transaction.</summary>
    /// <exception cref="MonitorStoreException">SQLite failed; the cursor did not move.</exception>
    public void MarkSynced(SyncCursor through)
    {
        var seqs = FromCursor(through);
        Write("mark rows as synced", (tx, _) =>
        {
            var values = new[] { seqs.Readings, seqs.Decisions, seqs.Alerts, seqs.Quarantine };
            for (int i = 0; i < s_tables.Length; i++)
                Execute(_write, tx, "UPDATE sync_cursor SET seq = max(seq, $seq) WHERE table_name = $table", ("$seq", values[i]), ("$table", s_tables[i]));
            return true;
        }, retention: false);
    }

    /// <summary>
    /// Applies the retention limits now and returns how many rows each table lost. A row goes when it is older than its
    /// table's age limit or beyond its row limit, except: with <see cref="SqliteStoreOptions.SyncTarget"/> set, a row not yet
    /// synced stays; the newest alert stays.
    /// </summary>
    /// <exception cref="MonitorStoreException">SQLite failed; nothing was deleted.</exception>
    public StoreCounts ApplyRetention()
    {
        StoreCounts deleted = default;
        Write("apply retention", (tx, _) =>
        {
            deleted = Retain(tx);
            return true;
        }, retention: false);
        return deleted;
    }

    /// <summary>Closes both connections (SQLite then checkpoints the log into the database file).</summary>
    public void Dispose()
    {
        lock (_writeGate)
        lock (_readGate)
        {
            if (_disposed) return;
            _disposed = true;
            _read.Dispose();
            _write.Dispose();
        }
    }

    /// <summary>A PRAGMA's value on the writing connection (for tests: <c>synchronous</c> and <c>busy_timeout</c> are per connection).</summary>
    internal long WriterPragma(string name)
    {
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return (long)Scalar(_write, null, $"PRAGMA {name}")!;
        }
    }

    private bool InsertRuleDecision(SqliteTransaction tx, string key, string? readingKey, Decision d, long storedAt)
    {
        int added = Execute(_write, tx, """
            INSERT INTO decisions (key, reading_key, kind, rule, label, active_rules, inputs, latency_us, decided_at, stored_at)
            VALUES ($key, $reading_key, 'rule', $rule, $label, $active_rules, $inputs, $latency_us, $decided_at, $stored_at)
            ON CONFLICT (key) DO NOTHING
            """,
            ("$key", key), ("$reading_key", readingKey), ("$rule", d.Rule), ("$label", d.Label), ("$active_rules", JsonArray(d.ActiveRules)),
            ("$inputs", Json(w =>
            {
                w.WriteStartObject();
                foreach (var (name, value) in d.Inputs)
                {
                    // JSON has no NaN or infinities; they are kept as their names so the row stays valid JSON (and jsonb).
                    if (double.IsFinite(value)) w.WriteNumber(StoreText.Clean(name), value);
                    else w.WriteString(StoreText.Clean(name), value.ToString(CultureInfo.InvariantCulture));
                }
                w.WriteEndObject();
            })),
            ("$latency_us", d.LatencyTicks * 1e6 / Stopwatch.Frequency), ("$decided_at", Time(d.Timestamp)), ("$stored_at", storedAt));
        if (added == 0) return false;
        if (d.Alert is { } a)
        {
            Execute(_write, tx, """
                INSERT INTO alerts (key, from_label, to_label, rule, severity, since, raised_at, sinks, stored_at)
                VALUES ($key, $from, $to, $rule, $severity, $since, $raised_at, $sinks, $stored_at) ON CONFLICT (key) DO NOTHING
                """,
                ("$key", key), ("$from", a.From), ("$to", a.To), ("$rule", a.Rule), ("$severity", MonitorFormat.Severity(a.Severity)),
                ("$since", Time(a.Since)), ("$raised_at", Time(a.Timestamp)), ("$sinks", JsonArray(a.Sinks)), ("$stored_at", storedAt));
        }
        return true;
    }

    private void InsertQuarantine(SqliteTransaction tx, string key, QuarantinedReading q, long storedAt) =>
        Execute(_write, tx, """
            INSERT INTO quarantine (key, position, reason, detail, excerpt, stored_at)
            VALUES ($key, $position, $reason, $detail, $excerpt, $stored_at) ON CONFLICT (key) DO NOTHING
            """,
            ("$key", key), ("$position", q.Position), ("$reason", MonitorFormat.Reason(q.Reason)), ("$detail", q.Detail), ("$excerpt", q.Excerpt),
            ("$stored_at", storedAt));

    private StoreCounts Retain(SqliteTransaction tx)
    {
        var r = Options.Retention;
        long now = Options.Time.GetUtcNow().ToUnixTimeMilliseconds();
        var limits = new[] { r.Readings, r.Decisions, r.Alerts, r.Quarantine };
        var deleted = new long[s_tables.Length];
        for (int i = 0; i < s_tables.Length; i++)
        {
            string t = s_tables[i];
            string guard = (Options.SyncTarget ? $" AND seq <= (SELECT seq FROM sync_cursor WHERE table_name = '{t}')" : "")
                + (t == "alerts" ? " AND seq < (SELECT max(seq) FROM alerts)" : "");
            if (limits[i].MaxAge is { } age)
                deleted[i] += Execute(_write, tx, $"DELETE FROM {t} WHERE stored_at < $cutoff{guard}", ("$cutoff", now - (long)age.TotalMilliseconds));
            if (limits[i].MaxRows is { } rows)
                deleted[i] += Execute(_write, tx, $"DELETE FROM {t} WHERE seq <= (SELECT seq FROM {t} ORDER BY seq DESC LIMIT 1 OFFSET $keep){guard}", ("$keep", rows));
        }
        _lastRetention = Options.Time.GetUtcNow();
        return new StoreCounts(deleted[0], deleted[1], deleted[2], deleted[3]);
    }

    // Runs one write transaction (BEGIN IMMEDIATE) under the write lock; commits when the body returns true. After a
    // committed write, runs retention when its interval has passed.
    private bool Write(string what, Func<SqliteTransaction, long, bool> body, bool retention = true)
    {
        lock (_writeGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool stored;
            try
            {
                using var tx = _write.BeginTransaction();
                stored = body(tx, Options.Time.GetUtcNow().ToUnixTimeMilliseconds());
                if (stored) tx.Commit();
                else tx.Rollback();
            }
            catch (SqliteException e)
            {
                throw Failure(Path, what, e);
            }

            if (stored && retention && !Options.Retention.IsNone
                && (_lastRetention is not { } last || Options.Time.GetUtcNow() - last >= Options.Retention.Interval))
            {
                try
                {
                    using var tx = _write.BeginTransaction();
                    Retain(tx);
                    tx.Commit();
                }
                catch (SqliteException e)
                {
                    // The record itself is committed; a caller that retries it is told it exists.
                    throw Failure(Path, "apply retention (the record itself was stored)", e);
                }
            }

            return stored;
        }
    }

    private T Read<T>(string what, Func<SqliteConnection, T> read)
    {
        lock (_readGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return read(_read);
            }
            catch (SqliteException e)
            {
                throw Failure(Path, what, e);
            }
        }
    }

    private static SqliteConnection Connect(string path, SqliteStoreOptions options, SqliteOpenMode mode)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = mode,
            // Unpooled, so Dispose really closes the file (and a test or a second store can reopen or delete it).
            Pooling = false,
            DefaultTimeout = Math.Max(1, (int)Math.Ceiling(options.BusyTimeout.TotalSeconds)),
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            Execute(connection, null, $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds}");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static void Migrate(SqliteConnection c, string path)
    {
        // BEGIN IMMEDIATE: a second process opening the same new file waits, then sees the finished schema.
        using var tx = c.BeginTransaction();
        long app = (long)Scalar(c, tx, "PRAGMA application_id")!;
        long version = (long)Scalar(c, tx, "PRAGMA user_version")!;
        // Reading the schema table also parses the schema, so a file whose first page is damaged fails here, at open.
        long tables = (long)Scalar(c, tx, "SELECT count(*) FROM sqlite_master")!;
        if (app != 0 && app != ApplicationId)
            throw new MonitorStoreException($"'{path}' is a SQLite database of another application (application_id {app}); choose another file for the monitor store.");
        if (version > SchemaVersion)
            throw new MonitorStoreException(
                $"The monitor store '{path}' has schema version {version}, newer than version {SchemaVersion} that this Hearth understands; upgrade Hearth or choose another file.");
        if (version == 0)
        {
            if (tables > 0)
                throw new MonitorStoreException($"'{path}' is a SQLite database that already holds other tables; choose another file for the monitor store.");
            Execute(c, tx, SchemaV1);
            Execute(c, tx, $"PRAGMA application_id = {ApplicationId}");
        }

        // Later versions migrate here, one step at a time.
        if (version < 2) Execute(c, tx, SchemaV2);
        Execute(c, tx, $"PRAGMA user_version = {SchemaVersion}");
        tx.Commit();
    }

    private static void Validate(SqliteStoreOptions o)
    {
        if (o.BusyTimeout <= TimeSpan.Zero) throw new ArgumentException("The busy timeout must be positive.", nameof(o));
        if (o.Retention.Interval <= TimeSpan.Zero) throw new ArgumentException("The retention interval must be positive.", nameof(o));
        foreach (var (name, limit) in new[] { ("readings", o.Retention.Readings), ("decisions", o.Retention.Decisions), ("alerts", o.Retention.Alerts), ("quarantine", o.Retention.Quarantine) })
        {
            if (limit.MaxAge is { } age && age <= TimeSpan.Zero) throw new ArgumentException($"The retention age of {name} must be positive.", nameof(o));
            if (limit.MaxRows is { } rows && rows < 1) throw new ArgumentException($"The retention row limit of {name} must be at least 1.", nameof(o));
        }
    }

    private static MonitorStoreException Failure(string path, string what, SqliteException e) => e.SqliteErrorCode switch
    {
        // SQLITE_NOTADB, SQLITE_CORRUPT
        26 or 11 => new MonitorStoreException(
            $"'{path}' is not a SQLite database or is corrupt ({e.Message}); move it aside so the monitor starts a new store, or choose another file.", e),
        // SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_READONLY
        14 or 3 or 8 => new MonitorStoreException($"The monitor store '{path}' cannot be opened for writing ({e.Message}); check the file's and folder's permissions.", e),
        // SQLITE_FULL
        13 => new MonitorStoreException($"The disk holding the monitor store '{path}' is full; free space or tighten the retention limits.", e),
        _ => new MonitorStoreException($"The monitor store '{path}' could not {what}: {e.Message}", e),
    };

    private static StoreCounts PerTable(Func<string, long> f) => new(f(s_tables[0]), f(s_tables[1]), f(s_tables[2]), f(s_tables[3]));

    private static SyncCursor ToCursor(StoreCounts c) => new(c.Readings, c.Decisions, c.Alerts, c.Quarantine);

    private static StoreCounts FromCursor(SyncCursor c) => new(c.Readings, c.Decisions, c.Alerts, c.Quarantine);

    private static StoreCounts ReadCursor(SqliteConnection c, SqliteTransaction? tx) =>
        PerTable(t => (long)Scalar(c, tx, "SELECT seq FROM sync_cursor WHERE table_name = $table", ("$table", t))!);

    private static List<T> Query<T>(SqliteConnection c, SqliteTransaction tx, string select, long after, long upTo, int limit, Func<SqliteDataReader, T> map)
    {
        using var cmd = Command(c, tx, select + " WHERE seq > $after AND seq <= $upto ORDER BY seq LIMIT $limit",
            [("$after", after), ("$upto", upTo), ("$limit", limit)]);
        using var reader = cmd.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(map(reader));
        return rows;
    }

    private static int Execute(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var value = cmd.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static string? Text(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string s) =>
        DateTimeOffset.ParseExact(s, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string JsonArray(IReadOnlyList<string> items) => Json(w =>
    {
        w.WriteStartArray();
        foreach (var item in items) w.WriteStringValue(StoreText.Clean(item));
        w.WriteEndArray();
    });

    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_jsonWriter)) write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
