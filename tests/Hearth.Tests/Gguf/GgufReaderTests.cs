using Hearth.Gguf;
using Hearth.Tensors;

namespace Hearth.Tests.Gguf;

public sealed class GgufReaderTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public void ReadsAHandWrittenFile()
    {
        using var f = GgufFile.Open(_files.Write(RawGguf.Valid()));
        Assert.Equal(3u, f.Version);
        Assert.Equal("llama", f.GetString("general.architecture"));
        Assert.Equal(1, f.GetInteger("llama.block_count"));
        Assert.Equal(2, f.Tensors.Count);
        var b = f.FindTensor("b")!;
        Assert.Equal([32L, 2L], b.Shape);
        Assert.Equal(256, b.ByteSize);
        var data = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(f.TensorData(b));
        Assert.Equal(32f, data[0]);
        Assert.Equal(95f, data[63]);
    }

    [Fact]
    public void ReadsTheSharedStoriesModel()
    {
        using var f = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        Assert.Equal("llama", f.GetString("general.architecture"));
        Assert.Equal(512, f.GetArray<string>("tokenizer.ggml.tokens")!.Length);
        var emb = f.FindTensor("token_embd.weight")!;
        Assert.Equal(GgmlType.F32, emb.Type);
        Assert.Equal([64L, 512L], emb.Shape);
        Assert.Equal(f.FileLength, f.DataOffset + f.Tensors.Max(t => (long)t.Offset + t.ByteSize));
    }

    public static TheoryData<string, byte[], string> CorruptFiles()
    {
        var data = new TheoryData<string, byte[], string>();
        void Add(string name, RawGguf r, string expected) => data.Add(name, r.ToArray(), expected);

        Add("bad magic", new RawGguf().U32(0x46554746).U32(3).U64(0).U64(0), "bad magic");
        Add("version 1", new RawGguf().U32(0x46554747).U32(1).U64(0).U64(0), "version 1");
        Add("version 4", new RawGguf().Header(4, 0, 0), "unsupported GGUF version 4");
        Add("big endian", new RawGguf().U32(0x46554747).U32(0x03000000).U64(0).U64(0), "big-endian");
        Add("truncated header", new RawGguf().U32(0x46554747).U32(3).U32(0), "truncated");
        Add("huge kv count", new RawGguf().Header(3, 0, ulong.MaxValue), "metadata count");
        Add("huge tensor count", new RawGguf().Header(3, 1UL << 60, 0), "tensor count");
        Add("duplicate key", new RawGguf().Header(3, 0, 2).KvU32("a.b", 1).KvU32("a.b", 2), "duplicate metadata key 'a.b'");
        Add("empty key", new RawGguf().Header(3, 0, 1).KvU32("", 1), "empty key");
        Add("string past end", new RawGguf().Header(3, 0, 1).Str("k").U32(8).U64(1000).Bytes([65, 66]), "runs past the end");
        Add("key length past end", new RawGguf().Header(3, 0, 1).U64(ulong.MaxValue), "runs past the end");
        Add("array past end", new RawGguf().Header(3, 0, 1).Str("k").U32(9).U32(4).U64(1UL << 40).U32(1), "array of 1099511627776");
        Add("string array past end", new RawGguf().Header(3, 0, 1).Str("k").U32(9).U32(8).U64(1UL << 61), "runs past the end");
        Add("unknown value type", new RawGguf().Header(3, 0, 1).Str("k").U32(13).U32(0), "unknown value type 13");
        Add("unknown array type", new RawGguf().Header(3, 0, 1).Str("k").U32(9).U32(77).U64(1), "unknown value type 77");
        Add("bad bool", new RawGguf().Header(3, 0, 1).Str("k").U32(7).U8(2), "invalid bool");
        Add("alignment not power of two", new RawGguf().Header(3, 0, 1).KvU32("general.alignment", 24), "not a power of two");
        Add("alignment zero", new RawGguf().Header(3, 0, 1).KvU32("general.alignment", 0), "not a power of two");
        Add("alignment wrong type", new RawGguf().Header(3, 0, 1).KvStr("general.alignment", "32"), "expected UInt32");
        Add("too many dims", new RawGguf().Header(3, 1, 0).Str("t").U32(5), "5 dimensions");
        Add("negative dim", new RawGguf().Header(3, 1, 0).Tensor("t", [-32], 0, 0), "negative");
        Add("overflowing dims", new RawGguf().Header(3, 1, 0).Tensor("t", [1L << 40, 1L << 40], 0, 0), "overflows");
        Add("overflowing bytes", new RawGguf().Header(3, 1, 0).Tensor("t", [1L << 31, 1L << 31, 4], 0, 0), "overflows");
        Add("unknown tensor type", new RawGguf().Header(3, 1, 0).Tensor("t", [32], 99, 0), "unknown type 99");
        Add("row not multiple of block", new RawGguf().Header(3, 1, 0).Tensor("t", [33], (uint)GgmlType.Q4_0, 0), "not a multiple of the Q4_0 block size 32");
        Add("misaligned offset", new RawGguf().Header(3, 1, 0).Tensor("t", [8], 0, 4).PadTo(32).Zeros(64), "not a multiple of the alignment");
        Add("duplicate tensor", new RawGguf().Header(3, 2, 0).Tensor("t", [8], 0, 0).Tensor("t", [8], 0, 32).PadTo(32).Zeros(64), "duplicate tensor name 't'");
        Add("long tensor name", new RawGguf().Header(3, 1, 0).Tensor(new string('x', 64), [8], 0, 0).PadTo(32).Zeros(32), "longer than 63 bytes");
        Add("overlapping tensors", new RawGguf().Header(3, 2, 0).Tensor("a", [32], 0, 0).Tensor("b", [32], 0, 64).PadTo(32).Zeros(256), "overlaps tensor 'a'");
        Add("data past end", new RawGguf().Header(3, 1, 0).Tensor("t", [64], 0, 0).PadTo(32).Zeros(128), "runs past the end of the file");
        Add("offset past end", new RawGguf().Header(3, 1, 0).Tensor("t", [8], 0, 1UL << 62).PadTo(32).Zeros(32), "runs past the end of the file");
        Add("no data section", new RawGguf().Header(3, 1, 0).Tensor("t", [8], 0, 0), "tensor data");
        Add("nesting too deep", Nested(12), "nests arrays deeper");
        return data;
    }

    private static RawGguf Nested(int depth)
    {
        var r = new RawGguf().Header(3, 0, 1).Str("k").U32(9);
        for (int i = 0; i < depth; i++) r.U32(9).U64(1);
        return r.U32(4).U64(0);
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFilesFailWithATypedErrorNamingTheProblem(string name, byte[] bytes, string expected)
    {
        var path = _files.Write(bytes, name.Replace(' ', '-'));
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
        Assert.Contains(expected, e.Message);
        Assert.StartsWith(path, e.Message);
        Assert.True(e.Offset >= 0 || e.TensorName != null, "the error names an offset or a tensor");
    }

    [Fact]
    public void EveryTruncationOfAValidFileFailsCleanly()
    {
        var valid = RawGguf.Valid();
        for (int len = 0; len < valid.Length; len++)
        {
            var path = _files.Write(valid[..len], $"trunc{len}");
            var e = Record.Exception(() => GgufFile.Open(path).Dispose());
            Assert.True(e is GgufFormatException, $"length {len}: {e?.GetType().Name ?? "no error"}: {e?.Message}");
        }
    }

    [Fact]
    public void AHugeDeclaredArrayAllocatesNothingLikeItsSize()
    {
        // 2^26 uint32 items declared but the file holds only a few bytes: the reader must refuse before allocating.
        var bytes = new RawGguf().Header(3, 0, 1).Str("k").U32(9).U32(4).U64(1UL << 26).Zeros(64).ToArray();
        var path = _files.Write(bytes);
        long before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes for a {bytes.Length}-byte file");
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => GgufFile.Open(_files.NewPath("absent.gguf")));
    }

    [Fact]
    public void TensorDataIsReadThroughTheMappingNotCopied()
    {
        using var f = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var t = f.FindTensor("token_embd.weight")!;
        long before = GC.GetAllocatedBytesForCurrentThread();
        var span = f.TensorData(t);
        float sum = 0;
        foreach (var v in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(span)) sum += v;
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024);
        Assert.True(float.IsFinite(sum));
    }
}
