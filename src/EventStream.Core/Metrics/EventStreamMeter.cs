namespace EventStream.Metrics;

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
}
