using System.Diagnostics;
using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>The client against a real mosquitto broker.</summary>
public sealed class MqttBrokerTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(20);

    private static MqttClient Client(MosquittoBroker broker, MqttProtocolVersion version, Action<MqttClientOptionsBuilder>? configure = null)
    {
        var b = new MqttClientOptionsBuilder { Port = broker.Port, Version = version };
        configure?.Invoke(b);
        return new MqttClient(new MqttClientOptions
        {
            Host = "127.0.0.1",
            Port = b.Port,
            ProtocolVersion = b.Version,
            Username = b.Username,
            Password = b.Password,
            KeepAlive = b.KeepAlive,
            AutoReconnect = b.AutoReconnect,
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
        });
    }

    internal sealed class MqttClientOptionsBuilder
    {
        public int Port { get; set; }
        public MqttProtocolVersion Version { get; set; }
        public string? Username { get; set; }
        public string? Password { get; set; }
        public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);
        public bool AutoReconnect { get; set; } = true;
    }

    private static async Task<MqttMessage> NextAsync(MqttClient client)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        return await client.Messages.ReadAsync(cts.Token);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311, MqttQos.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V311, MqttQos.AtLeastOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQos.AtMostOnce)]
    [InlineData(MqttProtocolVersion.V500, MqttQos.AtLeastOnce)]
    public async Task PublishAndReceiveRoundTrip(MqttProtocolVersion version, MqttQos qos)
    {
        using var broker = await MosquittoBroker.StartAsync();
        await using var sub = Client(broker, version);
        await using var pub = Client(broker, version);
        await sub.ConnectAsync();
        await pub.ConnectAsync();
        Assert.Equal(qos, await sub.SubscribeAsync("line1/temp", qos));

        await pub.PublishAsync("line1/temp", "{\"t\":81.5}", qos);
        await pub.PublishAsync("line1/temp", new byte[] { 0, 255, 1 }, qos);

        var first = await NextAsync(sub);
        Assert.Equal("line1/temp", first.Topic);
        Assert.Equal("{\"t\":81.5}", first.PayloadText);
        Assert.Equal(qos, first.Qos);
        Assert.False(first.Retain);
        Assert.Equal(new byte[] { 0, 255, 1 }, (await NextAsync(sub)).Payload.ToArray());
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task WildcardSubscriptionsReceiveMatchingTopicsOnly(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        await using var sub = Client(broker, version);
        await using var pub = Client(broker, version);
        await sub.ConnectAsync();
        await pub.ConnectAsync();
        await sub.SubscribeAsync("plant/+/temp", MqttQos.AtLeastOnce);
        await sub.SubscribeAsync("alarms/#", MqttQos.AtLeastOnce);

        string[] sent = ["plant/a/temp", "plant/a/b/temp", "plant/b/temp", "other/x", "alarms", "alarms/fire/zone2", "plant/a/humidity"];
        foreach (var topic in sent) await pub.PublishAsync(topic, topic, MqttQos.AtLeastOnce);
        await pub.PublishAsync("alarms/end", "end", MqttQos.AtLeastOnce);

        var received = new List<string>();
        while (true)
        {
            var m = await NextAsync(sub);
            if (m.Topic == "alarms/end") break;
            received.Add(m.Topic);
        }
        Assert.Equal(["plant/a/temp", "plant/b/temp", "alarms", "alarms/fire/zone2"], received);
        Assert.All(received, t => Assert.True(MqttTopic.Matches("plant/+/temp", t) || MqttTopic.Matches("alarms/#", t)));
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task RetainedMessageReachesALateSubscriber(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        await using (var pub = Client(broker, version))
        {
            await pub.ConnectAsync();
            await pub.PublishAsync("line1/state", "running", MqttQos.AtLeastOnce, retain: true);
            await pub.DisconnectAsync();
        }

        await using var late = Client(broker, version);
        await late.ConnectAsync();
        await late.SubscribeAsync("line1/#", MqttQos.AtLeastOnce);
        var m = await NextAsync(late);
        Assert.Equal("line1/state", m.Topic);
        Assert.Equal("running", m.PayloadText);
        Assert.True(m.Retain);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311, 5)]   // 3.1.1: mosquitto answers "not authorized"
    [InlineData(MqttProtocolVersion.V500, 0x87)]
    public async Task WrongPasswordFailsWithTheConnAckReason(MqttProtocolVersion version, int expectedCode)
    {
        using var broker = await MosquittoBroker.StartAsync(dir =>
        {
            string file = Path.Combine(dir, "passwords");
            using (var p = Process.Start("mosquitto_passwd", ["-b", "-c", file, "sensor", "s3cret"])) p.WaitForExit();
            return $"password_file {file}\n";
        }, anonymous: false);

        await using var good = Client(broker, version, b => { b.Username = "sensor"; b.Password = "s3cret"; });
        await good.ConnectAsync();
        Assert.True(good.IsConnected);

        await using var bad = Client(broker, version, b => { b.Username = "sensor"; b.Password = "wrong"; });
        var e = await Assert.ThrowsAsync<MqttConnectException>(() => bad.ConnectAsync());
        Assert.Equal(expectedCode, e.ReasonCode);
        Assert.Contains(e.ReasonName, e.Message);
        Assert.Contains("authorized", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(bad.IsConnected);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task ReconnectsAndResubscribesAfterABrokerRestart(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        await using var sub = Client(broker, version);
        await sub.ConnectAsync();
        await sub.SubscribeAsync("sensors/+/value", MqttQos.AtLeastOnce);
        await using (var pub = Client(broker, version))
        {
            await pub.ConnectAsync();
            await pub.PublishAsync("sensors/a/value", "before", MqttQos.AtLeastOnce);
        }
        Assert.Equal("before", (await NextAsync(sub)).PayloadText);

        broker.Kill();
        await broker.RestartAsync();

        // Publish until the re-subscribed client hears it: messages sent before it re-subscribes are (correctly) lost.
        await using var pub2 = Client(broker, version);
        await pub2.ConnectAsync();
        using var cts = new CancellationTokenSource(s_deadline);
        MqttMessage? after = null;
        while (after is null)
        {
            await pub2.PublishAsync("sensors/b/value", "after", MqttQos.AtLeastOnce, cancellationToken: cts.Token);
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
            poll.CancelAfter(TimeSpan.FromMilliseconds(200));
            try { after = await sub.Messages.ReadAsync(poll.Token); }
            catch (OperationCanceledException) when (!cts.IsCancellationRequested) { }
        }
        Assert.Equal("sensors/b/value", after.Topic);
        Assert.Equal("after", after.PayloadText);
        Assert.True(sub.ReconnectCount >= 1);
        Assert.True(sub.IsConnected);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task KeepAlivePingsKeepAnIdleConnectionOpen(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        await using var client = Client(broker, version, b => { b.KeepAlive = TimeSpan.FromSeconds(1); b.AutoReconnect = false; });
        await client.ConnectAsync();
        await client.SubscribeAsync("idle/topic", MqttQos.AtLeastOnce);

        using var cts = new CancellationTokenSource(s_deadline);
        while (client.PingResponsesReceived < 3) await Task.Delay(50, cts.Token);

        // Three intervals without application traffic, and the broker has not dropped us.
        Assert.True(client.IsConnected);
        Assert.Equal(0, client.ReconnectCount);
        await using var pub = Client(broker, version);
        await pub.ConnectAsync();
        await pub.PublishAsync("idle/topic", "still here", MqttQos.AtLeastOnce);
        Assert.Equal("still here", (await NextAsync(client)).PayloadText);
    }
}
