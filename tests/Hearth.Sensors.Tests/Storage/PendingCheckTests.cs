using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests.Storage;

/// <summary>Model checks stored as pending with their reading, until their result is recorded (the crash gap of SLM
/// checks: a monitor killed before a check finishes finds it again at its next start).</summary>
public sealed class PendingCheckTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("hearth-pending-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string DbPath => Path.Combine(_dir.FullName, "monitor.db");

    private static PendingCheck Check(long i, string name) =>
        new(PendingCheck.KeyFor(StorePlan.Key(i), name), StorePlan.Key(i), name, $"prompt {i} {name}", StorePlan.Source, "NORMAL");

    private static ModelDecisionRecord Result(PendingCheck c, string label = "ok") =>
        new(c.Key, c.ReadingKey, c.Check, "stories260K", c.Input, label, " " + label, TimeSpan.FromMilliseconds(3), false, StorePlan.Time(1));

    [Fact]
    public void ChecksArePendingFromTheirReadingUntilTheirResultAndSurviveReopening()
    {
        var a = Check(1, "smell");
        var b = Check(1, "noise");
        var c = Check(2, "smell");
        using (var store = SqliteMonitorStore.Open(DbPath))
        {
            Assert.Empty(store.PendingChecks());
            Assert.True(store.RecordReading(StorePlan.Reading(1) with { Checks = [a, b] }));
            Assert.True(store.RecordReading(StorePlan.Reading(2) with { Checks = [c] }));
            Assert.Equal([a, b, c], store.PendingChecks()); // oldest first, every field kept

            // A redelivered payload adds nothing, not even its checks again.
            Assert.False(store.RecordReading(StorePlan.Reading(1) with { Checks = [a, b, Check(1, "third")] }));
            Assert.Equal([a, b, c], store.PendingChecks());

            Assert.True(store.RecordModelDecision(Result(b)));
            Assert.Equal([a, c], store.PendingChecks());
        }

        using (var store = SqliteMonitorStore.Open(DbPath))
        {
            Assert.Equal([a, c], store.PendingChecks());
            // A result stored before (a check that finished while its pending row lingered) still clears it, and is not stored twice.
            Assert.True(store.RecordModelDecision(Result(a)));
            store.DropPendingCheck(c.Key);
            store.DropPendingCheck("no such key");
            Assert.Empty(store.PendingChecks());
            Assert.False(store.RecordModelDecision(Result(a, "other")));
            Assert.Equal(4, store.Counts().Decisions); // two rule decisions, two model decisions
        }
    }

    [Fact]
    public void AQuarantinedPayloadOwesNoChecksAndAFailedWriteLeavesNonePending()
    {
        using var store = SqliteMonitorStore.Open(DbPath);
        Assert.True(store.RecordReading(StorePlan.Reading(3) with { Checks = [Check(3, "smell")] })); // record 3 is quarantined
        Assert.Empty(store.PendingChecks());

        // A check whose insert fails (a null input breaks a NOT NULL column) rolls back its reading too: all or nothing.
        var broken = Check(4, "smell") with { Input = null! };
        Assert.Throws<MonitorStoreException>(() => store.RecordReading(StorePlan.Reading(4) with { Checks = [broken] }));
        Assert.False(store.Contains(StorePlan.Key(4)));
        Assert.Empty(store.PendingChecks());
    }

    [Fact]
    public void AVersionOneStoreIsMigratedAndKeepsItsRows()
    {
        using (var store = SqliteMonitorStore.Open(DbPath))
            for (int i = 0; i < 12; i++) StorePlan.Write(store, i);

        // What a store written by schema version 1 looks like: the same tables without pending_checks.
        using (var raw = SqliteMonitorStoreTests.Raw(DbPath))
        {
            SqliteMonitorStoreTests.Scalar(raw, "DROP TABLE pending_checks");
            SqliteMonitorStoreTests.Scalar(raw, "PRAGMA user_version = 1");
        }

        using (var store = SqliteMonitorStore.Open(DbPath))
        {
            Assert.Equal(StorePlan.Expected(12), store.Counts());
            Assert.Empty(store.PendingChecks());
            Assert.True(store.RecordReading(StorePlan.Reading(22)));
            Assert.Equal([StorePlan.Pending(22)], store.PendingChecks());
        }

        using var check = SqliteMonitorStoreTests.Raw(DbPath);
        Assert.Equal(2L, SqliteMonitorStoreTests.Scalar(check, "PRAGMA user_version"));
    }
}
