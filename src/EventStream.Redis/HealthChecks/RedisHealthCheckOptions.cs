using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EventStream.Redis;

/// <summary>
/// When a Redis health check (<see cref="Microsoft.Extensions.DependencyInjection.RedisHealthChecksBuilderExtensions"/>)
/// reports <see cref="LagStatus"/>: a partition of a partitioned computation without a live owner or lagging past
/// <see cref="MaxPartitionLag"/>, or a consumer group lagging past <see cref="MaxGroupLag"/>. Redis that does not answer
/// within <see cref="Timeout"/> is reported with the registration's failure status (<see cref="HealthStatus.Unhealthy"/>
/// unless set otherwise).
/// </summary>
public sealed class RedisHealthCheckOptions
{
    /// <summary>
    /// Gets or sets how far a partition's committed position may trail the input's last entry, by the entries' ids
    /// (<see cref="PartitionMetrics.Lag"/>: input time), before the computation is reported with <see cref="LagStatus"/>.
    /// </summary>
    /// <value>The default value is 1 minute.</value>
    public TimeSpan MaxPartitionLag { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Gets or sets whether a partition without a live owner (<see cref="PartitionMetrics.LeaseLive"/> false: no worker
    /// took it, or its owner's lease ran out — a worker died or stopped and none has taken over) is reported with
    /// <see cref="LagStatus"/>. Its input waits unprocessed until a worker takes it.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool RequireLiveOwners { get; set; } = true;

    /// <summary>
    /// Gets or sets how many entries a consumer group may lag behind its stream (added and not yet delivered to it, from
    /// <c>XINFO GROUPS</c>) before it is reported with <see cref="LagStatus"/>.
    /// </summary>
    /// <value>The default value is 10,000.</value>
    public long MaxGroupLag { get; set; } = 10_000;

    /// <summary>Gets or sets the status reported for a partition without a live owner or a lag past its mark.</summary>
    /// <value>The default value is <see cref="HealthStatus.Degraded"/>: the data is still safe, only late.</value>
    public HealthStatus LagStatus { get; set; } = HealthStatus.Degraded;

    /// <summary>Gets or sets how long Redis has to answer the check's reads; past it the check reports the registration's failure status, saying so.</summary>
    /// <value>The default value is 2 seconds.</value>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets or sets the clock of <see cref="Timeout"/> and of lease expiry (<see cref="PartitionMetrics.LeaseLive"/>), as the workers' own clock.</summary>
    /// <value>The default value is <see cref="TimeProvider.System"/>.</value>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Every problem of the options, one sentence each (empty when they are valid).</summary>
    /// <returns>The problems.</returns>
    internal IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxPartitionLag < TimeSpan.Zero)
        {
            problems.Add($"MaxPartitionLag must not be negative (was {MaxPartitionLag})");
        }

        if (MaxGroupLag < 0)
        {
            problems.Add($"MaxGroupLag must not be negative (was {MaxGroupLag})");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            problems.Add($"Timeout must be positive (was {Timeout})");
        }

        if (TimeProvider is null)
        {
            problems.Add("TimeProvider is required");
        }

        return problems;
    }
}
