using Hearth.Sensors.Storage;
using YamlDotNet.RepresentationModel;

namespace Hearth.Sensors;

/// <summary>The <c>store:</c> section: the SQLite file, its retention limits and the PostgreSQL target.</summary>
public static partial class PolicyLoader
{
    private static readonly string[] s_storeKeys = ["path", "durability", "retention", "postgres"];
    private static readonly string[] s_retentionTables = ["readings", "decisions", "alerts", "quarantine"];
    private static readonly string[] s_limitKeys = ["max_age_hours", "max_rows"];
    private static readonly string[] s_postgresKeys = ["connection_env", "batch_size", "poll_ms", "max_backoff_ms"];
    private static readonly string[] s_secretKeys = ["connection_string", "connection", "url", "uri", "password", "host"];

    private static StoreSpec ParseStore(Context ctx, YamlNode node, string? baseDirectory)
    {
        const string where = "store";
        var m = ctx.Mapping(node, "'store' (path, durability, retention, postgres)");
        ctx.CheckKeys(m, s_storeKeys, where);
        var path = PathIn(ctx.Text(ctx.Required(m, "path", where), "path"), baseDirectory);
        var durability = StoreDurability.Full;
        if (ctx.Optional(m, "durability") is { } d)
        {
            durability = ctx.Text(d, "durability") switch
            {
                "full" => StoreDurability.Full,
                "normal" => StoreDurability.Normal,
                var other => throw ctx.Error(d, $"{where}: durability must be full or normal, not '{other}'"),
            };
        }

        var retention = ctx.Optional(m, "retention") is { } r ? ParseRetention(ctx, r) : StoreRetention.KeepAll;
        var postgres = ctx.Optional(m, "postgres") is { } p ? ParsePostgres(ctx, p) : null;
        return new StoreSpec(path, durability, retention, postgres);
    }

    private static StoreRetention ParseRetention(Context ctx, YamlNode node)
    {
        const string where = "store retention";
        var m = ctx.Mapping(node, $"'retention' (table → {{ {string.Join(", ", s_limitKeys)} }})");
        ctx.CheckKeys(m, s_retentionTables, where);
        RetentionLimit Limit(string table)
        {
            if (ctx.Optional(m, table) is not { } tableNode) return RetentionLimit.None;
            var limit = ctx.Mapping(tableNode, $"{where} of {table}");
            ctx.CheckKeys(limit, s_limitKeys, $"{where} of {table}");
            if (limit.Children.Count == 0) throw ctx.Error(limit, $"{where} of {table}: give max_age_hours, max_rows or both (leave the table out to keep everything)");
            return new RetentionLimit(
                ctx.Optional(limit, "max_age_hours") is { } age ? TimeSpan.FromHours(ctx.Number(age, "max_age_hours", positive: true)) : null,
                ctx.Optional(limit, "max_rows") is { } rows ? ctx.Int(rows, "max_rows", 1, int.MaxValue) : null);
        }

        return new StoreRetention { Readings = Limit("readings"), Decisions = Limit("decisions"), Alerts = Limit("alerts"), Quarantine = Limit("quarantine") };
    }

    private static PostgresSpec ParsePostgres(Context ctx, YamlNode node)
    {
        const string where = "store postgres";
        var m = ctx.Mapping(node, $"'postgres' ({string.Join(", ", s_postgresKeys)})");
        foreach (var key in m.Children.Keys)
        {
            if (key is YamlScalarNode { Value: { } k } && s_secretKeys.Contains(k))
                throw ctx.Error(key, $"{where}: '{k}' does not belong in the policy file; put the connection string in an environment variable and name that with 'connection_env'");
        }

        ctx.CheckKeys(m, s_postgresKeys, where);
        var env = ctx.Text(ctx.Required(m, "connection_env", where), "connection_env");
        return new PostgresSpec(env,
            ctx.Optional(m, "batch_size") is { } b ? ctx.Int(b, "batch_size", 1, 10_000) : 500,
            TimeSpan.FromMilliseconds(ctx.Optional(m, "poll_ms") is { } poll ? ctx.Int(poll, "poll_ms", 10, 3_600_000) : 1000),
            TimeSpan.FromMilliseconds(ctx.Optional(m, "max_backoff_ms") is { } backoff ? ctx.Int(backoff, "max_backoff_ms", 100, 3_600_000) : 60_000));
    }
}
