using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Tests;

/// <summary>The policy's <c>store:</c> section: what it parses to, and every error with its line and column.</summary>
public sealed class PolicyStoreTests
{
    private const string Base = "signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\n";

    [Fact]
    public void TheSectionParsesWithItsSettingsAndDefaults()
    {
        var dir = Path.Combine(Path.GetTempPath(), "policies");
        var policy = PolicyLoader.Parse(Base + """
            store:
              path: data/monitor.db
              durability: normal
              retention:
                readings: { max_age_hours: 168, max_rows: 1000000 }
                decisions: { max_rows: 500 }
                quarantine: { max_age_hours: 0.5 }
              postgres:
                connection_env: HEARTH_PG
                batch_size: 200
                poll_ms: 250
                max_backoff_ms: 5000
            """, "store.yaml", dir);
        var store = policy.Store!;
        Assert.Equal(Path.Combine(dir, "data", "monitor.db"), store.Path);
        Assert.Equal(StoreDurability.Normal, store.Durability);
        Assert.Equal(new RetentionLimit(TimeSpan.FromHours(168), 1_000_000), store.Retention.Readings);
        Assert.Equal(new RetentionLimit(null, 500), store.Retention.Decisions);
        Assert.Equal(RetentionLimit.None, store.Retention.Alerts);
        Assert.Equal(new RetentionLimit(TimeSpan.FromMinutes(30), null), store.Retention.Quarantine);
        Assert.Equal(new PostgresSpec("HEARTH_PG", 200, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5)), store.Postgres);

        var plain = PolicyLoader.Parse(Base + "store: { path: /var/lib/hearth/m.db }\n").Store!;
        Assert.Equal(new StoreSpec("/var/lib/hearth/m.db", StoreDurability.Full, StoreRetention.KeepAll, null), plain);
        Assert.Equal(new PostgresSpec("PG", 500, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1)),
            PolicyLoader.Parse(Base + "store: { path: m.db, postgres: { connection_env: PG } }\n").Store!.Postgres);
        Assert.Null(PolicyLoader.Parse(Base).Store);
    }

    [Theory]
    // Each case: the YAML after the signals and rules (which end on line 4), the expected line and column, and a phrase.
    [InlineData("store: { durability: full }\n", 5, 8, "store: missing required key 'path'")]
    [InlineData("store: { path: m.db, size: 3 }\n", 5, 22, "store: unknown key 'size' (allowed: path, durability, retention, postgres)")]
    [InlineData("store: { path: m.db, durability: fast }\n", 5, 34, "durability must be full or normal, not 'fast'")]
    [InlineData("store:\n  path: m.db\n  retention: { events: { max_rows: 1 } }\n", 7, 16, "store retention: unknown key 'events'")]
    [InlineData("store:\n  path: m.db\n  retention: { readings: { max_rows: 0 } }\n", 7, 38, "max_rows must be a whole number from 1")]
    [InlineData("store:\n  path: m.db\n  retention: { alerts: { max_age_hours: -2 } }\n", 7, 41, "max_age_hours must be greater than 0")]
    [InlineData("store:\n  path: m.db\n  retention: { alerts: {} }\n", 7, 24, "give max_age_hours, max_rows or both")]
    [InlineData("store:\n  path: m.db\n  postgres: { batch_size: 10 }\n", 7, 13, "store postgres: missing required key 'connection_env'")]
    [InlineData("store:\n  path: m.db\n  postgres: { connection_env: PG, connection_string: \"Host=db;Password=x\" }\n", 7, 35,
        "'connection_string' does not belong in the policy file; put the connection string in an environment variable")]
    [InlineData("store:\n  path: m.db\n  postgres: { connection_env: PG, password: x }\n", 7, 35, "'password' does not belong in the policy file")]
    [InlineData("store:\n  path: m.db\n  postgres: { connection_env: PG, batch_size: 20000 }\n", 7, 47, "batch_size must be a whole number from 1 to 10000")]
    [InlineData("store: m.db\n", 5, 8, "'store' (path, durability, retention, postgres) must be a mapping")]
    public void InvalidStoreSectionsNameTheLineAndColumn(string yaml, int line, int column, string phrase)
    {
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(Base + yaml, "bad.yaml"));
        Assert.Contains(phrase, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
    }
}
