using System.Text;

namespace Hearth.Sensors.Tests;

public sealed class ReadingParserTests
{
    private static readonly ReadingParser s_seed = new(PolicyLoader.Seed);

    private static QuarantineReason? Reason(string json, ReadingParser? parser = null) =>
        (parser ?? s_seed).Parse(json, "test", 1).Quarantined?.Reason;

    [Theory]
    [InlineData("{\"ts\": 1767225600, \"temperature\": 70}")]
    [InlineData("{\"ts\": 1767225600000, \"temperature\": 70}")]
    [InlineData("{\"timestamp\": \"2026-01-01T00:00:00Z\", \"temperature\": 70}")]
    [InlineData("{\"ts\": \"2026-01-01T01:00:00+01:00\", \"temperature\": 70, \"vibration\": null}")]
    [InlineData("{\"ts\": \"2026-01-01T00:00:00\", \"temperature\": 70, \"id\": 7, \"seq\": 3}")]
    public void TimestampsInEveryFormReadAsTheSameInstant(string json)
    {
        var r = s_seed.Parse(json, "test", 1).Reading!;
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), r.Timestamp);
        Assert.Equal(70, new RuleEngine(PolicyLoader.Seed).Evaluate(r).Inputs["temperature"]);
    }

    [Theory]
    [InlineData("{\"ts\": 1, \"temperature\": 70", QuarantineReason.MalformedJson)]
    [InlineData("not json", QuarantineReason.MalformedJson)]
    [InlineData("", QuarantineReason.MalformedJson)]
    [InlineData("[1, 2]", QuarantineReason.NotAnObject)]
    [InlineData("42", QuarantineReason.NotAnObject)]
    [InlineData("{\"temperature\": 70}", QuarantineReason.MissingTimestamp)]
    [InlineData("{\"ts\": \"yesterday\", \"temperature\": 70}", QuarantineReason.BadTimestamp)]
    [InlineData("{\"ts\": true, \"temperature\": 70}", QuarantineReason.BadTimestamp)]
    [InlineData("{\"ts\": -5, \"temperature\": 70}", QuarantineReason.BadTimestamp)]
    [InlineData("{\"ts\": 1, \"temperature\": \"70\"}", QuarantineReason.WrongType)]
    [InlineData("{\"ts\": 1, \"vibration\": [0.1]}", QuarantineReason.WrongType)]
    [InlineData("{\"ts\": 1, \"temperature\": true}", QuarantineReason.WrongType)]
    [InlineData("{\"ts\": 1, \"humidity\": 40}", QuarantineReason.UnknownSignal)]
    [InlineData("{\"ts\": 1, \"temperature\": 70, \"source\": 5}", QuarantineReason.WrongType)]
    public void BadReadingsAreQuarantinedWithTheirReason(string json, QuarantineReason reason)
    {
        var q = s_seed.Parse(json, "test", 9).Quarantined!;
        Assert.Equal(reason, q.Reason);
        Assert.Equal(9, q.Position);
        Assert.NotEmpty(q.Detail);
    }

    [Fact]
    public void AHugePayloadIsQuarantinedUnparsed()
    {
        var policy = PolicyLoader.Parse("signals:\n  t: { unit: C }\nrules:\n  - { signal: t, above: 1, label: A }\nmax_reading_bytes: 100\n");
        var parser = new ReadingParser(policy);
        var json = "{\"ts\": 1, \"t\": 1" + new string(' ', 200) + "}";
        var q = parser.Parse(json, "test", 1).Quarantined!;
        Assert.Equal(QuarantineReason.TooLarge, q.Reason);
        Assert.Contains("over the limit of 100", q.Detail);
        Assert.Null(parser.Parse("{\"ts\": 1, \"t\": 1}", "test", 2).Quarantined);
    }

    [Fact]
    public void SourcesMustBeDeclaredWhenThePolicyNamesAny()
    {
        var policy = PolicyLoader.Parse("signals:\n  t: { unit: C, source: line1/t }\nrules:\n  - { signal: t, above: 1, label: A }\n");
        var parser = new ReadingParser(policy);
        Assert.Equal(QuarantineReason.UnknownSensor, Reason("{\"ts\": 1, \"t\": 1, \"sensor\": \"line2/t\"}", parser));
        Assert.Equal("line1/t", parser.Parse("{\"ts\": 1, \"t\": 1, \"source\": \"line1/t\"}", "file", 1).Reading!.Source);
    }

    [Fact]
    public void TheLinesReaderNeverHoldsMoreThanTheLimitOfALine()
    {
        var text = "{\"a\":1}\r\n\n" + new string('x', 10_000) + "\n{\"b\":2}";
        var lines = JsonLinesReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(text)), 100).ToArray();
        Assert.Equal([1L, 3, 4], lines.Select(l => l.Number));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(lines[0].Bytes.Span));
        Assert.True(lines[1].Oversized);
        Assert.Equal(10_000, lines[1].Length);
        Assert.True(lines[1].Bytes.Length <= 100);
        Assert.Equal("{\"b\":2}", Encoding.UTF8.GetString(lines[2].Bytes.Span));
    }

    [Fact]
    public void ASessionCountsQuarantinesAndKeepsGoing()
    {
        var session = new MonitorSession(PolicyLoader.Seed);
        string[] lines =
        [
            "{\"ts\": 0, \"temperature\": 70, \"vibration\": 0.01}",
            "{oops",
            "{\"ts\": 1, \"temperature\": \"hot\"}",
            "{\"ts\": 2, \"pressure\": 3}",
            "{\"ts\": 3, \"temperature\": 90}",
            "{\"temperature\": 90}",
        ];
        for (int i = 0; i < lines.Length; i++) session.Accept(Encoding.UTF8.GetBytes(lines[i]), "test", i + 1);
        var stats = session.Stats();
        Assert.Equal(6, stats.Readings);
        Assert.Equal(new Dictionary<QuarantineReason, long>
        {
            [QuarantineReason.MalformedJson] = 1, [QuarantineReason.MissingTimestamp] = 1, [QuarantineReason.WrongType] = 1, [QuarantineReason.UnknownSignal] = 1,
        }, stats.Quarantined);
        Assert.Equal(new Dictionary<string, long> { ["ANOMALY DETECTED"] = 1, ["NORMAL"] = 1 }, stats.Decisions);
        Assert.Equal(1, stats.Alerts);
        Assert.Equal([2L, 3, 4, 6], session.Quarantine.Select(q => q.Position));
    }
}

public sealed class ReplayPacerTests
{
    [Fact]
    public void RecordedSpeedWaitsTheGapsBetweenTimestamps()
    {
        var pacer = new ReplayPacer(speed: 2);
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.Zero, pacer.Next(t));
        Assert.Equal(TimeSpan.FromSeconds(1), pacer.Next(t.AddSeconds(2)));
        Assert.Equal(TimeSpan.Zero, pacer.Next(t.AddSeconds(1)));          // backwards: no wait, and the clock stays at 2 s
        Assert.Equal(TimeSpan.FromSeconds(0.5), pacer.Next(t.AddSeconds(3)));
    }
}

public sealed class LatencyHistogramTests
{
    [Fact]
    public void PercentilesAreWithinASixteenthOfTheExactNearestRank()
    {
        var rng = new Hearth.Sampling.SeededRandom(5);
        var values = Enumerable.Range(0, 10_000).Select(_ => (long)(Math.Exp(rng.NextDouble() * 14))).ToArray();
        var histogram = new LatencyHistogram();
        foreach (var v in values) histogram.Add(v);
        var sorted = values.Order().ToArray();
        foreach (var p in new[] { 0.5, 0.9, 0.99, 1.0 })
        {
            double exact = sorted[(int)Math.Ceiling(p * sorted.Length) - 1];
            double got = histogram.Percentile(p).TotalSeconds * System.Diagnostics.Stopwatch.Frequency;
            Assert.InRange(got, exact * (1 - 1.0 / 16) - 0.5, exact * (1 + 1.0 / 16) + 0.5);
        }

        Assert.Equal(values.Sum() / (double)System.Diagnostics.Stopwatch.Frequency, histogram.Total.TotalSeconds, 6);
    }

    [Fact]
    public void BucketsAreExactBelow32AndContiguousAbove()
    {
        for (long t = 0; t < 32; t++) Assert.Equal(t, LatencyHistogram.Middle(LatencyHistogram.Bucket(t)));
        Assert.Equal(32, LatencyHistogram.Bucket(32));
        Assert.Equal(47, LatencyHistogram.Bucket(63));
        Assert.Equal(48, LatencyHistogram.Bucket(64));
        Assert.Equal(48, LatencyHistogram.Bucket(65));
        Assert.True(LatencyHistogram.Bucket(long.MaxValue) < 32 + 58 * 16);
    }
}
