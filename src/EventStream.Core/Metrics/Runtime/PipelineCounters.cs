namespace EventStream.Internal;

/// <summary>Pipeline-wide counts. Workers add their per-batch tallies here once per batch.</summary>
internal sealed class PipelineCounters
{
    public long Admitted;
    public long Rejected;
    public long Filtered;
    public long Delivered;
    public long DeadLettered;
    public long Retries;
    public long Replayed;
    public long FannedOut;
    public long Late;
    public long Windowed;
    public long WindowResults;

    /// <summary>Admitted (plus fan-out, replays and window results) and not yet delivered, filtered, dead-lettered, late or absorbed by a window.</summary>
    public long InFlight =>
        Volatile.Read(ref Admitted) + Volatile.Read(ref FannedOut) + Volatile.Read(ref Replayed) + Volatile.Read(ref WindowResults)
        - Volatile.Read(ref Delivered) - Volatile.Read(ref Filtered) - Volatile.Read(ref DeadLettered) - Volatile.Read(ref Late) - Volatile.Read(ref Windowed);
}

/// <summary>Counts a worker gathers without synchronisation and publishes after each batch.</summary>
internal struct LocalCounts
{
    public long Filtered;
    public long Delivered;
    public long DeadLettered;
    public long Retries;
    public long FannedOut;
    public long Late;
    public long Windowed;
    public long WindowResults;

    public readonly bool IsEmpty => (Filtered | Delivered | DeadLettered | Retries | FannedOut | Late | Windowed | WindowResults) == 0;
}
