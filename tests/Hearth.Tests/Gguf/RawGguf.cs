using System.Text;

namespace Hearth.Tests.Gguf;

/// <summary>
/// Writes GGUF bytes by hand, field by field, independently of the library's writer, so tests can build both valid
/// files and files broken in one precise place.
/// </summary>
internal sealed class RawGguf
{
    private readonly MemoryStream _ms = new();
    private readonly BinaryWriter _w;

    public RawGguf() => _w = new BinaryWriter(_ms, Encoding.UTF8, leaveOpen: true);

    public long Position => _ms.Position;

    public RawGguf U8(byte v) { _w.Write(v); return this; }
    public RawGguf U32(uint v) { _w.Write(v); return this; }
    public RawGguf I32(int v) { _w.Write(v); return this; }
    public RawGguf U64(ulong v) { _w.Write(v); return this; }
    public RawGguf I64(long v) { _w.Write(v); return this; }
    public RawGguf F32(float v) { _w.Write(v); return this; }
    public RawGguf Bytes(byte[] b) { _w.Write(b); return this; }

    public RawGguf Str(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        _w.Write((ulong)b.Length);
        _w.Write(b);
        return this;
    }

    public RawGguf Header(uint version, ulong tensors, ulong kvs) => U32(0x46554747).U32(version).U64(tensors).U64(kvs);

    /// <summary>A key with a UInt32 value (type 4).</summary>
    public RawGguf KvU32(string key, uint v) => Str(key).U32(4).U32(v);

    public RawGguf KvStr(string key, string v) => Str(key).U32(8).Str(v);

    /// <summary>A tensor-table entry.</summary>
    public RawGguf Tensor(string name, long[] shape, uint type, ulong offset)
    {
        Str(name).U32((uint)shape.Length);
        foreach (var d in shape) I64(d);
        return U32(type).U64(offset);
    }

    public RawGguf PadTo(int alignment)
    {
        while (_ms.Position % alignment != 0) _w.Write((byte)0);
        return this;
    }

    public RawGguf Zeros(int n)
    {
        _w.Write(new byte[n]);
        return this;
    }

    public byte[] ToArray()
    {
        _w.Flush();
        return _ms.ToArray();
    }

    /// <summary>A small valid file: two metadata keys and two F32 tensors of 32 and 64 elements.</summary>
    public static byte[] Valid()
    {
        var r = new RawGguf().Header(3, 2, 2).KvStr("general.architecture", "llama").KvU32("llama.block_count", 1)
            .Tensor("a", [32], 0, 0).Tensor("b", [32, 2], 0, 128).PadTo(32);
        for (int i = 0; i < 96; i++) r.F32(i);
        return r.ToArray();
    }
}

/// <summary>Writes byte arrays to temporary files that disappear with the test class.</summary>
internal sealed class TempFiles : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hearth-test-").FullName;
    private int _n;

    public string Dir => _dir;

    public string Write(byte[] bytes, string name = "")
    {
        var path = Path.Combine(_dir, (name.Length > 0 ? name : $"f{Interlocked.Increment(ref _n)}") + ".gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string NewPath(string name) => Path.Combine(_dir, name);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
