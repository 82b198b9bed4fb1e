namespace Hearth.Agents.Documents;

/// <summary>
/// The narrowest workspace a documents-to-Excel job needs, for running it without a permission policy file: it lists
/// and reads files under one input folder and writes one output file, and refuses every other operation (moves,
/// deletes, commands, reads elsewhere, other writes) with <see cref="PermissionDeniedException"/>. Paths are resolved
/// against the input folder; symbolic links that lead out of it are refused, and linked folders are not descended.
/// </summary>
public sealed class ExtractionFolderWorkspace : IAgentWorkspace
{
    private readonly string _root;
    private readonly string _output;

    /// <param name="inputFolder">The folder whose files may be listed and read.</param>
    /// <param name="outputFile">The one file that may be written (created or replaced).</param>
    /// <exception cref="DirectoryNotFoundException">The input folder does not exist.</exception>
    public ExtractionFolderWorkspace(string inputFolder, string outputFile)
    {
        ArgumentNullException.ThrowIfNull(inputFolder);
        ArgumentNullException.ThrowIfNull(outputFile);
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(inputFolder));
        if (!Directory.Exists(_root)) throw new DirectoryNotFoundException($"{inputFolder}: no such folder");
        _output = Path.GetFullPath(outputFile);
    }

    /// <summary>The input folder, as a full path.</summary>
    public string Root => _root;

    /// <inheritdoc/>
    public Task<byte[]> ReadFileAsync(string path, CancellationToken cancel = default)
    {
        var full = Inside(path, "read");
        // Every step below the root that is a symbolic link must stay inside it.
        var step = _root;
        foreach (var part in Path.GetRelativePath(_root, full).Split(Path.DirectorySeparatorChar))
        {
            step = Path.Combine(step, part);
            var info = new FileInfo(step);
            if (info.LinkTarget == null) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            if (target == null || !IsUnder(Path.GetFullPath(target))) throw Denied("read", path, "it goes through a link that leads outside the input folder");
        }

        return File.ReadAllBytesAsync(full, cancel);
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<string>> ListFilesAsync(string directory, bool recursive, CancellationToken cancel = default)
    {
        var full = Inside(directory, "list");
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"{directory}: no such folder");
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = recursive,
            AttributesToSkip = FileAttributes.ReparsePoint,
            IgnoreInaccessible = true,
            ReturnSpecialDirectories = false,
        };
        IReadOnlyList<string> files = [.. Directory.EnumerateFiles(full, "*", options).Select(f => Path.GetRelativePath(_root, f).Replace(Path.DirectorySeparatorChar, '/'))];
        return Task.FromResult(files);
    }

    /// <inheritdoc/>
    public async Task WriteFileAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancel = default)
    {
        var full = Path.GetFullPath(path);
        if (!string.Equals(full, _output, StringComparison.Ordinal)) throw Denied("write", path, $"only {_output} may be written");
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Write beside it and rename, so a reader never sees half a workbook.
        var partial = full + ".partial";
        await File.WriteAllBytesAsync(partial, content.ToArray(), cancel).ConfigureAwait(false);
        File.Move(partial, full, overwrite: true);
    }

    /// <inheritdoc/>
    public Task MoveAsync(string from, string to, CancellationToken cancel = default) => throw Denied("move", from, "this job only reads documents and writes its workbook");

    /// <inheritdoc/>
    public Task DeleteAsync(string path, CancellationToken cancel = default) => throw Denied("delete", path, "this job only reads documents and writes its workbook");

    /// <inheritdoc/>
    public Task<CommandResult> RunCommandAsync(string program, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout,
        CancellationToken cancel = default) => throw Denied("run", program, "this job only reads documents and writes its workbook");

    private string Inside(string path, string operation)
    {
        var full = Path.GetFullPath(Path.Combine(_root, path));
        if (!IsUnder(full)) throw Denied(operation, path, $"it is outside the input folder {_root}");
        return full;
    }

    private bool IsUnder(string full) =>
        full == _root || full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private static PermissionDeniedException Denied(string operation, string path, string why) => new($"{operation} {path}: refused, {why}");
}
