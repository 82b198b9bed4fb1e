namespace Hearth.Store;

/// <summary>The step a pull is in.</summary>
public enum PullStage
{
    /// <summary>Asking the Hub which file the name stands for.</summary>
    Resolving,

    /// <summary>Receiving bytes; <see cref="PullProgress.BytesDone"/> grows.</summary>
    Downloading,

    /// <summary>A connection dropped or the server failed; the download is retried (resuming) after a pause.</summary>
    Retrying,

    /// <summary>Checking the SHA-256 and the GGUF structure of the downloaded file.</summary>
    Verifying,

    /// <summary>The model is in the store.</summary>
    Completed,

    /// <summary>The store already holds this exact file (same SHA-256); nothing was downloaded.</summary>
    UpToDate,
}

/// <summary>A progress report of a pull.</summary>
/// <param name="Stage">The current step.</param>
/// <param name="Name">The store name being pulled.</param>
/// <param name="File">The file in the repository, once known.</param>
/// <param name="BytesDone">Bytes of the file on disk so far (including bytes resumed from an earlier attempt).</param>
/// <param name="TotalBytes">The file's size when known.</param>
/// <param name="ResumedFrom">The byte offset the current download resumed from (0 for a fresh start).</param>
/// <param name="Attempt">The download attempt (1 for the first).</param>
/// <param name="Message">For <see cref="PullStage.Retrying"/>: what went wrong.</param>
public sealed record PullProgress(PullStage Stage, string Name, string? File, long BytesDone, long? TotalBytes, long ResumedFrom = 0, int Attempt = 1, string? Message = null)
{
    /// <summary>Fraction done in [0, 1], or null when the size is unknown.</summary>
    public double? Fraction => TotalBytes is > 0 and var total ? Math.Clamp((double)BytesDone / total, 0, 1) : null;
}
