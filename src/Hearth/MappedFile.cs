using System.IO.MemoryMappedFiles;

namespace Hearth;

/// <summary>
/// A whole file mapped read-only, with its view's pointer acquired: what GGUF and safetensors readers parse in place.
/// Disposing releases the pointer and unmaps; reads after that are the owner's bug to prevent.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _mapping;
    private readonly MemoryMappedViewAccessor _view;
    private int _disposed;

    private MappedFile(MemoryMappedFile mapping, MemoryMappedViewAccessor view, byte* pointer, long length)
    {
        _mapping = mapping;
        _view = view;
        Pointer = pointer;
        Length = length;
    }

    /// <summary>The first byte of the file.</summary>
    public byte* Pointer { get; }

    public long Length { get; }

    /// <summary>Maps the first <paramref name="length"/> bytes of <paramref name="path"/> (its length, measured by the caller).</summary>
    public static MappedFile Open(string path, long length)
    {
        var mapping = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = mapping.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            return new MappedFile(mapping, view, p + view.PointerOffset, length);
        }
        catch
        {
            view?.Dispose();
            mapping.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="parse"/> over a fresh mapping; the mapping is closed again if it throws.</summary>
    public static T OpenAnd<T>(string path, long length, Func<MappedFile, T> parse)
    {
        var mapped = Open(path, length);
        try
        {
            return parse(mapped);
        }
        catch
        {
            mapped.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _mapping.Dispose();
    }
}
