using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;

namespace Hearth.Sensors.Mqtt;

/// <summary>
/// A small MQTT 3.1.1 / 5.0 client: QoS 0 and 1 in both directions, retained publications, keep-alive pings, TLS,
/// and automatic reconnection with exponential back-off that restores every subscription. Received messages are
/// delivered through <see cref="Messages"/> (or <see cref="ReadMessagesAsync"/>). Thread-safe.
/// </summary>
/// <remarks>
/// While a reconnect is in progress, <see cref="PublishAsync(string, ReadOnlyMemory{byte}, MqttQos, bool, CancellationToken)"/>
/// and <see cref="SubscribeAsync"/> throw <see cref="MqttConnectionException"/>; a QoS 1 publication whose PUBACK
/// was pending when the connection dropped fails the same way and is not resent. After <see cref="DisconnectAsync"/>
/// the client cannot be connected again and the message channel is completed.
/// </remarks>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly MqttClientOptions _options;
    private readonly Channel<MqttMessage> _messages;
    private readonly Dictionary<string, MqttQos> _subscriptions = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _lifetime = new();
    private volatile Connection? _connection;
    private volatile bool _closed;
    private int _reconnecting;
    private int _nextPacketId;
    private long _pingResponses;
    private int _reconnects;

    /// <summary>Creates a client; nothing is opened until <see cref="ConnectAsync"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it).</exception>
    public MqttClient(MqttClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Host)) throw new ArgumentException("MqttClientOptions.Host is required.", nameof(options));
        if (options.Port is < 1 or > 65535) throw new ArgumentException($"MqttClientOptions.Port {options.Port} is not a TCP port.", nameof(options));
        if (options.KeepAlive < TimeSpan.Zero || options.KeepAlive.TotalSeconds > ushort.MaxValue || options.KeepAlive.Ticks % TimeSpan.TicksPerSecond != 0)
            throw new ArgumentException("MqttClientOptions.KeepAlive must be whole seconds between 0 and 65535.", nameof(options));
        if (options.MaxPacketSize is < 16 or > MqttPacketReader.MaxVarInt)
            throw new ArgumentException($"MqttClientOptions.MaxPacketSize must be between 16 and {MqttPacketReader.MaxVarInt}.", nameof(options));
        if (options.MessageBufferCapacity < 1) throw new ArgumentException("MqttClientOptions.MessageBufferCapacity must be at least 1.", nameof(options));
        if (options.ReconnectInitialDelay <= TimeSpan.Zero || options.ReconnectMaxDelay < options.ReconnectInitialDelay)
            throw new ArgumentException("MqttClientOptions.ReconnectInitialDelay must be positive and at most ReconnectMaxDelay.", nameof(options));
        if (options.ConnectTimeout <= TimeSpan.Zero) throw new ArgumentException("MqttClientOptions.ConnectTimeout must be positive.", nameof(options));
        if (options.Password is not null && options.Username is null && options.ProtocolVersion == MqttProtocolVersion.V311)
            throw new ArgumentException("MQTT 3.1.1 does not allow a password without a user name.", nameof(options));
        _options = options;
        ClientId = options.ClientId ?? "hearth-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 8);
        _messages = Channel.CreateBounded<MqttMessage>(new BoundedChannelOptions(options.MessageBufferCapacity) { FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>The client identifier sent in CONNECT.</summary>
    public string ClientId { get; }

    /// <summary>True while a connection is established (false during a reconnect).</summary>
    public bool IsConnected => _connection is { IsClosed: false };

    /// <summary>PINGRESP packets received since the client was created (a keep-alive diagnostic).</summary>
    public long PingResponsesReceived => Interlocked.Read(ref _pingResponses);

    /// <summary>Successful automatic reconnections (each followed by re-subscription) since the client was created.</summary>
    public int ReconnectCount => Volatile.Read(ref _reconnects);

    /// <summary>Received messages in arrival order. Completed by <see cref="DisconnectAsync"/>, or with the error that
    /// ended the connection when <see cref="MqttClientOptions.AutoReconnect"/> is off (reading then throws it).</summary>
    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    /// <summary>Received messages as an async stream; see <see cref="Messages"/>.</summary>
    public IAsyncEnumerable<MqttMessage> ReadMessagesAsync(CancellationToken cancellationToken = default) =>
        _messages.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Opens the connection: TCP (and TLS), CONNECT, CONNACK. A failure here is not retried.</summary>
    /// <exception cref="MqttConnectException">The broker refused (the message names the CONNACK reason).</exception>
    /// <exception cref="MqttConnectionException">The broker is unreachable, timed out, or the TLS handshake failed.</exception>
    /// <exception cref="MqttProtocolException">The broker answered with something other than a valid CONNACK.</exception>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (IsConnected) throw new InvalidOperationException("The MQTT client is already connected.");
        await ConnectCoreAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Subscribes to a topic filter (wildcards '+' and '#' allowed) and remembers it for re-subscription
    /// after a reconnect. Returns the QoS the broker granted.</summary>
    /// <exception cref="ArgumentException">The filter is invalid.</exception>
    /// <exception cref="MqttException">The broker rejected the subscription (SUBACK failure code).</exception>
    /// <exception cref="MqttConnectionException">Not connected, or the connection dropped before SUBACK.</exception>
    public async Task<MqttQos> SubscribeAsync(string filter, MqttQos qos = MqttQos.AtMostOnce, CancellationToken cancellationToken = default)
    {
        if (!MqttTopic.IsValidFilter(filter)) throw new ArgumentException($"'{filter}' is not a valid MQTT topic filter.", nameof(filter));
        if (qos is not (MqttQos.AtMostOnce or MqttQos.AtLeastOnce)) throw new ArgumentOutOfRangeException(nameof(qos), "Only QoS 0 and 1 are supported.");
        var conn = RequireConnection();
        lock (_gate) _subscriptions[filter] = qos;
        byte code = await SendSubscribeAsync(conn, filter, qos, cancellationToken).ConfigureAwait(false);
        if (code > 1)
        {
            lock (_gate) _subscriptions.Remove(filter);
            throw new MqttException($"The MQTT broker rejected the subscription to '{filter}': SUBACK code 0x{code:X2}.");
        }
        return (MqttQos)code;
    }

    /// <summary>Publishes a message. QoS 0 completes once written; QoS 1 completes when the broker's PUBACK arrives.</summary>
    /// <exception cref="ArgumentException">The topic name is invalid (empty or containing wildcards).</exception>
    /// <exception cref="MqttException">The broker answered PUBACK with a failure reason (5.0).</exception>
    /// <exception cref="MqttConnectionException">Not connected, or the connection dropped before PUBACK.</exception>
    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQos qos = MqttQos.AtMostOnce, bool retain = false,
        CancellationToken cancellationToken = default)
    {
        if (!MqttTopic.IsValidTopicName(topic)) throw new ArgumentException($"'{topic}' is not a valid MQTT topic name.", nameof(topic));
        if (qos is not (MqttQos.AtMostOnce or MqttQos.AtLeastOnce)) throw new ArgumentOutOfRangeException(nameof(qos), "Only QoS 0 and 1 are supported.");
        var conn = RequireConnection();
        var w = new MqttPacketWriter();
        w.String(topic);
        TaskCompletionSource<MqttRawPacket>? ack = null;
        ushort id = 0;
        if (qos == MqttQos.AtLeastOnce)
        {
            (id, ack) = conn.Reserve(ref _nextPacketId);
            w.UInt16(id);
        }
        if (_options.ProtocolVersion == MqttProtocolVersion.V500) w.VarInt(0); // no properties
        w.Bytes(payload.Span);
        byte header = (byte)(0x30 | ((int)qos << 1) | (retain ? 1 : 0));
        if (ack is null)
        {
            await conn.WriteAsync(w.ToPacket(header), cancellationToken).ConfigureAwait(false);
            return;
        }
        var puback = await conn.RequestAsync(id, ack, w.ToPacket(header), cancellationToken).ConfigureAwait(false);
        if (puback.Body.Length > 2 && puback.Body[2] >= 0x80)
            throw new MqttException($"The MQTT broker did not accept the publication to '{topic}': PUBACK reason 0x{puback.Body[2]:X2} ({MqttReasonCodes.Name(MqttProtocolVersion.V500, puback.Body[2])}).");
    }

    /// <summary>Publishes a UTF-8 text payload; see the byte overload.</summary>
    public Task PublishAsync(string topic, string payload, MqttQos qos = MqttQos.AtMostOnce, bool retain = false,
        CancellationToken cancellationToken = default) =>
        PublishAsync(topic, Encoding.UTF8.GetBytes(payload), qos, retain, cancellationToken);

    /// <summary>Sends DISCONNECT, closes the connection, stops reconnecting and completes <see cref="Messages"/>.
    /// Safe to call more than once.</summary>
    public async Task DisconnectAsync(CancellationToken cancellationToken = default)
    {
        if (_closed) return;
        _closed = true;
        _lifetime.Cancel();
        if (_connection is { IsClosed: false } conn)
        {
            try { await conn.WriteAsync([0xE0, 0x00], cancellationToken).ConfigureAwait(false); }
            catch (Exception e) when (e is MqttException or OperationCanceledException) { /* closing anyway */ }
            Close(conn, new MqttConnectionException("The MQTT client disconnected."));
        }
        _messages.Writer.TryComplete();
    }

    /// <inheritdoc cref="DisconnectAsync"/>
    public async ValueTask DisposeAsync() => await DisconnectAsync().ConfigureAwait(false);

    private Connection RequireConnection()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        return _connection is { IsClosed: false } c ? c : throw new MqttConnectionException(_options.AutoReconnect
            ? $"Not connected to the MQTT broker at {_options.Host}:{_options.Port} (call ConnectAsync, or retry while it reconnects)."
            : $"Not connected to the MQTT broker at {_options.Host}:{_options.Port}; call ConnectAsync first.");
    }

    private async Task<Connection> ConnectCoreAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, _lifetime.Token);
        timeout.CancelAfter(_options.ConnectTimeout);
        var tcp = new TcpClient { NoDelay = true };
        Stream? stream = null;
        string where = $"{_options.Host}:{_options.Port}";
        try
        {
            await tcp.ConnectAsync(_options.Host, _options.Port, timeout.Token).ConfigureAwait(false);
            stream = tcp.GetStream();
            if (_options.UseTls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, ValidateServerCertificate);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = _options.TlsTargetHost ?? _options.Host },
                    timeout.Token).ConfigureAwait(false);
            }
            await stream.WriteAsync(BuildConnect(), timeout.Token).ConfigureAwait(false);
            var connack = await MqttPacketReader.ReadAsync(stream, _options.MaxPacketSize, timeout.Token).ConfigureAwait(false);
            var conn = new Connection(tcp, stream, ReadConnAck(connack));
            _connection = conn;
            if (_closed) Close(conn, new MqttConnectionException("The MQTT client disconnected."));
            conn.Start(ReadLoopAsync, PingLoopAsync);
            return conn;
        }
        catch (Exception e)
        {
            if (stream is not null) await stream.DisposeAsync().ConfigureAwait(false);
            tcp.Dispose();
            throw e switch
            {
                MqttException => e,
                OperationCanceledException when ct.IsCancellationRequested || _lifetime.IsCancellationRequested => e,
                OperationCanceledException => new MqttConnectionException($"Connecting to the MQTT broker at {where} timed out after {_options.ConnectTimeout.TotalSeconds:0.###} s.", e),
                AuthenticationException => new MqttConnectionException($"The TLS handshake with the MQTT broker at {where} failed: {e.Message} (check TrustedCaCertificate / TlsTargetHost).", e),
                SocketException or IOException => new MqttConnectionException($"Could not connect to the MQTT broker at {where}: {e.Message}", e),
                _ => e,
            };
        }
    }

    private bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_options.CertificateValidationCallback is { } callback) return callback(sender, certificate, chain, errors);
        if (_options.TrustedCaCertificate is not { } ca) return errors == SslPolicyErrors.None;
        if (certificate is not X509Certificate2 leaf || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null) custom.ChainPolicy.ExtraStore.AddRange(chain.ChainElements.Select(e => e.Certificate).ToArray());
        return custom.Build(leaf);
    }

    private byte[] BuildConnect()
    {
        var o = _options;
        var w = new MqttPacketWriter();
        w.String("MQTT");
        w.Byte((byte)o.ProtocolVersion);
        int flags = (o.CleanSession ? 0x02 : 0) | (o.Username is null ? 0 : 0x80) | (o.Password is null ? 0 : 0x40);
        w.Byte((byte)flags);
        w.UInt16((ushort)o.KeepAlive.TotalSeconds);
        if (o.ProtocolVersion == MqttProtocolVersion.V500)
        {
            // Properties: Maximum Packet Size (0x27, whole packet: 1 header byte + up to 4 length bytes + body) so the
            // broker drops what we would refuse; without clean start, Session Expiry Interval (0x11) "never" to keep
            // 3.1.1's persistent-session meaning.
            w.VarInt(o.CleanSession ? 5 : 10);
            w.Byte(0x27);
            w.UInt32((uint)o.MaxPacketSize + 5);
            if (!o.CleanSession) { w.Byte(0x11); w.UInt32(uint.MaxValue); }
        }
        w.String(ClientId);
        if (o.Username is not null) w.String(o.Username);
        if (o.Password is not null) w.String(o.Password);
        return w.ToPacket(0x10);
    }

    /// <summary>Checks CONNACK; returns the keep-alive to use (the broker's Server Keep Alive wins in 5.0).</summary>
    private TimeSpan ReadConnAck(MqttRawPacket packet)
    {
        if (packet.Type != MqttPacketType.ConnAck)
            throw new MqttProtocolException($"The MQTT broker answered CONNECT with packet type {(int)packet.Type} instead of CONNACK.");
        var r = new MqttBodyReader(packet.Body);
        r.Byte(); // acknowledge flags (session present)
        byte code = r.Byte();
        var props = _options.ProtocolVersion == MqttProtocolVersion.V500 && r.Remaining > 0 ? r.Properties() : null;
        if (code != 0) throw new MqttConnectException(code, MqttReasonCodes.Name(_options.ProtocolVersion, code), props?.ReasonString);
        return props?.ServerKeepAlive is { } serverKeepAlive ? TimeSpan.FromSeconds(serverKeepAlive) : _options.KeepAlive;
    }

    private async Task<byte> SendSubscribeAsync(Connection conn, string filter, MqttQos qos, CancellationToken ct)
    {
        var (id, ack) = conn.Reserve(ref _nextPacketId);
        var w = new MqttPacketWriter();
        w.UInt16(id);
        if (_options.ProtocolVersion == MqttProtocolVersion.V500) w.VarInt(0);
        w.String(filter);
        w.Byte((byte)qos); // 5.0 subscription options: QoS in bits 0-1, the rest 0 (local messages delivered, retain as published)
        var suback = await conn.RequestAsync(id, ack, w.ToPacket(0x82), ct).ConfigureAwait(false);
        return ReadSubAckCode(suback);
    }

    private byte ReadSubAckCode(MqttRawPacket suback)
    {
        var r = new MqttBodyReader(suback.Body);
        r.UInt16();
        if (_options.ProtocolVersion == MqttProtocolVersion.V500) r.Properties();
        return r.Byte();
    }

    private async Task ReadLoopAsync(Connection conn)
    {
        try
        {
            while (true)
            {
                var p = await MqttPacketReader.ReadAsync(conn.Stream, _options.MaxPacketSize, conn.Token).ConfigureAwait(false);
                switch (p.Type)
                {
                    case MqttPacketType.Publish:
                        var message = ReadPublish(p, out ushort publishId);
                        bool manual = message.Qos == MqttQos.AtLeastOnce && _options.ManualAcknowledgement;
                        if (manual) message = message with { Acknowledgement = new MqttAcknowledgement(conn, publishId) };
                        await _messages.Writer.WriteAsync(message, conn.Token).ConfigureAwait(false);
                        if (message.Qos == MqttQos.AtLeastOnce && !manual)
                            await conn.WriteAsync(PubAck(publishId), conn.Token).ConfigureAwait(false);
                        break;
                    case MqttPacketType.PubAck or MqttPacketType.SubAck:
                        if (p.Body.Length < 2) throw new MqttProtocolException($"Malformed MQTT packet: {p.Type} without a packet identifier.");
                        conn.Complete(BinaryPrimitives.ReadUInt16BigEndian(p.Body), p);
                        break;
                    case MqttPacketType.PingResp:
                        Interlocked.Increment(ref _pingResponses);
                        Volatile.Write(ref conn.PingOutstanding, 0);
                        break;
                    case MqttPacketType.Disconnect:
                        byte reason = p.Body.Length > 0 ? p.Body[0] : (byte)0;
                        throw new MqttConnectionException($"The MQTT broker sent DISCONNECT: reason 0x{reason:X2} ({MqttReasonCodes.Name(MqttProtocolVersion.V500, reason)}).");
                    default:
                        throw new MqttProtocolException($"Unexpected MQTT packet type {(int)p.Type} from the broker.");
                }
            }
        }
        catch (Exception e)
        {
            Close(conn, e);
        }
    }

    private MqttMessage ReadPublish(MqttRawPacket p, out ushort packetId)
    {
        int qos = (p.Flags >> 1) & 3;
        if (qos == 3) throw new MqttProtocolException("Malformed MQTT PUBLISH: QoS bits are 3.");
        if (qos == 2) throw new MqttProtocolException("The MQTT broker sent a QoS 2 PUBLISH; this client subscribes with QoS 0 or 1 only.");
        var r = new MqttBodyReader(p.Body);
        string topic = r.String();
        packetId = qos > 0 ? r.UInt16() : (ushort)0;
        if (_options.ProtocolVersion == MqttProtocolVersion.V500) r.Properties(); // no Topic Alias Maximum sent, so no aliases
        if (topic.Length == 0) throw new MqttProtocolException("Malformed MQTT PUBLISH: empty topic name.");
        return new MqttMessage(topic, p.Body.AsMemory(r.Position), (MqttQos)qos, (p.Flags & 1) != 0) { Duplicate = (p.Flags & 0x08) != 0 };
    }

    private static byte[] PubAck(ushort packetId) => [0x40, 0x02, (byte)(packetId >> 8), (byte)packetId];

    /// <summary>The PUBACK an application owes for a message received with manual acknowledgement: sent at most once,
    /// and only on the connection the message arrived on (after a reconnect the broker redelivers it instead).</summary>
    internal sealed class MqttAcknowledgement(Connection conn, ushort packetId)
    {
        private int _sent;

        public async Task<bool> SendAsync(CancellationToken cancellationToken)
        {
            if (conn.IsClosed || Interlocked.Exchange(ref _sent, 1) == 1) return false;
            try
            {
                await conn.WriteAsync(PubAck(packetId), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (MqttConnectionException)
            {
                return false; // the connection closed under us: the broker keeps the message and redelivers it
            }
        }
    }

    private async Task PingLoopAsync(Connection conn)
    {
        if (conn.KeepAlive == TimeSpan.Zero) return;
        // Ping at 3/4 of the interval so the broker (which allows 1.5x) never sees a silent interval; a PINGRESP
        // still missing at the next tick means the connection is dead.
        using var timer = new PeriodicTimer(conn.KeepAlive * 0.75);
        try
        {
            while (await timer.WaitForNextTickAsync(conn.Token).ConfigureAwait(false))
            {
                if (Interlocked.Exchange(ref conn.PingOutstanding, 1) == 1)
                    throw new MqttConnectionException($"No PINGRESP from the MQTT broker at {_options.Host}:{_options.Port} within the keep-alive interval.");
                await conn.WriteAsync([0xC0, 0x00], conn.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            Close(conn, e);
        }
    }

    /// <summary>Tears a connection down once; then completes the message channel or starts reconnecting.</summary>
    private void Close(Connection conn, Exception cause)
    {
        if (!conn.TryClose()) return;
        var error = cause as MqttException ?? new MqttConnectionException(
            $"The connection to the MQTT broker at {_options.Host}:{_options.Port} was lost: {cause.Message}", cause);
        conn.Abort(error);
        Interlocked.CompareExchange(ref _connection, null, conn);
        if (_closed) return;
        if (!_options.AutoReconnect) _messages.Writer.TryComplete(error);
        else if (Interlocked.CompareExchange(ref _reconnecting, 1, 0) == 0) _ = Task.Run(ReconnectLoopAsync);
    }

    private async Task ReconnectLoopAsync()
    {
        var delay = _options.ReconnectInitialDelay;
        var token = _lifetime.Token;
        while (!token.IsCancellationRequested)
        {
            Connection? conn = null;
            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
                conn = await ConnectCoreAsync(token).ConfigureAwait(false);
                KeyValuePair<string, MqttQos>[] subscriptions;
                lock (_gate) subscriptions = [.. _subscriptions];
                foreach (var (filter, qos) in subscriptions)
                    await SendSubscribeAsync(conn, filter, qos, token).ConfigureAwait(false); // a refused filter stays refused
                Interlocked.Increment(ref _reconnects);
                Volatile.Write(ref _reconnecting, 0);
                // Lost again before the flag was cleared: that loss did not start a loop, so this one carries on.
                if (conn.IsClosed && Interlocked.CompareExchange(ref _reconnecting, 1, 0) == 0)
                {
                    delay = _options.ReconnectInitialDelay;
                    continue;
                }
                return;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                if (conn is not null) Close(conn, e); // _reconnecting is 1, so this does not start another loop
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
            }
        }
    }

    /// <summary>One TCP (or TLS) session: its stream, write lock, pending acknowledgements and background loops.</summary>
    internal sealed class Connection(TcpClient tcp, Stream stream, TimeSpan keepAlive)
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly ConcurrentDictionary<ushort, TaskCompletionSource<MqttRawPacket>> _pending = new();
        private readonly CancellationTokenSource _cts = new();
        private Exception? _error;
        private int _closed;
        public int PingOutstanding;

        public Stream Stream { get; } = stream;
        public TimeSpan KeepAlive { get; } = keepAlive;
        public CancellationToken Token => _cts.Token;
        public bool IsClosed => Volatile.Read(ref _closed) != 0;

        public void Start(Func<Connection, Task> readLoop, Func<Connection, Task> pingLoop)
        {
            _ = Task.Run(() => readLoop(this));
            _ = Task.Run(() => pingLoop(this));
        }

        /// <summary>Allocates a free non-zero packet identifier and registers its acknowledgement.</summary>
        public (ushort Id, TaskCompletionSource<MqttRawPacket> Ack) Reserve(ref int counter)
        {
            var tcs = new TaskCompletionSource<MqttRawPacket>(TaskCreationOptions.RunContinuationsAsynchronously);
            for (int attempt = 0; attempt < 65535; attempt++)
            {
                var id = (ushort)((uint)Interlocked.Increment(ref counter) % 65535 + 1);
                if (_pending.TryAdd(id, tcs)) return (id, tcs);
            }
            throw new MqttException("All 65535 MQTT packet identifiers are awaiting acknowledgement.");
        }

        public async Task<MqttRawPacket> RequestAsync(ushort id, TaskCompletionSource<MqttRawPacket> ack, byte[] packet, CancellationToken ct)
        {
            try
            {
                if (IsClosed) throw Lost();
                await WriteAsync(packet, ct).ConfigureAwait(false);
                return await ack.Task.WaitAsync(ct).ConfigureAwait(false);
            }
            finally
            {
                _pending.TryRemove(id, out _);
            }
        }

        public void Complete(ushort id, MqttRawPacket packet)
        {
            if (_pending.TryRemove(id, out var tcs)) tcs.TrySetResult(packet);
        }

        public async Task WriteAsync(byte[] packet, CancellationToken ct)
        {
            if (IsClosed) throw Lost();
            await _writeLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await Stream.WriteAsync(packet, ct).ConfigureAwait(false);
                await Stream.FlushAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
            {
                throw new MqttConnectionException($"Writing to the MQTT broker failed: {e.Message}", e);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        public bool TryClose() => Interlocked.Exchange(ref _closed, 1) == 0;

        /// <summary>After <see cref="TryClose"/>: stops the loops, closes the socket, fails every pending request.</summary>
        public void Abort(Exception error)
        {
            _error = error;
            _cts.Cancel();
            Stream.Dispose();
            tcp.Dispose();
            foreach (var id in _pending.Keys)
                if (_pending.TryRemove(id, out var tcs)) tcs.TrySetException(Lost());
        }

        private MqttConnectionException Lost() => new("The connection to the MQTT broker was lost before the operation completed.", _error);
    }
}
