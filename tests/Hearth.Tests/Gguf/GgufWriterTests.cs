using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Tests.Gguf;

public sealed class GgufWriterTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(2u, 32u)]
    [InlineData(3u, 32u)]
    [InlineData(3u, 64u)]
    public void RoundTripsEveryValueTypeAndTensorData(uint version, uint alignment)
    {
        var w = new GgufWriter { Version = version };
        w.Set("general.alignment", alignment);
        w.Set("u8", GgufValue.Of((byte)200)).Set("i8", GgufValue.Of((sbyte)-5)).Set("u16", GgufValue.Of((ushort)60000))
         .Set("i16", GgufValue.Of((short)-30000)).Set("u32", GgufValue.Of(4000000000u)).Set("i32", GgufValue.Of(-7))
         .Set("f32", GgufValue.Of(1.5f)).Set("bool", GgufValue.Of(true)).Set("str", GgufValue.Of("héllo ✓"))
         .Set("u64", GgufValue.Of(ulong.MaxValue)).Set("i64", GgufValue.Of(long.MinValue)).Set("f64", GgufValue.Of(Math.PI))
         .Set("arr.str", GgufArray.Of(["a", "", "ü"])).Set("arr.f32", GgufArray.Of([1f, -2f]))
         .Set("arr.nested", GgufArray.Of([GgufArray.Of([1, 2, 3]), GgufArray.Of(new int[0])]));
        var rng = new Random(1);
        var f32 = Enumerable.Range(0, 64).Select(_ => (float)rng.NextDouble()).ToArray();
        var q8 = new byte[GgmlTypes.Get(GgmlType.Q8_0).TypeSize * 4];
        rng.NextBytes(q8);
        w.AddTensor("w.f32", [32, 2], f32);
        w.AddTensor("w.q8", [128], GgmlType.Q8_0, q8);
        var path = _files.NewPath($"rt{version}-{alignment}.gguf");
        w.Write(path);

        using var f = GgufFile.Open(path);
        Assert.Equal(version, f.Version);
        Assert.Equal(alignment, f.Alignment);
        Assert.Equal(0, f.DataOffset % alignment);
        Assert.Equal((byte)200, f.Get("u8")!.Value);
        Assert.Equal((sbyte)-5, f.Get("i8")!.Value);
        Assert.Equal((ushort)60000, f.Get("u16")!.Value);
        Assert.Equal((short)-30000, f.Get("i16")!.Value);
        Assert.Equal(4000000000u, f.Get("u32")!.Value);
        Assert.Equal(-7, f.Get("i32")!.Value);
        Assert.Equal(1.5f, f.Get("f32")!.Value);
        Assert.Equal(true, f.GetBool("bool"));
        Assert.Equal("héllo ✓", f.GetString("str"));
        Assert.Equal(ulong.MaxValue, f.Get("u64")!.Value);
        Assert.Equal(long.MinValue, f.Get("i64")!.Value);
        Assert.Equal(Math.PI, f.Get("f64")!.Value);
        Assert.Equal(["a", "", "ü"], f.GetArray<string>("arr.str")!);
        Assert.Equal([1f, -2f], f.GetArray<float>("arr.f32")!);
        var nested = f.GetArray<GgufArray>("arr.nested")!;
        Assert.Equal([1, 2, 3], (int[])nested[0].Items);
        Assert.Empty(nested[1].Items);
        Assert.Equal(f32, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.TensorData(f.FindTensor("w.f32")!)).ToArray());
        var q8t = f.FindTensor("w.q8")!;
        Assert.Equal(0ul, q8t.Offset % alignment);
        Assert.Equal(q8, f.TensorData(q8t).ToArray());
        Assert.Equal(Enumerable.Range(0, 16).Select(i => f.MetadataList[i].Key), new[] { "general.alignment", "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "u64", "i64", "f64", "arr.str", "arr.f32", "arr.nested" });
    }

    [Fact]
    public void RewritingTheSharedModelReproducesItsMetadataAndTensors()
    {
        using var src = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var w = new GgufWriter().CopyMetadata(src);
        foreach (var t in src.Tensors) w.AddTensor(t.Name, t.Shape, t.Type, src.TensorData(t).ToArray());
        var path = _files.NewPath("copy.gguf");
        w.Write(path);
        using var copy = GgufFile.Open(path);
        Assert.Equal(src.MetadataList.Select(kv => kv.Key), copy.MetadataList.Select(kv => kv.Key));
        Assert.Equal(src.GetArray<string>("tokenizer.ggml.tokens"), copy.GetArray<string>("tokenizer.ggml.tokens"));
        foreach (var t in src.Tensors)
        {
            Assert.True(src.TensorData(t).SequenceEqual(copy.TensorData(copy.FindTensor(t.Name)!)), t.Name);
        }

        // The reference packs tensors back to back with padding; so does the writer, so the file is byte-identical.
        Assert.Equal(File.ReadAllBytes(TestData.Path("models", "stories260K.gguf")), File.ReadAllBytes(path));
    }

    [Fact]
    public void WriterRejectsShapesThatDoNotFitTheType()
    {
        var w = new GgufWriter();
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", [33], GgmlType.Q4_0, new byte[18]));
        Assert.Throws<ArgumentException>(() => w.AddTensor("x", [32], GgmlType.Q4_0, new byte[17]));
    }
}
