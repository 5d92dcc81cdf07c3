namespace EventStream;

/// <summary>The defaults of <see cref="PipelineOptions"/>, documented there.</summary>
internal static class PipelineConstants
{
    /// <summary>The default capacity of a stage queue, in events: 10,000.</summary>
    public const int DefaultCapacity = 10_000;

    /// <summary>The default number of events that cross a queue together: 512.</summary>
    public const int DefaultBatchSize = 512;

    /// <summary>The default number of in-flight events past which the non-waiting ingest rejects: 100,000.</summary>
    public const int DefaultBackpressureThreshold = 100_000;

    /// <summary>The default time a host waits for the pipeline to drain on shutdown: 30 s.</summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The default time an async handler may take per event before it counts as failed: 30 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The default interval over which throughput is measured: 5 s.</summary>
    public static readonly TimeSpan DefaultMetricsInterval = TimeSpan.FromSeconds(5);
}
