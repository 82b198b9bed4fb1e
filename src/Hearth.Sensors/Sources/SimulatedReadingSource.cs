using System.Diagnostics;
using System.Text;

namespace Hearth.Sensors.Sources;

/// <summary>Readings from <see cref="SimulatedSensorFeed"/> as JSON payloads, so the monitor can be tried without
/// hardware: paced in real time (one reading per <see cref="SimulationOptions.Interval"/>) or as fast as the monitor
/// takes them. Finished after the last one when a count is given.</summary>
public sealed class SimulatedReadingSource : ReadingSource
{
    private readonly long? _count;
    private readonly SimulationOptions _options;
    private readonly bool _realTime;

    /// <summary>Creates the source.</summary>
    /// <param name="name">The source's name.</param>
    /// <param name="count">How many readings; null for no end.</param>
    /// <param name="options">The simulation (seed, start time, interval, anomaly rate, source).</param>
    /// <param name="realTime">Wait the interval between readings (by a clock, so waits do not drift); else no waiting.</param>
    public SimulatedReadingSource(string name, long? count, SimulationOptions options, bool realTime) : base(name, "simulate")
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), "the number of simulated readings must not be negative");
        ArgumentNullException.ThrowIfNull(options);
        if (realTime && options.Interval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(options), "real-time pacing needs a positive interval");
        _count = count;
        _options = options;
        _realTime = realTime;
    }

    protected override async Task RunCoreAsync(Func<SourcePayload, CancellationToken, ValueTask> emit, CancellationToken stop)
    {
        SetState(SourceState.Connected);
        var clock = Stopwatch.StartNew();
        long i = 0;
        foreach (var reading in SimulatedSensorFeed.Generate(_count ?? long.MaxValue, _options))
        {
            if (_realTime && _options.Interval * i - clock.Elapsed is { } wait && wait > TimeSpan.Zero)
                await Task.Delay(wait, stop).ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
            await emit(new SourcePayload(reading.Source, Encoding.UTF8.GetBytes(reading.Fields.ToJsonString()), ++i), stop).ConfigureAwait(false);
        }

        SetState(SourceState.Finished);
    }
}
