namespace EventStream.Redis;

/// <summary>One partition of a partitioned computation, as its last commit left it.</summary>
/// <param name="Partition">The partition number.</param>
/// <param name="Owner">The worker holding (or last holding) its lease, or <see langword="null"/>.</param>
/// <param name="Epoch">The lease epoch: raised by every takeover.</param>
/// <param name="LeaseLive">Whether the lease has not run out (by this process's clock).</param>
/// <param name="Position">The id of the last input entry its committed state includes ("0-0" before its first commit).</param>
/// <param name="Lag">How far its position trails the input's last entry, by the entries' ids (milliseconds of input time); <see langword="null"/> when the input is empty.</param>
/// <param name="Watermark">Its committed watermark, or <see langword="null"/> before any event.</param>
/// <param name="LastCommit">When it last committed, or <see langword="null"/>.</param>
/// <param name="Read">Input entries and events accounted to it: <c>Windowed + Late + DeadLettered + Filtered</c>.</param>
/// <param name="Windowed">Events its windows absorbed.</param>
/// <param name="Late">Events it found late.</param>
/// <param name="DeadLettered">Entries and events it dead-lettered.</param>
/// <param name="Results">Window results it committed.</param>
/// <param name="Filtered">Events filtered out before the window (counted by the partition the event maps to).</param>
/// <param name="Final">Whether its windows have all fired because the input is complete.</param>
public sealed record PartitionMetrics(
    int Partition,
    string? Owner,
    long Epoch,
    bool LeaseLive,
    string Position,
    TimeSpan? Lag,
    DateTimeOffset? Watermark,
    DateTimeOffset? LastCommit,
    long Read,
    long Windowed,
    long Late,
    long DeadLettered,
    long Results,
    long Filtered,
    bool Final);

/// <summary>A partitioned computation's partitions, read from Redis by any process.</summary>
/// <param name="Stream">The input stream.</param>
/// <param name="Group">The computation's name.</param>
/// <param name="Partitions">Each partition.</param>
public sealed record PartitionedMetrics(string Stream, string Group, IReadOnlyList<PartitionMetrics> Partitions)
{
    /// <summary>Gets the entries and events accounted to all partitions together.</summary>
    public long Read => Partitions.Sum(p => p.Read);

    /// <summary>Gets the events all windows absorbed.</summary>
    public long Windowed => Partitions.Sum(p => p.Windowed);

    /// <summary>Gets the late events.</summary>
    public long Late => Partitions.Sum(p => p.Late);

    /// <summary>Gets the dead letters.</summary>
    public long DeadLettered => Partitions.Sum(p => p.DeadLettered);

    /// <summary>Gets the committed results.</summary>
    public long Results => Partitions.Sum(p => p.Results);

    /// <summary>Gets the events filtered out before the window.</summary>
    public long Filtered => Partitions.Sum(p => p.Filtered);
}
