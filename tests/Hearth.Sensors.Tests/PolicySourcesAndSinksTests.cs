using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests;

/// <summary>The policy's <c>sources:</c> and <c>sinks:</c> sections: what they parse to, and every error with its line and column.</summary>
public sealed class PolicySourcesAndSinksTests
{
    private const string Base = "signals:\n  temperature: { unit: C }\nrules:\n  - { signal: temperature, above: 80, label: A }\n";

    [Fact]
    public void EveryKindParsesWithItsSettingsAndDefaults()
    {
        var dir = Path.Combine(Path.GetTempPath(), "policies");
        var policy = PolicyLoader.Parse(Base + """
            sources:
              plant:
                kind: mqtt
                broker: mqtts://broker.local:8884
                topics: [plant/+/readings, plant/alarms/#]
                qos: 0
                client_id: edge-7
                persistent: false
                username: sensor
                password_env: PLANT_PASSWORD
                ca_file: certs/ca.pem
                protocol: 5
              plain: { kind: mqtt, broker: "mqtt://10.0.0.2", topics: line/1 }
              log: { kind: file, path: /var/log/r.jsonl, from: end, poll_ms: 50 }
              rel: { kind: file, path: data/r.jsonl }
              in: { kind: stdin }
              api: { kind: http, api_key_env: INGEST_KEY, max_body_bytes: 4096 }
            sinks:
              bus: { kind: mqtt, broker: "mqtt://127.0.0.1:1884", alerts_topic: hearth/alerts, state_topic: hearth/state, retries: 7, backoff_ms: 20, queue: 10 }
              ops: { kind: webhook, url: "https://ops.example/hook", retries: 2, backoff_ms: 100, timeout_ms: 900 }
              console: { kind: stdout, format: json }
              text: { kind: stdout }
              db: { kind: store }
            actions:
              A: { sinks: [bus, ops, db], severity: critical }
            """, "io.yaml", dir);

        Assert.Equal(["plant", "plain", "log", "rel", "in", "api"], policy.Sources.Select(s => s.Name));
        var plant = Assert.IsType<MqttSourceSpec>(policy.Sources[0]);
        Assert.Equal(new MqttBrokerSpec("broker.local", 8884, true, MqttProtocolVersion.V500, "sensor", "PLANT_PASSWORD", Path.Combine(dir, "certs", "ca.pem")), plant.Broker);
        Assert.Equal(["plant/+/readings", "plant/alarms/#"], plant.Topics);
        Assert.Equal((MqttQos.AtMostOnce, "edge-7", false), (plant.Qos, plant.ClientId, plant.Persistent));
        var plain = Assert.IsType<MqttSourceSpec>(policy.Sources[1]);
        Assert.Equal(new MqttBrokerSpec("10.0.0.2", 1883, false, MqttProtocolVersion.V311, null, null, null), plain.Broker);
        Assert.Equal((MqttQos.AtLeastOnce, "hearth-monitor-plain", true), (plain.Qos, plain.ClientId, plain.Persistent));
        Assert.Equal(["line/1"], plain.Topics);
        Assert.Equal(new FileSourceSpec("log", "/var/log/r.jsonl", true, 50), policy.Sources[2]);
        Assert.Equal(new FileSourceSpec("rel", Path.Combine(dir, "data", "r.jsonl"), false, 250), policy.Sources[3]);
        Assert.Equal(new StdinSourceSpec("in"), policy.Sources[4]);
        Assert.Equal(new HttpSourceSpec("api", "INGEST_KEY", 4096), policy.Sources[5]);

        Assert.Equal(["bus", "ops", "console", "text", "db"], policy.Sinks!.Select(s => s.Name));
        var bus = Assert.IsType<MqttSinkSpec>(policy.Sinks![0]);
        Assert.Equal(("hearth/alerts", "hearth/state", MqttQos.AtLeastOnce, 1884), (bus.AlertsTopic, bus.StateTopic, bus.Qos, bus.Broker.Port));
        Assert.Equal(new SinkDelivery(7, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(5), 10), bus.Delivery);
        var ops = Assert.IsType<WebhookSinkSpec>(policy.Sinks[1]);
        Assert.Equal(new Uri("https://ops.example/hook"), ops.Url);
        Assert.Equal(new SinkDelivery(2, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(900), 1000), ops.Delivery);
        Assert.Equal(new StdoutSinkSpec("console", true), policy.Sinks[2]);
        Assert.Equal(new StdoutSinkSpec("text", false), policy.Sinks[3]);
        Assert.Equal(new StoreSinkSpec("db"), policy.Sinks[4]);
        Assert.Equal(["bus", "ops", "db"], policy.ActionFor("A").Sinks);
    }

    [Fact]
    public void WithoutTheSectionsThereAreNoSourcesAndNoSinksSection()
    {
        var policy = PolicyLoader.Parse(Base + "actions:\n  A: { sinks: [pager] }\n");
        Assert.Empty(policy.Sources);
        Assert.Null(policy.Sinks); // so action sink names are not checked: replay only prints them
        Assert.Equal(["pager"], policy.ActionFor("A").Sinks);
        Assert.Empty(PolicyLoader.Parse(Base + "sinks: {}\n").Sinks!);
    }

    [Fact]
    public void TheSeedScenarioWithAnMqttSourceAndSinkIsAFewLines()
    {
        var text = PolicyLoader.SeedText + """

            sources:
              plant: { kind: mqtt, broker: "mqtt://127.0.0.1", topics: plant/+/readings }
            sinks:
              bus: { kind: mqtt, broker: "mqtt://127.0.0.1", alerts_topic: hearth/alerts, state_topic: hearth/state }
            actions:
              ANOMALY DETECTED: { sinks: [bus], severity: critical }
            """;
        var policy = PolicyLoader.Parse(text);
        Assert.Single(policy.Sources);
        Assert.True(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length <= 16);
    }

    [Theory]
    // Each case: the YAML after the signals and rules (which end on line 4), the expected line and column, and a phrase.
    [InlineData("sources:\n  s: { kind: kafka }\n", 6, 14, "source 's': unknown kind 'kafka' (use mqtt, file, stdin, http)")]
    [InlineData("sources:\n  o: { format: json }\n", 6, 6, "missing required key 'kind'")]
    [InlineData("sources:\n  s: { kind: mqtt, topics: [a/b] }\n", 6, 6, "missing required key 'broker'")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"tcp://x:1\", topics: [a] }\n", 6, 28, "broker must be mqtt://HOST:PORT or mqtts://HOST:PORT")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: [a/#/b] }\n", 6, 49, "'a/#/b' is not a valid MQTT topic filter")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: a, qos: 2 }\n", 6, 56, "QoS 2 is not supported")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: a, password: x }\n", 6, 61, "a password does not belong in the policy file")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: a, password_env: P }\n", 6, 6, "MQTT 3.1.1 needs a 'username'")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: a, ca_file: ca.pem }\n", 6, 6, "'ca_file' is for TLS")]
    [InlineData("sources:\n  s: { kind: mqtt, broker: \"mqtt://h\", topics: a, protocol: 4.0 }\n", 6, 61, "protocol must be \"3.1.1\" or 5")]
    [InlineData("sources:\n  f: { kind: file }\n", 6, 6, "source 'f': missing required key 'path'")]
    [InlineData("sources:\n  f: { kind: file, path: r.jsonl, from: middle }\n", 6, 41, "from must be start or end, not 'middle'")]
    [InlineData("sources:\n  f: { kind: file, path: x, tail: true }\n", 6, 29, "source 'f' (file): unknown key 'tail'")]
    [InlineData("sources:\n  h: { kind: http, max_body_bytes: 10 }\n", 6, 36, "max_body_bytes must be a whole number from 1024")]
    [InlineData("sources:\n  a: { kind: stdin }\n  b: { kind: stdin }\n", 6, 3, "there is one standard input")]
    [InlineData("sinks:\n  w: { kind: webhook, url: \"ftp://x\" }\n", 6, 28, "url must be an http:// or https:// address")]
    [InlineData("sinks:\n  w: { kind: webhook, url: \"http://x\", retries: -1 }\n", 6, 49, "retries must be a whole number from 0 to 100")]
    [InlineData("sinks:\n  o: { kind: stdout, format: xml }\n", 6, 30, "format must be text or json, not 'xml'")]
    [InlineData("sinks:\n  o: { kind: stdout, url: x }\n", 6, 22, "sink 'o' (stdout): unknown key 'url'")]
    [InlineData("sinks:\n  m: { kind: mqtt, broker: \"mqtt://h\" }\n", 6, 6, "missing required key 'alerts_topic'")]
    [InlineData("sinks:\n  m: { kind: mqtt, broker: \"mqtt://h\", alerts_topic: a/# }\n", 6, 54, "'a/#' is not a topic to publish to")]
    [InlineData("sinks:\n  o: { kind: stdout }\nactions:\n  A: { sinks: [o, pager] }\n", 8, 19, "action for 'A': unknown sink 'pager' (declared sinks: o)")]
    public void InvalidSourcesAndSinksNameTheLineAndColumn(string yaml, int line, int column, string phrase)
    {
        var e = Assert.Throws<PolicyException>(() => PolicyLoader.Parse(Base + yaml, "bad.yaml"));
        Assert.Contains(phrase, e.Message);
        Assert.Equal((line, column), (e.Line, e.Column));
    }
}
