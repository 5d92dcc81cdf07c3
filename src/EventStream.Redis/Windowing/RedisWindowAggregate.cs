namespace EventStream.Redis.Windowing;

/// <summary>The aggregate a <see cref="RedisWindowWorker{T}"/> computes per window, kept in Redis.</summary>
public enum RedisWindowAggregate
{
    /// <summary>The number of events (<c>HINCRBY</c>).</summary>
    Count = 0,

    /// <summary>The sum of <see cref="RedisWindowOptions{T}.Value"/> (<c>HINCRBYFLOAT</c>, long-double precision).</summary>
    Sum = 1,

    /// <summary>The mean of <see cref="RedisWindowOptions{T}.Value"/>.</summary>
    Average = 2,

    /// <summary>The smallest <see cref="RedisWindowOptions{T}.Value"/>.</summary>
    Min = 3,

    /// <summary>The largest <see cref="RedisWindowOptions{T}.Value"/>.</summary>
    Max = 4,

    /// <summary>The number of distinct <see cref="RedisWindowOptions{T}.DistinctValue"/>s, with Redis's HyperLogLog (<c>PFADD</c>/<c>PFCOUNT</c>, standard error 0.81 %).</summary>
    DistinctCount = 5,
}
