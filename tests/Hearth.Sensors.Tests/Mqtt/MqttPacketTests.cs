using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Tests.Mqtt;

public sealed class MqttPacketTests
{
    [Theory]
    [InlineData(0, new byte[] { 0x00 })]
    [InlineData(127, new byte[] { 0x7F })]
    [InlineData(128, new byte[] { 0x80, 0x01 })]
    [InlineData(16_383, new byte[] { 0xFF, 0x7F })]
    [InlineData(16_384, new byte[] { 0x80, 0x80, 0x01 })]
    [InlineData(268_435_455, new byte[] { 0xFF, 0xFF, 0xFF, 0x7F })]
    public async Task RemainingLengthRoundTrips(int value, byte[] encoded)
    {
        var buffer = new byte[4];
        int n = MqttPacketWriter.EncodeVarInt(value, buffer);
        Assert.Equal(encoded, buffer[..n]);

        var stream = new MemoryStream([0x30, .. encoded, .. new byte[Math.Min(value, 16_384)]]);
        if (value <= 16_384)
        {
            var packet = await MqttPacketReader.ReadAsync(stream, 16_384, CancellationToken.None);
            Assert.Equal(value, packet.Body.Length);
        }
    }

    [Fact]
    public async Task AFiveByteRemainingLengthIsMalformed()
    {
        var stream = new MemoryStream([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        var e = await Assert.ThrowsAsync<MqttProtocolException>(() => MqttPacketReader.ReadAsync(stream, 1 << 20, CancellationToken.None).AsTask());
        Assert.Contains("more than 4 bytes", e.Message);
    }

    [Fact]
    public async Task ALengthOverTheMaximumFailsBeforeAllocating()
    {
        var stream = new MemoryStream([0x30, 0xFF, 0xFF, 0xFF, 0x7F]); // claims 256 MiB, carries nothing
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = await Assert.ThrowsAsync<MqttProtocolException>(() => MqttPacketReader.ReadAsync(stream, 65_536, CancellationToken.None).AsTask());
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
        Assert.Contains("268435455", e.Message);
        Assert.Contains("MaxPacketSize", e.Message);
    }

    [Fact]
    public void V5PropertiesAreSkippedByTypeAndKnownOnesKept()
    {
        byte[] body =
        [
            0x00, 0x00, // CONNACK flags, reason
            30, // property length
            0x21, 0x00, 0x0A, // Receive Maximum = 10
            0x27, 0x00, 0x01, 0x00, 0x00, // Maximum Packet Size
            0x26, 0x00, 0x01, (byte)'k', 0x00, 0x01, (byte)'v', // User Property k=v
            0x13, 0x00, 0x05, // Server Keep Alive = 5
            0x1F, 0x00, 0x02, (byte)'o', (byte)'k', // Reason String "ok"
            0x0B, 0x80, 0x01, // Subscription Identifier 128 (variable byte integer)
            0x09, 0x00, 0x01, 0xAB, // Correlation Data
        ];
        var r = new MqttBodyReader(body);
        r.Byte();
        r.Byte();
        var props = r.Properties();
        Assert.Equal((ushort)5, props.ServerKeepAlive);
        Assert.Equal("ok", props.ReasonString);
        Assert.Equal(0, r.Remaining);
    }

    [Fact]
    public void APropertyRunningPastItsBlockIsMalformed()
    {
        byte[] body = [0x03, 0x1F, 0x00, 0x09, (byte)'x'];
        Assert.Throws<MqttProtocolException>(() => new MqttBodyReader(body).Properties());
    }

    [Fact]
    public void AnUnknownPropertyIsMalformed()
    {
        byte[] body = [0x02, 0x7E, 0x00];
        var e = Assert.Throws<MqttProtocolException>(() => new MqttBodyReader(body).Properties());
        Assert.Contains("0x7E", e.Message);
    }
}
