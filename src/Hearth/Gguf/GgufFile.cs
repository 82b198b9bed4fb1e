using System.Runtime.InteropServices;
using System.Text;
using Hearth.Tensors;

namespace Hearth.Gguf;

/// <summary>One tensor's entry in the tensor table.</summary>
/// <param name="Name">The tensor name, e.g. <c>blk.0.attn_q.weight</c>.</param>
/// <param name="Shape">ggml's ne[]: Shape[0] is the contiguous (row) dimension.</param>
/// <param name="Type">Element type.</param>
/// <param name="Offset">Offset of the data from the start of the data section.</param>
/// <param name="ByteSize">Size of the data in bytes.</param>
public sealed record GgufTensorInfo(string Name, long[] Shape, GgmlType Type, ulong Offset, long ByteSize)
{
    /// <summary>Total element count.</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Shape) n *= d;
            return n;
        }
    }

    /// <summary>Elements per row (ne[0]).</summary>
    public long RowLength => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Number of rows: the product of all dimensions after the first.</summary>
    public long RowCount => RowLength == 0 ? 0 : ElementCount / RowLength;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// A validated, memory-mapped GGUF file (versions 2 and 3). Tensor data stays in the mapping and is read through
/// spans or pointers; nothing is copied into managed arrays. Dispose to unmap.
/// </summary>
public sealed unsafe class GgufFile : IDisposable
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;

    /// <summary>Default alignment of the tensor data section and of each tensor in it.</summary>
    public const uint DefaultAlignment = 32;

    /// <summary>ggml's limit on tensor dimensions.</summary>
    public const int MaxDims = 4;

    /// <summary>ggml's limit on tensor name length (bytes, excluding the terminator).</summary>
    public const int MaxTensorNameBytes = 63;

    /// <summary>Arrays nest at most this deep; deeper nesting is treated as malformed.</summary>
    public const int MaxArrayNesting = 8;

    private readonly MappedFile _mapped;
    private byte* _base;
    private readonly Dictionary<string, GgufValue> _metadata;
    private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

    private GgufFile(string path, MappedFile mapped, byte* basePtr, long length, GgufReader.Result parsed)
    {
        Path = path;
        _mapped = mapped;
        _base = basePtr;
        FileLength = length;
        Version = parsed.Version;
        Alignment = parsed.Alignment;
        DataOffset = parsed.DataOffset;
        MetadataList = parsed.Metadata;
        _metadata = parsed.Metadata.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        Tensors = parsed.Tensors;
        _tensorsByName = parsed.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The file's path as given to <see cref="Open"/>.</summary>
    public string Path { get; }

    public uint Version { get; }

    public uint Alignment { get; }

    /// <summary>Absolute file offset of the tensor data section.</summary>
    public long DataOffset { get; }

    public long FileLength { get; }

    /// <summary>Metadata in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, GgufValue>> MetadataList { get; }

    /// <summary>Metadata by key.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata => _metadata;

    /// <summary>The tensor table in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Opens, maps and validates a GGUF file.</summary>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF file; the message says where and why.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static GgufFile Open(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"{path}: no such file", path);
        long length = info.Length;
        if (length < 4) throw new GgufFormatException(path, 0, $"file is {length} bytes, too short to hold the GGUF magic");

        return MappedFile.OpenAnd(path, length, mapped =>
        {
            byte* p = mapped.Pointer;
            var parsed = GgufReader.Parse(path, new ReadOnlySpan<byte>(p, checked((int)Math.Min(length, int.MaxValue))), length, p);
            return new GgufFile(path, mapped, p, length, parsed);
        });
    }

    /// <summary>Looks up a tensor by name.</summary>
    public GgufTensorInfo? FindTensor(string name) => _tensorsByName.GetValueOrDefault(name);

    /// <summary>Pointer to the first byte of a tensor's data inside the mapping. Valid until the file is disposed.</summary>
    public byte* TensorPointer(GgufTensorInfo tensor)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        return _base + DataOffset + (long)tensor.Offset;
    }

    /// <summary>A tensor's bytes, read through the mapping. Tensors of 2 GiB or more must be read with <see cref="TensorPointer"/>.</summary>
    public ReadOnlySpan<byte> TensorData(GgufTensorInfo tensor)
    {
        if (tensor.ByteSize > int.MaxValue) throw new NotSupportedException($"tensor '{tensor.Name}' is {tensor.ByteSize} bytes; read it through TensorPointer");
        return new ReadOnlySpan<byte>(TensorPointer(tensor), (int)tensor.ByteSize);
    }

    // ---- typed metadata accessors ----

    /// <summary>The raw value of a key, or null.</summary>
    public GgufValue? Get(string key) => _metadata.GetValueOrDefault(key);

    public bool Contains(string key) => _metadata.ContainsKey(key);

    public string? GetString(string key) => Get(key)?.Value as string;

    /// <summary>A required string.</summary>
    /// <exception cref="ModelFormatException">Missing, or not a string.</exception>
    public string RequireString(string key) => GetString(key) ?? throw Missing(key, "a string");

    /// <summary>An integer of any integer type, or null when absent.</summary>
    /// <exception cref="ModelFormatException">Present but not an integer.</exception>
    public long? GetInteger(string key)
    {
        var v = Get(key);
        if (v == null) return null;
        return v.TryGetInt64(out var l) ? l : throw new ModelFormatException($"{Path}: metadata '{key}' is {v.Type}, expected an integer");
    }

    public long RequireInteger(string key) => GetInteger(key) ?? throw Missing(key, "an integer");

    /// <summary>A number of any numeric type, or null when absent.</summary>
    public double? GetNumber(string key)
    {
        var v = Get(key);
        if (v == null) return null;
        return v.TryGetDouble(out var d) ? d : throw new ModelFormatException($"{Path}: metadata '{key}' is {v.Type}, expected a number");
    }

    public bool? GetBool(string key)
    {
        var v = Get(key);
        if (v == null) return null;
        return v.Value is bool b ? b : throw new ModelFormatException($"{Path}: metadata '{key}' is {v.Type}, expected a bool");
    }

    /// <summary>An array whose items have CLR type <typeparamref name="T"/>, or null when absent.</summary>
    public T[]? GetArray<T>(string key)
    {
        var v = Get(key);
        if (v == null) return null;
        if (v.Value is GgufArray { Items: T[] items }) return items;
        throw new ModelFormatException($"{Path}: metadata '{key}' is {(v.AsArray is { } a ? a.ToString() : v.Type.ToString())}, expected an array of {typeof(T).Name}");
    }

    /// <summary>An array of any integer element type, widened to int, or null when absent.</summary>
    public int[]? GetIntArray(string key)
    {
        var v = Get(key);
        if (v == null) return null;
        if (v.Value is GgufArray a)
        {
            var result = new int[a.Count];
            for (int i = 0; i < a.Count; i++)
            {
                var item = new GgufValue(a.ElementType, a.Items.GetValue(i)!);
                if (!item.TryGetInt64(out var l) || l < int.MinValue || l > int.MaxValue)
                    throw new ModelFormatException($"{Path}: metadata '{key}' item {i} is not a 32-bit integer");
                result[i] = (int)l;
            }
            return result;
        }
        throw new ModelFormatException($"{Path}: metadata '{key}' is {v.Type}, expected an integer array");
    }

    private ModelFormatException Missing(string key, string what) => new($"{Path}: metadata '{key}' is missing or not {what}");

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _mapped.Dispose();
    }
}

/// <summary>The GGUF header, metadata and tensor-table parser with all validation.</summary>
internal static unsafe class GgufReader
{
    internal sealed record Result(uint Version, uint Alignment, long DataOffset, List<KeyValuePair<string, GgufValue>> Metadata, List<GgufTensorInfo> Tensors);

    /// <summary>
    /// Parses the header. <paramref name="head"/> covers at most the first 2 GiB (the header always lives there);
    /// <paramref name="length"/> is the true file length, used to validate the tensor data.
    /// </summary>
    public static Result Parse(string path, ReadOnlySpan<byte> head, long length, byte* basePtr)
    {
        var r = new Cursor(path, head);
        uint magic = r.U32("magic");
        if (magic != GgufFile.Magic)
        {
            throw new GgufFormatException(path, 0, $"bad magic 0x{magic:X8} (\"{Printable(head[..4])}\"), expected \"GGUF\"");
        }

        uint version = r.U32("version");
        if (version == 1) throw new GgufFormatException(path, 4, "GGUF version 1 is not supported (only versions 2 and 3)");
        if ((version & 0xFFFF) == 0 && version != 0) throw new GgufFormatException(path, 4, $"version field 0x{version:X8} looks big-endian; only little-endian GGUF files are supported");
        if (version is not (2 or 3)) throw new GgufFormatException(path, 4, $"unsupported GGUF version {version} (supported: 2, 3)");

        long tensorCountPos = r.Position;
        ulong tensorCount = r.U64("tensor count");
        long kvCountPos = r.Position;
        ulong kvCount = r.U64("metadata count");

        // Every tensor entry is at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes; every key/value at
        // least 8 (key length) + 4 (type) + 1 byte. Counts beyond that cannot be honest.
        if (tensorCount > (ulong)(head.Length / 24)) throw new GgufFormatException(path, tensorCountPos, $"tensor count {tensorCount} cannot fit in a {length}-byte file");
        if (kvCount > (ulong)(head.Length / 13)) throw new GgufFormatException(path, kvCountPos, $"metadata count {kvCount} cannot fit in a {length}-byte file");

        var metadata = new List<KeyValuePair<string, GgufValue>>((int)kvCount);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < kvCount; i++)
        {
            long keyPos = r.Position;
            string key = r.String("metadata key");
            if (key.Length == 0) throw new GgufFormatException(path, keyPos, $"metadata entry {i} has an empty key");
            if (!seen.Add(key)) throw new GgufFormatException(path, keyPos, $"duplicate metadata key '{key}'");
            long typePos = r.Position;
            var type = (GgufValueType)r.U32($"type of '{key}'");
            var value = ReadValue(ref r, type, key, typePos, 0);
            metadata.Add(new(key, value));
        }

        uint alignment = GgufFile.DefaultAlignment;
        var alignmentEntry = metadata.FirstOrDefault(kv => kv.Key == "general.alignment");
        if (alignmentEntry.Key != null)
        {
            if (alignmentEntry.Value.Value is not uint a) throw new GgufFormatException(path, 0, $"general.alignment is {alignmentEntry.Value.Type}, expected UInt32");
            if (a == 0 || (a & (a - 1)) != 0) throw new GgufFormatException(path, 0, $"general.alignment {a} is not a power of two");
            alignment = a;
        }

        var tensors = new List<GgufTensorInfo>((int)tensorCount);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (ulong i = 0; i < tensorCount; i++)
        {
            long namePos = r.Position;
            string name = r.String($"name of tensor {i}");
            if (Encoding.UTF8.GetByteCount(name) > GgufFile.MaxTensorNameBytes) throw new GgufFormatException(path, namePos, $"tensor name '{Truncate(name)}' is longer than {GgufFile.MaxTensorNameBytes} bytes");
            if (!names.Add(name)) throw new GgufFormatException(path, namePos, $"duplicate tensor name '{name}'");
            long dimsPos = r.Position;
            uint nDims = r.U32($"dimension count of tensor '{name}'");
            if (nDims > GgufFile.MaxDims) throw new GgufFormatException(path, dimsPos, $"tensor '{name}' has {nDims} dimensions, at most {GgufFile.MaxDims} are allowed");
            var shape = new long[nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++)
            {
                long dimPos = r.Position;
                long ne = r.I64($"dimension {d} of tensor '{name}'");
                if (ne < 0) throw new GgufFormatException(path, dimPos, $"tensor '{name}' dimension {d} is negative ({ne})");
                shape[d] = ne;
                if (ne != 0 && elements > long.MaxValue / ne) throw new GgufFormatException(path, dimPos, $"tensor '{name}' element count overflows 64 bits");
                elements *= ne;
            }

            long typePos = r.Position;
            var type = (GgmlType)r.U32($"type of tensor '{name}'");
            if (!GgmlTypes.TryGet(type, out var typeInfo)) throw new GgufFormatException(path, typePos, $"tensor '{name}' has unknown type {(uint)type}");
            long row = nDims == 0 ? 1 : shape[0];
            if (row % typeInfo.BlockSize != 0) throw new GgufFormatException(path, typePos, $"tensor '{name}' row length {row} is not a multiple of the {typeInfo.Name} block size {typeInfo.BlockSize}");
            long blocks = elements / typeInfo.BlockSize;
            if (blocks > long.MaxValue / typeInfo.TypeSize) throw new GgufFormatException(path, typePos, $"tensor '{name}' byte size overflows 64 bits");
            long bytes = blocks * typeInfo.TypeSize;
            long offPos = r.Position;
            ulong offset = r.U64($"data offset of tensor '{name}'");
            if (offset % alignment != 0) throw new GgufFormatException(path, offPos, $"tensor '{name}' data offset {offset} is not a multiple of the alignment {alignment}");
            tensors.Add(new GgufTensorInfo(name, shape, type, offset, bytes));
        }

        long dataOffset = AlignUp(r.Position, alignment);
        if (tensors.Count > 0 && dataOffset > length) throw new GgufFormatException(path, r.Position, $"file ends before the tensor data section at offset {dataOffset}");
        long dataSize = length - dataOffset;

        // Tensor data must lie within the file and must not overlap.
        var byOffset = tensors.OrderBy(t => t.Offset).ToList();
        ulong previousEnd = 0;
        string? previousName = null;
        foreach (var t in byOffset)
        {
            if (t.Offset > (ulong)Math.Max(dataSize, 0) || (ulong)t.ByteSize > (ulong)dataSize - t.Offset)
                throw new GgufFormatException(path, t.Name, $"data [{t.Offset}, +{t.ByteSize}) runs past the end of the file (data section is {Math.Max(dataSize, 0)} bytes at offset {dataOffset})");
            if (t.ByteSize > 0 && t.Offset < previousEnd)
                throw new GgufFormatException(path, t.Name, $"data at offset {t.Offset} overlaps tensor '{previousName}' ending at {previousEnd}");
            if (t.ByteSize > 0)
            {
                previousEnd = t.Offset + (ulong)t.ByteSize;
                previousName = t.Name;
            }
        }

        return new Result(version, alignment, dataOffset, metadata, tensors);
    }

    internal static long AlignUp(long v, long alignment) => (v + alignment - 1) / alignment * alignment;

    private static GgufValue ReadValue(ref Cursor r, GgufValueType type, string key, long typePos, int depth)
    {
        switch (type)
        {
            case GgufValueType.UInt8: return new(type, r.U8(key));
            case GgufValueType.Int8: return new(type, (sbyte)r.U8(key));
            case GgufValueType.UInt16: return new(type, r.U16(key));
            case GgufValueType.Int16: return new(type, (short)r.U16(key));
            case GgufValueType.UInt32: return new(type, r.U32(key));
            case GgufValueType.Int32: return new(type, (int)r.U32(key));
            case GgufValueType.Float32: return new(type, BitConverter.Int32BitsToSingle((int)r.U32(key)));
            case GgufValueType.UInt64: return new(type, r.U64(key));
            case GgufValueType.Int64: return new(type, r.I64(key));
            case GgufValueType.Float64: return new(type, BitConverter.Int64BitsToDouble(r.I64(key)));
            case GgufValueType.Bool: return new(type, r.Bool(key));
            case GgufValueType.String: return new(type, r.String(key));
            case GgufValueType.Array: return new(type, ReadArray(ref r, key, depth));
            default: throw new GgufFormatException(r.FilePath, typePos, $"metadata '{key}' has unknown value type {(uint)type}");
        }
    }

    private static GgufArray ReadArray(ref Cursor r, string key, int depth)
    {
        if (depth >= GgufFile.MaxArrayNesting) throw new GgufFormatException(r.FilePath, r.Position, $"metadata '{key}' nests arrays deeper than {GgufFile.MaxArrayNesting}");
        long typePos = r.Position;
        var elementType = (GgufValueType)r.U32($"element type of '{key}'");
        long countPos = r.Position;
        ulong count = r.U64($"length of '{key}'");
        int minSize = elementType switch
        {
            GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
            GgufValueType.UInt16 or GgufValueType.Int16 => 2,
            GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
            GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 or GgufValueType.String => 8,
            GgufValueType.Array => 12,
            _ => throw new GgufFormatException(r.FilePath, typePos, $"metadata '{key}' is an array of unknown value type {(uint)elementType}"),
        };
        if (count > (ulong)r.Remaining / (ulong)minSize)
            throw new GgufFormatException(r.FilePath, countPos, $"metadata '{key}' array of {count} {elementType} items runs past the end of the file");
        int n = (int)count;
        switch (elementType)
        {
            case GgufValueType.UInt8: return new(elementType, r.Bytes(n, key).ToArray());
            case GgufValueType.Int8: return new(elementType, MemoryMarshal.Cast<byte, sbyte>(r.Bytes(n, key)).ToArray());
            case GgufValueType.Bool:
            {
                var raw = r.Bytes(n, key);
                var items = new bool[n];
                for (int i = 0; i < n; i++)
                {
                    if (raw[i] > 1) throw new GgufFormatException(r.FilePath, r.Position - n + i, $"metadata '{key}' item {i} is not a valid bool ({raw[i]})");
                    items[i] = raw[i] != 0;
                }
                return new(elementType, items);
            }
            case GgufValueType.UInt16: return new(elementType, MemoryMarshal.Cast<byte, ushort>(r.Bytes(n * 2, key)).ToArray());
            case GgufValueType.Int16: return new(elementType, MemoryMarshal.Cast<byte, short>(r.Bytes(n * 2, key)).ToArray());
            case GgufValueType.UInt32: return new(elementType, MemoryMarshal.Cast<byte, uint>(r.Bytes(n * 4, key)).ToArray());
            case GgufValueType.Int32: return new(elementType, MemoryMarshal.Cast<byte, int>(r.Bytes(n * 4, key)).ToArray());
            case GgufValueType.Float32: return new(elementType, MemoryMarshal.Cast<byte, float>(r.Bytes(n * 4, key)).ToArray());
            case GgufValueType.UInt64: return new(elementType, MemoryMarshal.Cast<byte, ulong>(r.Bytes(n * 8, key)).ToArray());
            case GgufValueType.Int64: return new(elementType, MemoryMarshal.Cast<byte, long>(r.Bytes(n * 8, key)).ToArray());
            case GgufValueType.Float64: return new(elementType, MemoryMarshal.Cast<byte, double>(r.Bytes(n * 8, key)).ToArray());
            case GgufValueType.String:
            {
                var items = new string[n];
                for (int i = 0; i < n; i++) items[i] = r.String(key);
                return new(elementType, items);
            }
            default:
            {
                var items = new GgufArray[n];
                for (int i = 0; i < n; i++) items[i] = ReadArray(ref r, key, depth + 1);
                return new(elementType, items);
            }
        }
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder();
        foreach (var b in bytes) sb.Append(b is >= 32 and < 127 ? (char)b : '.');
        return sb.ToString();
    }

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>A bounds-checked little-endian reader over the header bytes.</summary>
    private ref struct Cursor
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _pos;

        public Cursor(string path, ReadOnlySpan<byte> data)
        {
            FilePath = path;
            _data = data;
            _pos = 0;
        }

        public string FilePath { get; }

        public readonly long Position => _pos;

        public readonly long Remaining => _data.Length - _pos;

        public ReadOnlySpan<byte> Bytes(int n, string what)
        {
            if (n < 0 || n > _data.Length - _pos) throw new GgufFormatException(FilePath, _pos, $"file truncated while reading {what} ({n} bytes needed, {_data.Length - _pos} left)");
            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }

        public byte U8(string what) => Bytes(1, what)[0];

        public ushort U16(string what) => System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2, what));

        public uint U32(string what) => System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4, what));

        public ulong U64(string what) => System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(Bytes(8, what));

        public long I64(string what) => System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(Bytes(8, what));

        public bool Bool(string what)
        {
            long at = _pos;
            byte b = U8(what);
            return b switch
            {
                0 => false,
                1 => true,
                _ => throw new GgufFormatException(FilePath, at, $"{what}: invalid bool value {b}"),
            };
        }

        public string String(string what)
        {
            long at = _pos;
            ulong len = U64($"length of {what}");
            if (len > (ulong)(_data.Length - _pos)) throw new GgufFormatException(FilePath, at, $"{what}: string length {len} runs past the end of the file");
            // Like the reference, strings are taken as they are; invalid UTF-8 becomes U+FFFD rather than an error.
            return Encoding.UTF8.GetString(Bytes((int)len, what));
        }
    }
}
