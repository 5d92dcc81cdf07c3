using System.Diagnostics.Metrics;
using EventStream.Metrics;

namespace EventStream.Internal;

/// <summary>The pipeline's instruments on its <see cref="Meter"/>, written once per batch.</summary>
internal sealed class PipelineInstruments : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly KeyValuePair<string, object?> _tag;
    private readonly Counter<long> _accepted;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _filtered;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _deadLettered;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _late;
    private readonly Histogram<double> _latency;

    public PipelineInstruments(PipelineCore pipeline, IMeterFactory? factory)
    {
        if (factory is not null)
        {
            _meter = factory.Create(EventStreamMeter.MeterName);
        }
        else
        {
            _meter = new Meter(EventStreamMeter.MeterName);
            _ownsMeter = true;
        }

        _tag = new KeyValuePair<string, object?>("pipeline", pipeline.Name);
        _accepted = _meter.CreateCounter<long>(EventStreamMeter.Accepted, "{event}", "Events admitted.");
        _rejected = _meter.CreateCounter<long>(EventStreamMeter.Rejected, "{event}", "Events refused at the door.");
        _filtered = _meter.CreateCounter<long>(EventStreamMeter.Filtered, "{event}", "Events filtered out.");
        _delivered = _meter.CreateCounter<long>(EventStreamMeter.Delivered, "{event}", "Events delivered to a sink.");
        _deadLettered = _meter.CreateCounter<long>(EventStreamMeter.DeadLettered, "{event}", "Events dead-lettered.");
        _retries = _meter.CreateCounter<long>(EventStreamMeter.Retries, "{retry}", "Retries scheduled.");
        _late = _meter.CreateCounter<long>(EventStreamMeter.Late, "{event}", "Late events (added to no window).");
        _meter.CreateObservableGauge(EventStreamMeter.WatermarkLag, () => pipeline.Snapshot().WatermarkLag is { } lag
            ? [new Measurement<double>(lag.TotalMilliseconds, _tag)]
            : Array.Empty<Measurement<double>>(), "ms", "How far the slowest window stage's watermark trails the clock.");
        _latency = _meter.CreateHistogram<double>(EventStreamMeter.Latency, "ms", "End-to-end latency, admission to sink.");
        _meter.CreateObservableGauge(EventStreamMeter.InFlight, () => new Measurement<long>(pipeline.Counters.InFlight, _tag), "{event}", "Events in flight.");
        _meter.CreateObservableGauge(EventStreamMeter.QueueDepth, () => pipeline.Segments.Select(s =>
            new Measurement<long>(s.QueueDepth, _tag, new KeyValuePair<string, object?>("stage", s.Head.Name))), "{event}", "Events queued in front of a stage.");
    }

    public void Accepted(long n) => _accepted.Add(n, _tag);

    public void Rejected(long n) => _rejected.Add(n, _tag);

    public void Publish(in LocalCounts counts)
    {
        if (counts.Filtered != 0)
        {
            _filtered.Add(counts.Filtered, _tag);
        }

        if (counts.Delivered != 0)
        {
            _delivered.Add(counts.Delivered, _tag);
        }

        if (counts.DeadLettered != 0)
        {
            _deadLettered.Add(counts.DeadLettered, _tag);
        }

        if (counts.Retries != 0)
        {
            _retries.Add(counts.Retries, _tag);
        }

        if (counts.Late != 0)
        {
            _late.Add(counts.Late, _tag);
        }
    }

    public void Latency(double milliseconds) => _latency.Record(milliseconds, _tag);

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
