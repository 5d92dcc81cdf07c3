namespace EventStream.Retry;

/// <summary>
/// Retries waiting for their back-off, for one segment: a priority queue by due time and one timer armed for the
/// earliest. When it fires, every due item is handed over at once, so retries re-enter the loop as a batch. After a
/// firing the timer is re-armed no sooner than <see cref="Coalescing"/> later: under a steady stream of failures the
/// retries go back in batches a few milliseconds apart instead of one timer wake-up (and thread hand-off) each. A
/// retry therefore waits its delay, and at most <see cref="Coalescing"/> more.
/// </summary>
internal sealed class DelayQueue : IDisposable
{
    /// <summary>The least time between two firings while retries keep coming.</summary>
    public static readonly TimeSpan Coalescing = TimeSpan.FromMilliseconds(5);

    private readonly object _lock = new();
    private readonly PriorityQueue<WorkItem, long> _queue = new();
    private readonly TimeProvider _time;
    private readonly Action<List<WorkItem>> _release;
    private readonly ITimer _timer;
    private long _armedFor = long.MaxValue;
    private bool _disposed;

    public DelayQueue(TimeProvider time, Action<List<WorkItem>> release)
    {
        _time = time;
        _release = release;
        _timer = time.CreateTimer(static s => ((DelayQueue)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _queue.Count;
            }
        }
    }

    public void Schedule(WorkItem item, TimeSpan delay)
    {
        var due = _time.GetTimestamp() + ToTicks(delay);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _queue.Enqueue(item, due);
            if (due < _armedFor)
            {
                _armedFor = due;
                _timer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Takes out everything still waiting (after a cancellation).</summary>
    public List<WorkItem> DrainAll()
    {
        lock (_lock)
        {
            var all = new List<WorkItem>(_queue.Count);
            while (_queue.TryDequeue(out var item, out _))
            {
                all.Add(item);
            }

            _armedFor = long.MaxValue;
            return all;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _timer.Dispose();
    }

    private void OnTimer()
    {
        List<WorkItem>? due = null;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetTimestamp();
            while (_queue.TryPeek(out var item, out var at) && at <= now)
            {
                _queue.Dequeue();
                (due ??= []).Add(item);
            }

            if (_queue.TryPeek(out _, out var next))
            {
                _armedFor = next;
                var wait = TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling((next - now) * (double)TimeSpan.TicksPerSecond / _time.TimestampFrequency)));
                if (wait < Coalescing)
                {
                    wait = Coalescing;
                    _armedFor = now + ToTicks(wait);
                }

                _timer.Change(wait, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _armedFor = long.MaxValue;
            }
        }

        if (due is not null)
        {
            _release(due);
        }
    }

    // Exact where the clock counts in whole multiples of TimeSpan ticks (the system clock, FakeTimeProvider), so a
    // timer that fires on time always finds its item due.
    private long ToTicks(TimeSpan delay)
    {
        var frequency = _time.TimestampFrequency;
        return frequency % TimeSpan.TicksPerSecond == 0
            ? delay.Ticks * (frequency / TimeSpan.TicksPerSecond)
            : (long)Math.Ceiling(delay.Ticks * (double)frequency / TimeSpan.TicksPerSecond);
    }
}
