namespace EventStream.Metrics;

/// <summary>
/// Every count a pipeline keeps, named once. The first four bring events into the pipeline's accounting, the next six
/// take them out (see <see cref="PipelineCounters.InFlight"/>); the last three count what happens on the way.
/// </summary>
internal enum PipelineCount
{
    /// <summary>Events admitted by a producer door.</summary>
    Accepted,

    /// <summary>Extra events made by fan-out stages (k − 1 for an event expanded to k).</summary>
    FannedOut,

    /// <summary>Dead letters re-injected by replay.</summary>
    Replayed,

    /// <summary>Results emitted by window stages.</summary>
    WindowResults,

    /// <summary>Events a sink accepted.</summary>
    Delivered,

    /// <summary>Events a filter dropped, or a fan-out expanded to nothing.</summary>
    Filtered,

    /// <summary>Events recorded in the dead-letter store.</summary>
    DeadLettered,

    /// <summary>Events added to no window.</summary>
    Late,

    /// <summary>Events a deduplicate stage dropped: their id was seen within its horizon.</summary>
    Duplicates,

    /// <summary>Events a window stage absorbed.</summary>
    Windowed,

    /// <summary>Events a partitioned window stage left to the owners of their partitions (partitioned execution only).</summary>
    OtherPartitions,

    /// <summary>Events refused at a producer door.</summary>
    Rejected,

    /// <summary>Retries scheduled.</summary>
    Retries,

    /// <summary>
    /// Dead letters discarded from the store through the pipeline. Not part of <see cref="PipelineCounters.InFlight"/>:
    /// a discarded event was already taken out (dead-lettered or late); discarding only takes its entry out of the store.
    /// </summary>
    Discarded,
}
