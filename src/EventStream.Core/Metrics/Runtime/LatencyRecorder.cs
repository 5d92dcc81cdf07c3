namespace EventStream.Internal;

/// <summary>
/// Recent end-to-end latencies for percentiles: one sample per delivered batch, weighted by the events it delivered,
/// so a lone retried event counts as one event, not as a whole batch.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly object _lock = new();
    private readonly double[] _milliseconds = new double[4096];
    private readonly long[] _weights = new long[4096];
    private int _next;
    private int _count;

    public void Record(double milliseconds, long events)
    {
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
