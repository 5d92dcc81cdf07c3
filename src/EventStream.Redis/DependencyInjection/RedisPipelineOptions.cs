
namespace EventStream.Redis;

/// <summary>Options of <see cref="Microsoft.Extensions.DependencyInjection.RedisEventPipelineExtensions.UseRedis{T}"/>.</summary>
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

    /// <summary>
    /// Gets or sets the options of partitioned execution, or <see langword="null"/> (the default) to run the pipeline in
    /// this process. When set, the registration's <c>Build()</c> makes one worker of a computation partitioned over the
    /// stream <see cref="PartitionedOptions.Stream"/> (see <see cref="RedisPartitionedWorker{T}"/>):
    /// the same pipeline on every instance of the application, each window firing committed exactly once, the stages
    /// after the window fed with committed results; a host stop commits and hands over without firing anything. The
    /// group defaults to the pipeline's name; <see cref="PartitionedOptions.KeyPrefix"/> is replaced by
    /// <see cref="KeyPrefix"/>. It cannot be combined with <see cref="Source"/>.
    /// </summary>
    public PartitionedOptions? Partitioned { get; set; }
}
