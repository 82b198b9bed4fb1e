using System.Net;
using System.Net.Sockets;
using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

/// <summary>The client against a hand-rolled TCP server that sends hostile bytes.</summary>
public sealed class MqttFakeServerTests
{
    private static async Task<Exception> RunAgainstAsync(byte[] afterConnAck, int maxPacketSize = 64 * 1024)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var server = Task.Run(async () =>
            {
                using var socket = await listener.AcceptTcpClientAsync();
                var stream = socket.GetStream();
                var buffer = new byte[256];
                _ = await stream.ReadAsync(buffer); // the CONNECT packet (small enough for one read)
                await stream.WriteAsync(new byte[] { 0x20, 0x02, 0x00, 0x00 }); // CONNACK: accepted
                await stream.WriteAsync(afterConnAck);
                // Hold the socket open until the client gives up, so the error is the client's own verdict.
                while (await stream.ReadAsync(buffer) > 0) { }
            });

            await using var client = new MqttClient(new MqttClientOptions
            {
                Host = "127.0.0.1",
                Port = port,
                AutoReconnect = false,
                KeepAlive = TimeSpan.Zero,
                MaxPacketSize = maxPacketSize,
            });
            long before = GC.GetTotalAllocatedBytes(precise: true);
            await client.ConnectAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var error = await Assert.ThrowsAnyAsync<MqttException>(async () =>
            {
                await foreach (var _ in client.ReadMessagesAsync(cts.Token)) { }
            });
            // The packet claimed ~256 MiB; nothing close to that was allocated (other tests may run alongside).
            Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20);
            Assert.False(client.IsConnected);
            await server.WaitAsync(cts.Token);
            return error;
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task OversizedPublishIsATypedErrorWithoutAHugeAllocation()
    {
        // PUBLISH QoS 0 whose remaining length is the protocol maximum, 268,435,455, with no body behind it.
        var e = await RunAgainstAsync([0x30, 0xFF, 0xFF, 0xFF, 0x7F]);
        var protocol = Assert.IsType<MqttProtocolException>(e);
        Assert.Contains("maximum packet size", protocol.Message);
    }

    [Fact]
    public async Task FiveByteRemainingLengthIsMalformed()
    {
        var e = await RunAgainstAsync([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]);
        Assert.Contains("more than 4 bytes", Assert.IsType<MqttProtocolException>(e).Message);
    }

    [Fact]
    public async Task PublishWithATopicLongerThanItsPacketIsMalformed()
    {
        var e = await RunAgainstAsync([0x30, 0x04, 0x00, 0x40, (byte)'a', (byte)'b']);
        Assert.IsType<MqttProtocolException>(e);
    }
}
