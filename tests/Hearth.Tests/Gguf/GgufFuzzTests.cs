using Hearth.Gguf;

namespace Hearth.Tests.Gguf;

/// <summary>
/// Mutates valid files at random (seeded, so failures reproduce) and asserts that every mutant either opens or fails
/// with <see cref="GgufFormatException"/>: never another exception, a crash or a hang.
/// </summary>
public sealed class GgufFuzzTests : IDisposable
{
    private readonly TempFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(1, 1500)]
    [InlineData(2, 1500)]
    public void RandomMutationsOnlyEverFailCleanly(int seed, int cases)
    {
        var seeds = new List<byte[]> { RawGguf.Valid(), SmallModelPrefix() };
        var rng = new Random(seed);
        var path = _files.NewPath($"fuzz{seed}.gguf");
        int opened = 0, rejected = 0;
        for (int i = 0; i < cases; i++)
        {
            var bytes = Mutate(seeds[rng.Next(seeds.Count)], rng);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var f = GgufFile.Open(path);
                // Whatever opened must be internally consistent: every tensor lies inside the file.
                foreach (var t in f.Tensors) Assert.True(f.DataOffset + (long)t.Offset + t.ByteSize <= f.FileLength);
                opened++;
            }
            catch (GgufFormatException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i} (seed {seed}) threw {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.Equal(cases, opened + rejected);
        Assert.True(rejected > cases / 10, $"only {rejected} of {cases} mutants were rejected: the mutator is too gentle");
    }

    /// <summary>The shared stories model's real metadata (vocabulary arrays included) with three small tensors.</summary>
    private static byte[] SmallModelPrefix()
    {
        using var src = GgufFile.Open(TestData.Path("models", "stories260K.gguf"));
        var w = new GgufWriter().CopyMetadata(src);
        foreach (var t in src.Tensors.Where(t => t.Shape.Length == 1).Take(3)) w.AddTensor(t.Name, t.Shape, t.Type, src.TensorData(t).ToArray());
        var ms = new MemoryStream();
        w.Write(ms);
        return ms.ToArray();
    }

    private static byte[] Mutate(byte[] source, Random rng)
    {
        var b = (byte[])source.Clone();
        int kind = rng.Next(6);
        int headerEnd = Math.Min(b.Length, 16000);
        switch (kind)
        {
            case 0: // flip a few random bits in the header area
                for (int k = rng.Next(1, 8); k > 0; k--) b[rng.Next(headerEnd)] ^= (byte)(1 << rng.Next(8));
                return b;
            case 1: // overwrite 8 bytes with an extreme value (lengths, counts, offsets)
            {
                int at = rng.Next(Math.Max(1, headerEnd - 8));
                ulong[] extremes = [0, 1, ulong.MaxValue, long.MaxValue, 1UL << 32, 1UL << 63, (ulong)rng.NextInt64()];
                BitConverter.GetBytes(extremes[rng.Next(extremes.Length)]).CopyTo(b, at);
                return b;
            }
            case 2: // truncate
                return b[..rng.Next(b.Length)];
            case 3: // overwrite 4 bytes with a small integer (types, dimension counts)
            {
                int at = rng.Next(Math.Max(1, headerEnd - 4));
                BitConverter.GetBytes((uint)rng.Next(-2, 40)).CopyTo(b, at);
                return b;
            }
            case 4: // duplicate a chunk of the header over another place
            {
                int len = rng.Next(1, 64);
                int from = rng.Next(Math.Max(1, headerEnd - len));
                int to = rng.Next(Math.Max(1, headerEnd - len));
                Array.Copy(b, from, b, to, Math.Min(len, b.Length - Math.Max(from, to)));
                return b;
            }
            default: // random bytes over a short run
            {
                int at = rng.Next(headerEnd);
                int len = Math.Min(rng.Next(1, 16), b.Length - at);
                rng.NextBytes(b.AsSpan(at, len));
                return b;
            }
        }
    }
}
