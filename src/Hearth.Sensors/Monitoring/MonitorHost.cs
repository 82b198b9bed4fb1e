using System.Security.Cryptography.X509Certificates;
using Hearth.Sensors.Mqtt;
using Hearth.Sensors.Sinks;
using Hearth.Sensors.Slm;
using Hearth.Sensors.Sources;
using Hearth.Sensors.Storage;

namespace Hearth.Sensors.Monitoring;

/// <summary>How to set up a monitor besides its policy: extra sources, the HTTP address, where standard streams are.</summary>
public sealed record MonitorHostOptions
{
    /// <summary>Adds a simulated source (<c>--simulate</c>).</summary>
    public bool Simulate { get; init; }

    /// <summary>How many simulated readings; null for no end.</summary>
    public long? SimulateCount { get; init; }

    /// <summary>Pace simulated readings in real time (one per interval) rather than as fast as possible.</summary>
    public bool SimulateRealTime { get; init; } = true;

    /// <summary>The simulation's settings; by default seed 1, starting now (whole seconds), one reading a second.</summary>
    public SimulationOptions? Simulation { get; init; }

    /// <summary>Where the health, statistics and ingest endpoints listen (<c>HOST:PORT</c>); null for no HTTP.</summary>
    public string? HttpAddress { get; init; }

    /// <summary>Where <c>stdout</c> sinks write (and, when the policy has no <c>sinks</c> section, every alert).</summary>
    public TextWriter Stdout { get; init; } = TextWriter.Null;

    /// <summary>The implicit standard-output sink writes JSON lines rather than text.</summary>
    public bool Json { get; init; }

    /// <summary>Opens standard input for a <c>stdin</c> source.</summary>
    public Func<Stream> OpenStdin { get; init; } = Console.OpenStandardInput;

    /// <summary>Reads environment variables (passwords, API keys); default the process environment.</summary>
    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>The HTTP client webhook sinks use; one of their own when null.</summary>
    public HttpClient? WebhookClient { get; init; }

    /// <summary>The runner's settings.</summary>
    public MonitorRunnerOptions Runner { get; init; } = new();

    /// <summary>A sync of the store to PostgreSQL (see <see cref="MonitorStorage"/>), or null. The host runs it beside the
    /// monitor, wakes it after every write, shows it in <c>/health</c> and <c>/stats</c>, and flushes it once more when
    /// the monitor stops (within <see cref="MonitorRunnerOptions.ShutdownTimeout"/>). It stays the caller's to dispose.</summary>
    public PostgresSync? Sync { get; init; }

    /// <summary>How the host's own classifier loads and runs models, when the policy has <c>slm_checks</c> and no classifier
    /// is given to <see cref="MonitorHost.Create"/>; defaults when null.</summary>
    public EngineSlmOptions? Slm { get; init; }

    /// <summary>Settings of the host's own check hook (queue size); defaults when null.</summary>
    public SlmCheckHookOptions? Checks { get; init; }
}

/// <summary>
/// A whole monitor made from a policy: its sources and sinks built from the policy's sections (plus a simulated source
/// when asked), the runner, the small-language-model checks of the policy (<see cref="SlmCheckHook"/>), the sync to
/// PostgreSQL when one is given, and the HTTP endpoint when an address is given. The store and the sync are the caller's.
/// </summary>
public sealed class MonitorHost : IAsyncDisposable
{
    /// <summary>The name of the sink a policy without a <c>sinks</c> section gets: standard output, every alert.</summary>
    public const string ImplicitSinkName = "stdout";

    private readonly PostgresSync? _sync;
    private readonly EngineSlmClassifier? _ownClassifier;
    private readonly SlmCheckHook? _ownHook;
    private readonly TimeSpan _shutdownTimeout;

    private MonitorHost(MonitorRunner runner, MonitorHttpEndpoint? http, PostgresSync? sync, EngineSlmClassifier? classifier, SlmCheckHook? hook,
        TimeSpan shutdownTimeout)
    {
        Runner = runner;
        Http = http;
        _sync = sync;
        _ownClassifier = classifier;
        _ownHook = hook;
        _shutdownTimeout = shutdownTimeout;
    }

    /// <summary>The sync's state after the final flush at the end of <see cref="RunAsync"/> (rows still pending, the last
    /// error); null before that or without a sync.</summary>
    public PostgresSyncStatus? FinalSync { get; private set; }

    /// <summary>The runner.</summary>
    public MonitorRunner Runner { get; }

    /// <summary>The HTTP endpoint, when an address was given.</summary>
    public MonitorHttpEndpoint? Http { get; }

    /// <summary>Builds the monitor. Nothing connects or listens until <see cref="RunAsync"/>.</summary>
    /// <remarks>When the policy has <c>slm_checks</c> and no <paramref name="checks"/> hook is given, the host makes a
    /// <see cref="SlmCheckHook"/> over <paramref name="classifier"/>, or over an <see cref="EngineSlmClassifier"/> of its own
    /// (<see cref="MonitorHostOptions.Slm"/>) that loads every check's model now, so a missing or broken model is an error
    /// here rather than a fail-safe label on every check.</remarks>
    /// <exception cref="MonitorConfigurationException">Nothing to watch; an HTTP source without an HTTP address; actions
    /// naming sinks the policy does not declare; an environment variable the policy names is not set; a CA file unreadable;
    /// a check's model cannot be found or loaded.</exception>
    public static MonitorHost Create(MonitorPolicy policy, IMonitorStore? store, MonitorHostOptions options, ISlmClassifier? classifier = null,
        IMonitorCheckHook? checks = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Sync != null && store == null)
            throw new MonitorConfigurationException("a PostgreSQL sync needs the store it forwards: give the host that store too");
        if (policy.Sinks == null && policy.Actions.Values.SelectMany(a => a.Sinks).Distinct().ToList() is { Count: > 0 } named)
            throw new MonitorConfigurationException(
                $"the policy's actions send alerts to {string.Join(", ", named.Select(n => $"'{n}'"))}, but it has no 'sinks:' section declaring them (kinds: mqtt, webhook, stdout, store)");
        var sources = new List<ReadingSource>();
        var sinks = new List<AlertSink>();
        EngineSlmClassifier? ownClassifier = null;
        SlmCheckHook? ownHook = null;
        try
        {
            sources.AddRange(policy.Sources.Select(s => CreateSource(s, policy, options)));
            if (options.Simulate)
            {
                var simulation = options.Simulation ?? new SimulationOptions { Start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) };
                sources.Add(new SimulatedReadingSource("simulate", options.SimulateCount, simulation, options.SimulateRealTime));
            }

            if (sources.Count == 0)
                throw new MonitorConfigurationException("nothing to watch: the policy has no 'sources:' section (mqtt, file, stdin, http); add one, or try it with --simulate");
            if (options.HttpAddress == null && sources.OfType<HttpIngestSource>().FirstOrDefault() is { } http)
                throw new MonitorConfigurationException($"source '{http.Name}' (http) needs the monitor's HTTP address: give --http 127.0.0.1:PORT");
            if (policy.Sinks == null) sinks.Add(new StdoutAlertSink(ImplicitSinkName, options.Stdout, options.Json));
            else sinks.AddRange(policy.Sinks.Select(s => CreateSink(s, options)).OfType<AlertSink>());
            if (checks == null && policy.SlmChecks.Count > 0)
            {
                classifier ??= ownClassifier = LoadedClassifier(policy, options.Slm);
                checks = ownHook = new SlmCheckHook(policy, classifier, options.Checks);
            }

            var runnerOptions = options.Runner;
            if (options.Sync is { } sync)
            {
                runnerOptions = runnerOptions with
                {
                    StoreBacklog = runnerOptions.StoreBacklog ?? (() => sync.Status().Pending.Total),
                    SyncStatus = runnerOptions.SyncStatus ?? sync.Status,
                    Stored = runnerOptions.Stored + sync.Notify,
                };
            }

            var runner = new MonitorRunner(policy, store, sources, sinks, runnerOptions, classifier, checks);
            return new MonitorHost(runner, options.HttpAddress is { } address ? MonitorHttpEndpoint.Create(runner, address) : null, options.Sync,
                ownClassifier, ownHook, runnerOptions.ShutdownTimeout);
        }
        catch
        {
            foreach (var s in sources) s.DisposeAsync().AsTask().GetAwaiter().GetResult();
            foreach (var s in sinks) s.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ownHook?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ownClassifier?.Dispose();
            throw;
        }
    }

    // The policy's models, loaded once now: a check on a model that cannot load would only ever give its fail-safe label.
    private static EngineSlmClassifier LoadedClassifier(MonitorPolicy policy, EngineSlmOptions? options)
    {
        var classifier = new EngineSlmClassifier(options);
        try
        {
            foreach (var check in policy.SlmChecks.DistinctBy(c => c.Model))
            {
                try
                {
                    classifier.Load(check.Model);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or HearthException or InvalidOperationException or ArgumentException)
                {
                    throw new MonitorConfigurationException($"slm check '{check.Name}': cannot load model '{check.Model}': {e.Message}");
                }
            }

            return classifier;
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }

    /// <summary>Starts the HTTP endpoint (when there is one) and the sync (when there is one), runs the monitor until its
    /// sources end or <paramref name="stop"/> fires, stops gracefully, flushes the sync once more (within the shutdown
    /// timeout; what does not make it stays pending in the store for the next start, see <see cref="FinalSync"/>), and
    /// returns the final statistics. <paramref name="started"/> is called once the endpoint listens, just before the
    /// runner starts.</summary>
    public async Task<MonitorLiveStats> RunAsync(CancellationToken stop, Action? started = null)
    {
        if (Http != null) await Http.StartAsync(stop).ConfigureAwait(false);
        using var syncStop = new CancellationTokenSource();
        var syncLoop = _sync != null ? Task.Run(() => _sync.RunAsync(syncStop.Token), CancellationToken.None) : Task.CompletedTask;
        started?.Invoke();
        try
        {
            await Runner.RunAsync(stop).ConfigureAwait(false);
            await syncStop.CancelAsync().ConfigureAwait(false);
            await syncLoop.ConfigureAwait(false);
            if (_sync != null) FinalSync = await FlushAsync(_sync).ConfigureAwait(false);
            return Runner.Stats();
        }
        finally
        {
            await syncStop.CancelAsync().ConfigureAwait(false);
            await syncLoop.ConfigureAwait(false);
            if (Http != null) await Http.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Stops at once (see <see cref="MonitorRunner.DisposeAsync"/>), and releases the classifier and check hook
    /// the host made for itself. Not the store or the sync.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Http != null) await Http.DisposeAsync().ConfigureAwait(false);
        await Runner.DisposeAsync().ConfigureAwait(false);
        if (_ownHook != null) await _ownHook.DisposeAsync().ConfigureAwait(false);
        _ownClassifier?.Dispose();
    }

    // One last round for what was stored since the loop's last one. A failure (PostgreSQL down) or the deadline leaves
    // the rows pending in the store; the status says how many.
    private async Task<PostgresSyncStatus> FlushAsync(PostgresSync sync)
    {
        using var deadline = new CancellationTokenSource(_shutdownTimeout);
        try
        {
            await sync.SyncOnceAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is PostgresSyncException or OperationCanceledException or MonitorStoreException)
        {
        }

        return sync.Status();
    }

    private static ReadingSource CreateSource(SourceSpec spec, MonitorPolicy policy, MonitorHostOptions options) => spec switch
    {
        // A payload over the reading limit still has to arrive whole to be quarantined (and acknowledged) rather than
        // break the connection, so the packet limit is well above it.
        MqttSourceSpec m => new MqttReadingSource(m.Name, ClientOptions(m.Broker, $"source '{m.Name}'", options, m.ClientId, !m.Persistent, manualAck: true,
            (int)Math.Min(MqttPacketReader.MaxVarInt, Math.Max(1L << 20, policy.MaxReadingBytes * 4L + 65_536))), m.Topics, m.Qos),
        FileSourceSpec f => new JsonLinesFileSource(f.Name, f.Path, policy.MaxReadingBytes, f.FromEnd, TimeSpan.FromMilliseconds(f.PollMilliseconds)),
        StdinSourceSpec s => new StreamLineSource(s.Name, options.OpenStdin, "stdin", policy.MaxReadingBytes),
        HttpSourceSpec h => new HttpIngestSource(h.Name, h.ApiKeyEnv is { } env ? Required(options, env, $"source '{h.Name}' (api_key_env)") : null, h.MaxBodyBytes),
        _ => throw new MonitorConfigurationException($"source '{spec.Name}': this build cannot run sources of type {spec.GetType().Name}"),
    };

    private static AlertSink? CreateSink(SinkSpec spec, MonitorHostOptions options) => spec switch
    {
        MqttSinkSpec m => new MqttAlertSink(m.Name, ClientOptions(m.Broker, $"sink '{m.Name}'", options), m.AlertsTopic, m.StateTopic, m.Qos, m.Delivery),
        WebhookSinkSpec w => new WebhookAlertSink(w.Name, w.Url, w.Delivery, options.WebhookClient),
        StdoutSinkSpec s => new StdoutAlertSink(s.Name, options.Stdout, s.Json),
        StoreSinkSpec => null, // the store gets everything anyway
        _ => throw new MonitorConfigurationException($"sink '{spec.Name}': this build cannot run sinks of type {spec.GetType().Name}"),
    };

    private static MqttClientOptions ClientOptions(MqttBrokerSpec b, string where, MonitorHostOptions options, string? clientId = null,
        bool cleanSession = true, bool manualAck = false, int maxPacketSize = 1 << 20)
    {
        X509Certificate2? ca = null;
        if (b.CaFile != null)
        {
            try
            {
                ca = X509Certificate2.CreateFromPem(File.ReadAllText(b.CaFile));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new MonitorConfigurationException($"{where}: cannot read the CA certificate {b.CaFile}: {e.Message}");
            }
        }

        return new MqttClientOptions
        {
            Host = b.Host, Port = b.Port, ProtocolVersion = b.Protocol, UseTls = b.Tls, TrustedCaCertificate = ca, Username = b.Username,
            Password = b.PasswordEnv is { } env ? Required(options, env, $"{where} (password_env)") : null,
            ClientId = clientId, CleanSession = cleanSession, ManualAcknowledgement = manualAck, MaxPacketSize = maxPacketSize,
        };
    }

    private static string Required(MonitorHostOptions options, string variable, string where) =>
        options.Environment(variable) is { Length: > 0 } value
            ? value
            : throw new MonitorConfigurationException($"{where}: the environment variable {variable} is not set");
}
