using System.Diagnostics;

namespace Hearth.Agents.Tests.Code;

/// <summary>
/// Test double for the policy-backed <see cref="IAgentWorkspace"/> of the agent runtime (built in parallel; the lead
/// swaps it in): one root, every path must be inside it, commands only from an allow-list, run directly without a
/// shell. It records every operation so tests can see what a session did (and did not) do. No journal, no audit log.
/// </summary>
internal sealed class DirectWorkspaceDouble(string root, params string[] allowedPrograms) : IAgentWorkspace
{
    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));

    private readonly List<string> _log = [];

    /// <summary>Every operation so far, in order: "read PATH", "write PATH", "move FROM TO", "delete PATH", "run PROGRAM ARGS...".</summary>
    public IReadOnlyList<string> Log
    {
        get
        {
            lock (_log) return [.. _log];
        }
    }

    /// <summary>Deletes are refused when false (the runtime's default policy has them off).</summary>
    public bool AllowDelete { get; init; } = true;

    public IEnumerable<string> Writes => Log.Where(l => !l.StartsWith("read ", StringComparison.Ordinal) && !l.StartsWith("list ", StringComparison.Ordinal));

    public Task<byte[]> ReadFileAsync(string path, CancellationToken cancel = default)
    {
        var full = Inside(path, "read");
        Record($"read {full}");
        return File.ReadAllBytesAsync(full, cancel);
    }

    public Task<IReadOnlyList<string>> ListFilesAsync(string directory, bool recursive, CancellationToken cancel = default)
    {
        var full = Inside(directory, "list");
        Record($"list {full}");
        IReadOnlyList<string> files = [.. Directory.EnumerateFiles(full, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Select(f => Path.GetRelativePath(full, f).Replace(Path.DirectorySeparatorChar, '/'))];
        return Task.FromResult(files);
    }

    public async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancel = default)
    {
        var full = Inside(path, "write");
        Record($"write {full}");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        await File.WriteAllBytesAsync(full, content.ToArray(), cancel);
    }

    public Task MoveAsync(string from, string to, CancellationToken cancel = default)
    {
        var (f, t) = (Inside(from, "move"), Inside(to, "move"));
        Record($"move {f} {t}");
        Directory.CreateDirectory(Path.GetDirectoryName(t)!);
        File.Move(f, t, overwrite: false);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken cancel = default)
    {
        var full = Inside(path, "delete");
        if (!AllowDelete) throw new PermissionDeniedException($"delete {full}: deletes are off");
        Record($"delete {full}");
        File.Delete(full);
        return Task.CompletedTask;
    }

    public async Task<CommandResult> RunCommandAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancel = default)
    {
        var dir = Inside(workingDirectory, "run in");
        if (!allowedPrograms.Contains(program, StringComparer.Ordinal)) throw new PermissionDeniedException($"run {program}: not on the allow-list ({string.Join(", ", allowedPrograms)})");
        Record($"run {program} {string.Join(' ', arguments)}");
        using var process = Process.Start(TestProcess.StartInfo(program, dir, arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancel);
        var stderr = process.StandardError.ReadToEndAsync(cancel);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        limit.CancelAfter(timeout);
        bool timedOut = false;
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancel.ThrowIfCancellationRequested();
            timedOut = true;
        }

        return new CommandResult(timedOut ? -1 : process.ExitCode, await stdout, await stderr, timedOut);
    }

    private void Record(string operation)
    {
        lock (_log) _log.Add(operation);
    }

    private string Inside(string path, string operation)
    {
        var full = Path.GetFullPath(path, _root);
        if (full != _root && !full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new PermissionDeniedException($"{operation} {full}: outside the workspace root {_root}");
        return full;
    }
}
