using System.Diagnostics;
using System.Text.Json;
using Hearth.Quantization;
using Hearth.Synthesis;

namespace Hearth.Tests.Planning;

/// <summary>
/// The acceptance check of the planner: its estimate against the resident set of a separate <c>hearth fit --measure</c>
/// process (the test host's own memory would pollute an in-process measurement) for twins of real model shapes.
/// </summary>
[Collection(PlanningCollection.Name)]
public sealed class FitMeasurementTests(PlanningTwins twins)
{
    public static TheoryData<string, LlamaFileType, int, int> Twins() => new()
    {
        { "smollm2-135m", LlamaFileType.Q8_0, 1024, 1 },
        { "smollm2-135m", LlamaFileType.Q4_K_M, 2048, 2 },
        { "qwen2.5-0.5b", LlamaFileType.Q8_0, 1024, 1 },
    };

    [Theory]
    [MemberData(nameof(Twins))]
    public void TheEstimateIsWithinTenPercentOfTheMeasuredResidentSet(string shape, LlamaFileType type, int context, int parallel)
    {
        var path = twins.Get(ModelShapes.Get(shape), type);
        using var doc = JsonDocument.Parse(RunCli("fit", path, "--measure", "--ctx", context.ToString(), "--parallel", parallel.ToString(), "--json"));
        var m = doc.RootElement.GetProperty("measurement");
        long resident = m.GetProperty("resident_bytes").GetInt64();
        long estimated = m.GetProperty("estimated_bytes").GetInt64();
        Assert.Equal(estimated, doc.RootElement.GetProperty("estimate").GetProperty("total_bytes").GetInt64());
        double error = Math.Abs(estimated - resident) / (double)resident;
        Assert.True(error <= 0.10, $"{shape} {type}: estimated {estimated} bytes, measured {resident} ({error:P1} apart)");

        // Every page of the model file was read (where /proc/self/smaps tells).
        if (m.GetProperty("mapped_file_resident_bytes").ValueKind == JsonValueKind.Number)
        {
            long length = new FileInfo(path).Length;
            Assert.InRange(m.GetProperty("mapped_file_resident_bytes").GetInt64(), length, length + Environment.SystemPageSize - 1);
        }
    }

    /// <summary>Runs the CLI the test project was built with (<c>Hearth.Cli.dll</c> beside the tests) in its own process.</summary>
    private static string RunCli(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Hearth.Cli.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {dotnet}");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"hearth {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
        return stdout;
    }
}
