using EventStream.Windowing.State;

namespace EventStream.Redis.Partitions;

/// <summary>What a partition has accounted for, in entries of the input stream and in results.</summary>
/// <param name="Read">Entries read into the partition.</param>
/// <param name="Windowed">Events absorbed by a window.</param>
/// <param name="Late">Events in no window still open.</param>
/// <param name="DeadLettered">Entries dead-lettered.</param>
/// <param name="Filtered">Events filtered before the window.</param>
/// <param name="Results">Window results committed.</param>
internal readonly record struct PartitionCounts(long Read, long Windowed, long Late, long DeadLettered, long Filtered, long Results);

/// <summary>A partition's committed cursor: its lease, the input position its state includes, its engine clock and counts.</summary>
/// <param name="Epoch">The lease epoch (raised by every acquisition).</param>
/// <param name="Owner">The lease holder, or <see langword="null"/>.</param>
/// <param name="LeaseUntil">When the lease runs out (epoch ms, the holder's clock); 0 when released.</param>
/// <param name="Position">The id of the last input entry the state includes ("0-0" before the first commit).</param>
/// <param name="Clock">The window engine's clock at that position.</param>
/// <param name="StreamMaxTimestamp">The largest event time of the input up to that position, across all partitions.</param>
/// <param name="Counts">The partition's counts up to that position.</param>
/// <param name="CommittedAt">When the last commit was made (epoch ms), or 0.</param>
/// <param name="Sequence">The last commit's sequence number, or 0.</param>
/// <param name="Delivered">The id of the last result the stages after the window took ("0-0" for none).</param>
/// <param name="Final">Whether the partition's windows have all fired because the input is complete.</param>
internal sealed record PartitionCursor(long Epoch, string? Owner, long LeaseUntil, string Position, WindowClock Clock, long StreamMaxTimestamp, PartitionCounts Counts, long CommittedAt, long Sequence = 0, string Delivered = PartitionCursor.Start, bool Final = false)
{
    /// <summary>The position before the first entry of a stream.</summary>
    public const string Start = "0-0";
}
