namespace EventStream.Redis.Windowing;

/// <summary>What one <see cref="RedisWindowWorker{T}.RunAsync"/> did.</summary>
/// <param name="Consumer">The worker's consumer name.</param>
/// <param name="Windowed">Events this worker added to windows.</param>
/// <param name="Late">Events this worker found late.</param>
/// <param name="DeadLettered">Entries this worker moved to the dead-letter stream.</param>
/// <param name="Duplicates">Entries this worker held that were already applied (another worker claimed and applied them first).</param>
/// <param name="Results">Window results this worker fired.</param>
/// <param name="Claimed">Entries claimed from other (dead or slow) consumers.</param>
/// <param name="Failed">Transient failures left pending for another delivery.</param>
/// <param name="Reconnects">Times the worker backed off because Redis was unreachable.</param>
public sealed record RedisWindowWorkerSummary(string Consumer, long Windowed, long Late, long DeadLettered, long Duplicates, long Results, long Claimed, long Failed, long Reconnects);
