using Hearth.Planning;

namespace Hearth.Tests.Planning;

public sealed class MemorySizeTests
{
    [Theory]
    [InlineData("10GB", 10_000_000_000L)]
    [InlineData("8G", 8_000_000_000L)]
    [InlineData("8g", 8_000_000_000L)]
    [InlineData("512MiB", 512L * 1024 * 1024)]
    [InlineData("512mib", 512L * 1024 * 1024)]
    [InlineData("8Gi", 8L * 1024 * 1024 * 1024)]
    [InlineData("1.5GiB", 3L * 512 * 1024 * 1024)]
    [InlineData("1.5GB", 1_500_000_000L)]
    [InlineData("2TB", 2_000_000_000_000L)]
    [InlineData("1TiB", 1024L * 1024 * 1024 * 1024)]
    [InlineData("100KB", 100_000L)]
    [InlineData("100KiB", 102_400L)]
    [InlineData("3M", 3_000_000L)]
    [InlineData("4096", 4096L)]
    [InlineData("4096B", 4096L)]
    [InlineData(" 10 GB ", 10_000_000_000L)]
    [InlineData("0.5KiB", 512L)]
    [InlineData("1.0009KB", 1000L)]
    public void ParsesDecimalAndBinaryUnits(string text, long expected)
    {
        Assert.Equal(expected, MemorySize.Parse(text));
        Assert.True(MemorySize.TryParse(text, out long bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("GB", "number")]
    [InlineData("-1GB", "positive")]
    [InlineData("0", "at least one byte")]
    [InlineData("0GB", "at least one byte")]
    [InlineData("0.1B", "at least one byte")]
    [InlineData("10XB", "unknown unit")]
    [InlineData("10 G B", "unknown unit")]
    [InlineData("1.2.3GB", "number")]
    [InlineData(".", "number")]
    [InlineData("99999999999TB", "too large")]
    [InlineData("99999999999999999999999", "too large")]
    public void RejectsWhatIsNotAPositiveSize(string text, string reason)
    {
        var e = Assert.Throws<ArgumentException>(() => MemorySize.Parse(text));
        Assert.Contains(reason, e.Message);
        Assert.Contains("512MiB", e.Message); // shows valid examples
        Assert.False(MemorySize.TryParse(text, out long bytes));
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void NullIsNotASize() => Assert.False(MemorySize.TryParse(null, out _));

    [Fact]
    public void FormatsMebibytes() => Assert.Equal("1.5 MiB", MemorySize.Format(3 * 512 * 1024));
}
