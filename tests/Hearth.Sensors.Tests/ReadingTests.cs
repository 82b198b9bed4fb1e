using System.Text.Json.Nodes;

namespace Hearth.Sensors.Tests;

public sealed class ReadingTests
{
    [Fact]
    public void AReadingKeepsItsFields()
    {
        var r = new Reading("line1/temp", DateTimeOffset.UnixEpoch, new JsonObject { ["temperature"] = 81.5 });
        Assert.Equal(81.5, r.Fields["temperature"]!.GetValue<double>());
    }
}
