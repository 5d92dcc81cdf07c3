using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventStream.AspNetCore.HealthChecks;

/// <summary>
/// When an event pipeline's health check reports <see cref="HealthStatus.Degraded"/>. A pipeline whose
/// <see cref="IEventPipeline{T}.Completion"/> has completed (faulted, cancelled or finished) is always reported with the
/// registration's failure status (<see cref="HealthStatus.Unhealthy"/> unless set otherwise).
/// </summary>
public sealed class EventPipelineHealthCheckOptions
{
    /// <summary>
    /// Gets or sets the share of <see cref="PipelineOptions.BackpressureThreshold"/> at which the in-flight events make the
    /// pipeline degraded: degraded when <c>InFlight &gt;= InFlightShare × BackpressureThreshold</c>, that is before the
    /// non-waiting ingest starts rejecting. Between 0 (exclusive) and 1 (inclusive).
    /// </summary>
    /// <value>The default value is 0.8.</value>
    public double InFlightShare { get; set; } = 0.8;

    /// <summary>
    /// Gets or sets whether the check counts the pipeline's dead letters (<see cref="IDeadLetterStore.CountAsync"/>, within
    /// <see cref="DeadLetterCountTimeout"/>). The count is reported in the data, compared with
    /// <see cref="DeadLetterCapacity"/>, and doubles as a probe of the store: a store that cannot count (a remote store that
    /// is down) is reported with <see cref="DeadLetterStoreFailureStatus"/>. Turn it off for a store whose count is costly.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool CountDeadLetters { get; set; } = true;

    /// <summary>
    /// Gets or sets the number of dead letters (of this pipeline) the store is meant to hold; with it, the pipeline is
    /// degraded when <c>count &gt;= DeadLetterShare × DeadLetterCapacity</c>. A store's own capacity is not public
    /// (an <see cref="InMemoryDeadLetterStore"/> keeps its options to itself), so set the figure you gave the store, e.g.
    /// its <see cref="InMemoryDeadLetterStoreOptions.Capacity"/>. A full store (<see cref="IDeadLetterStore.IsFull"/>)
    /// makes the pipeline degraded with or without it.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no share check.</value>
    public long? DeadLetterCapacity { get; set; }

    /// <summary>Gets or sets the share of <see cref="DeadLetterCapacity"/> at which the dead letters make the pipeline degraded. Between 0 (exclusive) and 1 (inclusive).</summary>
    /// <value>The default value is 0.8.</value>
    public double DeadLetterShare { get; set; } = 0.8;

    /// <summary>Gets or sets how long the check waits for the store's count before it reports the store as failing.</summary>
    /// <value>The default value is 2 s.</value>
    public TimeSpan DeadLetterCountTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Gets or sets the status reported when the dead-letter store throws (or does not answer in time). The default is
    /// <see cref="HealthStatus.Degraded"/>: events still flow while the store is down, only their failures cannot be
    /// recorded — and a failure the pipeline cannot record faults it, which the check then reports as unhealthy.
    /// Set <see cref="HealthStatus.Unhealthy"/> where an unreachable store must take the instance out of rotation.
    /// </summary>
    /// <value>The default value is <see cref="HealthStatus.Degraded"/>.</value>
    public HealthStatus DeadLetterStoreFailureStatus { get; set; } = HealthStatus.Degraded;

    /// <summary>
    /// Gets or sets how far the slowest window stage's watermark may trail the pipeline's clock
    /// (<see cref="PipelineMetrics.WatermarkLag"/>) before the pipeline is degraded. A pipeline without window stages
    /// (or before their first event) has no lag and passes.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no lag check.</value>
    public TimeSpan? MaxWatermarkLag { get; set; }

    internal IEnumerable<string> Validate()
    {
        if (!(InFlightShare > 0 && InFlightShare <= 1))
        {
            yield return $"InFlightShare must be above 0 and at most 1 (was {InFlightShare}).";
        }

        if (!(DeadLetterShare > 0 && DeadLetterShare <= 1))
        {
            yield return $"DeadLetterShare must be above 0 and at most 1 (was {DeadLetterShare}).";
        }

        if (DeadLetterCapacity is < 1)
        {
            yield return $"DeadLetterCapacity must be at least 1 when set (was {DeadLetterCapacity}).";
        }

        if (DeadLetterCountTimeout <= TimeSpan.Zero && DeadLetterCountTimeout != Timeout.InfiniteTimeSpan)
        {
            yield return $"DeadLetterCountTimeout must be positive or infinite (was {DeadLetterCountTimeout}).";
        }

        if (MaxWatermarkLag is { } lag && lag < TimeSpan.Zero)
        {
            yield return $"MaxWatermarkLag must not be negative (was {lag}).";
        }

        if (!Enum.IsDefined(DeadLetterStoreFailureStatus))
        {
            yield return $"DeadLetterStoreFailureStatus must be a HealthStatus (was {DeadLetterStoreFailureStatus}).";
        }
    }
}
