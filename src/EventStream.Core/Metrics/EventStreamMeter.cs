namespace EventStream;

/// <summary>
/// The names under which pipelines report on <see cref="System.Diagnostics.Metrics"/>. Every instrument carries the
/// tag <c>pipeline</c>; per-stage instruments also carry <c>stage</c>. Point OpenTelemetry at <see cref="MeterName"/>.
/// </summary>
public static class EventStreamMeter
{
    /// <summary>The meter name: <c>EventStream</c>.</summary>
    public const string MeterName = "EventStream";

    /// <summary>Counter of events admitted.</summary>
    public const string Accepted = "eventstream.events.accepted";

    /// <summary>Counter of events refused at the door.</summary>
    public const string Rejected = "eventstream.events.rejected";

    /// <summary>Counter of events filtered out.</summary>
    public const string Filtered = "eventstream.events.filtered";

    /// <summary>Counter of events delivered to a sink.</summary>
    public const string Delivered = "eventstream.events.delivered";

    /// <summary>Counter of events dead-lettered.</summary>
    public const string DeadLettered = "eventstream.events.dead_lettered";

    /// <summary>Counter of late events (added to no window).</summary>
    public const string Late = "eventstream.events.late";

    /// <summary>Counter of duplicate events dropped by deduplicate stages (see <see cref="PipelineMetrics.Duplicates"/>).</summary>
    public const string Duplicates = "eventstream.events.duplicates";

    /// <summary>Counter of dead letters discarded from the dead-letter store (see <see cref="PipelineMetrics.Discarded"/>).</summary>
    public const string Discarded = "eventstream.events.discarded";

    /// <summary>Gauge of how far the slowest window stage's watermark trails the clock, in milliseconds.</summary>
    public const string WatermarkLag = "eventstream.window.watermark_lag";

    /// <summary>Counter of retries scheduled.</summary>
    public const string Retries = "eventstream.retries";

    /// <summary>Gauge of events in flight.</summary>
    public const string InFlight = "eventstream.events.in_flight";

    /// <summary>Gauge of events queued in front of each stage (tag <c>stage</c>).</summary>
    public const string QueueDepth = "eventstream.stage.queue_depth";

    /// <summary>Histogram of end-to-end latency, admission to sink, in milliseconds (one sample per delivered batch).</summary>
    public const string Latency = "eventstream.latency";

    /// <summary>Gauge of the partitions a worker of a partitioned computation owns (tags <c>pipeline</c>, <c>worker</c>).</summary>
    public const string PartitionsOwned = "eventstream.partitions.owned";

    /// <summary>Gauge of each owned partition's committed watermark, in epoch milliseconds (tags <c>pipeline</c>, <c>worker</c>, <c>partition</c>).</summary>
    public const string PartitionWatermark = "eventstream.partition.watermark";

    /// <summary>Gauge of how long ago each owned partition last committed, in milliseconds (same tags).</summary>
    public const string PartitionCommitAge = "eventstream.partition.commit_age";

    /// <summary>Gauge of how far each owned partition's committed position trails what its worker has read, in milliseconds of entry ids (same tags).</summary>
    public const string PartitionLag = "eventstream.partition.lag";
}
