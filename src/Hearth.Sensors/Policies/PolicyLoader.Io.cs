using Hearth.Sensors.Mqtt;
using YamlDotNet.RepresentationModel;

namespace Hearth.Sensors;

/// <summary>The <c>sources:</c> and <c>sinks:</c> sections: each a mapping from a name to a <c>kind</c> and its settings.</summary>
public static partial class PolicyLoader
{
    private static readonly string[] s_brokerKeys = ["broker", "username", "password_env", "ca_file", "protocol"];
    private static readonly string[] s_deliveryKeys = ["retries", "backoff_ms", "timeout_ms", "queue"];
    private static readonly Dictionary<string, string[]> s_sourceKeys = new()
    {
        ["mqtt"] = ["kind", .. s_brokerKeys, "topics", "qos", "client_id", "persistent"],
        ["file"] = ["kind", "path", "from", "poll_ms"],
        ["stdin"] = ["kind"],
        ["http"] = ["kind", "api_key_env", "max_body_bytes"],
    };
    private static readonly Dictionary<string, string[]> s_sinkKeys = new()
    {
        ["mqtt"] = ["kind", .. s_brokerKeys, "alerts_topic", "state_topic", "qos", .. s_deliveryKeys],
        ["webhook"] = ["kind", "url", .. s_deliveryKeys],
        ["stdout"] = ["kind", "format"],
        ["store"] = ["kind"],
    };

    private static List<SourceSpec> ParseSources(Context ctx, YamlNode node, string? baseDirectory)
    {
        var sources = Entries<SourceSpec>(ctx, node, "source", s_sourceKeys, e => e.Kind switch
        {
            "mqtt" => new MqttSourceSpec(e.Name, ParseBroker(ctx, e.M, e.Where, baseDirectory), ParseTopics(ctx, e.M, e.Where), ParseQos(ctx, e.M),
                ctx.Optional(e.M, "client_id") is { } id ? ctx.Text(id, "client_id") : $"hearth-monitor-{e.Name}",
                ctx.Optional(e.M, "persistent") is not { } p || ctx.Bool(p, "persistent")),
            "file" => new FileSourceSpec(e.Name, PathIn(ctx.Text(ctx.Required(e.M, "path", e.Where), "path"), baseDirectory),
                Choice(ctx, e, "from", "start", "end"), ctx.Optional(e.M, "poll_ms") is { } poll ? ctx.Int(poll, "poll_ms", 10, 60_000) : 250),
            "stdin" => new StdinSourceSpec(e.Name),
            _ => new HttpSourceSpec(e.Name, ctx.Optional(e.M, "api_key_env") is { } env ? ctx.Text(env, "api_key_env") : null,
                ctx.Optional(e.M, "max_body_bytes") is { } max ? ctx.Int(max, "max_body_bytes", 1024, 256 << 20) : 1 << 20),
        });
        foreach (var stdin in sources.OfType<StdinSourceSpec>().Skip(1))
            throw ctx.Error(node, $"source '{stdin.Name}': there is one standard input; declare one stdin source");
        return sources;
    }

    private static List<SinkSpec> ParseSinks(Context ctx, YamlNode node, string? baseDirectory) =>
        Entries<SinkSpec>(ctx, node, "sink", s_sinkKeys, e => e.Kind switch
        {
            "mqtt" => new MqttSinkSpec(e.Name, ParseBroker(ctx, e.M, e.Where, baseDirectory), TopicName(ctx, ctx.Required(e.M, "alerts_topic", e.Where), e.Where),
                ctx.Optional(e.M, "state_topic") is { } state ? TopicName(ctx, state, e.Where) : null, ParseQos(ctx, e.M), ParseDelivery(ctx, e.M, SinkDelivery.Default)),
            "webhook" => new WebhookSinkSpec(e.Name, ParseUrl(ctx, ctx.Required(e.M, "url", e.Where), e.Where), ParseDelivery(ctx, e.M, SinkDelivery.Default)),
            "stdout" => new StdoutSinkSpec(e.Name, Choice(ctx, e, "format", "text", "json")),
            _ => new StoreSinkSpec(e.Name),
        });

    /// <summary>One entry of a sources or sinks section: its name, how errors name it, its mapping and its kind.</summary>
    private readonly record struct Entry(string Name, string Where, YamlMappingNode M, string Kind);

    /// <summary>A section's entries (name → mapping with a kind), each made by <paramref name="make"/>, in file order.</summary>
    private static List<T> Entries<T>(Context ctx, YamlNode node, string what, Dictionary<string, string[]> kinds, Func<Entry, T> make)
    {
        var list = new List<T>();
        foreach (var (key, value) in ctx.Mapping(node, $"'{what}s' (name → {{ kind: {string.Join("|", kinds.Keys)}, ... }})").Children)
        {
            var name = ctx.Text(key, $"a {what} name");
            var where = $"{what} '{name}'";
            var (m, kind) = Kind(ctx, value, where, kinds);
            list.Add(make(new Entry(name, where, m, kind)));
        }

        return list;
    }

    /// <summary>An optional key with two allowed words: false for <paramref name="no"/> (the default), true for <paramref name="yes"/>.</summary>
    private static bool Choice(Context ctx, Entry e, string key, string no, string yes)
    {
        if (ctx.Optional(e.M, key) is not { } node) return false;
        var text = ctx.Text(node, key);
        return text == yes || (text == no ? false : throw ctx.Error(node, $"{e.Where}: {key} must be {no} or {yes}, not '{text}'"));
    }

    /// <summary>The entry's mapping and its kind, with its keys checked against the kind's.</summary>
    private static (YamlMappingNode Mapping, string Kind) Kind(Context ctx, YamlNode node, string where, Dictionary<string, string[]> kinds)
    {
        var m = ctx.Mapping(node, where);
        var kindNode = ctx.Required(m, "kind", where);
        var kind = ctx.Text(kindNode, "kind");
        if (!kinds.TryGetValue(kind, out var keys))
            throw ctx.Error(kindNode, $"{where}: unknown kind '{kind}' (use {string.Join(", ", kinds.Keys)})");
        if (ctx.Optional(m, "password") is { } password)
            throw ctx.Error(password, $"{where}: a password does not belong in the policy file; put it in an environment variable and name that with 'password_env'");
        ctx.CheckKeys(m, keys, $"{where} ({kind})");
        return (m, kind);
    }

    private static MqttBrokerSpec ParseBroker(Context ctx, YamlMappingNode m, string where, string? baseDirectory)
    {
        var brokerNode = ctx.Required(m, "broker", where);
        var text = ctx.Text(brokerNode, "broker");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || uri.Host.Length == 0
            || uri.AbsolutePath is not ("" or "/") || uri.UserInfo.Length > 0)
            throw ctx.Error(brokerNode, $"{where}: broker must be mqtt://HOST:PORT or mqtts://HOST:PORT (user and password go in 'username' and 'password_env'), not '{text}'");
        bool tls = uri.Scheme == "mqtts";
        var protocol = MqttProtocolVersion.V311;
        if (ctx.Optional(m, "protocol") is { } p)
        {
            protocol = ctx.Text(p, "protocol") switch
            {
                "3.1.1" or "4" => MqttProtocolVersion.V311,
                "5" or "5.0" => MqttProtocolVersion.V500,
                var other => throw ctx.Error(p, $"{where}: protocol must be \"3.1.1\" or 5, not '{other}'"),
            };
        }

        var username = ctx.Optional(m, "username") is { } u ? ctx.Text(u, "username") : null;
        var passwordEnv = ctx.Optional(m, "password_env") is { } pe ? ctx.Text(pe, "password_env") : null;
        if (passwordEnv != null && username == null && protocol == MqttProtocolVersion.V311)
            throw ctx.Error(m, $"{where}: MQTT 3.1.1 needs a 'username' with 'password_env'");
        var ca = ctx.Optional(m, "ca_file") is { } c ? PathIn(ctx.Text(c, "ca_file"), baseDirectory) : null;
        if (ca != null && !tls) throw ctx.Error(m, $"{where}: 'ca_file' is for TLS; use an mqtts:// broker address");
        return new MqttBrokerSpec(uri.Host, uri.IsDefaultPort || uri.Port < 0 ? (tls ? 8883 : 1883) : uri.Port, tls, protocol, username, passwordEnv, ca);
    }

    private static List<string> ParseTopics(Context ctx, YamlMappingNode m, string where)
    {
        var node = ctx.Required(m, "topics", where);
        var items = node is YamlScalarNode ? [node] : ctx.Sequence(node, "'topics'").Children.ToList();
        if (items.Count == 0) throw ctx.Error(node, $"{where}: 'topics' is empty; give at least one topic filter");
        var topics = new List<string>();
        foreach (var item in items)
        {
            var filter = ctx.Text(item, "a topic filter");
            if (!MqttTopic.IsValidFilter(filter))
                throw ctx.Error(item, $"{where}: '{filter}' is not a valid MQTT topic filter ('+' stands for one whole level, '#' only as the last level)");
            if (topics.Contains(filter)) throw ctx.Error(item, $"{where}: topic filter '{filter}' is listed twice");
            topics.Add(filter);
        }

        return topics;
    }

    private static string TopicName(Context ctx, YamlNode node, string where)
    {
        var topic = ctx.Text(node, "a topic");
        return MqttTopic.IsValidTopicName(topic) ? topic : throw ctx.Error(node, $"{where}: '{topic}' is not a topic to publish to (no '+' or '#')");
    }

    private static MqttQos ParseQos(Context ctx, YamlMappingNode m) =>
        ctx.Optional(m, "qos") is { } q ? (MqttQos)ctx.Int(q, "qos (0 or 1; QoS 2 is not supported)", 0, 1) : MqttQos.AtLeastOnce;

    private static Uri ParseUrl(Context ctx, YamlNode node, string where)
    {
        var text = ctx.Text(node, "url");
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw ctx.Error(node, $"{where}: url must be an http:// or https:// address, not '{text}'");
    }

    private static SinkDelivery ParseDelivery(Context ctx, YamlMappingNode m, SinkDelivery d) => new(
        ctx.Optional(m, "retries") is { } r ? ctx.Int(r, "retries", 0, 100) : d.Retries,
        ctx.Optional(m, "backoff_ms") is { } b ? TimeSpan.FromMilliseconds(ctx.Int(b, "backoff_ms", 1, 3_600_000)) : d.Backoff,
        ctx.Optional(m, "timeout_ms") is { } t ? TimeSpan.FromMilliseconds(ctx.Int(t, "timeout_ms", 1, 3_600_000)) : d.Timeout,
        ctx.Optional(m, "queue") is { } q ? ctx.Int(q, "queue", 1, 1_000_000) : d.QueueCapacity);

    private static string PathIn(string path, string? baseDirectory) =>
        baseDirectory == null || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(baseDirectory, path));
}
