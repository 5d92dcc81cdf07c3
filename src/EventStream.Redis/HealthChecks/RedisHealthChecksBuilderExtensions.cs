using EventStream.Redis;
using EventStream.Redis.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds health checks of what runs on Redis: a partitioned computation (every partition owned, none lagging) and a
/// consumer group (its lag). Each reads Redis within <see cref="RedisHealthCheckOptions.Timeout"/> and reports the
/// registration's failure status, saying so, when Redis does not answer. The connection is the application's one
/// <see cref="IConnectionMultiplexer"/> for the configuration string (the one <c>UseRedis</c> registers, keyed by that
/// string), made here when there is none.
/// </summary>
public static class RedisHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a health check of a partitioned computation (<see cref="RedisPartitionedPipeline.BuildPartitioned{TIn, TOut}"/>,
    /// or <c>UseRedis</c> with <see cref="RedisPipelineOptions.Partitioned"/>), read from Redis by any process:
    /// <see cref="RedisHealthCheckOptions.LagStatus"/> (<see cref="HealthStatus.Degraded"/> unless set otherwise) while a
    /// partition has no live owner or its committed position lags more than
    /// <see cref="RedisHealthCheckOptions.MaxPartitionLag"/> behind the input; <paramref name="failureStatus"/> when Redis
    /// does not answer within <see cref="RedisHealthCheckOptions.Timeout"/>; healthy otherwise. The data carries
    /// <c>withoutLiveOwner</c> and <c>lagging</c> (partition numbers), <c>maxLag</c>, <c>owners</c>, and each partition's
    /// <see cref="PartitionMetrics"/> as <c>partition:NN</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="redisConfiguration">The StackExchange.Redis configuration string (as given to <c>UseRedis</c>).</param>
    /// <param name="computation">The computation: its <see cref="PartitionedOptions.Stream"/>, <see cref="PartitionedOptions.Group"/>, <see cref="PartitionedOptions.KeyPrefix"/> and <see cref="PartitionedOptions.Partitions"/> as its workers have them.</param>
    /// <param name="configure">Sets the check's options, or <see langword="null"/> for the defaults.</param>
    /// <param name="name">The check's name; by default <c>redis-partitioned-{group}</c>.</param>
    /// <param name="failureStatus">The status when Redis cannot be read; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter the check by.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The configuration string, the computation's options or the check's options are invalid (every problem is named).</exception>
    public static IHealthChecksBuilder AddRedisPartitionedHealthCheck(
        this IHealthChecksBuilder builder,
        string redisConfiguration,
        PartitionedOptions computation,
        Action<RedisHealthCheckOptions>? configure = null,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(computation);
        var problems = computation.Validate().Where(p => !p.StartsWith("Consumer", StringComparison.Ordinal)).ToList();
        if (problems.Count > 0)
        {
            throw new ArgumentException("AddRedisPartitionedHealthCheck: " + string.Join("; ", problems) + ".", nameof(computation));
        }

        var options = Options(configure, nameof(configure));
        RedisConnections.Register(builder.Services, redisConfiguration, "Redis health check");
        return builder.Add(new HealthCheckRegistration(
            name ?? $"redis-partitioned-{computation.Group}",
            sp => new RedisPartitionedHealthCheck(sp.GetRequiredKeyedService<IConnectionMultiplexer>(redisConfiguration), computation, options),
            failureStatus,
            tags));
    }

    /// <summary>
    /// Adds a health check of a consumer group on a Redis stream (the group a <see cref="RedisStreamSource{T}"/> reads
    /// through), from one <c>XINFO GROUPS</c>: <see cref="RedisHealthCheckOptions.LagStatus"/> while the group lags more
    /// than <see cref="RedisHealthCheckOptions.MaxGroupLag"/> entries; <paramref name="failureStatus"/> when Redis does not
    /// answer within <see cref="RedisHealthCheckOptions.Timeout"/> or the group does not exist; healthy otherwise. The data
    /// carries <c>lag</c>, <c>pending</c>, <c>consumers</c>, <c>entriesRead</c> and <c>lastDeliveredId</c>.
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="redisConfiguration">The StackExchange.Redis configuration string (as given to <c>UseRedis</c>).</param>
    /// <param name="stream">The stream.</param>
    /// <param name="group">The consumer group.</param>
    /// <param name="configure">Sets the check's options, or <see langword="null"/> for the defaults.</param>
    /// <param name="name">The check's name; by default <c>redis-stream-{stream}-{group}</c>.</param>
    /// <param name="failureStatus">The status when Redis cannot be read or the group does not exist; <see langword="null"/> for <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter the check by.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="ArgumentException">The configuration string, stream, group or options are invalid.</exception>
    public static IHealthChecksBuilder AddRedisStreamGroupHealthCheck(
        this IHealthChecksBuilder builder,
        string redisConfiguration,
        string stream,
        string group,
        Action<RedisHealthCheckOptions>? configure = null,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(stream);
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        var options = Options(configure, nameof(configure));
        RedisConnections.Register(builder.Services, redisConfiguration, "Redis health check");
        return builder.Add(new HealthCheckRegistration(
            name ?? $"redis-stream-{stream}-{group}",
            sp => new RedisStreamGroupHealthCheck(sp.GetRequiredKeyedService<IConnectionMultiplexer>(redisConfiguration), stream, group, options),
            failureStatus,
            tags));
    }

    private static RedisHealthCheckOptions Options(Action<RedisHealthCheckOptions>? configure, string parameter)
    {
        var options = new RedisHealthCheckOptions();
        configure?.Invoke(options);
        var problems = options.Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("RedisHealthCheckOptions: " + string.Join("; ", problems) + ".", parameter);
        }

        return options;
    }
}
