namespace Hearth.Agents;

/// <summary>
/// Every file and process operation an agent tool performs goes through a workspace. The policy-backed implementation
/// canonicalises each path, checks it against the permission policy (asking for approval when the policy says so),
/// journals changes before making them (so they can be undone), and audits every call. Tools never touch the file
/// system directly.
/// </summary>
public interface IAgentWorkspace
{
    /// <summary>Reads a whole file. Needs the read permission on a root that contains it.</summary>
    /// <exception cref="PermissionDeniedException">The policy refuses it (outside every root, denied, or not approved).</exception>
    /// <exception cref="FileNotFoundException">It does not exist.</exception>
    Task<byte[]> ReadFileAsync(string path, CancellationToken cancel = default);

    /// <summary>Lists the files under a directory, sorted. The policy-backed workspace gives paths relative to the first
    /// root (full paths for files under other roots), so each can be passed back to the other operations.</summary>
    Task<IReadOnlyList<string>> ListFilesAsync(string directory, bool recursive, CancellationToken cancel = default);

    /// <summary>Writes a file: the create permission when it does not exist, overwrite when it does (the old content
    /// is kept for undo). Parent directories are created.</summary>
    Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancel = default);

    /// <summary>Moves or renames a file (the move permission on both ends); fails when the target exists.</summary>
    Task MoveAsync(string from, string to, CancellationToken cancel = default);

    /// <summary>Deletes a file (the delete permission, off by default); its content is kept in the trash for undo.</summary>
    Task DeleteAsync(string path, CancellationToken cancel = default);

    /// <summary>Runs a program from the policy's allow-list with arguments matching its patterns, in a directory
    /// inside a root, with a timeout; never through a shell.</summary>
    Task<CommandResult> RunCommandAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout,
        CancellationToken cancel = default);

    /// <summary>
    /// Records a tool call that never reached the workspace because it was malformed (an unknown tool, arguments that
    /// do not match the tool's schema), so the audit log holds every call a model made. The policy-backed workspace
    /// writes a denied audit row; the default does nothing.
    /// </summary>
    /// <param name="tool">The tool name the model used.</param>
    /// <param name="argumentsJson">Its arguments as JSON (as far as they could be read).</param>
    /// <param name="reason">Why it was rejected.</param>
    void RecordRejectedCall(string tool, string argumentsJson, string reason)
    {
    }
}

/// <summary>What a command printed and how it ended.</summary>
/// <param name="ExitCode">Its exit code (-1 when it was killed for running past its timeout).</param>
/// <param name="StandardOutput">Its standard output (capped).</param>
/// <param name="StandardError">Its standard error (capped).</param>
/// <param name="TimedOut">True when it ran past its timeout and was killed.</param>
public sealed record CommandResult(int ExitCode, string StandardOutput, string StandardError, bool TimedOut);

/// <summary>The permission policy refused an operation; the message names the operation, the path and the reason.</summary>
public sealed class PermissionDeniedException(string message) : HearthException(message);
