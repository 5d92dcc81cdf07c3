using Microsoft.Extensions.Time.Testing;

namespace EventStream.Tests;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that remembers every finite due time a timer was armed with (at creation or by
/// <see cref="ITimer.Change"/>), in order. A retry waits on a timer of the pipeline clock, so the due times are the
/// retry delays as the clock sees them, and a new arming says that a retry has been scheduled.
/// </summary>
internal sealed class ArmingTimeProvider : FakeTimeProvider
{
    private readonly List<TimeSpan> _armed = [];

    public ArmingTimeProvider(DateTimeOffset start)
        : base(start)
    {
    }

    /// <summary>Gets the finite due times timers were armed with so far, oldest first.</summary>
    public IReadOnlyList<TimeSpan> Armed
    {
        get
        {
            lock (_armed)
            {
                return [.. _armed];
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new Recording(this, base.CreateTimer(callback, state, dueTime, period));
        Record(dueTime); // after the timer is armed: a test that sees the arming may move the clock at once
        return timer;
    }

    /// <summary>Waits until <paramref name="count"/> armings have been seen and returns the last of them.</summary>
    public async Task<TimeSpan> ArmedAsync(int count)
    {
        await TestSupport.Eventually(() => Armed.Count >= count, $"timer arming #{count}");
        return Armed[count - 1];
    }

    private void Record(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (_armed)
            {
                _armed.Add(dueTime);
            }
        }
    }

    private sealed class Recording(ArmingTimeProvider owner, ITimer inner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = inner.Change(dueTime, period);
            owner.Record(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
