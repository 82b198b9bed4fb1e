using System.Security.Cryptography;
using Hearth.Agents.Policy;
using Hearth.Agents.State;
using Microsoft.Data.Sqlite;

namespace Hearth.Agents.Journal;

/// <summary>A journalled change.</summary>
public enum JournalOperation
{
    /// <summary>A directory created (for a file's parents).</summary>
    MakeDirectory,

    /// <summary>A file created where none was.</summary>
    Create,

    /// <summary>A file's content replaced (the old content is in the trash).</summary>
    Overwrite,

    /// <summary>A file moved or renamed.</summary>
    Move,

    /// <summary>A file deleted (its content is in the trash).</summary>
    Delete,
}

/// <summary>Where a journal entry is.</summary>
public enum JournalState
{
    /// <summary>Written before the change; the change may or may not have happened (a crash).</summary>
    Pending,

    /// <summary>The change happened.</summary>
    Done,

    /// <summary>Recovery found the change incomplete and brought the file back to its state before it.</summary>
    RolledBack,

    /// <summary>Undone by <see cref="ChangeJournal.Undo"/>.</summary>
    Undone,
}

/// <summary>A point inside a journalled change, for crash drills (<see cref="ChangeJournal.FaultInjection"/>).</summary>
public enum JournalPhase
{
    /// <summary>The intent is durable; nothing has changed yet.</summary>
    Journalled,

    /// <summary>The new content is in a temporary file beside the target; the target is unchanged (create and overwrite).</summary>
    TempWritten,

    /// <summary>The change is made; the entry is not yet marked done.</summary>
    Acted,
}

/// <summary>A change reaching a phase: the <paramref name="Index"/>th change (1-based) this journal object began.</summary>
public sealed record JournalStep(int Index, JournalPhase Phase, JournalOperation Operation, string Path);

/// <summary>One row of the change journal.</summary>
/// <param name="Seq">Its order (increasing).</param>
/// <param name="RunId">The run that made the change.</param>
/// <param name="Operation">What the change is.</param>
/// <param name="Path">The full path changed (for a move, where the file was).</param>
/// <param name="Target">For a move, where the file went; otherwise null.</param>
/// <param name="HashBefore">SHA-256 of the content before (overwrite, move, delete).</param>
/// <param name="HashAfter">SHA-256 of the content after (create, overwrite).</param>
/// <param name="TrashPath">Where the old content is kept (overwrite, delete).</param>
/// <param name="TempPath">The temporary file the new content is written to before it is renamed into place.</param>
/// <param name="State">Where it is.</param>
public sealed record JournalEntry(long Seq, string RunId, JournalOperation Operation, string Path, string? Target, string? HashBefore, string? HashAfter,
    string? TrashPath, string? TempPath, JournalState State);

/// <summary>What happened to one journal entry during recovery or undo.</summary>
/// <param name="Entry">The entry (as it was before).</param>
/// <param name="Outcome">"rolled forward", "rolled back", "restored", "already undone", ...</param>
/// <param name="Conflict">True when the file is in neither the state before nor the state after the change (changed by
/// something else since), so it was left alone.</param>
public sealed record JournalOutcome(JournalEntry Entry, string Outcome, bool Conflict);

/// <summary>
/// The write-ahead journal of every change an agent makes, with the trash that keeps old content. Each change is
/// journalled before it happens and made so that a crash at any instant leaves either the old or the new state:
/// <list type="number">
/// <item>old content that the change destroys (overwrite, delete) is copied to the trash and fsynced;</item>
/// <item>the intent (paths, content hashes, trash and temporary paths) is committed to SQLite (synchronous=FULL: fsynced);</item>
/// <item>the change is made: new content goes to a temporary file in the target's directory, is fsynced, and is renamed
/// over the target (atomic); a move is one rename; a delete removes a file whose content is already in the trash;
/// directories touched are fsynced;</item>
/// <item>the entry is marked done.</item>
/// </list>
/// <see cref="Recover"/> settles entries left pending by a crash, looking at the files' hashes: a change fully visible
/// is rolled forward (marked done; undo can still revert it), anything else is rolled back to the state before. Files are
/// never deleted by recovery or undo: whatever they remove goes to the trash. Not thread-safe.
/// </summary>
public sealed class ChangeJournal
{
    private readonly SqliteConnection _db;
    private readonly string _trash;
    private int _changes;

    internal ChangeJournal(SqliteConnection db, string trashDirectory)
    {
        _db = db;
        _trash = trashDirectory;
    }

    /// <summary>
    /// Called at each <see cref="JournalPhase"/> of each change, for crash drills: a handler that kills the process
    /// (the CLI's <c>HEARTH_AGENT_FAULT</c>) shows what a crash at that instant leaves; one that throws shows what a
    /// failing change leaves. Null in normal use.
    /// </summary>
    public Action<JournalStep>? FaultInjection { get; set; }

    internal static void CreateSchema(SqliteConnection db) => AgentStateStore.Execute(db, """
        CREATE TABLE IF NOT EXISTS journal(
          seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, op TEXT NOT NULL, path TEXT NOT NULL, target TEXT,
          hash_before TEXT, hash_after TEXT, trash TEXT, temp TEXT, state TEXT NOT NULL, time TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS journal_run ON journal(run_id, seq);
        CREATE INDEX IF NOT EXISTS journal_state ON journal(state);
        """);

    /// <summary>Creates a file that does not exist (and its missing parent directories, each journalled). Returns the content's hash.</summary>
    /// <exception cref="IOException">The file exists, or the file system fails (the entry is then settled at once).</exception>
    public string CreateFile(string runId, string path, ReadOnlyMemory<byte> content)
    {
        if (File.Exists(path) || Directory.Exists(path)) throw new IOException($"'{path}' already exists");
        EnsureDirectory(runId, Path.GetDirectoryName(path)!);
        var hash = ContentHash.Of(content.Span);
        var temp = TempPathFor(path);
        Journalled(runId, JournalOperation.Create, path, null, null, hash, null, temp, fault => ReplaceThroughTemp(temp, path, content, fault, overwrite: false));
        return hash;
    }

    /// <summary>Replaces an existing file's content, keeping the old content in the trash. Returns the hashes before and after.</summary>
    public (string Before, string After) OverwriteFile(string runId, string path, ReadOnlyMemory<byte> content)
    {
        var (trash, before) = CopyToTrash(runId, path);
        var after = ContentHash.Of(content.Span);
        var temp = TempPathFor(path);
        Journalled(runId, JournalOperation.Overwrite, path, null, before, after, trash, temp, fault => ReplaceThroughTemp(temp, path, content, fault, overwrite: true));
        return (before, after);
    }

    /// <summary>Moves a file to a path where nothing is (creating missing parent directories). Returns the content's hash.</summary>
    /// <exception cref="IOException">The target exists, or the file system fails.</exception>
    public string MoveFile(string runId, string from, string to)
    {
        if (File.Exists(to) || Directory.Exists(to)) throw new IOException($"'{to}' already exists");
        if (!File.Exists(from)) throw new FileNotFoundException($"'{from}' does not exist", from);
        EnsureDirectory(runId, Path.GetDirectoryName(to)!);
        var hash = ContentHash.OfFile(from) ?? throw new FileNotFoundException($"'{from}' does not exist", from);
        Journalled(runId, JournalOperation.Move, from, to, hash, hash, null, null, _ =>
        {
            File.Move(from, to, overwrite: false);
            NativeFiles.SyncDirectory(Path.GetDirectoryName(to)!);
            NativeFiles.SyncDirectory(Path.GetDirectoryName(from)!);
        });
        return hash;
    }

    /// <summary>Deletes a file, keeping its content in the trash. Returns the content's hash.</summary>
    public string DeleteFile(string runId, string path)
    {
        var (trash, before) = CopyToTrash(runId, path);
        Journalled(runId, JournalOperation.Delete, path, null, before, null, trash, null, _ =>
        {
            File.Delete(path);
            NativeFiles.SyncDirectory(Path.GetDirectoryName(path)!);
        });
        return before;
    }

    /// <summary>
    /// Commits the intent of a change, makes it (<paramref name="act"/> reports its inner phases), and marks it done.
    /// When the change fails, its entry is settled at once as recovery would (the file is left as before) and the
    /// error goes on to the caller.
    /// </summary>
    private void Journalled(string runId, JournalOperation op, string path, string? target, string? before, string? after, string? trash, string? temp,
        Action<Action<JournalPhase>> act)
    {
        int index = ++_changes;
        long seq = Insert(runId, op, path, target, before, after, trash, temp);
        void Fault(JournalPhase phase) => FaultInjection?.Invoke(new JournalStep(index, phase, op, path));
        try
        {
            Fault(JournalPhase.Journalled);
            act(Fault);
            Fault(JournalPhase.Acted);
        }
        catch
        {
            try
            {
                SettleAndMark(Entries(runId).Single(e => e.Seq == seq));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SqliteException)
            {
                // Left pending: the next recovery settles it.
            }

            throw;
        }

        SetState(seq, JournalState.Done);
    }

    /// <summary>The entries of one run (or all), in order.</summary>
    public IReadOnlyList<JournalEntry> Entries(string? runId = null)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT seq, run_id, op, path, target, hash_before, hash_after, trash, temp, state FROM journal"
            + (runId != null ? " WHERE run_id = $run" : "") + " ORDER BY seq";
        if (runId != null) cmd.Parameters.AddWithValue("$run", runId);
        return ReadEntries(cmd);
    }

    /// <summary>The newest run with changes that are done and not undone, or null.</summary>
    public string? LatestUndoableRun()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT run_id FROM journal WHERE state = 'done' ORDER BY seq DESC LIMIT 1";
        return cmd.ExecuteScalar() as string;
    }

    /// <summary>
    /// Settles every pending entry (left by a crash): a change whose result is fully in place is marked done; any
    /// other is rolled back to the state before it (old content restored from the trash, partial or extra files moved
    /// to the trash). Temporary files of pending entries are removed. Safe to run again.
    /// </summary>
    public IReadOnlyList<JournalOutcome> Recover()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT seq, run_id, op, path, target, hash_before, hash_after, trash, temp, state FROM journal WHERE state = 'pending' ORDER BY seq DESC";
        return [.. ReadEntries(cmd).Select(SettleAndMark)];
    }

    /// <summary>Settles one pending entry, removes its temporary file, and records the new state.</summary>
    private JournalOutcome SettleAndMark(JournalEntry e)
    {
        var (outcome, state, conflict) = Settle(e);
        if (e.TempPath != null && File.Exists(e.TempPath)) File.Delete(e.TempPath);
        SetState(e.Seq, state);
        return new JournalOutcome(e, outcome, conflict);
    }

    /// <summary>The sequence number of the newest entry (of any run), or 0 when the journal is empty: a mark for
    /// <see cref="Undo(string, long)"/>.</summary>
    public long LastSeq()
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "SELECT COALESCE(MAX(seq), 0) FROM journal";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>
    /// Reverts a run's done changes, newest first: created files go to the trash, overwritten and deleted content comes
    /// back from the trash, moved files move back, directories the run created are removed when empty. A file changed by
    /// something else since (in neither the state before nor after) is left alone and reported as a conflict. Pending
    /// entries are recovered first. Safe to run again after a crash.
    /// </summary>
    /// <param name="runId">The run.</param>
    /// <param name="afterSeq">Only entries after this mark (<see cref="LastSeq"/>) are reverted; 0 reverts the whole run.</param>
    public IReadOnlyList<JournalOutcome> Undo(string runId, long afterSeq = 0)
    {
        var outcomes = new List<JournalOutcome>(Recover().Where(o => o.Entry.RunId == runId && o.Entry.Seq > afterSeq));
        foreach (var e in Entries(runId).Where(e => e.State == JournalState.Done && e.Seq > afterSeq).Reverse())
        {
            var (outcome, conflict) = Revert(e);
            if (!conflict) SetState(e.Seq, JournalState.Undone);
            outcomes.Add(new JournalOutcome(e, outcome, conflict));
        }

        return outcomes;
    }

    private (string Outcome, JournalState State, bool Conflict) Settle(JournalEntry e)
    {
        switch (e.Operation)
        {
            case JournalOperation.MakeDirectory:
                return Directory.Exists(e.Path) ? ("rolled forward", JournalState.Done, false) : ("rolled back", JournalState.RolledBack, false);
            case JournalOperation.Create:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == e.HashAfter) return ("rolled forward", JournalState.Done, false);
                if (now == null) return ("rolled back", JournalState.RolledBack, false);
                return ("left alone: the file holds other content", JournalState.RolledBack, true);
            }

            case JournalOperation.Overwrite:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == e.HashAfter) return ("rolled forward", JournalState.Done, false);
                if (now == e.HashBefore) return ("rolled back", JournalState.RolledBack, false);
                if (now == null)
                {
                    Restore(e.TrashPath!, e.Path, e.HashBefore!);
                    return ("rolled back: restored from the trash", JournalState.RolledBack, false);
                }

                return ("left alone: the file holds other content", JournalState.RolledBack, true);
            }

            case JournalOperation.Move:
            {
                var from = ContentHash.OfFile(e.Path);
                var to = ContentHash.OfFile(e.Target!);
                if (from == null && to == e.HashBefore) return ("rolled forward", JournalState.Done, false);
                if (from == e.HashBefore && to == null) return ("rolled back", JournalState.RolledBack, false);
                if (from == e.HashBefore)
                {
                    // A second name or a partial copy at the target, which did not exist before the move.
                    Discard(e.RunId, e.Target!);
                    return ("rolled back: the partial target moved to the trash", JournalState.RolledBack, false);
                }

                return ("left alone: neither end holds the file's content", JournalState.RolledBack, true);
            }

            case JournalOperation.Delete:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == null) return ("rolled forward", JournalState.Done, false);
                if (now == e.HashBefore) return ("rolled back", JournalState.RolledBack, false);
                return ("left alone: the file holds other content", JournalState.RolledBack, true);
            }

            default:
                throw new InvalidOperationException($"unknown journal operation {e.Operation}");
        }
    }

    private (string Outcome, bool Conflict) Revert(JournalEntry e)
    {
        switch (e.Operation)
        {
            case JournalOperation.MakeDirectory:
                if (!Directory.Exists(e.Path)) return ("already gone", false);
                if (Directory.EnumerateFileSystemEntries(e.Path).Any()) return ("kept: the directory is not empty", false);
                Directory.Delete(e.Path);
                NativeFiles.SyncDirectory(Path.GetDirectoryName(e.Path)!);
                return ("removed", false);
            case JournalOperation.Create:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == null) return ("already gone", false);
                if (now != e.HashAfter) return ("conflict: the file changed since the run", true);
                Discard(e.RunId, e.Path);
                return ("moved to the trash", false);
            }

            case JournalOperation.Overwrite:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == e.HashBefore) return ("already restored", false);
                if (now != e.HashAfter) return ("conflict: the file changed since the run", true);
                Restore(e.TrashPath!, e.Path, e.HashBefore!);
                return ("restored", false);
            }

            case JournalOperation.Move:
            {
                var from = ContentHash.OfFile(e.Path);
                var to = ContentHash.OfFile(e.Target!);
                if (from == e.HashBefore && to == null) return ("already moved back", false);
                if (from == e.HashBefore && to == e.HashBefore)
                {
                    Discard(e.RunId, e.Target!);
                    return ("moved back", false);
                }

                if (from != null || to != e.HashBefore) return ("conflict: the file changed or moved since the run", true);
                Directory.CreateDirectory(Path.GetDirectoryName(e.Path)!);
                File.Move(e.Target!, e.Path, overwrite: false);
                NativeFiles.SyncDirectory(Path.GetDirectoryName(e.Path)!);
                NativeFiles.SyncDirectory(Path.GetDirectoryName(e.Target!)!);
                return ("moved back", false);
            }

            case JournalOperation.Delete:
            {
                var now = ContentHash.OfFile(e.Path);
                if (now == e.HashBefore) return ("already restored", false);
                if (now != null) return ("conflict: a different file is there now", true);
                Restore(e.TrashPath!, e.Path, e.HashBefore!);
                return ("restored", false);
            }

            default:
                throw new InvalidOperationException($"unknown journal operation {e.Operation}");
        }
    }

    /// <summary>Creates a directory and its missing parents, journalling each before it is made.</summary>
    private void EnsureDirectory(string runId, string directory)
    {
        var missing = new List<string>();
        for (var d = directory; !Directory.Exists(d); d = Path.GetDirectoryName(d)!) missing.Add(d);
        for (int i = missing.Count - 1; i >= 0; i--)
        {
            long seq = Insert(runId, JournalOperation.MakeDirectory, missing[i], null, null, null, null, null);
            Directory.CreateDirectory(missing[i]);
            NativeFiles.SyncDirectory(Path.GetDirectoryName(missing[i])!);
            SetState(seq, JournalState.Done);
        }
    }

    /// <summary>Copies a file into the run's trash folder, fsynced, and returns the copy's path and the content's hash.</summary>
    private (string TrashPath, string Hash) CopyToTrash(string runId, string path)
    {
        var folder = Path.Combine(_trash, runId);
        Directory.CreateDirectory(folder);
        var trash = Path.Combine(folder, $"{Guid.NewGuid():N}-{Path.GetFileName(path)}");
        using var hasher = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        using (var copy = new FileStream(trash, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = source.Read(buffer)) > 0)
            {
                hasher.AppendData(buffer, 0, n);
                copy.Write(buffer, 0, n);
            }

            copy.Flush(flushToDisk: true);
        }

        NativeFiles.SyncDirectory(folder);
        return (trash, Convert.ToHexStringLower(hasher.GetHashAndReset()));
    }

    /// <summary>Puts the trash copy back at <paramref name="path"/> (through a fsynced temporary file and a rename).</summary>
    private static void Restore(string trashPath, string path, string expectedHash)
    {
        if (ContentHash.OfFile(trashPath) != expectedHash)
            throw new IOException($"the trash copy '{trashPath}' of '{path}' is missing or damaged; the file cannot be restored");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = TempPathFor(path);
        File.Copy(trashPath, temp);
        using (var s = new FileStream(temp, FileMode.Open, FileAccess.ReadWrite)) s.Flush(flushToDisk: true);
        File.Move(temp, path, overwrite: true);
        NativeFiles.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Moves a file into the run's trash folder instead of deleting it.</summary>
    private void Discard(string runId, string path)
    {
        var folder = Path.Combine(_trash, runId);
        Directory.CreateDirectory(folder);
        File.Move(path, Path.Combine(folder, $"{Guid.NewGuid():N}-removed-{Path.GetFileName(path)}"));
        NativeFiles.SyncDirectory(folder);
        NativeFiles.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>Writes the content to the temporary file beside the target, fsyncs it, and renames it into place.</summary>
    private static void ReplaceThroughTemp(string temp, string path, ReadOnlyMemory<byte> content, Action<JournalPhase> fault, bool overwrite)
    {
        using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            stream.Write(content.Span);
            stream.Flush(flushToDisk: true);
        }

        fault(JournalPhase.TempWritten);
        File.Move(temp, path, overwrite);
        NativeFiles.SyncDirectory(Path.GetDirectoryName(path)!);
    }

    /// <summary>A temporary file beside <paramref name="path"/> (same directory, so the final rename is atomic).</summary>
    internal static string TempPathFor(string path) => Path.Combine(Path.GetDirectoryName(path)!, $".hearth-{Guid.NewGuid():N}.tmp");

    private long Insert(string runId, JournalOperation op, string path, string? target, string? before, string? after, string? trash, string? temp)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = """
            INSERT INTO journal(run_id, op, path, target, hash_before, hash_after, trash, temp, state, time)
            VALUES ($run, $op, $path, $target, $hb, $ha, $trash, $temp, 'pending', $time) RETURNING seq
            """;
        cmd.Parameters.AddWithValue("$run", runId);
        cmd.Parameters.AddWithValue("$op", OperationText(op));
        cmd.Parameters.AddWithValue("$path", path);
        cmd.Parameters.AddWithValue("$target", (object?)target ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$hb", (object?)before ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$ha", (object?)after ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$trash", (object?)trash ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$temp", (object?)temp ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$time", AgentStateStore.Timestamp(DateTimeOffset.UtcNow));
        return (long)cmd.ExecuteScalar()!;
    }

    private void SetState(long seq, JournalState state)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = "UPDATE journal SET state = $state WHERE seq = $seq";
        cmd.Parameters.AddWithValue("$state", StateText(state));
        cmd.Parameters.AddWithValue("$seq", seq);
        cmd.ExecuteNonQuery();
    }

    private static List<JournalEntry> ReadEntries(SqliteCommand cmd)
    {
        using var r = cmd.ExecuteReader();
        var entries = new List<JournalEntry>();
        while (r.Read())
        {
            string? Opt(int i) => r.IsDBNull(i) ? null : r.GetString(i);
            entries.Add(new JournalEntry(r.GetInt64(0), r.GetString(1), ParseOperation(r.GetString(2)), r.GetString(3), Opt(4), Opt(5), Opt(6), Opt(7), Opt(8),
                ParseState(r.GetString(9))));
        }

        return entries;
    }

    /// <summary>The operation as stored: mkdir, create, overwrite, move or delete.</summary>
    public static string OperationText(JournalOperation op) => op switch
    {
        JournalOperation.MakeDirectory => "mkdir",
        JournalOperation.Create => "create",
        JournalOperation.Overwrite => "overwrite",
        JournalOperation.Move => "move",
        _ => "delete",
    };

    private static JournalOperation ParseOperation(string text) => text switch
    {
        "mkdir" => JournalOperation.MakeDirectory,
        "create" => JournalOperation.Create,
        "overwrite" => JournalOperation.Overwrite,
        "move" => JournalOperation.Move,
        "delete" => JournalOperation.Delete,
        _ => throw new InvalidDataException($"unknown journal operation '{text}'"),
    };

    private static string StateText(JournalState s) => s switch
    {
        JournalState.Pending => "pending",
        JournalState.Done => "done",
        JournalState.RolledBack => "rolled-back",
        _ => "undone",
    };

    private static JournalState ParseState(string text) => text switch
    {
        "pending" => JournalState.Pending,
        "done" => JournalState.Done,
        "rolled-back" => JournalState.RolledBack,
        "undone" => JournalState.Undone,
        _ => throw new InvalidDataException($"unknown journal state '{text}'"),
    };
}
