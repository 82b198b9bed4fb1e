using System.Globalization;
using System.Security.Cryptography;
using Hearth.Agents.Audit;
using Hearth.Agents.Journal;
using Microsoft.Data.Sqlite;

namespace Hearth.Agents.State;

/// <summary>One agent run as the state store remembers it.</summary>
/// <param name="RunId">Its id (sortable by start time).</param>
/// <param name="Started">When it began.</param>
/// <param name="Description">What it was (the command or task).</param>
/// <param name="DryRun">True when it only planned.</param>
/// <param name="Finished">When it ended, or null when it never ended (a crash).</param>
/// <param name="Outcome">How it ended ("completed", "failed: ...", ...), or null.</param>
/// <param name="Changes">Changes it made that are journalled as done (and not undone).</param>
public sealed record AgentRunInfo(string RunId, DateTimeOffset Started, string Description, bool DryRun, DateTimeOffset? Finished, string? Outcome, int Changes);

/// <summary>The state directory is used by another process.</summary>
public sealed class AgentStateBusyException(string message) : HearthException(message);

/// <summary>
/// The agent state directory: one SQLite database (<c>agent.db</c>) holding the append-only audit log, the change
/// journal and the list of runs, and the trash (<c>trash/RUN_ID/</c>) where overwritten and deleted content is kept.
/// One process at a time holds it (an exclusive lock on <c>lock</c>), so recovery never rolls back another process's
/// changes in flight. Not thread-safe: callers serialise access (<see cref="PolicyWorkspace"/> does).
/// </summary>
public sealed class AgentStateStore : IDisposable
{
    private readonly FileStream _lock;
    private readonly SqliteConnection _db;

    private AgentStateStore(string directory, FileStream lockFile, SqliteConnection db)
    {
        Directory = directory;
        _lock = lockFile;
        _db = db;
        Audit = new AuditLog(db);
        Journal = new ChangeJournal(db, TrashDirectory);
    }

    /// <summary>The state directory's full path.</summary>
    public string Directory { get; }

    /// <summary>Where old content is kept: one folder per run.</summary>
    public string TrashDirectory => Path.Combine(Directory, "trash");

    /// <summary>The database file.</summary>
    public string DatabasePath => Path.Combine(Directory, "agent.db");

    public AuditLog Audit { get; }

    public ChangeJournal Journal { get; }

    /// <summary>
    /// Opens (creating when needed) a state directory and takes its lock. Does not recover: call
    /// <see cref="ChangeJournal.Recover"/> (a <see cref="PolicyWorkspace"/> does it when it opens).
    /// </summary>
    /// <exception cref="AgentStateBusyException">Another process holds it.</exception>
    public static AgentStateStore Open(string directory)
    {
        var full = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(full);
        System.IO.Directory.CreateDirectory(Path.Combine(full, "trash"));
        FileStream lockFile;
        try
        {
            lockFile = new FileStream(Path.Combine(full, "lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new AgentStateBusyException($"the agent state directory '{full}' is in use by another hearth process ({e.Message})");
        }

        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(full, "agent.db"), Pooling = false }.ToString());
        try
        {
            db.Open();
            Execute(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            Execute(db, """
                CREATE TABLE IF NOT EXISTS runs(
                  run_id TEXT PRIMARY KEY, started TEXT NOT NULL, description TEXT NOT NULL, dry_run INTEGER NOT NULL,
                  finished TEXT, outcome TEXT);
                """);
            AuditLog.CreateSchema(db);
            ChangeJournal.CreateSchema(db);
        }
        catch
        {
            db.Dispose();
            lockFile.Dispose();
            throw;
        }

        return new AgentStateStore(full, lockFile, db);
    }

    /// <summary>Records the start of a run and returns its id (UTC time, sortable, plus random letters).</summary>
    public string BeginRun(string description, bool dryRun)
    {
        var now = DateTimeOffset.UtcNow;
        var id = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "INSERT INTO runs(run_id, started, description, dry_run) VALUES ($id, $t, $d, $dry)";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$t", Timestamp(now));
        cmd.Parameters.AddWithValue("$d", description);
        cmd.Parameters.AddWithValue("$dry", dryRun ? 1 : 0);
        cmd.ExecuteNonQuery();
        return id;
    }

    /// <summary>Records how a run ended.</summary>
    public void EndRun(string runId, string outcome)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "UPDATE runs SET finished = $t, outcome = $o WHERE run_id = $id";
        cmd.Parameters.AddWithValue("$id", runId);
        cmd.Parameters.AddWithValue("$t", Timestamp(DateTimeOffset.UtcNow));
        cmd.Parameters.AddWithValue("$o", outcome);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Every run, newest first.</summary>
    public IReadOnlyList<AgentRunInfo> Runs()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = """
            SELECT r.run_id, r.started, r.description, r.dry_run, r.finished, r.outcome,
                   (SELECT COUNT(*) FROM journal j WHERE j.run_id = r.run_id AND j.state = 'done' AND j.op <> 'mkdir')
            FROM runs r ORDER BY r.started DESC, r.run_id DESC
            """;
        using var reader = cmd.ExecuteReader();
        var runs = new List<AgentRunInfo>();
        while (reader.Read())
        {
            runs.Add(new AgentRunInfo(reader.GetString(0), ParseTimestamp(reader.GetString(1)), reader.GetString(2), reader.GetInt64(3) != 0,
                reader.IsDBNull(4) ? null : ParseTimestamp(reader.GetString(4)), reader.IsDBNull(5) ? null : reader.GetString(5), reader.GetInt32(6)));
        }

        return runs;
    }

    public void Dispose()
    {
        _db.Dispose();
        _lock.Dispose();
    }

    internal static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    internal static DateTimeOffset ParseTimestamp(string text) =>
        DateTimeOffset.ParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    internal static void Execute(SqliteConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

/// <summary>SHA-256 content hashes, as lowercase hex.</summary>
public static class ContentHash
{
    /// <summary>The hash of some bytes.</summary>
    public static string Of(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>The hash of a file's content (streamed), or null when it does not exist.</summary>
    public static string? OfFile(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }
}
