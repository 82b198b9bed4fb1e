using System.Buffers.Binary;
using System.Text;
using Hearth.Tensors;

namespace Hearth.Gguf;

/// <summary>
/// Builds a GGUF file (version 3 by default, or 2): metadata in insertion order, then the tensor table, then the
/// tensor data, each tensor aligned to <c>general.alignment</c> (32 unless set).
/// </summary>
public sealed class GgufWriter
{
    private readonly List<KeyValuePair<string, GgufValue>> _metadata = [];
    private readonly List<(string Name, long[] Shape, GgmlType Type, long Bytes, Action<Stream> Write)> _tensors = [];

    public uint Version { get; init; } = 3;

    /// <summary>Adds or replaces a metadata key (replacing keeps the original position).</summary>
    public GgufWriter Set(string key, GgufValue value)
    {
        int i = _metadata.FindIndex(kv => kv.Key == key);
        if (i >= 0) _metadata[i] = new(key, value);
        else _metadata.Add(new(key, value));
        return this;
    }

    public GgufWriter Set(string key, string value) => Set(key, GgufValue.Of(value));
    public GgufWriter Set(string key, uint value) => Set(key, GgufValue.Of(value));
    public GgufWriter Set(string key, int value) => Set(key, GgufValue.Of(value));
    public GgufWriter Set(string key, float value) => Set(key, GgufValue.Of(value));
    public GgufWriter Set(string key, bool value) => Set(key, GgufValue.Of(value));
    public GgufWriter Set(string key, GgufArray value) => Set(key, GgufValue.Of(value));

    public GgufWriter Remove(string key)
    {
        _metadata.RemoveAll(kv => kv.Key == key);
        return this;
    }

    /// <summary>Copies every metadata entry of another file.</summary>
    public GgufWriter CopyMetadata(GgufFile source)
    {
        foreach (var kv in source.MetadataList) Set(kv.Key, kv.Value);
        return this;
    }

    /// <summary>Adds a tensor whose bytes are already encoded in <paramref name="type"/>'s block layout.</summary>
    /// <exception cref="ArgumentException">The shape does not fit the type or the byte count.</exception>
    public GgufWriter AddTensor(string name, long[] shape, GgmlType type, ReadOnlyMemory<byte> data)
    {
        long bytes = ExpectedBytes(name, shape, type);
        if (data.Length != bytes) throw new ArgumentException($"tensor '{name}': {data.Length} bytes given, {type} {string.Join("x", shape)} needs {bytes}");
        return AddTensor(name, shape, type, s => s.Write(data.Span));
    }

    /// <summary>Adds an F32 tensor.</summary>
    public GgufWriter AddTensor(string name, long[] shape, float[] data)
    {
        var bytes = new byte[data.Length * 4];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return AddTensor(name, shape, GgmlType.F32, bytes);
    }

    /// <summary>Adds a tensor whose bytes a callback streams when the file is written (for large or mapped sources).</summary>
    public GgufWriter AddTensor(string name, long[] shape, GgmlType type, Action<Stream> write)
    {
        long bytes = ExpectedBytes(name, shape, type);
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"duplicate tensor name '{name}'");
        _tensors.Add((name, shape, type, bytes, write));
        return this;
    }

    private static long ExpectedBytes(string name, long[] shape, GgmlType type)
    {
        var info = GgmlTypes.Get(type);
        if (shape.Length is < 1 or > GgufFile.MaxDims) throw new ArgumentException($"tensor '{name}': {shape.Length} dimensions");
        if (shape[0] % info.BlockSize != 0) throw new ArgumentException($"tensor '{name}': row length {shape[0]} is not a multiple of the {type} block size {info.BlockSize}");
        long n = shape.Aggregate(1L, (a, b) => checked(a * b));
        return n / info.BlockSize * info.TypeSize;
    }

    public void Write(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Write(fs);
    }

    public void Write(Stream output)
    {
        if (Version is not (2 or 3)) throw new InvalidOperationException($"GGUF version {Version} cannot be written (2 or 3)");
        uint alignment = GgufFile.DefaultAlignment;
        var alignEntry = _metadata.FirstOrDefault(kv => kv.Key == "general.alignment");
        if (alignEntry.Key != null) alignment = alignEntry.Value.Value is uint a && a != 0 && (a & (a - 1)) == 0 ? a : throw new InvalidOperationException("general.alignment must be a UInt32 power of two");

        var header = new MemoryStream();
        var w = new BinaryWriter(header, Encoding.UTF8, leaveOpen: true);
        w.Write(GgufFile.Magic);
        w.Write(Version);
        w.Write((ulong)_tensors.Count);
        w.Write((ulong)_metadata.Count);
        foreach (var kv in _metadata)
        {
            WriteString(w, kv.Key);
            w.Write((uint)kv.Value.Type);
            WriteValue(w, kv.Value.Type, kv.Value.Value);
        }

        long offset = 0;
        var offsets = new long[_tensors.Count];
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            WriteString(w, t.Name);
            w.Write((uint)t.Shape.Length);
            foreach (var d in t.Shape) w.Write(d);
            w.Write((uint)t.Type);
            w.Write((ulong)offset);
            offsets[i] = offset;
            offset = GgufReader.AlignUp(offset + t.Bytes, alignment);
        }

        w.Flush();
        Pad(header, alignment);
        header.Position = 0;
        header.CopyTo(output);

        long written = 0;
        for (int i = 0; i < _tensors.Count; i++)
        {
            var t = _tensors[i];
            WriteZeros(output, offsets[i] - written);
            var counting = new CountingStream(output);
            t.Write(counting);
            if (counting.Count != t.Bytes) throw new InvalidOperationException($"tensor '{t.Name}': writer produced {counting.Count} bytes, expected {t.Bytes}");
            written = offsets[i] + t.Bytes;
        }

        if (_tensors.Count > 0) WriteZeros(output, GgufReader.AlignUp(written, alignment) - written);
        output.Flush();
    }

    private static void Pad(Stream s, long alignment) => WriteZeros(s, GgufReader.AlignUp(s.Length, alignment) - s.Length);

    private static void WriteZeros(Stream s, long n)
    {
        Span<byte> zeros = stackalloc byte[256];
        zeros.Clear();
        while (n > 0)
        {
            int k = (int)Math.Min(n, zeros.Length);
            s.Write(zeros[..k]);
            n -= k;
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void WriteValue(BinaryWriter w, GgufValueType type, object value)
    {
        switch (type)
        {
            case GgufValueType.UInt8: w.Write((byte)value); break;
            case GgufValueType.Int8: w.Write((sbyte)value); break;
            case GgufValueType.UInt16: w.Write((ushort)value); break;
            case GgufValueType.Int16: w.Write((short)value); break;
            case GgufValueType.UInt32: w.Write((uint)value); break;
            case GgufValueType.Int32: w.Write((int)value); break;
            case GgufValueType.Float32: w.Write((float)value); break;
            case GgufValueType.UInt64: w.Write((ulong)value); break;
            case GgufValueType.Int64: w.Write((long)value); break;
            case GgufValueType.Float64: w.Write((double)value); break;
            case GgufValueType.Bool: w.Write((byte)((bool)value ? 1 : 0)); break;
            case GgufValueType.String: WriteString(w, (string)value); break;
            case GgufValueType.Array:
            {
                var a = (GgufArray)value;
                w.Write((uint)a.ElementType);
                w.Write((ulong)a.Count);
                foreach (var item in a.Items) WriteValue(w, a.ElementType, item!);
                break;
            }
            default: throw new InvalidOperationException($"unknown metadata value type {type}");
        }
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Count { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Count; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            Count += buffer.Length;
        }
    }
}
