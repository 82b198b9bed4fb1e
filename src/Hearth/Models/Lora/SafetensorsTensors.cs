using System.Buffers.Binary;
using System.Text.Json;
using Hearth.Tensors;

namespace Hearth.Models.Lora;

/// <summary>
/// A minimal reader of the safetensors format (an 8-byte little-endian header length, a JSON header naming each
/// tensor's dtype, shape and byte range, then the data) for PEFT adapters: F32, F16 and BF16 tensors read as floats.
/// Everything in the header is checked against the file before it sizes anything.
/// </summary>
internal sealed class SafetensorsTensors
{
    /// <summary>Largest header accepted (the format's own readers refuse 100 MB too).</summary>
    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly string _path;
    private readonly long _dataStart;
    private readonly Dictionary<string, (string Dtype, long[] Shape, long Begin, long End)> _tensors;

    private SafetensorsTensors(string path, long dataStart, Dictionary<string, (string, long[], long, long)> tensors)
    {
        _path = path;
        _dataStart = dataStart;
        _tensors = tensors;
    }

    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>The shape of a tensor, outermost dimension first (as PyTorch writes it).</summary>
    public long[] Shape(string name) => _tensors[name].Shape;

    /// <exception cref="ModelFormatException">The file is not valid safetensors.</exception>
    public static SafetensorsTensors Open(string path)
    {
        using var handle = File.OpenHandle(path);
        long length = RandomAccess.GetLength(handle);
        Span<byte> prefix = stackalloc byte[8];
        if (length < 8 || RandomAccess.Read(handle, prefix, 0) != 8) throw new ModelFormatException($"{path}: too short for a safetensors file");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength == 0 || headerLength > MaxHeaderBytes || (long)headerLength > length - 8)
            throw new ModelFormatException($"{path}: safetensors header length {headerLength} does not fit the file ({length} bytes)");
        var header = new byte[headerLength];
        if (RandomAccess.Read(handle, header, 8) != header.Length) throw new ModelFormatException($"{path}: truncated safetensors header");
        long dataStart = 8 + (long)headerLength;
        long dataLength = length - dataStart;
        var tensors = new Dictionary<string, (string, long[], long, long)>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(header);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ModelFormatException($"{path}: the safetensors header is not a JSON object");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name == "__metadata__") continue;
                var dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                int size = dtype switch
                {
                    "F32" => 4,
                    "F16" or "BF16" => 2,
                    _ => throw new ModelFormatException($"{path}: tensor '{p.Name}' has dtype {dtype}; only F32, F16 and BF16 are supported"),
                };
                long elements = 1;
                foreach (var d in shape)
                {
                    if (d < 0 || (d > 0 && elements > long.MaxValue / d / size)) throw new ModelFormatException($"{path}: tensor '{p.Name}' has an invalid shape");
                    elements *= d;
                }

                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLength || offsets[1] - offsets[0] != elements * size)
                    throw new ModelFormatException($"{path}: tensor '{p.Name}': data offsets do not match its shape or lie past the end of the file");
                if (!tensors.TryAdd(p.Name, (dtype, shape, offsets[0], offsets[1]))) throw new ModelFormatException($"{path}: duplicate tensor '{p.Name}'");
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ModelFormatException($"{path}: invalid safetensors header: {e.Message}");
        }

        return new SafetensorsTensors(path, dataStart, tensors);
    }

    /// <summary>A tensor's elements as floats, in storage order.</summary>
    public float[] ReadFloats(string name)
    {
        var (dtype, _, begin, end) = _tensors[name];
        var bytes = new byte[end - begin];
        using (var handle = File.OpenHandle(_path))
        {
            if (RandomAccess.Read(handle, bytes, _dataStart + begin) != bytes.Length) throw new ModelFormatException($"{_path}: tensor '{name}' is truncated");
        }

        if (dtype == "F32")
        {
            var f = new float[bytes.Length / 4];
            for (int i = 0; i < f.Length; i++) f[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * 4));
            return f;
        }

        var result = new float[bytes.Length / 2];
        Quants.Dequantize(dtype == "F16" ? GgmlType.F16 : GgmlType.BF16, bytes, result);
        return result;
    }
}
