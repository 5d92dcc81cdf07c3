namespace EventStream;

/// <summary>
/// A snapshot of a pipeline's metrics. The counts obey
/// <c>Accepted + FannedOut + Replayed + WindowResults = Delivered + Filtered + DeadLettered + Late + Duplicates + Windowed + InFlight</c>
/// (after completion, <see cref="InFlight"/> is 0).
/// </summary>
/// <remarks>
/// The dead-letter store is accounted too. Dead-lettered events, and late events recorded in the store (a window stage
/// without a late output, or whose late output failed), go in; replay takes each entry back out once (counted in
/// <see cref="Replayed"/> when it re-enters, whatever its outcome: one that fails again is counted again in
/// <see cref="DeadLettered"/> or <see cref="Late"/>), and <see cref="Discarded"/> takes entries out for good. So for a
/// pipeline that started on an empty store of its own, with no replay in flight and every late event in the store,
/// <c>DeadLettered + Late − Replayed − Discarded</c> is the number of its entries in the store. Discarding does not
/// change the first equation: a discarded event was already accounted for as dead-lettered or late, and stays so.
/// </remarks>
public sealed record PipelineMetrics
{
    /// <summary>Gets the pipeline name.</summary>
    public required string Pipeline { get; init; }

    /// <summary>Gets when the snapshot was taken, on the pipeline's clock.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Gets the events admitted by the producer doors. Filtered events are counted here and in <see cref="Filtered"/>.</summary>
    public long Accepted { get; init; }

    /// <summary>Gets the events refused by the producer doors (backpressure, full dead-letter store, <c>TryWrite</c> returning false).</summary>
    public long Rejected { get; init; }

    /// <summary>Gets the events a filter dropped, or a fan-out expanded to nothing.</summary>
    public long Filtered { get; init; }

    /// <summary>Gets the events a sink accepted.</summary>
    public long Delivered { get; init; }

    /// <summary>Gets the events recorded in the dead-letter store (a replay that fails again counts again).</summary>
    public long DeadLettered { get; init; }

    /// <summary>Gets the retries scheduled.</summary>
    public long Retries { get; init; }

    /// <summary>Gets the dead letters re-injected by replay.</summary>
    public long Replayed { get; init; }

    /// <summary>
    /// Gets the dead letters discarded from the store by <see cref="IEventPipeline{T}.DiscardDeadLettersAsync"/>. They
    /// stay counted in <see cref="DeadLettered"/> or <see cref="Late"/>; see the remarks for the store's accounting.
    /// </summary>
    public long Discarded { get; init; }

    /// <summary>Gets the extra events made by fan-out stages (an event expanded to <c>k</c> events adds <c>k − 1</c>).</summary>
    public long FannedOut { get; init; }

    /// <summary>Gets the events that arrived after all their windows had closed (sent to the late output).</summary>
    public long Late { get; init; }

    /// <summary>Gets the events a deduplicate stage dropped because their id was seen within its horizon (see <c>Deduplicate</c>).</summary>
    public long Duplicates { get; init; }

    /// <summary>Gets the events a window stage absorbed (they live on in its results).</summary>
    public long Windowed { get; init; }

    /// <summary>
    /// Gets the events a partitioned window stage left to the owners of their partitions: every worker of a partitioned
    /// computation reads the whole input, and each keeps the events of its own partitions. Zero in one process.
    /// </summary>
    public long OtherPartitions { get; init; }

    /// <summary>Gets the results window stages emitted (each firing of each window is one).</summary>
    public long WindowResults { get; init; }

    /// <summary>Gets how far the slowest window stage's watermark trails the pipeline's clock, or <see langword="null"/> without one.</summary>
    public TimeSpan? WatermarkLag { get; init; }

    /// <summary>Gets the events admitted and not yet delivered, filtered, dead-lettered, late, windowed or left to other partitions.</summary>
    public long InFlight { get; init; }

    /// <summary>Gets the events finished (delivered, filtered or dead-lettered) per second over the recent metrics interval.</summary>
    public double ThroughputPerSecond { get; init; }

    /// <summary>Gets the median end-to-end latency, admission to sink, over recent batches.</summary>
    public TimeSpan LatencyP50 { get; init; }

    /// <summary>Gets the 95th percentile of end-to-end latency over recent batches.</summary>
    public TimeSpan LatencyP95 { get; init; }

    /// <summary>Gets the 99th percentile of end-to-end latency over recent batches.</summary>
    public TimeSpan LatencyP99 { get; init; }

    /// <summary>Gets the stages, in pipeline order.</summary>
    public required IReadOnlyList<StageMetrics> Stages { get; init; }
}
