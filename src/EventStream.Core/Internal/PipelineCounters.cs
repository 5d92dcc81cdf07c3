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

    /// <summary>Admitted (plus fan-out and replays) and not yet delivered, filtered or dead-lettered.</summary>
    public long InFlight =>
        Volatile.Read(ref Admitted) + Volatile.Read(ref FannedOut) + Volatile.Read(ref Replayed)
        - Volatile.Read(ref Delivered) - Volatile.Read(ref Filtered) - Volatile.Read(ref DeadLettered);
}

/// <summary>Counts a worker gathers without synchronisation and publishes after each batch.</summary>
internal struct LocalCounts
{
    public long Filtered;
    public long Delivered;
    public long DeadLettered;
    public long Retries;
    public long FannedOut;

    public readonly bool IsEmpty => (Filtered | Delivered | DeadLettered | Retries | FannedOut) == 0;
}
