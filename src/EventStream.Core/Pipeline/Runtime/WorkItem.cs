using System.Diagnostics;

namespace EventStream;

/// <summary>Work that re-enters a segment's loop through its <see cref="WorkInbox"/>: a retry, a replay or a tick.</summary>
[DebuggerDisplay("{GetType().Name,nq} at {Stage,nq}")]
internal abstract class WorkItem
{
    protected WorkItem(string stage, long admittedAt)
    {
        Stage = stage;
        AdmittedAt = admittedAt;
    }

    /// <summary>The name of the stage the work is for.</summary>
    public string Stage { get; }

    /// <summary>When the event was admitted (a <see cref="TimeProvider"/> timestamp), for latency.</summary>
    public long AdmittedAt { get; }

    /// <summary>The trace context the event was admitted under, or none.</summary>
    public ActivityContext Trace { get; init; }

    /// <summary>The event, for dead-lettering after a cancellation.</summary>
    public abstract object? Item { get; }

    public abstract int AttemptsSoFar { get; }

    /// <summary>Whether the segment must wait for this item before it may finish (retries and replays; not ticks).</summary>
    public virtual bool IsExpected => true;

    public abstract ValueTask RunAsync();

    public Leftover ToLeftover() => new(Stage, Item, AttemptsSoFar, Trace);
}
