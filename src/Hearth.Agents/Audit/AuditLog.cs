using System.Security.Cryptography;
using System.Text;
using Hearth.Agents.State;
using Microsoft.Data.Sqlite;

namespace Hearth.Agents.Audit;

/// <summary>What the policy decided about a call.</summary>
public enum AuditDecision
{
    /// <summary>The policy allows it without asking ("auto").</summary>
    Allowed,

    /// <summary>The policy asked and the approval provider said yes (or "always" earlier).</summary>
    Approved,

    /// <summary>Refused: outside the roots, a denied operation, not approved, not allow-listed, malformed.</summary>
    Denied,

    /// <summary>Allowed, but only planned: a dry run changes nothing.</summary>
    DryRun,
}

/// <summary>One row of the audit log.</summary>
/// <param name="Id">Its position in the log (1, 2, ...).</param>
/// <param name="Time">When it was written (UTC).</param>
/// <param name="RunId">The run it belongs to.</param>
/// <param name="Actor">Who asked: "model", "mcp", "organize", "undo", ...</param>
/// <param name="Tool">The tool or operation (read_file, write_file, move_file, delete_file, list_files, run_command, undo, ...).</param>
/// <param name="ArgumentsJson">Its arguments as a JSON object (file content is represented by its length and hash).</param>
/// <param name="Decision">What the policy decided.</param>
/// <param name="Reason">Why (the rule that decided).</param>
/// <param name="Result">What happened: "ok", an error message, or a summary.</param>
/// <param name="HashBefore">SHA-256 of the content before the call (files it reads or changes), or null.</param>
/// <param name="HashAfter">SHA-256 of the content after the call, or null.</param>
public sealed record AuditEntry(long Id, DateTimeOffset Time, string RunId, string Actor, string Tool, string ArgumentsJson,
    AuditDecision Decision, string Reason, string Result, string? HashBefore, string? HashAfter);

/// <summary>The audit log is not what was written (a row was changed or removed behind the triggers' back).</summary>
public sealed class AuditTamperedException(string message) : HearthException(message);

/// <summary>
/// The append-only audit log: a table whose triggers refuse every UPDATE and DELETE, and whose rows are chained by
/// SHA-256 (each row's <c>chain</c> hashes the previous row's chain and the row's own fields), so an edit made around
/// the triggers (another tool, a dropped trigger) is found by <see cref="Verify"/>.
/// </summary>
public sealed class AuditLog
{
    private readonly SqliteConnection _db;

    internal AuditLog(SqliteConnection db) => _db = db;

    internal static void CreateSchema(SqliteConnection db) => AgentStateStore.Execute(db, """
        CREATE TABLE IF NOT EXISTS audit(
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          time TEXT NOT NULL, run_id TEXT NOT NULL, actor TEXT NOT NULL, tool TEXT NOT NULL, arguments TEXT NOT NULL,
          decision TEXT NOT NULL, reason TEXT NOT NULL, result TEXT NOT NULL, hash_before TEXT, hash_after TEXT,
          chain TEXT NOT NULL);
        CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
          BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be updated'); END;
        CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
          BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: rows cannot be deleted'); END;
        """);

    /// <summary>Appends a row and returns it (with its id and time).</summary>
    public AuditEntry Append(string runId, string actor, string tool, string argumentsJson, AuditDecision decision, string reason, string result,
        string? hashBefore = null, string? hashAfter = null)
    {
        var entry = new AuditEntry(0, DateTimeOffset.UtcNow, runId, actor, tool, argumentsJson, decision, reason, result, hashBefore, hashAfter);
        using var tx = _db.BeginTransaction();
        string previous;
        using (var last = _db.CreateCommand())
        {
            last.Transaction = tx;
            last.CommandText = "SELECT chain FROM audit ORDER BY id DESC LIMIT 1";
            previous = last.ExecuteScalar() as string ?? "";
        }

        using var cmd = _db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            INSERT INTO audit(time, run_id, actor, tool, arguments, decision, reason, result, hash_before, hash_after, chain)
            VALUES ($time, $run, $actor, $tool, $args, $decision, $reason, $result, $hb, $ha, $chain) RETURNING id
            """;
        var time = AgentStateStore.Timestamp(entry.Time);
        cmd.Parameters.AddWithValue("$time", time);
        cmd.Parameters.AddWithValue("$run", runId);
        cmd.Parameters.AddWithValue("$actor", actor);
        cmd.Parameters.AddWithValue("$tool", tool);
        cmd.Parameters.AddWithValue("$args", argumentsJson);
        cmd.Parameters.AddWithValue("$decision", DecisionText(decision));
        cmd.Parameters.AddWithValue("$reason", reason);
        cmd.Parameters.AddWithValue("$result", result);
        cmd.Parameters.AddWithValue("$hb", (object?)hashBefore ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$ha", (object?)hashAfter ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$chain", Chain(previous, time, entry));
        long id = (long)cmd.ExecuteScalar()!;
        tx.Commit();
        return entry with { Id = id, Time = AgentStateStore.ParseTimestamp(time) };
    }

    /// <summary>The rows of one run (or all rows when <paramref name="runId"/> is null), oldest first.</summary>
    public IReadOnlyList<AuditEntry> Read(string? runId = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, time, run_id, actor, tool, arguments, decision, reason, result, hash_before, hash_after FROM audit"
            + (runId != null ? " WHERE run_id = $run" : "") + " ORDER BY id";
        if (runId != null) cmd.Parameters.AddWithValue("$run", runId);
        using var reader = cmd.ExecuteReader();
        var rows = new List<AuditEntry>();
        while (reader.Read()) rows.Add(ReadRow(reader));
        return rows;
    }

    /// <summary>Checks the whole chain; returns the number of rows.</summary>
    /// <exception cref="AuditTamperedException">A row does not match its chain hash, or rows are missing in the middle.</exception>
    public long Verify()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT id, time, run_id, actor, tool, arguments, decision, reason, result, hash_before, hash_after, chain FROM audit ORDER BY id";
        using var reader = cmd.ExecuteReader();
        string previous = "";
        long count = 0, expectedId = 0;
        while (reader.Read())
        {
            var row = ReadRow(reader);
            if (expectedId != 0 && row.Id != expectedId) throw new AuditTamperedException($"audit rows {expectedId}..{row.Id - 1} are missing");
            var chain = reader.GetString(11);
            if (Chain(previous, reader.GetString(1), row) != chain) throw new AuditTamperedException($"audit row {row.Id} was changed after it was written");
            previous = chain;
            expectedId = row.Id + 1;
            count++;
        }

        return count;
    }

    private static AuditEntry ReadRow(SqliteDataReader r) => new(
        r.GetInt64(0), AgentStateStore.ParseTimestamp(r.GetString(1)), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5),
        ParseDecision(r.GetString(6)), r.GetString(7), r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9), r.IsDBNull(10) ? null : r.GetString(10));

    /// <summary>The decision as stored: allowed, approved, denied or dry-run.</summary>
    public static string DecisionText(AuditDecision d) => d switch
    {
        AuditDecision.Allowed => "allowed",
        AuditDecision.Approved => "approved",
        AuditDecision.Denied => "denied",
        _ => "dry-run",
    };

    private static AuditDecision ParseDecision(string text) => text switch
    {
        "allowed" => AuditDecision.Allowed,
        "approved" => AuditDecision.Approved,
        "denied" => AuditDecision.Denied,
        "dry-run" => AuditDecision.DryRun,
        _ => throw new AuditTamperedException($"unknown audit decision '{text}'"),
    };

    private static string Chain(string previous, string time, AuditEntry e)
    {
        // Length-prefixed fields, so no two different rows hash the same text.
        var text = new StringBuilder(previous);
        foreach (var field in new[] { time, e.RunId, e.Actor, e.Tool, e.ArgumentsJson, DecisionText(e.Decision), e.Reason, e.Result, e.HashBefore ?? "-", e.HashAfter ?? "-" })
            text.Append('|').Append(field.Length).Append(':').Append(field);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
