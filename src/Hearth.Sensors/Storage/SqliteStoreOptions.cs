namespace Hearth.Sensors.Storage;

/// <summary>How a commit reaches the disk (SQLite's <c>PRAGMA synchronous</c> in WAL mode).</summary>
public enum StoreDurability
{
    /// <summary><c>synchronous=FULL</c>: every commit fsyncs the write-ahead log before it returns, so a committed record
    /// survives a kill -9 of the monitor and also a power cut or kernel crash. Costs one fsync per record.</summary>
    Full,

    /// <summary><c>synchronous=NORMAL</c>: a commit is written to the log (into the operating system's cache) but fsynced
    /// only at checkpoints. A committed record survives a kill -9 of the monitor (the cache belongs to the kernel, not
    /// the process); a power cut can lose the last commits but never corrupts the database.</summary>
    Normal,
}

/// <summary>Retention limits for one table. A row goes when it is older than <see cref="MaxAge"/> (by when it was stored)
/// or when more than <see cref="MaxRows"/> newer rows exist; null means no limit of that kind.</summary>
/// <param name="MaxAge">The longest a row is kept; must be positive.</param>
/// <param name="MaxRows">How many of the newest rows are kept; at least 1.</param>
public sealed record RetentionLimit(TimeSpan? MaxAge = null, long? MaxRows = null)
{
    /// <summary>No limit: rows are kept for ever.</summary>
    public static RetentionLimit None { get; } = new();

    internal bool IsNone => MaxAge is null && MaxRows is null;
}

/// <summary>How long the store keeps rows, per table, and how often retention runs. With a sync target configured
/// (<see cref="SqliteStoreOptions.SyncTarget"/>), retention never deletes a row that has not been synced yet, so while
/// PostgreSQL is unreachable the store grows past these limits and shrinks back once the backlog is sent. The newest
/// alert is never deleted, so <see cref="SqliteMonitorStore.LastAlertedLabel"/> survives retention.</summary>
public sealed record StoreRetention
{
    /// <summary>Keeps everything.</summary>
    public static StoreRetention KeepAll { get; } = new();

    /// <summary>Limits for stored payloads.</summary>
    public RetentionLimit Readings { get; init; } = RetentionLimit.None;

    /// <summary>Limits for decisions (rule and model).</summary>
    public RetentionLimit Decisions { get; init; } = RetentionLimit.None;

    /// <summary>Limits for alerts.</summary>
    public RetentionLimit Alerts { get; init; } = RetentionLimit.None;

    /// <summary>Limits for quarantined payloads.</summary>
    public RetentionLimit Quarantine { get; init; } = RetentionLimit.None;

    /// <summary>How often the store applies the limits on its own: after a write, when this long has passed since the
    /// last pass (the first write after opening runs one). <see cref="SqliteMonitorStore.ApplyRetention"/> runs one at any time.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);

    internal bool IsNone => Readings.IsNone && Decisions.IsNone && Alerts.IsNone && Quarantine.IsNone;
}

/// <summary>Options of <see cref="SqliteMonitorStore.Open"/>.</summary>
public sealed record SqliteStoreOptions
{
    /// <summary>How commits reach the disk; <see cref="StoreDurability.Full"/> by default (see there why).</summary>
    public StoreDurability Durability { get; init; } = StoreDurability.Full;

    /// <summary>How long a write waits for a lock held by another connection before it fails (SQLite's busy timeout).</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Retention limits; none by default.</summary>
    public StoreRetention Retention { get; init; } = StoreRetention.KeepAll;

    /// <summary>True when the rows are forwarded to a sync target (<see cref="PostgresSync"/>): retention then deletes only
    /// rows already synced. <see cref="PostgresSync"/> refuses a store opened without it.</summary>
    public bool SyncTarget { get; init; }

    /// <summary>The clock used for retention ages (a test can pass its own).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
