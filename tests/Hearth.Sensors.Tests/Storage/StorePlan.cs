using System.Globalization;
using System.Text;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests.Storage;

/// <summary>
/// A deterministic stream of monitor records, numbered from 0, written by the tests and by the kill -9 child process:
/// payload i is quarantined when i % 7 == 3; otherwise it gets a rule decision, an alert when i % 5 == 0, and a model
/// check when i % 11 == 0 (stored with the reading as pending, then its result). The expected row counts follow from these
/// rules alone, not from the store.
/// </summary>
internal static class StorePlan
{
    public const string Source = "plant/line1/sensors";
    private static readonly DateTimeOffset s_start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static bool IsQuarantined(long i) => i % 7 == 3;

    public static bool HasAlert(long i) => !IsQuarantined(i) && i % 5 == 0;

    public static bool HasModelCheck(long i) => !IsQuarantined(i) && i % 11 == 0;

    public static string Payload(long i) => IsQuarantined(i)
        ? $"{{\"ts\": {i}, \"temperature\": oops"
        : $"{{\"ts\": \"{Time(i):yyyy-MM-ddTHH:mm:ssZ}\", \"temperature\": {70 + i % 30}, \"seq\": {i}}}";

    public static string Key(long i) => ReadingKeys.For(Source, Encoding.UTF8.GetBytes(Payload(i)));

    public static string ModelKey(long i) => $"{Key(i)}/smell";

    public static DateTimeOffset Time(long i) => s_start.AddSeconds(i);

    public static ReadingRecord Reading(long i)
    {
        var received = Time(i).AddMilliseconds(250);
        if (IsQuarantined(i))
            return new ReadingRecord(Key(i), Source, received, Payload(i), null,
                new QuarantinedReading(i + 1, QuarantineReason.MalformedJson, "'o' is an invalid start of a value", Payload(i)));
        string label = i % 5 == 0 ? (i % 10 == 0 ? "ANOMALY DETECTED" : "NORMAL") : "NORMAL";
        var alert = HasAlert(i)
            ? new Alert(Time(i), i % 10 == 0 ? "NORMAL" : "ANOMALY DETECTED", label, i % 10 == 0 ? "hot" : null, Time(i).AddSeconds(-1),
                i % 10 == 0 ? AlertSeverity.Critical : AlertSeverity.Info, ["console", "webhook"])
            : null;
        var decision = new Decision(Time(i), label, i % 10 == 0 ? "hot" : null, i % 10 == 0 ? ["hot"] : [],
            new Dictionary<string, double> { ["temperature"] = 70 + i % 30 }, 1234 + i, alert);
        return new ReadingRecord(Key(i), Source, received, Payload(i), decision, null) { Checks = HasModelCheck(i) ? [Pending(i)] : [] };
    }

    public static PendingCheck Pending(long i) => new(ModelKey(i), Key(i), "smell", ModelDecision(i).Input, Source, "NORMAL");

    public static ModelDecisionRecord ModelDecision(long i) =>
        new(ModelKey(i), Key(i), "smell", "stories260K", $"Reading {i}: temperature {70 + i % 30}. Label?", i % 2 == 0 ? "ok" : "burning",
            i % 2 == 0 ? "ok" : "", TimeSpan.FromMilliseconds(12.5 + i), i % 2 == 1, Time(i).AddSeconds(0.5));

    /// <summary>Writes record i (with its model check pending) and then the check's result: two transactions, as the
    /// monitor does. Returns false when the payload was already stored.</summary>
    public static bool Write(IMonitorStore store, long i)
    {
        bool added = store.RecordReading(Reading(i));
        if (HasModelCheck(i)) store.RecordModelDecision(ModelDecision(i));
        return added;
    }

    /// <summary>The rows records 0 to n - 1 produce.</summary>
    public static StoreCounts Expected(long n)
    {
        long readings = 0, decisions = 0, alerts = 0, quarantine = 0;
        for (long i = 0; i < n; i++)
        {
            readings++;
            if (IsQuarantined(i)) quarantine++;
            else decisions++;
            if (HasAlert(i)) alerts++;
            if (HasModelCheck(i)) decisions++;
        }

        return new StoreCounts(readings, decisions, alerts, quarantine);
    }

    /// <summary>Sync options for the fault tests: small batches and short waits, so outages and recoveries happen within a
    /// test's rows.</summary>
    public static PostgresSyncOptions QuickSync(string connectionString) => new()
    {
        ConnectionString = connectionString,
        BatchSize = 40,
        PollInterval = TimeSpan.FromMilliseconds(20),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(300),
    };

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after
    /// <paramref name="seconds"/> (a guard against hanging, not a timing assertion).</summary>
    public static async Task Until(Func<Task<bool>> condition, string what, double seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Gave up waiting ({seconds.ToString(CultureInfo.InvariantCulture)} s): {what}.");
            await Task.Delay(50);
        }
    }

    public static Task Until(Func<bool> condition, string what, double seconds = 120) => Until(() => Task.FromResult(condition()), what, seconds);
}
