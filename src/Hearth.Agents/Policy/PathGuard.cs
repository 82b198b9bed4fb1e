namespace Hearth.Agents.Policy;

/// <summary>Whether a path is wanted for reading or for a change.</summary>
public enum PathAccess
{
    Read,
    Write,
}

/// <summary>A path an agent asked for, resolved and found inside a root.</summary>
/// <param name="FullPath">The full path with every symbolic link resolved; operations act on this path.</param>
/// <param name="Root">The deepest root containing it (its access decides whether it may change).</param>
/// <param name="DisplayPath">How it is shown to the model and the user: relative to the first root, or full under others.</param>
/// <param name="Kind">What is there now (<see cref="FileKind.Missing"/>, <see cref="FileKind.File"/> or <see cref="FileKind.Directory"/>).</param>
public sealed record ResolvedPath(string FullPath, WorkspaceRoot Root, string DisplayPath, FileKind Kind);

/// <summary>
/// Turns a path an agent asked for into a real path inside a workspace root, or refuses it with a
/// <see cref="PermissionDeniedException"/> that says why. The rules, in order:
/// <list type="number">
/// <item>Empty paths, and paths with a NUL byte or any other control character, are refused.</item>
/// <item>A relative path is relative to the first root; an absolute path is taken as it is.</item>
/// <item>The path is resolved physically, one component at a time: every symbolic link met (in a parent directory or
/// as the final component, dangling or not) is replaced by its target, and <c>..</c> steps up from the directory
/// actually reached (so <c>link/..</c> is the parent of the link's target, as the kernel sees it). More than 40 links
/// is refused.</item>
/// <item>The resolved path must be a root or lie below one, compared ordinally (case-sensitively) with a separator
/// after the root, so <c>/data/root-evil</c> is not inside <c>/data/root</c>. The deepest root containing it decides
/// its access. The case rule: a path whose spelling differs from a root only by case is outside it, even on a
/// case-insensitive file system (refusing more, never less).</item>
/// <item>Protected paths (the agent state directory with its audit log, journal and trash, and the policy file)
/// are refused, compared case-insensitively, so no case variant reaches them on a case-insensitive file system.</item>
/// <item>What exists there must be a regular file with one hard link (a second link could be a name for a file outside
/// every root) or a directory; devices, FIFOs and sockets are refused.</item>
/// <item>A change under a read-only root is refused.</item>
/// </list>
/// A path is checked when an operation asks for it; a race with another process that swaps a directory for a link
/// between the check and the operation is not defended against.
/// </summary>
public sealed class PathGuard
{
    private const int MaxLinks = 40;
    private readonly WorkspaceRoot[] _roots;
    private readonly string[] _protected;

    /// <param name="roots">The roots (their paths already resolved, see <see cref="ResolveRoot"/>); the first is the primary root.</param>
    /// <param name="protectedPaths">Full paths agents can never touch (a directory protects everything under it).</param>
    public PathGuard(IReadOnlyList<WorkspaceRoot> roots, IEnumerable<string> protectedPaths)
    {
        if (roots.Count == 0) throw new ArgumentException("at least one root is needed", nameof(roots));
        _roots = [.. roots];
        _protected = [.. protectedPaths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p)))];
    }

    /// <summary>The roots; relative paths are relative to the first.</summary>
    public IReadOnlyList<WorkspaceRoot> Roots => _roots;

    /// <summary>The full, physical path of an existing directory, for use as a root.</summary>
    /// <exception cref="DirectoryNotFoundException">It does not exist or is not a directory.</exception>
    public static string ResolveRoot(string directory)
    {
        var physical = ResolvePhysical(Path.GetFullPath(directory), out _);
        if (!Directory.Exists(physical)) throw new DirectoryNotFoundException($"'{directory}' is not an existing directory");
        return Path.TrimEndingDirectorySeparator(physical);
    }

    /// <summary>Resolves and checks a path (see the class remarks for the rules).</summary>
    /// <exception cref="PermissionDeniedException">The path breaks a rule; the message names the rule.</exception>
    public ResolvedPath Resolve(string requested, PathAccess access)
    {
        ArgumentNullException.ThrowIfNull(requested);
        if (requested.Length == 0) throw Denied(requested, "the path is empty");
        if (requested.Contains('\0')) throw Denied(requested, "the path contains a NUL byte");
        if (requested.Any(c => char.IsControl(c))) throw Denied(requested, "the path contains a control character");
        if (Path.IsPathRooted(requested) && !Path.IsPathFullyQualified(requested)) throw Denied(requested, "the path is rooted but not fully qualified");

        var joined = Path.IsPathFullyQualified(requested) ? requested : Path.Join(_roots[0].Path, requested);
        string full;
        string? viaLink;
        try
        {
            full = ResolvePhysical(joined, out viaLink);
        }
        catch (IOException e)
        {
            throw Denied(requested, e.Message);
        }

        var root = RootOf(full);
        if (root == null)
        {
            throw Denied(requested, viaLink != null
                ? $"it goes through the symbolic link '{viaLink}' to '{full}', outside every workspace root"
                : $"it resolves to '{full}', outside every workspace root");
        }

        foreach (var p in _protected)
        {
            if (IsSameOrBelow(full, p, StringComparison.OrdinalIgnoreCase)) throw Denied(requested, $"'{full}' is protected (Hearth's agent state or policy)");
        }

        var (kind, links) = NativeFiles.Probe(full);
        switch (kind)
        {
            case FileKind.Device or FileKind.Fifo or FileKind.Socket:
                throw Denied(requested, $"'{full}' is a {kind.ToString().ToLowerInvariant()}, not a regular file");
            case FileKind.SymbolicLink:
                throw Denied(requested, $"'{full}' is still a symbolic link after resolution");
            case FileKind.File when links > 1:
                throw Denied(requested, $"'{full}' has {links} hard links, and another name for it may lie outside every root");
        }

        if (access == PathAccess.Write && root.Access == RootAccess.ReadOnly) throw Denied(requested, $"the root '{root.Path}' is read-only");
        return new ResolvedPath(full, root, Display(full), kind);
    }

    /// <summary>How a full path inside a root is shown: relative to the first root (with '/' separators), or full.</summary>
    public string Display(string fullPath)
    {
        var primary = _roots[0].Path;
        if (fullPath == primary) return ".";
        return IsSameOrBelow(fullPath, primary, StringComparison.Ordinal)
            ? Path.GetRelativePath(primary, fullPath).Replace(Path.DirectorySeparatorChar, '/')
            : fullPath;
    }

    /// <summary>The deepest root containing a resolved path, or null.</summary>
    public WorkspaceRoot? RootOf(string fullPath)
    {
        WorkspaceRoot? best = null;
        foreach (var r in _roots)
        {
            if (IsSameOrBelow(fullPath, r.Path, StringComparison.Ordinal) && (best == null || r.Path.Length > best.Path.Length)) best = r;
        }

        return best;
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or lies below it (a separator must follow the directory).</summary>
    public static bool IsSameOrBelow(string path, string directory, StringComparison comparison)
    {
        if (path.Equals(directory, comparison)) return true;
        var prefix = Path.EndsInDirectorySeparator(directory) ? directory : directory + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, comparison);
    }

    private static PermissionDeniedException Denied(string requested, string reason) =>
        new($"'{Printable(requested)}' is refused: {reason}");

    /// <summary>A path made safe to print: control characters become \uXXXX.</summary>
    internal static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : text;

    /// <summary>
    /// Resolves every symbolic link in a fully qualified path, one component at a time, and every <c>.</c> and
    /// <c>..</c> against the directory actually reached. Missing components are kept as they are.
    /// <paramref name="firstLink"/> is the first link followed, or null.
    /// </summary>
    private static string ResolvePhysical(string fullyQualified, out string? firstLink)
    {
        firstLink = null;
        var current = Path.GetPathRoot(fullyQualified)!;
        var pending = new Stack<string>();
        PushComponents(pending, fullyQualified[current.Length..]);
        int links = 0;
        while (pending.Count > 0)
        {
            var part = pending.Pop();
            if (part.Length == 0 || part == ".") continue;
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Join(current, part);
            string? target = null;
            try
            {
                target = new FileInfo(next).LinkTarget;
            }
            catch (IOException)
            {
                // Not a link we can read (a component of a path that does not exist, or not a directory): keep it as it is.
            }

            if (target == null)
            {
                current = next;
                continue;
            }

            if (++links > MaxLinks) throw new IOException($"more than {MaxLinks} symbolic links");
            firstLink ??= next;
            if (Path.IsPathFullyQualified(target))
            {
                current = Path.GetPathRoot(target)!;
                target = target[current.Length..];
            }

            PushComponents(pending, target);
        }

        return current;
    }

    private static void PushComponents(Stack<string> pending, string relative)
    {
        var parts = relative.Split(['/', Path.DirectorySeparatorChar], StringSplitOptions.None);
        for (int i = parts.Length - 1; i >= 0; i--) pending.Push(parts[i]);
    }
}
