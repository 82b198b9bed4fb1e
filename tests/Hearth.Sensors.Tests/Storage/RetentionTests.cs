using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests.Storage;

public sealed class RetentionTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-retention-");
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Delete(recursive: true);

    private string DbPath => Path.Combine(_dir.FullName, "monitor.db");

    /// <summary>A test double for the wall clock: time moves only when the test says so.</summary>
    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private SqliteMonitorStore Open(StoreRetention retention, bool syncTarget = false) =>
        SqliteMonitorStore.Open(DbPath, new SqliteStoreOptions { Retention = retention with { Interval = TimeSpan.FromDays(1) }, SyncTarget = syncTarget, Time = _clock });

    private List<string> ReadingKeys()
    {
        using var raw = SqliteMonitorStoreTests.Raw(DbPath);
        using var cmd = raw.CreateCommand();
        cmd.CommandText = "SELECT key FROM readings ORDER BY seq";
        using var r = cmd.ExecuteReader();
        var keys = new List<string>();
        while (r.Read()) keys.Add(r.GetString(0));
        return keys;
    }

    private static IEnumerable<string> Keys(int from, int count) => Enumerable.Range(from, count).Select(i => StorePlan.Key(i));

    [Fact]
    public void ARowLimitKeepsTheNewestRows()
    {
        using var store = Open(new StoreRetention { Readings = new RetentionLimit(MaxRows: 10) });
        for (int i = 0; i < 25; i++) store.RecordReading(StorePlan.Reading(i));
        // The first write ran a pass (one row then); the interval of a day has not passed since, so nothing more went.
        Assert.Equal(25, store.Counts().Readings);

        var deleted = store.ApplyRetention();
        Assert.Equal(new StoreCounts(15, 0, 0, 0), deleted);
        Assert.Equal(Keys(15, 10), ReadingKeys());
        Assert.Equal(Enumerable.Range(0, 25).Count(i => !StorePlan.IsQuarantined(i)), store.Counts().Decisions); // no limit on decisions
    }

    [Fact]
    public void AnAgeLimitDeletesRowsStoredBeforeIt()
    {
        using var store = Open(new StoreRetention { Readings = new RetentionLimit(MaxAge: TimeSpan.FromHours(1)), Quarantine = new RetentionLimit(MaxAge: TimeSpan.FromHours(1)) });
        for (int i = 0; i < 10; i++) store.RecordReading(StorePlan.Reading(i));
        _clock.Now += TimeSpan.FromMinutes(90);
        for (int i = 10; i < 20; i++) store.RecordReading(StorePlan.Reading(i));
        _clock.Now += TimeSpan.FromMinutes(1);

        var deleted = store.ApplyRetention();
        Assert.Equal(10, deleted.Readings);
        Assert.Equal(Enumerable.Range(0, 10).Count(i => StorePlan.IsQuarantined(i)), deleted.Quarantine);
        Assert.Equal(Keys(10, 10), ReadingKeys());
    }

    [Fact]
    public void WithASyncTargetRowsNotYetSyncedAreNeverDeleted()
    {
        using var store = Open(new StoreRetention { Readings = new RetentionLimit(MaxAge: TimeSpan.FromMinutes(1), MaxRows: 5) }, syncTarget: true);
        for (int i = 0; i < 20; i++) store.RecordReading(StorePlan.Reading(i));
        _clock.Now += TimeSpan.FromHours(1); // every row is now too old, and 15 are beyond the row limit

        Assert.Equal(0, store.ApplyRetention().Readings);
        Assert.Equal(Keys(0, 20), ReadingKeys());

        var synced = store.ReadUnsynced(12, store.Head()); // the first 12 readings reach the target
        store.MarkSynced(synced.End);
        Assert.Equal(12, store.ApplyRetention().Readings);
        Assert.Equal(Keys(12, 8), ReadingKeys());
        Assert.Equal(8, store.PendingCounts().Readings);
        Assert.Equal(Keys(12, 8), store.ReadUnsynced(100, store.Head()).Readings.Select(r => r.Key));
    }

    [Fact]
    public void TheNewestAlertIsKeptSoTheAlertedStateSurvives()
    {
        using var store = Open(new StoreRetention { Alerts = new RetentionLimit(MaxAge: TimeSpan.FromMinutes(5)) });
        for (int i = 0; i <= 15; i++) store.RecordReading(StorePlan.Reading(i)); // alerts at 0, 5 and 15 (10 is quarantined)
        _clock.Now += TimeSpan.FromHours(1);

        Assert.Equal(2, store.ApplyRetention().Alerts);
        Assert.Equal(1, store.Counts().Alerts);
        Assert.Equal("NORMAL", store.LastAlertedLabel()); // record 15's alert
    }

    [Fact]
    public void RetentionRunsOnItsOwnOncePerInterval()
    {
        using var store = SqliteMonitorStore.Open(DbPath, new SqliteStoreOptions
        {
            Retention = new StoreRetention { Readings = new RetentionLimit(MaxRows: 3), Interval = TimeSpan.FromMinutes(10) },
            Time = _clock,
        });
        for (int i = 0; i < 6; i++) store.RecordReading(StorePlan.Reading(i));
        Assert.Equal(6, store.Counts().Readings); // the pass after the first write found one row

        _clock.Now += TimeSpan.FromMinutes(9);
        store.RecordReading(StorePlan.Reading(6));
        Assert.Equal(7, store.Counts().Readings);

        _clock.Now += TimeSpan.FromMinutes(2);
        store.RecordReading(StorePlan.Reading(7));
        Assert.Equal(Keys(5, 3), ReadingKeys());
    }

    [Fact]
    public void LimitsOutOfRangeAreRefused()
    {
        Assert.Throws<ArgumentException>(() => Open(new StoreRetention { Readings = new RetentionLimit(MaxRows: 0) }));
        Assert.Throws<ArgumentException>(() => Open(new StoreRetention { Alerts = new RetentionLimit(MaxAge: TimeSpan.Zero) }));
        Assert.Throws<ArgumentException>(() => SqliteMonitorStore.Open(DbPath, new SqliteStoreOptions { Retention = new StoreRetention { Interval = TimeSpan.Zero } }));
    }
}
