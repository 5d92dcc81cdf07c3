using Microsoft.Extensions.Time.Testing;

namespace EventStream.Testing;

/// <summary>
/// The driver's clock: a <see cref="FakeTimeProvider"/> that also knows when each of its timers is next due, so the
/// driver can move time from one due timer to the next and let the pipeline react in between (a retry's back-off that
/// ends inside an advance runs, fails again and schedules the next one, all inside the same advance). Timers fire on the
/// thread that advances the clock, as with <see cref="FakeTimeProvider"/>.
/// </summary>
internal sealed class DriverClock : TimeProvider
{
    private readonly FakeTimeProvider _fake;
    private readonly HashSet<TrackedTimer> _timers = [];
    private readonly Lock _lock = new();

    public DriverClock(DateTimeOffset start)
    {
        _fake = new FakeTimeProvider(start);
    }

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _fake.LocalTimeZone;

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new TrackedTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Arm(dueTime, period);
        timer.Inner = _fake.CreateTimer(static s => ((TrackedTimer)s!).Fire(), timer, dueTime, period);
        return timer;
    }

    /// <summary>When the earliest armed timer is due, or <see langword="null"/> when none is armed.</summary>
    public DateTimeOffset? NextDue()
    {
        lock (_lock)
        {
            DateTimeOffset? next = null;
            foreach (var timer in _timers)
            {
                if (timer.Due is { } due && (next is null || due < next))
                {
                    next = due;
                }
            }

            return next;
        }
    }

    /// <summary>Moves the clock to <paramref name="time"/> (not back), firing every timer due by then.</summary>
    public void MoveTo(DateTimeOffset time)
    {
        if (time > _fake.GetUtcNow())
        {
            _fake.SetUtcNow(time);
        }
        else
        {
            _fake.Advance(TimeSpan.Zero); // fires what is due now
        }
    }

    private void Forget(TrackedTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    private sealed class TrackedTimer(DriverClock clock, TimerCallback callback, object? state) : ITimer
    {
        private DateTimeOffset? _due;
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public ITimer? Inner { get; set; }

        public DateTimeOffset? Due
        {
            get
            {
                lock (clock._lock)
                {
                    return _due;
                }
            }
        }

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                _due = dueTime == Timeout.InfiniteTimeSpan ? null : clock.GetUtcNow() + dueTime;
                _period = period;
            }
        }

        public void Fire()
        {
            lock (clock._lock)
            {
                _due = _period == Timeout.InfiniteTimeSpan || _period == TimeSpan.Zero ? null : clock.GetUtcNow() + _period;
            }

            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            return Inner?.Change(dueTime, period) ?? false;
        }

        public void Dispose()
        {
            clock.Forget(this);
            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return default;
        }
    }
}
