using EventStream.Redis.Streams;

namespace EventStream.Redis.DependencyInjection;

/// <summary>Options of <see cref="RedisEventPipelineExtensions.UseRedis{T}"/>.</summary>
public sealed class RedisPipelineOptions
{
    /// <summary>Gets or sets the first part of every key (dead-letter store and stream state).</summary>
    /// <value>The default value is <c>es</c>.</value>
    public string KeyPrefix { get; set; } = "es";

    /// <summary>
    /// Gets the options of the stream the pipeline is fed from. When <see cref="RedisStreamSourceOptions.Stream"/> is set, a
    /// hosted <see cref="RedisStreamSource{T}"/> reads it (the group defaults to the pipeline's name; its
    /// <see cref="RedisStreamSourceOptions.KeyPrefix"/> is replaced by <see cref="KeyPrefix"/>); otherwise only the
    /// dead-letter store is in Redis. A source that fails is logged and stops the host.
    /// </summary>
    public RedisStreamSourceOptions Source { get; } = new();
}
