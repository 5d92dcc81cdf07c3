using Microsoft.Extensions.Logging;

namespace EventStream;

/// <summary>
/// Options of a whole pipeline. Stage options (<see cref="StageOptions"/>) left unset inherit from here.
/// Bind it from configuration in a host; the values are validated when the pipeline is built.
/// </summary>
public sealed class PipelineOptions
{
    /// <summary>
    /// Gets or sets the capacity of each stage queue, in events. What counts: the events written to the queue and not yet
    /// taken by the stage's worker (a worker holds at most one batch besides). A full input queue makes
    /// <c>WriteAsync</c> wait and <c>TryWrite</c> return <see langword="false"/>; a full inner queue makes the
    /// stage in front of it wait, so backpressure reaches the producer. A single batch larger than the capacity
    /// is admitted into an empty queue.
    /// </summary>
    /// <value>The default value is 10,000.</value>
    public int Capacity { get; set; } = PipelineConstants.DefaultCapacity;

    /// <summary>Gets or sets the most events that cross a queue together.</summary>
    /// <value>The default value is 512.</value>
    public int BatchSize { get; set; } = PipelineConstants.DefaultBatchSize;

    /// <summary>
    /// Gets or sets the number of in-flight events (admitted and not yet delivered, filtered or dead-lettered) past which
    /// the non-waiting ingest rejects whole batches with a <see cref="BackpressureException"/>.
    /// </summary>
    /// <value>The default value is 100,000.</value>
    public long BackpressureThreshold { get; set; } = PipelineConstants.DefaultBackpressureThreshold;

    /// <summary>Gets or sets how long an async handler (enrich, sink) may take per event before it counts as failed.</summary>
    /// <value>The default value is 30 s.</value>
    public TimeSpan Timeout { get; set; } = PipelineConstants.DefaultTimeout;

    /// <summary>Gets or sets how long a host waits for the pipeline to drain when it stops, before cancelling it.</summary>
    /// <value>The default value is 30 s.</value>
    public TimeSpan DrainTimeout { get; set; } = PipelineConstants.DefaultDrainTimeout;

    /// <summary>Gets or sets the interval over which <see cref="PipelineMetrics.ThroughputPerSecond"/> is measured.</summary>
    /// <value>The default value is 5 s.</value>
    public TimeSpan MetricsInterval { get; set; } = PipelineConstants.DefaultMetricsInterval;

    /// <summary>Gets or sets the retry policy of every stage that does not set its own.</summary>
    /// <value>The default value is 3 attempts, 100 ms base delay doubling with jitter, transient failures only.</value>
    public RetryOptions Retry { get; set; } = new();

    /// <summary>Gets or sets the clock for retry delays, timeouts, latency and throughput. Tests pass a fake one.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Gets or sets where events go when their retries are spent.</summary>
    /// <value>The default value is a new <see cref="InMemoryDeadLetterStore"/> with its default options.</value>
    public IDeadLetterStore? DeadLetterStore { get; set; }

    /// <summary>Gets or sets the logger factory; retries log at Debug, dead letters at Warning.</summary>
    /// <value>The default value is <see langword="null"/> (no logging).</value>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Gets or sets the factory of the <see cref="System.Diagnostics.Metrics.Meter"/> the pipeline reports on.</summary>
    /// <value>The default value is <see langword="null"/>: a meter named <c>EventStream</c> is created directly.</value>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    internal PipelineOptions Clone()
    {
        var clone = (PipelineOptions)MemberwiseClone();
        clone.Retry = (Retry ?? new RetryOptions()).Clone();
        return clone;
    }

    internal IEnumerable<string> Validate()
    {
        if (Capacity < 1)
        {
            yield return $"Capacity must be at least 1 (was {Capacity}).";
        }

        if (BatchSize < 1)
        {
            yield return $"BatchSize must be at least 1 (was {BatchSize}).";
        }

        if (BackpressureThreshold < 1)
        {
            yield return $"BackpressureThreshold must be at least 1 (was {BackpressureThreshold}).";
        }

        if (Timeout <= TimeSpan.Zero && Timeout != System.Threading.Timeout.InfiniteTimeSpan)
        {
            yield return $"Timeout must be positive or infinite (was {Timeout}).";
        }

        if (DrainTimeout < TimeSpan.Zero)
        {
            yield return $"DrainTimeout must not be negative (was {DrainTimeout}).";
        }

        if (MetricsInterval < TimeSpan.FromSeconds(1))
        {
            yield return $"MetricsInterval must be at least 1 s (was {MetricsInterval}).";
        }

        if (TimeProvider is null)
        {
            yield return "TimeProvider must not be null.";
        }

        if (Retry is null)
        {
            yield return "Retry must not be null.";
        }
        else
        {
            foreach (var problem in Retry.Validate("pipeline"))
            {
                yield return problem;
            }
        }
    }
}
