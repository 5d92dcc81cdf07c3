using System.Diagnostics.Metrics;

namespace EventStream.Metrics;

/// <summary>
/// End-to-end latency, admission to sink: recent samples for the snapshot's percentiles, and the Meter's histogram.
/// One sample per delivered batch, weighted by the events it delivered, so a lone retried event counts as one event,
/// not as a whole batch.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly object _lock = new();
    private readonly double[] _milliseconds = new double[4096];
    private readonly long[] _weights = new long[4096];
    private readonly TimeProvider _time;
    private readonly Histogram<double> _histogram;
    private readonly KeyValuePair<string, object?> _tag;
    private int _next;
    private int _count;

    public LatencyRecorder(TimeProvider time, PipelineInstruments instruments)
    {
        _time = time;
        _tag = instruments.PipelineTag;
        _histogram = instruments.Meter.CreateHistogram<double>(EventStreamMeter.Latency, "ms", "End-to-end latency, admission to sink.");
    }

    /// <summary>Records that <paramref name="events"/> events admitted at <paramref name="admittedAt"/> (a <see cref="TimeProvider"/> timestamp) were delivered now.</summary>
    public void Record(long admittedAt, long events)
    {
        var milliseconds = _time.GetElapsedTime(admittedAt).TotalMilliseconds;
        lock (_lock)
        {
            _milliseconds[_next] = milliseconds;
            _weights[_next] = events;
            _next = (_next + 1) % _milliseconds.Length;
            if (_count < _milliseconds.Length)
            {
                _count++;
            }
        }

        _histogram.Record(milliseconds, _tag);
    }

    public (TimeSpan P50, TimeSpan P95, TimeSpan P99) Percentiles()
    {
        double[] ms;
        long[] weights;
        lock (_lock)
        {
            if (_count == 0)
            {
                return default;
            }

            ms = _milliseconds[.._count];
            weights = _weights[.._count];
        }

        Array.Sort(ms, weights);
        long total = 0;
        foreach (var w in weights)
        {
            total += w;
        }

        return (At(ms, weights, total, 0.50), At(ms, weights, total, 0.95), At(ms, weights, total, 0.99));
    }

    private static TimeSpan At(double[] sorted, long[] weights, long total, double q)
    {
        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < sorted.Length; i++)
        {
            seen += weights[i];
            if (seen >= rank)
            {
                return TimeSpan.FromMilliseconds(sorted[i]);
            }
        }

        return TimeSpan.FromMilliseconds(sorted[^1]);
    }
}
