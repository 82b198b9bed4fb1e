using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Hearth.Tensors;

namespace Hearth.Conversion;

/// <summary>
/// Builds a safetensors file: tensors in insertion order, packed without gaps, the JSON header padded with spaces to a
/// multiple of 8 bytes (as the reference writer does), optional <c>__metadata__</c> string pairs.
/// </summary>
public sealed class SafetensorsWriter
{
    private readonly List<(string Name, SafetensorsDType DType, long[] Shape, byte[] Data)> _tensors = [];
    private readonly Dictionary<string, string> _metadata = new(StringComparer.Ordinal);

    /// <summary>Sets a <c>__metadata__</c> entry.</summary>
    public SafetensorsWriter SetMetadata(string key, string value)
    {
        _metadata[key] = value;
        return this;
    }

    /// <summary>Adds a tensor whose bytes are already in <paramref name="dtype"/>'s little-endian layout.</summary>
    /// <exception cref="ArgumentException">The name is a duplicate or reserved, or the byte count does not match the shape.</exception>
    public SafetensorsWriter Add(string name, SafetensorsDType dtype, long[] shape, ReadOnlySpan<byte> data)
    {
        if (name == "__metadata__") throw new ArgumentException("'__metadata__' is reserved and cannot name a tensor", nameof(name));
        if (_tensors.Any(t => t.Name == name)) throw new ArgumentException($"duplicate tensor name '{name}'", nameof(name));
        if (shape.Any(d => d < 0)) throw new ArgumentException($"tensor '{name}': negative dimension in [{string.Join(", ", shape)}]", nameof(shape));
        long bytes = shape.Aggregate(1L, (a, b) => checked(a * b)) * SafetensorsFile.ElementSize(dtype);
        if (data.Length != bytes) throw new ArgumentException($"tensor '{name}': {data.Length} bytes given, {dtype} [{string.Join(", ", shape)}] needs {bytes}", nameof(data));
        _tensors.Add((name, dtype, (long[])shape.Clone(), data.ToArray()));
        return this;
    }

    /// <summary>Adds float values, stored as <paramref name="dtype"/> (F16 and BF16 round to nearest even).</summary>
    public SafetensorsWriter Add(string name, long[] shape, ReadOnlySpan<float> values, SafetensorsDType dtype = SafetensorsDType.F32)
    {
        var bytes = new byte[values.Length * SafetensorsFile.ElementSize(dtype)];
        switch (dtype)
        {
            case SafetensorsDType.F32: MemoryMarshal.AsBytes(values).CopyTo(bytes); break;
            case SafetensorsDType.F16: Quants.Quantize(GgmlType.F16, values, bytes); break;
            case SafetensorsDType.BF16: Quants.Quantize(GgmlType.BF16, values, bytes); break;
        }

        return Add(name, dtype, shape, bytes);
    }

    /// <summary>Writes the file.</summary>
    public void Write(string path)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Write(fs);
    }

    /// <summary>Writes the file to a stream.</summary>
    public void Write(Stream output)
    {
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (_metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var kv in _metadata) w.WriteString(kv.Key, kv.Value);
                w.WriteEndObject();
            }

            long offset = 0;
            foreach (var t in _tensors)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", SafetensorsFile.DTypeName(t.DType));
                w.WriteStartArray("shape");
                foreach (var d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }

            w.WriteEndObject();
        }

        while (json.Length % 8 != 0) json.WriteByte((byte)' ');
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)json.Length);
        output.Write(len);
        json.Position = 0;
        json.CopyTo(output);
        foreach (var t in _tensors) output.Write(t.Data);
        output.Flush();
    }

    internal static string Describe(IEnumerable<string> names) => new StringBuilder().AppendJoin(", ", names).ToString();
}
