using Hearth.Store;
using System.Text.RegularExpressions;
using Hearth.Serving;

namespace Hearth.Server;

/// <summary>
/// Serves the <c>*.gguf</c> files directly inside one directory, each by its file name without the extension
/// (<c>models/qwen2.5-0.5b.gguf</c> is <c>qwen2.5-0.5b</c>; <c>qwen2.5-0.5b:latest</c> names it too). A name is checked
/// against a strict pattern and then looked up in the directory's listing, so no name can reach a file outside it.
/// It cannot pull or delete.
/// </summary>
public sealed partial class DirectoryModelSource : IModelSource
{
    private const string LatestTag = ":latest";

    /// <param name="directory">The directory whose GGUF files are served.</param>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist.</exception>
    public DirectoryModelSource(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        Directory = System.IO.Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(Directory)) throw new DirectoryNotFoundException($"models directory '{directory}' does not exist");
    }

    /// <summary>The served directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>True when <paramref name="name"/> has the shape of a model name: a letter or digit, then up to 127 of <c>A-Z a-z 0-9 . _ -</c>.</summary>
    public static bool IsValidName(string? name) => name != null && NamePattern().IsMatch(name);

    public IReadOnlyList<ModelEntry> List() =>
        Files().Select(f => new ModelEntry(f.Name, f.Info.FullName, f.Info.Length, new DateTimeOffset(f.Info.LastWriteTimeUtc, TimeSpan.Zero)))
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ToList();

    /// <summary>A not-found error that quotes at most 64 characters of the name a request gave.</summary>
    internal static Hearth.Store.ModelNotFoundException NotFound(string name, string problem)
    {
        var shown = name.Length > 64 ? name[..64] + "…" : name;
        return new Hearth.Store.ModelNotFoundException(shown, $"model '{shown}' {problem}");
    }

    public string Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var bare = name.EndsWith(LatestTag, StringComparison.Ordinal) ? name[..^LatestTag.Length] : name;
        if (!IsValidName(bare)) throw NotFound(name, "not found: not a valid model name");
        foreach (var f in Files())
        {
            if (string.Equals(f.Name, bare, StringComparison.Ordinal)) return f.Info.FullName;
        }

        throw NotFound(name, "not found");
    }

    public Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation) =>
        throw new NotSupportedException("this server serves a models directory; it cannot pull models");

    public bool Delete(string name) => throw new NotSupportedException("this server serves a models directory; it cannot delete models");

    private IEnumerable<(string Name, FileInfo Info)> Files()
    {
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory, "*.gguf", SearchOption.TopDirectoryOnly))
        {
            var name = System.IO.Path.GetFileNameWithoutExtension(path);
            if (!IsValidName(name)) continue;
            var info = new FileInfo(path);
            if (info.LinkTarget != null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target) info = target;
            if (info.Exists) yield return (name, info);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}

/// <summary>A source with no models (a server started without a models directory).</summary>
internal sealed class EmptyModelSource : IModelSource
{
    public IReadOnlyList<ModelEntry> List() => [];

    public string Resolve(string name) => throw DirectoryModelSource.NotFound(name, "not found: this server has no models directory");

    public Task PullAsync(string name, IProgress<PullStatus> progress, CancellationToken cancellation) =>
        throw new NotSupportedException("this server has no model store; it cannot pull models");

    public bool Delete(string name) => throw new NotSupportedException("this server has no model store; it cannot delete models");
}
