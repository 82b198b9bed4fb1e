namespace Hearth.Sensors.Mqtt;

/// <summary>The MQTT protocol revision spoken on the wire (the CONNECT packet's protocol level byte).</summary>
public enum MqttProtocolVersion
{
    /// <summary>MQTT 3.1.1 (protocol level 4).</summary>
    V311 = 4,

    /// <summary>MQTT 5.0 (protocol level 5).</summary>
    V500 = 5,
}

/// <summary>Quality of service of a publication or subscription. QoS 2 is not supported by this client.</summary>
public enum MqttQos
{
    /// <summary>Fire and forget: delivered at most once.</summary>
    AtMostOnce = 0,

    /// <summary>Acknowledged with PUBACK: delivered at least once.</summary>
    AtLeastOnce = 1,
}

/// <summary>An application message received from the broker.</summary>
/// <param name="Topic">The topic name it was published to.</param>
/// <param name="Payload">The payload bytes (owned by this message).</param>
/// <param name="Qos">The QoS it was delivered with.</param>
/// <param name="Retain">True when the broker delivered it from its retained store (e.g. to a new subscriber).</param>
public sealed record MqttMessage(string Topic, ReadOnlyMemory<byte> Payload, MqttQos Qos, bool Retain)
{
    /// <summary>The payload decoded as UTF-8.</summary>
    public string PayloadText => System.Text.Encoding.UTF8.GetString(Payload.Span);

    /// <summary>True when the broker flagged this delivery as a possible duplicate (DUP): it may have been delivered
    /// before, for instance before a reconnect.</summary>
    public bool Duplicate { get; init; }

    /// <summary>True when the application must call <see cref="AcknowledgeAsync"/> for the broker to consider the
    /// message delivered (QoS 1 with <see cref="MqttClientOptions.ManualAcknowledgement"/>).</summary>
    public bool NeedsAcknowledgement => Acknowledgement != null;

    internal MqttClient.MqttAcknowledgement? Acknowledgement { get; init; }

    /// <summary>Sends this message's PUBACK (see <see cref="MqttClientOptions.ManualAcknowledgement"/>). Returns true
    /// when it was sent now; false, doing nothing, for a message that needs no acknowledgement, one already
    /// acknowledged, and one whose connection has closed (the broker redelivers that one on the next connection of a
    /// persistent session). Never throws for a lost connection; throws only when <paramref name="cancellationToken"/> fires.</summary>
    public Task<bool> AcknowledgeAsync(CancellationToken cancellationToken = default) =>
        Acknowledgement?.SendAsync(cancellationToken) ?? Task.FromResult(false);
}

/// <summary>Base type of every error the MQTT client throws.</summary>
public class MqttException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MqttException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>The broker refused the connection: CONNACK carried a non-zero return/reason code.</summary>
public sealed class MqttConnectException : MqttException
{
    /// <summary>Creates the exception.</summary>
    public MqttConnectException(byte reasonCode, string reasonName, string? reasonString)
        : base($"The MQTT broker refused the connection: CONNACK reason 0x{reasonCode:X2} ({reasonName})"
               + (reasonString is null ? "." : $": {reasonString}."))
    {
        ReasonCode = reasonCode;
        ReasonName = reasonName;
    }

    /// <summary>The CONNACK return code (3.1.1) or reason code (5.0).</summary>
    public byte ReasonCode { get; }

    /// <summary>The specification's name for <see cref="ReasonCode"/>, e.g. "Bad username or password".</summary>
    public string ReasonName { get; }
}

/// <summary>The peer sent bytes that are not a valid MQTT packet, or a packet larger than the configured maximum.</summary>
public sealed class MqttProtocolException : MqttException
{
    /// <summary>Creates the exception.</summary>
    public MqttProtocolException(string message) : base(message) { }
}

/// <summary>The connection could not be opened (refused, timed out, TLS failure) or is not (or no longer) open;
/// the operation did not complete.</summary>
public sealed class MqttConnectionException : MqttException
{
    /// <summary>Creates the exception.</summary>
    public MqttConnectionException(string message, Exception? inner = null) : base(message, inner) { }
}
