using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hearth.Agents.Tests.Documents;

/// <summary>
/// TEST DOUBLE for the agent runtime's policy-backed <see cref="IAgentWorkspace"/>, which is built elsewhere: it does
/// every operation directly on the file system under one root, with no policy, and records each call so tests can
/// check exactly which operations a job asked for. It really deletes, moves and runs when asked, so an operation that
/// should never happen would show both in the record and on disk.
/// </summary>
public sealed class DirectWorkspaceDouble(string root) : IAgentWorkspace
{
    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Every call, in order: the operation and its path (or program).</summary>
    public ConcurrentQueue<(string Operation, string Path)> Calls { get; } = new();

    /// <summary>Paths whose reads are refused, to stand in for a policy's denial.</summary>
    public HashSet<string> Denied { get; } = [];

    private string Full(string path) => Path.GetFullPath(Path.Combine(Root, path));

    public Task<byte[]> ReadFileAsync(string path, CancellationToken cancel = default)
    {
        Calls.Enqueue(("read", path));
        if (Denied.Contains(path)) throw new PermissionDeniedException($"read {path}: refused by the test's policy");
        return File.ReadAllBytesAsync(Full(path), cancel);
    }

    public Task<IReadOnlyList<string>> ListFilesAsync(string directory, bool recursive, CancellationToken cancel = default)
    {
        Calls.Enqueue(("list", directory));
        var option = recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        IReadOnlyList<string> files = [.. Directory.GetFiles(Full(directory), "*", option).Select(f => Path.GetRelativePath(Root, f).Replace('\\', '/'))];
        return Task.FromResult(files);
    }

    public async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancel = default)
    {
        Calls.Enqueue(("write", path));
        Directory.CreateDirectory(Path.GetDirectoryName(Full(path))!);
        await File.WriteAllBytesAsync(Full(path), content.ToArray(), cancel);
    }

    public Task MoveAsync(string from, string to, CancellationToken cancel = default)
    {
        Calls.Enqueue(("move", from));
        File.Move(Full(from), Full(to));
        return Task.CompletedTask;
    }

    public Task DeleteAsync(string path, CancellationToken cancel = default)
    {
        Calls.Enqueue(("delete", path));
        File.Delete(Full(path));
        return Task.CompletedTask;
    }

    public async Task<CommandResult> RunCommandAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout,
        CancellationToken cancel = default)
    {
        Calls.Enqueue(("run", program));
        var start = new ProcessStartInfo(program) { WorkingDirectory = Full(workingDirectory), RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync(cancel);
        var stderr = await process.StandardError.ReadToEndAsync(cancel);
        await process.WaitForExitAsync(cancel);
        return new CommandResult(process.ExitCode, stdout, stderr, false);
    }
}
