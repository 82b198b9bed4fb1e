using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>Manual QoS 1 acknowledgement and persistent sessions against a real mosquitto: what the application has not
/// acknowledged stays with the broker, also across a client restart and a broker restart.</summary>
public sealed class MqttAcknowledgementTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(20);

    private static MqttClient Client(MosquittoBroker broker, MqttProtocolVersion version, string? clientId = null, bool manual = false) => new(new MqttClientOptions
    {
        Host = "127.0.0.1",
        Port = broker.Port,
        ProtocolVersion = version,
        ClientId = clientId,
        CleanSession = clientId == null,
        ManualAcknowledgement = manual,
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(500),
    });

    private static async Task<MqttMessage> NextAsync(MqttClient client)
    {
        using var cts = new CancellationTokenSource(s_deadline);
        return await client.Messages.ReadAsync(cts.Token);
    }

    private static async Task PublishAsync(MosquittoBroker broker, MqttProtocolVersion version, string topic, params string[] payloads)
    {
        await using var pub = Client(broker, version);
        await pub.ConnectAsync();
        foreach (var p in payloads) await pub.PublishAsync(topic, p, MqttQos.AtLeastOnce);
        await pub.DisconnectAsync();
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task OnlyAcknowledgedMessagesLeaveThePersistentSession(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        string id = "ack-test-" + version;
        await using (var first = Client(broker, version, id, manual: true))
        {
            await first.ConnectAsync();
            await first.SubscribeAsync("line/+/r", MqttQos.AtLeastOnce);
            await PublishAsync(broker, version, "line/1/r", "m1", "m2", "m3");
            var m1 = await NextAsync(first);
            var m2 = await NextAsync(first);
            var m3 = await NextAsync(first);
            Assert.Equal(["m1", "m2", "m3"], new[] { m1, m2, m3 }.Select(m => m.PayloadText));
            Assert.True(m1.NeedsAcknowledgement);
            Assert.True(await m1.AcknowledgeAsync());
            Assert.False(await m1.AcknowledgeAsync()); // once only
            // m2 and m3 are never acknowledged: the client goes away holding them.
            await first.DisconnectAsync();
            Assert.False(await m2.AcknowledgeAsync()); // its connection is gone
        }

        // Same client id, no new subscription: the session is the broker's, and it redelivers m2 and m3 only.
        await using (var second = Client(broker, version, id, manual: true))
        {
            await second.ConnectAsync();
            var again = await NextAsync(second);
            Assert.Equal("m2", again.PayloadText);
            Assert.True(again.Duplicate);
            Assert.True(await again.AcknowledgeAsync());
            var m3 = await NextAsync(second);
            Assert.Equal("m3", m3.PayloadText);
            Assert.True(await m3.AcknowledgeAsync());
            await PublishAsync(broker, version, "line/1/r", "m4");
            Assert.Equal("m4", (await NextAsync(second)).PayloadText); // not acknowledged
            await second.DisconnectAsync();
        }

        await using var third = Client(broker, version, id, manual: true);
        await third.ConnectAsync();
        await PublishAsync(broker, version, "line/1/r", "m5");
        Assert.Equal("m4", (await NextAsync(third)).PayloadText);
        Assert.Equal("m5", (await NextAsync(third)).PayloadText);
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task AutomaticAcknowledgementNeedsNothingFromTheApplication(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync();
        string id = "auto-ack-" + version;
        await using (var first = Client(broker, version, id))
        {
            await first.ConnectAsync();
            await first.SubscribeAsync("t", MqttQos.AtLeastOnce);
            await PublishAsync(broker, version, "t", "a");
            var a = await NextAsync(first);
            Assert.False(a.NeedsAcknowledgement);
            Assert.False(await a.AcknowledgeAsync());
            await first.DisconnectAsync();
        }

        await using var second = Client(broker, version, id);
        await second.ConnectAsync();
        await PublishAsync(broker, version, "t", "b");
        Assert.Equal("b", (await NextAsync(second)).PayloadText); // "a" was acknowledged on receipt
    }

    [Theory]
    [InlineData(MqttProtocolVersion.V311)]
    [InlineData(MqttProtocolVersion.V500)]
    public async Task MessagesQueuedForAnAbsentClientSurviveABrokerRestart(MqttProtocolVersion version)
    {
        using var broker = await MosquittoBroker.StartAsync(persistent: true);
        string id = "queued-" + version;
        await using (var sub = Client(broker, version, id, manual: true))
        {
            await sub.ConnectAsync();
            await sub.SubscribeAsync("plant/#", MqttQos.AtLeastOnce);
            await sub.DisconnectAsync();
        }

        var sent = Enumerable.Range(0, 50).Select(i => $"reading {i}").ToArray();
        await PublishAsync(broker, version, "plant/a", sent);
        broker.StopGracefully();
        await broker.RestartAsync();

        await using var back = Client(broker, version, id, manual: true);
        await back.ConnectAsync();
        var received = new List<string>();
        while (received.Count < sent.Length)
        {
            var m = await NextAsync(back);
            received.Add(m.PayloadText);
            await m.AcknowledgeAsync();
        }

        Assert.Equal(sent, received);
    }
}
