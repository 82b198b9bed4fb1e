using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Hearth.Sensors.Mqtt;

/// <summary>Control packet types (the high nibble of the fixed header's first byte).</summary>
internal enum MqttPacketType : byte
{
    Connect = 1, ConnAck = 2, Publish = 3, PubAck = 4, Subscribe = 8, SubAck = 9,
    PingReq = 12, PingResp = 13, Disconnect = 14,
}

/// <summary>A received packet: the fixed header's first byte and the bytes its remaining length covers.</summary>
internal readonly record struct MqttRawPacket(byte Header, byte[] Body)
{
    public MqttPacketType Type => (MqttPacketType)(Header >> 4);
    public int Flags => Header & 0x0F;
}

/// <summary>Builds one outgoing packet's variable header and payload, then frames it.</summary>
internal sealed class MqttPacketWriter
{
    private readonly ArrayBufferWriter<byte> _body = new();

    public void Byte(byte value) => _body.Write([value]);

    public void UInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_body.GetSpan(2), value);
        _body.Advance(2);
    }

    public void UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_body.GetSpan(4), value);
        _body.Advance(4);
    }

    /// <summary>A UTF-8 string with its two-byte length prefix.</summary>
    public void String(string value) => Binary(Encoding.UTF8.GetBytes(value));

    /// <summary>Binary data with its two-byte length prefix.</summary>
    public void Binary(ReadOnlySpan<byte> value)
    {
        if (value.Length > ushort.MaxValue)
            throw new ArgumentException($"An MQTT string or binary field holds at most 65535 bytes, not {value.Length}.");
        UInt16((ushort)value.Length);
        _body.Write(value);
    }

    public void Bytes(ReadOnlySpan<byte> value) => _body.Write(value);

    public void VarInt(int value)
    {
        Span<byte> tmp = stackalloc byte[4];
        _body.Write(tmp[..EncodeVarInt(value, tmp)]);
    }

    /// <summary>The framed packet: first byte, remaining length, body.</summary>
    public byte[] ToPacket(byte header)
    {
        Span<byte> len = stackalloc byte[4];
        int n = EncodeVarInt(_body.WrittenCount, len);
        var packet = new byte[1 + n + _body.WrittenCount];
        packet[0] = header;
        len[..n].CopyTo(packet.AsSpan(1));
        _body.WrittenSpan.CopyTo(packet.AsSpan(1 + n));
        return packet;
    }

    /// <summary>Variable byte integer: 7 bits per byte, least significant first, high bit = more bytes follow.</summary>
    internal static int EncodeVarInt(int value, Span<byte> destination)
    {
        if (value < 0 || value > MqttPacketReader.MaxVarInt)
            throw new ArgumentOutOfRangeException(nameof(value), $"{value} does not fit a 4-byte MQTT variable byte integer.");
        int i = 0;
        do
        {
            byte b = (byte)(value & 0x7F);
            value >>= 7;
            if (value > 0) b |= 0x80;
            destination[i++] = b;
        } while (value > 0);
        return i;
    }
}

/// <summary>Reads framed packets from a stream, validating the remaining length before allocating.</summary>
internal static class MqttPacketReader
{
    /// <summary>The largest value a 4-byte variable byte integer holds (268,435,455).</summary>
    public const int MaxVarInt = 0x0FFF_FFFF;

    /// <exception cref="MqttProtocolException">The length field is malformed or exceeds <paramref name="maxPacketSize"/>.</exception>
    /// <exception cref="EndOfStreamException">The peer closed the connection.</exception>
    public static async ValueTask<MqttRawPacket> ReadAsync(Stream stream, int maxPacketSize, CancellationToken ct)
    {
        var one = new byte[1];
        await stream.ReadExactlyAsync(one, ct).ConfigureAwait(false);
        byte header = one[0];
        int length = 0;
        for (int i = 0; ; i++)
        {
            if (i == 4)
                throw new MqttProtocolException("Malformed MQTT packet: the remaining length uses more than 4 bytes.");
            await stream.ReadExactlyAsync(one, ct).ConfigureAwait(false);
            length |= (one[0] & 0x7F) << (7 * i);
            if ((one[0] & 0x80) == 0) break;
        }
        if (length > maxPacketSize)
            throw new MqttProtocolException(
                $"MQTT packet type {header >> 4} declares a remaining length of {length} bytes, over the maximum packet size of {maxPacketSize} bytes (MqttClientOptions.MaxPacketSize).");
        var body = length == 0 ? [] : new byte[length];
        await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
        return new MqttRawPacket(header, body);
    }
}

/// <summary>Cursor over a received packet body; every read is bounds-checked and fails as a protocol error.</summary>
internal ref struct MqttBodyReader(ReadOnlySpan<byte> body)
{
    private readonly ReadOnlySpan<byte> _body = body;
    private int _pos;

    public readonly int Remaining => _body.Length - _pos;

    public readonly int Position => _pos;

    public ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
            throw new MqttProtocolException($"Malformed MQTT packet: a field of {count} bytes runs past the packet's end ({Remaining} bytes left).");
        var s = _body.Slice(_pos, count);
        _pos += count;
        return s;
    }

    public byte Byte() => Take(1)[0];

    public ushort UInt16() => BinaryPrimitives.ReadUInt16BigEndian(Take(2));

    public uint UInt32() => BinaryPrimitives.ReadUInt32BigEndian(Take(4));

    public string String()
    {
        try { return new UTF8Encoding(false, true).GetString(Take(UInt16())); }
        catch (DecoderFallbackException) { throw new MqttProtocolException("Malformed MQTT packet: a string is not valid UTF-8."); }
    }

    public int VarInt()
    {
        int value = 0;
        for (int i = 0; i < 4; i++)
        {
            byte b = Byte();
            value |= (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) return value;
        }
        throw new MqttProtocolException("Malformed MQTT packet: a variable byte integer uses more than 4 bytes.");
    }

    /// <summary>Reads an MQTT 5.0 property block, keeping the few properties the client acts on and skipping the
    /// rest by their specified types (an unknown identifier is a protocol error, since its length is unknowable).</summary>
    public MqttProperties Properties()
    {
        int length = VarInt();
        var inner = new MqttBodyReader(Take(length));
        var props = new MqttProperties();
        while (inner.Remaining > 0)
        {
            int id = inner.VarInt();
            switch (id)
            {
                case 0x01 or 0x17 or 0x19 or 0x24 or 0x25 or 0x28 or 0x29 or 0x2A: inner.Byte(); break;
                case 0x13: props.ServerKeepAlive = inner.UInt16(); break;
                case 0x21 or 0x22 or 0x23: inner.UInt16(); break;
                case 0x02 or 0x11 or 0x18 or 0x27: inner.UInt32(); break;
                case 0x0B: inner.VarInt(); break;
                case 0x1F: props.ReasonString = inner.String(); break;
                case 0x12: props.AssignedClientId = inner.String(); break;
                case 0x03 or 0x08 or 0x15 or 0x1A or 0x1C: inner.String(); break;
                case 0x09 or 0x16: inner.Take(inner.UInt16()); break;
                case 0x26: inner.String(); inner.String(); break;
                default: throw new MqttProtocolException($"Malformed MQTT 5.0 packet: unknown property identifier 0x{id:X2}.");
            }
        }
        return props;
    }
}

/// <summary>The MQTT 5.0 properties the client uses.</summary>
internal sealed class MqttProperties
{
    public ushort? ServerKeepAlive { get; set; }
    public string? ReasonString { get; set; }
    public string? AssignedClientId { get; set; }
}

/// <summary>Names of CONNACK return codes (3.1.1) and reason codes (5.0), as the specifications word them.</summary>
internal static class MqttReasonCodes
{
    public static string Name(MqttProtocolVersion version, byte code) => version == MqttProtocolVersion.V311
        ? code switch
        {
            0 => "Connection accepted",
            1 => "Unacceptable protocol version",
            2 => "Identifier rejected",
            3 => "Server unavailable",
            4 => "Bad user name or password",
            5 => "Not authorized",
            _ => "Unknown return code",
        }
        : code switch
        {
            0x00 => "Success",
            0x04 => "Disconnect with Will Message",
            0x80 => "Unspecified error",
            0x81 => "Malformed Packet",
            0x82 => "Protocol Error",
            0x83 => "Implementation specific error",
            0x84 => "Unsupported Protocol Version",
            0x85 => "Client Identifier not valid",
            0x86 => "Bad User Name or Password",
            0x87 => "Not authorized",
            0x88 => "Server unavailable",
            0x89 => "Server busy",
            0x8A => "Banned",
            0x8B => "Server shutting down",
            0x8C => "Bad authentication method",
            0x8D => "Keep Alive timeout",
            0x8E => "Session taken over",
            0x90 => "Topic Name invalid",
            0x95 => "Packet too large",
            0x97 => "Quota exceeded",
            0x99 => "Payload format invalid",
            0x9A => "Retain not supported",
            0x9B => "QoS not supported",
            0x9C => "Use another server",
            0x9D => "Server moved",
            0x9F => "Connection rate exceeded",
            _ => "Unknown reason code",
        };
}
