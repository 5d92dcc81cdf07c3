namespace EventStream.Internal;

/// <summary>The most recent end-to-end latencies (one sample per delivered batch), for percentiles.</summary>
internal sealed class LatencyRecorder
{
    private readonly object _lock = new();
    private readonly double[] _samples = new double[4096];
    private int _next;
    private int _count;

    public void Record(double milliseconds)
    {
        lock (_lock)
        {
            _samples[_next] = milliseconds;
            _next = (_next + 1) % _samples.Length;
            if (_count < _samples.Length)
            {
                _count++;
            }
        }
    }

    public (TimeSpan P50, TimeSpan P95, TimeSpan P99) Percentiles()
    {
        double[] copy;
        lock (_lock)
        {
            if (_count == 0)
            {
                return default;
            }

            copy = new double[_count];
            Array.Copy(_samples, copy, _count);
        }

        Array.Sort(copy);
        return (At(copy, 0.50), At(copy, 0.95), At(copy, 0.99));
    }

    private static TimeSpan At(double[] sorted, double q)
    {
        var index = (int)Math.Ceiling(q * sorted.Length) - 1;
        return TimeSpan.FromMilliseconds(sorted[Math.Clamp(index, 0, sorted.Length - 1)]);
    }
}
