using System.Buffers.Binary;
using System.Text;
using Hearth.Conversion;

namespace Hearth.Tests.Conversion;

/// <summary>The safetensors reader and writer: round trips and hand-made corrupt files.</summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Raw(string json, int dataBytes, ulong? headerLength = null)
    {
        var header = Encoding.UTF8.GetBytes(json);
        var bytes = new byte[8 + header.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)header.Length);
        header.CopyTo(bytes, 8);
        string path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void WriteThenReadRoundTripsEveryDType()
    {
        float[] values = [1f, -2.5f, 0.099975586f, 65504f, -0f, 3.140625f];
        string path = Path.Combine(_dir, "rt.safetensors");
        new SafetensorsWriter()
            .SetMetadata("format", "pt")
            .Add("a.f32", [2, 3], values)
            .Add("b.f16", [6], values, SafetensorsDType.F16)
            .Add("c.bf16", [3, 2], values, SafetensorsDType.BF16)
            .Write(path);

        using var f = SafetensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(0, f.DataOffset % 8);
        Assert.Equal(["a.f32", "b.f16", "c.bf16"], f.Tensors.Select(t => t.Name));
        Assert.Equal(values, f.ReadFloats(f.Find("a.f32")!));
        Assert.Equal([2L, 3L], f.Find("a.f32")!.Shape);
        Assert.Equal(SafetensorsDType.F16, f.Find("b.f16")!.DType);
        // These values are exact in F16; in BF16 only those with 8 significant bits are.
        Assert.Equal(values, f.ReadFloats(f.Find("b.f16")!));
        Assert.Equal([1f, -2.5f, 65536f, 3.140625f], f.ReadFloats(f.Find("c.bf16")!).Where((_, i) => i is 0 or 1 or 3 or 5));
    }

    [Fact]
    public void HeaderLengthPastTheEndIsRejected()
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(Raw("{}", 0, headerLength: 1000)));
        Assert.Contains("header length 1000", e.Message);
        e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(Raw("{}", 0, headerLength: ulong.MaxValue)));
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void TooShortAndNonJsonFilesAreRejected()
    {
        string tiny = Path.Combine(_dir, "tiny.safetensors");
        File.WriteAllBytes(tiny, [1, 2, 3]);
        Assert.Contains("too short", Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(tiny)).Message);
        Assert.Contains("not valid JSON", Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(Raw("{\"a\":", 0))).Message);
    }

    [Fact]
    public void OffsetsPastTheEndAreRejected()
    {
        var e = Assert.Throws<SafetensorsFormatException>(() =>
            SafetensorsFile.Open(Raw("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8)));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("past the end", e.Message);
    }

    [Fact]
    public void DTypeShapeMismatchIsRejected()
    {
        var e = Assert.Throws<SafetensorsFormatException>(() =>
            SafetensorsFile.Open(Raw("{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16)));
        Assert.Contains("needs 8 bytes", e.Message);
    }

    [Fact]
    public void OverlappingTensorsAndUnknownDTypesAreRejected()
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(Raw(
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12)));
        Assert.Contains("overlap", e.Message);
        e = Assert.Throws<SafetensorsFormatException>(() =>
            SafetensorsFile.Open(Raw("{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8)));
        Assert.Contains("I64", e.Message);
    }

    [Fact]
    public void HugeShapesAreRejectedBeforeAnyAllocation()
    {
        var e = Assert.Throws<SafetensorsFormatException>(() => SafetensorsFile.Open(Raw(
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8)));
        Assert.Contains("'w'", e.Message);
    }

    [Fact]
    public void WriterRejectsMismatchedDataAndDuplicates()
    {
        var w = new SafetensorsWriter().Add("a", [2], [1f, 2f]);
        Assert.Throws<ArgumentException>(() => w.Add("a", [2], [1f, 2f]));
        Assert.Throws<ArgumentException>(() => w.Add("b", SafetensorsDType.F32, [3], new byte[8]));
        Assert.Throws<ArgumentException>(() => w.Add("__metadata__", [1], [1f]));
    }
}
