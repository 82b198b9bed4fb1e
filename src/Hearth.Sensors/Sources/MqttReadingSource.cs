using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Sources;

/// <summary>
/// Payloads from MQTT subscriptions. QoS 1 messages are acknowledged (PUBACK) only once the monitor has stored them, so
/// with a persistent session nothing the broker accepted is lost while the monitor or the broker restarts: what was not
/// acknowledged is redelivered, and the store recognises what it already has. Readings' source is the message topic.
/// </summary>
/// <remarks>The first connection is retried with exponential back-off (so the monitor may start before its broker);
/// after that the client reconnects and re-subscribes by itself.</remarks>
public sealed class MqttReadingSource : ReadingSource
{
    private static readonly TimeSpan s_maxRetryDelay = TimeSpan.FromSeconds(5);
    private readonly MqttClient _client;
    private readonly IReadOnlyList<string> _topics;
    private readonly MqttQos _qos;

    /// <summary>Creates the source; nothing connects until <see cref="ReadingSource.RunAsync"/>.</summary>
    /// <param name="name">The source's name.</param>
    /// <param name="options">The client's settings; <see cref="MqttClientOptions.ManualAcknowledgement"/> must be on.</param>
    /// <param name="topics">Topic filters to subscribe to.</param>
    /// <param name="qos">The subscriptions' QoS.</param>
    /// <exception cref="ArgumentException">Manual acknowledgement is off, there are no topics, or a filter is invalid.</exception>
    public MqttReadingSource(string name, MqttClientOptions options, IReadOnlyList<string> topics, MqttQos qos) : base(name, "mqtt")
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.ManualAcknowledgement)
            throw new ArgumentException("An MQTT reading source acknowledges messages after storing them: set MqttClientOptions.ManualAcknowledgement.", nameof(options));
        if (topics.Count == 0) throw new ArgumentException("Give at least one topic filter.", nameof(topics));
        foreach (var t in topics)
            if (!MqttTopic.IsValidFilter(t)) throw new ArgumentException($"'{t}' is not a valid MQTT topic filter.", nameof(topics));
        _client = new MqttClient(options);
        _topics = topics;
        _qos = qos;
    }

    /// <summary>The client (for its connection state and counters).</summary>
    public MqttClient Client => _client;

    protected override async Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        await ConnectAsync(stop).ConfigureAwait(false);
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var watcher = WatchConnectionAsync(watch.Token);
        try
        {
            long position = 0;
            await foreach (var m in _client.ReadMessagesAsync(stop).ConfigureAwait(false))
            {
                var message = m;
                // Not stored: no PUBACK, so the broker keeps the message and redelivers it to the next session.
                await emit(new SourcePayload(message.Topic, message.Payload, ++position, onDone: async r =>
                {
                    if (r.Outcome != PayloadOutcome.NotStored) await message.AcknowledgeAsync().ConfigureAwait(false);
                }), stop).ConfigureAwait(false);
            }
        }
        finally
        {
            await watch.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
        }
    }

    private async Task ConnectAsync(CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await _client.ConnectAsync(stop).ConfigureAwait(false);
                break;
            }
            catch (MqttException e)
            {
                SetState(SourceState.Disconnected, e.Message);
            }

            await Task.Delay(delay, stop).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxRetryDelay.Ticks));
        }

        // Connected once: from here the client reconnects by itself, so a lost connection means waiting for it. A refused
        // subscription (SUBACK failure) is not a connection problem and fails the source.
        foreach (var topic in _topics)
        {
            while (true)
            {
                try
                {
                    await _client.SubscribeAsync(topic, _qos, stop).ConfigureAwait(false);
                    break;
                }
                catch (MqttConnectionException e)
                {
                    SetState(SourceState.Disconnected, e.Message);
                    while (!_client.IsConnected) await Task.Delay(100, stop).ConfigureAwait(false);
                }
            }
        }

        SetState(SourceState.Connected);
    }

    // The client reconnects on its own; this only mirrors its state for health reports.
    private async Task WatchConnectionAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                SetState(_client.IsConnected ? SourceState.Connected : SourceState.Disconnected, _client.IsConnected ? null : "the connection to the broker was lost; reconnecting");
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
