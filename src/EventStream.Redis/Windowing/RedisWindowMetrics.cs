namespace EventStream.Redis.Windowing;

/// <summary>
/// The shared counters of a stream and consumer group, readable from any process (<see cref="RedisWindowWorker{T}.GetMetricsAsync"/>).
/// Once the group has caught up (<see cref="Pending"/> and <see cref="Lag"/> are 0), every entry ever added to the stream is
/// accounted for: <c>EntriesAdded = Windowed + Late + DeadLettered</c>, and events produced by clients (replays excluded)
/// <c>= EntriesAdded − Replayed = Windowed + Late + DeadLetterCount</c>.
/// </summary>
public sealed record RedisWindowMetrics
{
    /// <summary>Gets the entries ever added to the input stream (<c>entries-added</c>; replays included).</summary>
    public long EntriesAdded { get; init; }

    /// <summary>Gets the entries the group has taken in and accounted for: <c>Windowed + Late + DeadLettered</c>.</summary>
    public long Accepted => Windowed + Late + DeadLettered;

    /// <summary>Gets the events added to a window, across all workers.</summary>
    public long Windowed { get; init; }

    /// <summary>Gets the events that reached only windows past their allowed lateness (copied to the late stream).</summary>
    public long Late { get; init; }

    /// <summary>Gets the entries ever moved to the dead-letter stream.</summary>
    public long DeadLettered { get; init; }

    /// <summary>Gets the dead letters replayed back into the input.</summary>
    public long Replayed { get; init; }

    /// <summary>Gets the entries in the dead-letter stream now.</summary>
    public long DeadLetterCount { get; init; }

    /// <summary>Gets the window results fired, across all workers.</summary>
    public long Results { get; init; }

    /// <summary>Gets the entries delivered to a worker and not yet acknowledged.</summary>
    public long Pending { get; init; }

    /// <summary>Gets the entries in the stream not yet delivered to the group.</summary>
    public long Lag { get; init; }

    /// <summary>Gets the events applied per second over the last 10 seconds (server clock), across all workers.</summary>
    public double Throughput { get; init; }

    /// <summary>Gets the shared watermark (epoch ms), <see cref="long.MaxValue"/> once the input completed, <see langword="null"/> before any event.</summary>
    public long? Watermark { get; init; }
}
