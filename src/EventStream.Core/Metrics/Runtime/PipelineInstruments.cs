using System.Diagnostics.Metrics;

namespace EventStream.Metrics;

/// <summary>
/// The pipeline's <see cref="Meter"/> (from the host's <see cref="IMeterFactory"/>, or its own) and the tag every
/// instrument carries. The counters are made by <see cref="PipelineCounters"/>, the latency histogram by
/// <see cref="LatencyRecorder"/>, the gauges by <see cref="ObserveGauges"/> once the pipeline exists.
/// </summary>
internal sealed class PipelineInstruments : IDisposable
{
    private readonly bool _ownsMeter;

    public PipelineInstruments(string pipeline, IMeterFactory? factory)
    {
        if (factory is not null)
        {
            Meter = factory.Create(EventStreamMeter.MeterName);
        }
        else
        {
            Meter = new Meter(EventStreamMeter.MeterName);
            _ownsMeter = true;
        }

        PipelineTag = new KeyValuePair<string, object?>("pipeline", pipeline);
    }

    public Meter Meter { get; }

    public KeyValuePair<string, object?> PipelineTag { get; }

    /// <summary>Creates the observable gauges, which read the running pipeline when they are collected.</summary>
    /// <param name="inFlight">Events in flight.</param>
    /// <param name="watermarkLag">How far the slowest window stage's watermark trails the clock.</param>
    /// <param name="queueDepths">Each queue's depth, by the name of the stage it is in front of.</param>
    public void ObserveGauges(Func<long> inFlight, Func<TimeSpan?> watermarkLag, Func<IEnumerable<(string Stage, long Depth)>> queueDepths)
    {
        var tag = PipelineTag;
        Meter.CreateObservableGauge(EventStreamMeter.WatermarkLag, () => watermarkLag() is { } lag
            ? [new Measurement<double>(lag.TotalMilliseconds, tag)]
            : Array.Empty<Measurement<double>>(), "ms", "How far the slowest window stage's watermark trails the clock.");
        Meter.CreateObservableGauge(EventStreamMeter.InFlight, () => new Measurement<long>(inFlight(), tag), "{event}", "Events in flight.");
        Meter.CreateObservableGauge(EventStreamMeter.QueueDepth, () => queueDepths().Select(q =>
            new Measurement<long>(q.Depth, tag, new KeyValuePair<string, object?>("stage", q.Stage))), "{event}", "Events queued in front of a stage.");
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}
