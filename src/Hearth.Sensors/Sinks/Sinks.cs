using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hearth.Sensors.Mqtt;

namespace Hearth.Sensors.Sinks;

/// <summary>Writes alerts to a text writer (standard output) as text lines (<see cref="MonitorFormat.ToText(Alert)"/>) or
/// JSON lines (<see cref="MonitorFormat.ToJson(SinkEvent)"/>). Lines are written whole, under a lock on the writer.</summary>
public sealed class StdoutAlertSink(string name, TextWriter writer, bool json)
    : AlertSink(name, "stdout", SinkDelivery.Default with { Retries = 0 })
{
    protected override Task DeliverAsync(SinkEvent e, int attempt, CancellationToken cancel)
    {
        var line = json ? MonitorFormat.ToJson(e) : e.Check is { } check ? MonitorFormat.ToText(check) : MonitorFormat.ToText(e.Alert!);
        lock (writer)
        {
            writer.WriteLine(line);
            writer.Flush();
        }

        return Task.CompletedTask;
    }
}

/// <summary>POSTs each alert as JSON (<see cref="MonitorFormat.ToJson(SinkEvent)"/>) to a URL. A 2xx answer is delivery;
/// 5xx, 408, 429, network errors and timeouts are retried with exponential back-off; other answers are refused at once.</summary>
public sealed class WebhookAlertSink : AlertSink
{
    private readonly HttpClient _http;
    private readonly bool _ownsClient;
    private readonly Uri _url;

    /// <summary>Creates the sink; <paramref name="http"/> is used when given (and not disposed), else one is made.</summary>
    public WebhookAlertSink(string name, Uri url, SinkDelivery delivery, HttpClient? http = null) : base(name, "webhook", delivery)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme is not ("http" or "https")) throw new ArgumentException($"'{url}' is not an http or https URL.", nameof(url));
        _url = url;
        _ownsClient = http == null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan }; // each attempt has its own timeout
    }

    protected override async Task DeliverAsync(SinkEvent e, int attempt, CancellationToken cancel)
    {
        using var content = new StringContent(MonitorFormat.ToJson(e), Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = content };
        request.Headers.Add("x-hearth-attempt", (attempt + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await _http.SendAsync(request, cancel).ConfigureAwait(false);
        if (response.IsSuccessStatusCode) return;
        var code = (int)response.StatusCode;
        var problem = $"{_url} answered {code} {response.ReasonPhrase}";
        if (code >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests) throw new HttpRequestException(problem);
        throw new SinkRejectedException(problem);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        if (_ownsClient) _http.Dispose();
    }
}

/// <summary>
/// Publishes to an MQTT broker: each alert as JSON (<see cref="MonitorFormat.ToJson(SinkEvent)"/>) on the alerts topic,
/// and after it the current state (<see cref="MonitorFormat.StateJson"/>) as a retained message on the state topic, so a
/// late subscriber sees the current label at once. Also takes state-only events when it has a state topic. A model check's
/// result goes to the alerts topic only (the state is the rules' label, which a check never changes). While the broker
/// is unreachable, attempts fail and are retried; the client reconnects by itself.
/// </summary>
public sealed class MqttAlertSink : AlertSink
{
    private readonly MqttClient _client;
    private readonly string _alertsTopic;
    private readonly string? _stateTopic;
    private readonly MqttQos _qos;
    private readonly CancellationTokenSource _stop = new();
    private SinkEvent? _alertPublished;

    /// <summary>Creates the sink; it connects when started.</summary>
    public MqttAlertSink(string name, MqttClientOptions options, string alertsTopic, string? stateTopic, MqttQos qos, SinkDelivery delivery)
        : base(name, "mqtt", delivery)
    {
        if (!MqttTopic.IsValidTopicName(alertsTopic)) throw new ArgumentException($"'{alertsTopic}' is not a topic to publish to.", nameof(alertsTopic));
        if (stateTopic != null && !MqttTopic.IsValidTopicName(stateTopic)) throw new ArgumentException($"'{stateTopic}' is not a topic to publish to.", nameof(stateTopic));
        _client = new MqttClient(options);
        _alertsTopic = alertsTopic;
        _stateTopic = stateTopic;
        _qos = qos;
    }

    /// <summary>The client (for its connection state).</summary>
    public MqttClient Client => _client;

    /// <summary>Starts delivering and connecting (in the background, retried until it succeeds).</summary>
    public override Task StartAsync(CancellationToken cancel)
    {
        _ = ConnectAsync(_stop.Token);
        return base.StartAsync(cancel);
    }

    private async Task ConnectAsync(CancellationToken stop)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _client.ConnectAsync(stop).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is MqttException or OperationCanceledException or ObjectDisposedException)
            {
            }

            try
            {
                await Task.Delay(delay, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond * 5));
        }
    }

    protected override bool Wants(SinkEvent e) => e.Alert != null || e.Check != null || _stateTopic != null;

    protected override async Task DeliverAsync(SinkEvent e, int attempt, CancellationToken cancel)
    {
        if (e.Check != null)
        {
            await _client.PublishAsync(_alertsTopic, MonitorFormat.ToJson(e), _qos, retain: false, cancel).ConfigureAwait(false);
            return;
        }

        // A retry after the alert went out but the state did not must not publish the alert twice.
        if (e.Alert != null && !ReferenceEquals(_alertPublished, e))
        {
            await _client.PublishAsync(_alertsTopic, MonitorFormat.ToJson(e), _qos, retain: false, cancel).ConfigureAwait(false);
            _alertPublished = e;
        }

        if (_stateTopic != null) await _client.PublishAsync(_stateTopic, MonitorFormat.StateJson(e), _qos, retain: true, cancel).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
