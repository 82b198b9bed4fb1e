using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Hearth.Sensors.Mqtt;

/// <summary>Settings of an <see cref="MqttClient"/>. Validated by the client's constructor.</summary>
public sealed class MqttClientOptions
{
    /// <summary>Broker host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>Broker TCP port (1883 plain, 8883 TLS by convention).</summary>
    public int Port { get; init; } = 1883;

    /// <summary>Protocol revision; default 3.1.1.</summary>
    public MqttProtocolVersion ProtocolVersion { get; init; } = MqttProtocolVersion.V311;

    /// <summary>Client identifier; when null a random "hearth-…" identifier is used.</summary>
    public string? ClientId { get; init; }

    /// <summary>Clean session (3.1.1) / clean start (5.0) flag; default true.</summary>
    public bool CleanSession { get; init; } = true;

    /// <summary>Keep-alive interval; the client sends PINGREQ more often than this. Zero disables keep-alive.
    /// Whole seconds, at most 65535.</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>User name, or null for none.</summary>
    public string? Username { get; init; }

    /// <summary>Password, or null for none (3.1.1 requires a user name when a password is given).</summary>
    public string? Password { get; init; }

    /// <summary>Wrap the connection in TLS (<see cref="SslStream"/>).</summary>
    public bool UseTls { get; init; }

    /// <summary>Server name the certificate must match; default <see cref="Host"/>.</summary>
    public string? TlsTargetHost { get; init; }

    /// <summary>A CA certificate to trust as root for the broker's certificate, in place of the system store.</summary>
    public X509Certificate2? TrustedCaCertificate { get; init; }

    /// <summary>Custom certificate validation; when set it alone decides (overrides <see cref="TrustedCaCertificate"/>).</summary>
    public RemoteCertificateValidationCallback? CertificateValidationCallback { get; init; }

    /// <summary>Largest remaining length accepted from the broker, in bytes; larger packets are a protocol error and
    /// nothing of that size is allocated. Default 1 MiB; at most 268,435,455 (the protocol's limit).</summary>
    public int MaxPacketSize { get; init; } = 1024 * 1024;

    /// <summary>Time allowed for TCP connect, TLS handshake and CONNACK.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Reconnect (and re-subscribe) automatically when an established connection is lost; default true.</summary>
    public bool AutoReconnect { get; init; } = true;

    /// <summary>First reconnect delay; doubled after each failed attempt up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectInitialDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of the reconnect delay.</summary>
    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>When true, the client does not acknowledge received QoS 1 messages itself: the PUBACK is sent only when
    /// the application calls <see cref="MqttMessage.AcknowledgeAsync"/> (so a message is acknowledged only once it is
    /// safely stored). Messages left unacknowledged when the connection drops stay with the broker and, in a persistent
    /// session (<see cref="CleanSession"/> false with a fixed <see cref="ClientId"/>), are redelivered after reconnecting.
    /// MQTT requires PUBACKs in the order the messages arrived; acknowledge in that order. Default false.</summary>
    public bool ManualAcknowledgement { get; init; }

    /// <summary>Received messages buffered before the reader applies back-pressure to the socket.</summary>
    public int MessageBufferCapacity { get; init; } = 1024;
}
