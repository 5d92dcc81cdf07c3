namespace EventStream.Tests;

/// <summary>The system clock, remembering the timers it made, in order, and whether each was disposed.</summary>
internal sealed class TrackingTimeProvider : TimeProvider
{
    private readonly List<Tracked> _timers = [];

    /// <summary>Gets the timers made so far, oldest first.</summary>
    public IReadOnlyList<Tracked> Timers
    {
        get
        {
            lock (_timers)
            {
                return [.. _timers];
            }
        }
    }

    /// <summary>Gets the timers not disposed yet.</summary>
    public IReadOnlyList<ITimer> Live => Timers.Where(t => !t.Disposed).ToList();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Tracked(base.CreateTimer(callback, state, dueTime, period));
        lock (_timers)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    public sealed class Tracked(ITimer inner) : ITimer
    {
        private volatile bool _disposed;

        public bool Disposed => _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            _disposed = true;
            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            _disposed = true;
            return inner.DisposeAsync();
        }
    }
}
