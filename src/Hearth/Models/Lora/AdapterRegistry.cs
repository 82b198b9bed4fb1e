using System.Globalization;
using Hearth.Serving;

namespace Hearth.Models.Lora;

/// <summary>
/// An adapter a request asks for: a GGUF adapter file (or, through an <see cref="AdapterDirectory"/>, a name), and the
/// scale it is applied with (y = W·x + scale · alpha/r · B·A·x).
/// </summary>
/// <param name="Source">A file path, or a name when resolved through an <see cref="AdapterDirectory"/>.</param>
/// <param name="Scale">The user scale; 1 applies the adapter as trained, 0 turns it off.</param>
public sealed record AdapterReference(string Source, float Scale = 1f)
{
    /// <summary>
    /// Parses <c>FILE[:SCALE]</c>: the text after the last ':' is the scale when it is a number (so <c>C:\a.gguf</c>
    /// is a path without a scale), otherwise the whole text is the file.
    /// </summary>
    /// <exception cref="ArgumentException">The text is empty or the scale is not finite.</exception>
    public static AdapterReference Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        int colon = text.LastIndexOf(':');
        if (colon > 0 && float.TryParse(text.AsSpan(colon + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out float scale))
        {
            if (!float.IsFinite(scale)) throw new ArgumentException($"'{text}': the adapter scale must be a finite number", nameof(text));
            return new AdapterReference(text[..colon], scale);
        }

        return new AdapterReference(text);
    }
}

/// <summary>
/// The LoRA adapters loaded for one model: each file is loaded (and validated against the model's tensors) once and
/// shared by every sequence that applies it. Adapters are chosen per sequence, so swapping them never reloads the base
/// weights; a file replaced on disk (by moving a new file over it: files are mapped, never rewrite one in place) is
/// loaded afresh on its next use (earlier instances stay valid for the sequences
/// still using them, and are released with the registry). Thread-safe.
/// </summary>
public sealed class AdapterRegistry : IDisposable
{
    private readonly Transformer _model;
    private readonly object _gate = new();
    private readonly Dictionary<string, (DateTime Written, long Length, LoraAdapter Adapter)> _loaded = new(StringComparer.Ordinal);
    private readonly List<LoraAdapter> _retired = [];
    private bool _disposed;

    /// <summary>A registry for adapters of <paramref name="model"/>.</summary>
    public AdapterRegistry(Transformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
    }

    /// <summary>Full paths of the adapters loaded now.</summary>
    public IReadOnlyList<string> Loaded
    {
        get
        {
            lock (_gate) return [.. _loaded.Keys.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>The adapter in <paramref name="path"/>, loaded on first use (or when the file has changed since).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="Hearth.Gguf.GgufFormatException">The file is not valid GGUF.</exception>
    /// <exception cref="ModelFormatException">The file is not a LoRA adapter for this model.</exception>
    /// <exception cref="ObjectDisposedException">The registry has been disposed.</exception>
    public LoraAdapter Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists) throw new FileNotFoundException($"LoRA adapter '{path}' does not exist", full);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loaded.TryGetValue(full, out var known))
            {
                if (known.Written == info.LastWriteTimeUtc && known.Length == info.Length) return known.Adapter;
                _retired.Add(known.Adapter);
            }

            var adapter = LoraAdapter.Load(full, _model);
            _loaded[full] = (info.LastWriteTimeUtc, info.Length, adapter);
            return adapter;
        }
    }

    /// <summary>
    /// Loads the referenced adapters with their scales. With <paramref name="directory"/>, every source is a name looked
    /// up there and never a path (what a server accepts from the network); without it, every source is a path.
    /// </summary>
    /// <exception cref="InvalidRequestException">A name is not an adapter of the directory, or a file is not an adapter for
    /// this model (the parameter is <c>lora</c>).</exception>
    /// <exception cref="FileNotFoundException">A path (without a directory) does not exist.</exception>
    /// <exception cref="ModelFormatException">A path (without a directory) is not an adapter for this model.</exception>
    public IReadOnlyList<ActiveAdapter> Resolve(IEnumerable<AdapterReference> references, AdapterDirectory? directory = null)
    {
        ArgumentNullException.ThrowIfNull(references);
        var active = new List<ActiveAdapter>();
        foreach (var r in references)
        {
            if (!float.IsFinite(r.Scale)) throw new InvalidRequestException(AdapterDirectory.Field, $"{AdapterDirectory.Field}: the scale of '{r.Source}' must be a finite number");
            if (directory == null)
            {
                active.Add(new ActiveAdapter(Load(r.Source), r.Scale));
                continue;
            }

            var path = directory.Resolve(r.Source);
            try
            {
                active.Add(new ActiveAdapter(Load(path), r.Scale));
            }
            catch (Exception e) when (e is ModelFormatException or Hearth.Gguf.GgufFormatException)
            {
                throw new InvalidRequestException(AdapterDirectory.Field, $"{AdapterDirectory.Field}: adapter '{r.Source}' cannot be used with this model: {e.Message.Replace(path, r.Source, StringComparison.Ordinal)}");
            }
        }

        return active;
    }

    /// <summary>Releases every adapter it loaded; sequences must no longer use them.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var (_, _, adapter) in _loaded.Values) adapter.Dispose();
            foreach (var adapter in _retired) adapter.Dispose();
            _loaded.Clear();
            _retired.Clear();
        }
    }
}

/// <summary>
/// A folder of adapter files that requests may name (<c>hearth serve --lora-dir DIR</c>): a name is a file name in the
/// folder, with or without its <c>.gguf</c> extension, and never a path, so a request cannot reach other files.
/// </summary>
public sealed class AdapterDirectory
{
    /// <summary>The request field that names adapters.</summary>
    public const string Field = "lora";

    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public AdapterDirectory(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(Path)) throw new DirectoryNotFoundException($"adapter directory '{path}' does not exist");
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>Names of the adapter files (<c>*.gguf</c>, without the extension) in the folder now.</summary>
    public IReadOnlyList<string> Names =>
        [.. Directory.EnumerateFiles(Path, "*.gguf").Select(f => System.IO.Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    /// <summary>The file a name stands for.</summary>
    /// <exception cref="InvalidRequestException">The name is empty, looks like a path, or no such adapter file exists.</exception>
    public string Resolve(string name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidRequestException(Field, $"{Field}: an adapter name is empty");
        bool plain = name.IndexOfAny(['/', '\\', ':', '\0']) < 0 && name != "." && name != ".." && !name.StartsWith('.');
        if (plain)
        {
            var file = name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) ? name : name + ".gguf";
            var full = System.IO.Path.Combine(Path, file);
            if (File.Exists(full) && string.Equals(System.IO.Path.GetDirectoryName(full), Path, StringComparison.Ordinal)) return full;
        }

        var known = Names;
        var hint = known.Count == 0 ? "the server has no adapters" : $"available: {string.Join(", ", known.Take(20))}";
        throw new InvalidRequestException(Field, $"{Field}: unknown adapter '{name}' ({hint})");
    }
}
