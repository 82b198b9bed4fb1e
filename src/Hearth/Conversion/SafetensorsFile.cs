using System.Text;
using System.Text.Json;
using Hearth.Tensors;

namespace Hearth.Conversion;

/// <summary>The element types Hearth reads and writes in safetensors files.</summary>
public enum SafetensorsDType
{
    /// <summary>IEEE 754 single precision.</summary>
    F32,

    /// <summary>IEEE 754 half precision.</summary>
    F16,

    /// <summary>bfloat16: the upper half of an F32.</summary>
    BF16,
}

/// <summary>A safetensors file is malformed: the message names the file and the problem.</summary>
public sealed class SafetensorsFormatException : HearthException
{
    public SafetensorsFormatException(string path, string problem) : base($"{path}: {problem}") => FilePath = path;

    /// <summary>The file at fault.</summary>
    public string FilePath { get; }
}

/// <summary>One tensor of a safetensors file: its name, element type, shape (outermost dimension first, as PyTorch
/// writes it) and the byte range of its data relative to the start of the data section.</summary>
public sealed record SafetensorsTensorInfo(string Name, SafetensorsDType DType, long[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (1 for a scalar).</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => checked(a * b));

    /// <summary>Bytes per element of <see cref="DType"/>.</summary>
    public int ElementSize => SafetensorsFile.ElementSize(DType);

    /// <summary>The shape as text, e.g. <c>[512, 256]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A validated, memory-mapped safetensors file: an 8-byte little-endian header length, a JSON header
/// <c>{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}</c>, then the tensor data.
/// Every tensor's range must lie within the data section, match its shape and dtype exactly, and not overlap another.
/// </summary>
public sealed unsafe class SafetensorsFile : IDisposable
{
    /// <summary>The largest JSON header accepted (the format's own limit is 100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly MappedFile _mapped;
    private byte* _base;
    private readonly Dictionary<string, SafetensorsTensorInfo> _byName;

    private SafetensorsFile(string path, MappedFile mapped, long dataOffset, List<SafetensorsTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _mapped = mapped;
        _base = mapped.Pointer;
        DataOffset = dataOffset;
        Tensors = tensors;
        Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Where the data section starts: 8 + the header length.</summary>
    public long DataOffset { get; }

    /// <summary>The tensors in the order of their data offsets.</summary>
    public IReadOnlyList<SafetensorsTensorInfo> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes per element of a dtype.</summary>
    public static int ElementSize(SafetensorsDType dtype) => dtype == SafetensorsDType.F32 ? 4 : 2;

    /// <summary>The safetensors spelling of a dtype (<c>F32</c>, <c>F16</c>, <c>BF16</c>).</summary>
    public static string DTypeName(SafetensorsDType dtype) => dtype.ToString();

    /// <summary>Looks up a tensor by name.</summary>
    public SafetensorsTensorInfo? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Opens, maps and validates a safetensors file.</summary>
    /// <exception cref="SafetensorsFormatException">The file is malformed; the message says what is wrong.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafetensorsFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        long length = info.Length;
        if (length < 8) throw new SafetensorsFormatException(path, $"file is {length} bytes, too short for the 8-byte header length");

        return MappedFile.OpenAnd(path, length, mapped =>
        {
            var (dataOffset, tensors, metadata) = Parse(path, mapped.Pointer, length);
            return new SafetensorsFile(path, mapped, dataOffset, tensors, metadata);
        });
    }

    private static (long, List<SafetensorsTensorInfo>, Dictionary<string, string>) Parse(string path, byte* p, long length)
    {
        ulong headerLength = BitConverter.IsLittleEndian ? *(ulong*)p : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(*(ulong*)p);
        if (headerLength == 0 || headerLength > MaxHeaderBytes)
            throw new SafetensorsFormatException(path, $"header length {headerLength} is out of range (1..{MaxHeaderBytes})");
        if ((long)headerLength > length - 8)
            throw new SafetensorsFormatException(path, $"header length {headerLength} runs past the end of the {length}-byte file");
        long dataOffset = 8 + (long)headerLength;
        long dataLength = length - dataOffset;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(new ReadOnlyMemory<byte>(new ReadOnlySpan<byte>(p + 8, (int)headerLength).ToArray()));
        }
        catch (JsonException e)
        {
            throw new SafetensorsFormatException(path, $"header is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new SafetensorsFormatException(path, "header is not a JSON object");
            var tensors = new List<SafetensorsTensorInfo>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(prop.Name)) throw new SafetensorsFormatException(path, $"header names '{prop.Name}' twice");
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new SafetensorsFormatException(path, "__metadata__ is not an object");
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String) throw new SafetensorsFormatException(path, $"__metadata__ entry '{m.Name}' is not a string");
                        metadata[m.Name] = m.Value.GetString()!;
                    }

                    continue;
                }

                tensors.Add(ParseTensor(path, prop, dataLength));
            }

            tensors.Sort((a, b) => a.Begin.CompareTo(b.Begin));
            for (int i = 1; i < tensors.Count; i++)
            {
                if (tensors[i].Begin < tensors[i - 1].End)
                    throw new SafetensorsFormatException(path, $"tensors '{tensors[i - 1].Name}' and '{tensors[i].Name}' overlap");
            }

            return (dataOffset, tensors, metadata);
        }
    }

    private static SafetensorsTensorInfo ParseTensor(string path, JsonProperty prop, long dataLength)
    {
        string name = prop.Name;
        var e = prop.Value;
        if (e.ValueKind != JsonValueKind.Object) throw new SafetensorsFormatException(path, $"tensor '{name}': entry is not an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new SafetensorsFormatException(path, $"tensor '{name}': dtype is missing");
        var dtype = dt.GetString() switch
        {
            "F32" => SafetensorsDType.F32,
            "F16" => SafetensorsDType.F16,
            "BF16" => SafetensorsDType.BF16,
            var other => throw new SafetensorsFormatException(path, $"tensor '{name}': dtype '{other}' is not supported (F32, F16, BF16)"),
        };
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new SafetensorsFormatException(path, $"tensor '{name}': shape is missing");
        var shape = new long[sh.GetArrayLength()];
        if (shape.Length > 8) throw new SafetensorsFormatException(path, $"tensor '{name}': {shape.Length} dimensions");
        long elements = 1;
        int k = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0 || v > dataLength)
                throw new SafetensorsFormatException(path, $"tensor '{name}': dimension {d} is out of range");
            shape[k++] = v;
            try { elements = checked(elements * v); }
            catch (OverflowException) { throw new SafetensorsFormatException(path, $"tensor '{name}': shape overflows"); }
            if (elements > dataLength) throw new SafetensorsFormatException(path, $"tensor '{name}': shape [{string.Join(", ", shape.Take(k))}...] has more elements than the file has bytes");
        }

        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new SafetensorsFormatException(path, $"tensor '{name}': data_offsets is not a [begin, end] pair");
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new SafetensorsFormatException(path, $"tensor '{name}': data_offsets {off} are invalid");
        if (end > dataLength)
            throw new SafetensorsFormatException(path, $"tensor '{name}': data_offsets [{begin}, {end}] run past the end of the {dataLength}-byte data section");
        long bytes = elements * ElementSize(dtype);
        if (end - begin != bytes)
            throw new SafetensorsFormatException(path, $"tensor '{name}': {dtype} [{string.Join(", ", shape)}] needs {bytes} bytes but data_offsets span {end - begin}");
        return new SafetensorsTensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>A tensor's raw bytes, read through the mapping (tensors under 2 GiB).</summary>
    public ReadOnlySpan<byte> Data(SafetensorsTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        long n = tensor.End - tensor.Begin;
        if (n > int.MaxValue) throw new NotSupportedException($"{Path}: tensor '{tensor.Name}' is {n} bytes, more than one span can hold");
        return new ReadOnlySpan<byte>(_base + DataOffset + tensor.Begin, (int)n);
    }

    /// <summary>A tensor's elements converted to F32.</summary>
    public float[] ReadFloats(SafetensorsTensorInfo tensor)
    {
        var bytes = Data(tensor);
        var result = new float[tensor.ElementCount];
        switch (tensor.DType)
        {
            case SafetensorsDType.F32:
                bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()));
                break;
            case SafetensorsDType.F16:
                Quants.Dequantize(GgmlType.F16, bytes, result);
                break;
            case SafetensorsDType.BF16:
                Quants.Dequantize(GgmlType.BF16, bytes, result);
                break;
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _mapped.Dispose();
    }

    internal static string Utf8(ReadOnlySpan<byte> b) => Encoding.UTF8.GetString(b);
}
