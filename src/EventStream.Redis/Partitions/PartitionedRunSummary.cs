namespace EventStream.Redis;

/// <summary>What one worker of a partitioned computation did, in the commits it made (what it did after its last commit is not counted).</summary>
/// <param name="EntriesRead">Input entries read (every worker reads the whole input).</param>
/// <param name="Windowed">Events its partitions' windows absorbed.</param>
/// <param name="Late">Events its partitions found late.</param>
/// <param name="DeadLettered">Entries and events its partitions dead-lettered.</param>
/// <param name="Results">Window results its partitions committed.</param>
/// <param name="Commits">Partition commits applied.</param>
/// <param name="PartitionsLost">Partitions taken by another worker's newer lease (their work since the last commit was dropped).</param>
/// <param name="Outages">Times the worker found Redis away (connection lost, timeout, loading its data) and waited.</param>
public sealed record PartitionedRunSummary(long EntriesRead, long Windowed, long Late, long DeadLettered, long Results, long Commits, long PartitionsLost, long Outages);
