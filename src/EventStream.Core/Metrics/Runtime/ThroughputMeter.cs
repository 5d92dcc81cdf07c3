namespace EventStream.Metrics;

/// <summary>
/// Events finished per second over a recent interval, from one-second buckets on the pipeline's clock.
/// </summary>
internal sealed class ThroughputMeter
{
    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly long[] _counts;
    private readonly long[] _seconds;
    private readonly int _interval;

    public ThroughputMeter(TimeProvider time, TimeSpan interval)
    {
        _time = time;
        _start = time.GetTimestamp();
        _interval = Math.Max(1, (int)Math.Round(interval.TotalSeconds));
        _counts = new long[_interval + 2];
        _seconds = new long[_interval + 2];
        Array.Fill(_seconds, -1);
    }

    public void Add(long n)
    {
        if (n == 0)
        {
            return;
        }

        var second = CurrentSecond();
        var slot = (int)(second % _counts.Length);
        lock (_lock)
        {
            if (_seconds[slot] != second)
            {
                _seconds[slot] = second;
                _counts[slot] = 0;
            }

            _counts[slot] += n;
        }
    }

    /// <summary>Events per second over the last full seconds of the interval (fewer right after start).</summary>
    public double PerSecond()
    {
        var now = CurrentSecond();
        var elapsedMs = _time.GetElapsedTime(_start).TotalMilliseconds;
        lock (_lock)
        {
            long sum = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                // Full seconds only: [now - interval, now).
                if (_seconds[i] >= now - _interval && _seconds[i] < now)
                {
                    sum += _counts[i];
                }
            }

            var span = Math.Min(_interval, now);
            if (span <= 0)
            {
                // Less than a second since start: use what there is.
                var current = (int)(now % _counts.Length);
                return _seconds[current] == now && elapsedMs > 0 ? _counts[current] * 1000.0 / elapsedMs : 0;
            }

            return sum / (double)span;
        }
    }

    private long CurrentSecond() => (long)_time.GetElapsedTime(_start).TotalSeconds;
}
