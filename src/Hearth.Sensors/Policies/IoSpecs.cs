using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors;

/// <summary>Where the live monitor reads payloads from (the policy's <c>sources:</c> section). Every kind shares the
/// name it is declared under.</summary>
/// <param name="Name">The source's name in the policy.</param>
public abstract record SourceSpec(string Name);

/// <summary>An MQTT subscription (<c>kind: mqtt</c>). Readings' source is the topic each message was published to.</summary>
/// <param name="Name">The source's name.</param>
/// <param name="Broker">The broker to connect to.</param>
/// <param name="Topics">Topic filters (wildcards allowed), subscribed in order.</param>
/// <param name="Qos">The subscription QoS (<c>qos</c>, default 1). With 1, messages are acknowledged only after they are stored.</param>
/// <param name="ClientId">The client identifier (<c>client_id</c>, default <c>hearth-monitor-NAME</c>).</param>
/// <param name="Persistent">Whether the broker keeps the session, and queues QoS 1 messages, while the monitor is away
/// (<c>persistent</c>, default true: clean session off).</param>
public sealed record MqttSourceSpec(string Name, MqttBrokerSpec Broker, IReadOnlyList<string> Topics, MqttQos Qos, string ClientId, bool Persistent)
    : SourceSpec(Name);

/// <summary>A JSON-lines file followed like <c>tail -f</c> (<c>kind: file</c>). Readings' source is the file name.</summary>
/// <param name="Name">The source's name.</param>
/// <param name="Path">The file (relative paths are relative to the policy file's directory).</param>
/// <param name="FromEnd">Start at the end of the file rather than its beginning (<c>from: end</c>; default <c>start</c>).</param>
/// <param name="PollMilliseconds">How often the file is checked for appended lines, truncation and rotation (<c>poll_ms</c>, default 250).</param>
public sealed record FileSourceSpec(string Name, string Path, bool FromEnd, int PollMilliseconds) : SourceSpec(Name);

/// <summary>JSON lines on standard input (<c>kind: stdin</c>); the source ends at end of input. Readings' source is <c>stdin</c>.</summary>
/// <param name="Name">The source's name.</param>
public sealed record StdinSourceSpec(string Name) : SourceSpec(Name);

/// <summary>An HTTP ingest endpoint (<c>kind: http</c>): <c>POST /ingest/NAME</c> on the monitor's HTTP address, with a JSON
/// object, a JSON array of objects, or JSON lines. Readings' source is <c>http</c>.</summary>
/// <param name="Name">The source's name (the last part of its URL path).</param>
/// <param name="ApiKeyEnv">The environment variable holding the key clients must send (<c>api_key_env</c>); null for none.</param>
/// <param name="MaxBodyBytes">The largest request body accepted (<c>max_body_bytes</c>, default 1 MiB); larger ones are refused with 413.</param>
public sealed record HttpSourceSpec(string Name, string? ApiKeyEnv, int MaxBodyBytes) : SourceSpec(Name);

/// <summary>An MQTT broker as a policy names it: <c>broker: mqtt://HOST:PORT</c> (or <c>mqtts://</c> for TLS) plus
/// <c>username</c>, <c>password_env</c>, <c>ca_file</c> and <c>protocol</c>. Passwords are never written in a policy: it names
/// the environment variable that holds one.</summary>
/// <param name="Host">Host name or address.</param>
/// <param name="Port">TCP port (default 1883, or 8883 with TLS).</param>
/// <param name="Tls">Whether the connection uses TLS (<c>mqtts://</c>).</param>
/// <param name="Protocol">MQTT 3.1.1 or 5.0 (<c>protocol: "3.1.1"</c> or <c>5</c>; default 3.1.1).</param>
/// <param name="Username">The user name, or null.</param>
/// <param name="PasswordEnv">The environment variable holding the password, or null.</param>
/// <param name="CaFile">A PEM CA certificate to trust for the broker's certificate instead of the system store, or null.</param>
public sealed record MqttBrokerSpec(string Host, int Port, bool Tls, MqttProtocolVersion Protocol, string? Username, string? PasswordEnv, string? CaFile);

/// <summary>Where alerts go (the policy's <c>sinks:</c> section); <c>actions.LABEL.sinks</c> name them.</summary>
/// <param name="Name">The sink's name in the policy.</param>
public abstract record SinkSpec(string Name);

/// <summary>How a sink delivers: a bounded queue between the decision loop and the sink, and retries.</summary>
/// <param name="Retries">Attempts after the first before an alert is given up and counted as failed (<c>retries</c>).</param>
/// <param name="Backoff">The wait before the first retry, doubled for each further one (<c>backoff_ms</c>).</param>
/// <param name="Timeout">How long one attempt may take (<c>timeout_ms</c>).</param>
/// <param name="QueueCapacity">Alerts waiting for the sink; when full, new ones are dropped and counted (<c>queue</c>).</param>
public sealed record SinkDelivery(int Retries, TimeSpan Backoff, TimeSpan Timeout, int QueueCapacity)
{
    /// <summary>3 retries from 500 ms, 5 s per attempt, 1000 queued.</summary>
    public static SinkDelivery Default { get; } = new(3, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(5), 1000);
}

/// <summary>Publishes alerts to an MQTT broker (<c>kind: mqtt</c>): each alert as JSON on <paramref name="AlertsTopic"/>, and
/// the current label as a retained JSON message on <paramref name="StateTopic"/>.</summary>
/// <param name="Name">The sink's name.</param>
/// <param name="Broker">The broker.</param>
/// <param name="AlertsTopic">Where alerts are published (<c>alerts_topic</c>, required).</param>
/// <param name="StateTopic">Where the current label is kept retained (<c>state_topic</c>), or null for none.</param>
/// <param name="Qos">The QoS of both (<c>qos</c>, default 1).</param>
/// <param name="Delivery">Queue and retries.</param>
public sealed record MqttSinkSpec(string Name, MqttBrokerSpec Broker, string AlertsTopic, string? StateTopic, MqttQos Qos, SinkDelivery Delivery)
    : SinkSpec(Name);

/// <summary>POSTs each alert as JSON to a URL (<c>kind: webhook</c>), retrying 5xx answers, 408, 429 and network errors.</summary>
/// <param name="Name">The sink's name.</param>
/// <param name="Url">An http or https URL (<c>url</c>).</param>
/// <param name="Delivery">Queue, retries, back-off and per-attempt timeout.</param>
public sealed record WebhookSinkSpec(string Name, Uri Url, SinkDelivery Delivery) : SinkSpec(Name);

/// <summary>Writes alerts to standard output (<c>kind: stdout</c>), as text lines or JSON lines (<c>format: text|json</c>).</summary>
/// <param name="Name">The sink's name.</param>
/// <param name="Json">JSON lines rather than text.</param>
public sealed record StdoutSinkSpec(string Name, bool Json) : SinkSpec(Name);

/// <summary>The monitor's store (<c>kind: store</c>). The store receives every reading, decision and alert whether or not an
/// action names it; declaring it lets actions say so.</summary>
/// <param name="Name">The sink's name.</param>
public sealed record StoreSinkSpec(string Name) : SinkSpec(Name);

/// <summary>Where the live monitor keeps what it sees (the policy's <c>store:</c> section): a SQLite file in WAL mode, its
/// retention limits, and optionally a PostgreSQL database it is copied to. The command line's <c>--store</c> and
/// <c>--sync</c> take precedence over <see cref="Path"/> and <see cref="PostgresSpec.ConnectionEnv"/>.</summary>
/// <param name="Path">The SQLite file (<c>path</c>; relative paths are relative to the policy file's directory).</param>
/// <param name="Durability">How commits reach the disk (<c>durability: full|normal</c>, default full).</param>
/// <param name="Retention">How long rows are kept (<c>retention:</c> with <c>readings</c>, <c>decisions</c>, <c>alerts</c>,
/// <c>quarantine</c>, each <c>{ max_age_hours, max_rows }</c>); rows not yet synced are kept regardless.</param>
/// <param name="Postgres">The PostgreSQL target (<c>postgres:</c>), or null for none.</param>
public sealed record StoreSpec(string Path, Storage.StoreDurability Durability, Storage.StoreRetention Retention, PostgresSpec? Postgres);

/// <summary>A PostgreSQL database the store is forwarded to (the <c>store:</c> section's <c>postgres:</c>). The connection
/// string never appears in a policy: the policy names the environment variable that holds it.</summary>
/// <param name="ConnectionEnv">The environment variable holding an Npgsql connection string (<c>connection_env</c>, required).</param>
/// <param name="BatchSize">Rows of each table per PostgreSQL transaction (<c>batch_size</c>, 1 to 10,000; default 500).</param>
/// <param name="PollInterval">How often the sync looks for new rows besides being woken by writes (<c>poll_ms</c>, default 1000).</param>
/// <param name="MaxBackoff">The longest wait between attempts while PostgreSQL is unreachable (<c>max_backoff_ms</c>, default 60000).</param>
public sealed record PostgresSpec(string ConnectionEnv, int BatchSize, TimeSpan PollInterval, TimeSpan MaxBackoff);
