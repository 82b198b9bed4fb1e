namespace Hearth.Sensors.Storage;

/// <summary>The monitor store cannot be opened or written: the file is not a Hearth store (or not SQLite at all), its
/// schema is newer than this build understands, or SQLite reported an error. The message names the file and what to do.</summary>
public sealed class MonitorStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MonitorStoreException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A sync to PostgreSQL failed (the server is unreachable, refused the login, or a statement failed). Nothing
/// was marked as synced by the failed attempt, so the next attempt sends the same rows again.</summary>
public sealed class PostgresSyncException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PostgresSyncException(string message, Exception? inner = null) : base(message, inner) { }
}
