using Hearth.Cli;

namespace Hearth.Tests.Planning;

/// <summary><c>hearth fit</c> in-process: output shape and errors (the measurement runs in its own process elsewhere).</summary>
public sealed class FitCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    private static string Stories => TestData.Path("models", "stories260K.gguf");

    [Fact]
    public void PrintsComponentsAndARecommendation()
    {
        var (code, output, _) = Run("fit", Stories, "--memory", "1GB", "--ctx", "512", "--parallel", "2", "--kv-type", "f16");
        Assert.Equal(0, code);
        foreach (var line in new[] { "weights", "KV cache", "compute buffers", "runtime", "total", "recommended: F16" }) Assert.Contains(line, output);
        Assert.Contains("f16, 512 tokens", output);
    }

    [Fact]
    public void JsonCarriesEveryComponent()
    {
        var (code, output, _) = Run("fit", Stories, "--json", "--memory", "512MiB");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        var e = doc.RootElement.GetProperty("estimate");
        long sum = new[] { "weight_bytes", "file_overhead_bytes", "model_heap_bytes", "kv_cache_bytes", "compute_bytes", "runtime_bytes" }
            .Sum(k => e.GetProperty(k).GetInt64());
        Assert.Equal(sum, e.GetProperty("total_bytes").GetInt64());
        Assert.Equal(512L << 20, doc.RootElement.GetProperty("recommendation").GetProperty("budget_bytes").GetInt64());
    }

    [Theory]
    [InlineData("--memory", "10XB")]
    [InlineData("--kv-type", "q8")]
    [InlineData("--parallel", "0")]
    [InlineData("--fill")]
    public void BadArgumentsAreClearErrors(params string[] extra)
    {
        var (code, _, err) = Run(["fit", Stories, .. extra]);
        Assert.NotEqual(0, code);
        Assert.StartsWith("error: ", err);
    }
}
