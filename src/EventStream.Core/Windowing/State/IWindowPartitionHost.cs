using System.Text.Json;

namespace EventStream.Windowing.State;

/// <summary>
/// The host of a window stage that runs partitioned (the Redis backend's partitioned worker). The stage maps each
/// event's key to a partition (<see cref="PartitionOf"/> of the key codec's bytes), keeps one engine per partition
/// the host lets in, and hands what it produces to the host instead of passing it on: results and late events, as
/// JSON, for the partition's next commit. Events of partitions the host does not let in still move event time (every
/// worker reads the whole input, so every worker's watermark is the one a single process would have) and count as
/// <see cref="Metrics.PipelineCount.OtherPartitions"/>.
/// </summary>
internal interface IWindowPartitionHost
{
    /// <summary>Gets the number of partitions of the computation.</summary>
    int Partitions { get; }

    /// <summary>Gets the JSON options results and late events are written with.</summary>
    JsonSerializerOptions Json { get; }

    /// <summary>The partition of a key, from its codec's bytes.</summary>
    int PartitionOf(ReadOnlySpan<byte> key);

    /// <summary>Whether the stage adds the events of <paramref name="partition"/> now (owned, and caught up to the current read position).</summary>
    bool Accepts(int partition);

    /// <summary>Called once, when the stage is built: the handle the host drives the stage's partitions with.</summary>
    void Attach(IPartitionedWindow window);

    /// <summary>An event was added to a window of <paramref name="partition"/> (for the partition's own counts).</summary>
    void OnWindowed(int partition);

    /// <summary>
    /// An event a stage before the window filtered out (or a fan-out expanded to nothing): every worker meets it, and
    /// the owner of the partition the event itself maps to counts it, so the partitions' counts add up to the input.
    /// </summary>
    void OnFiltered(object? item);

    /// <summary>A result fired in <paramref name="partition"/>, as JSON (key, start, end, value, count, firing, firingNumber).</summary>
    void OnResult(int partition, string json);

    /// <summary>An event added to no window of <paramref name="partition"/>, as JSON, with the reason.</summary>
    void OnLate(int partition, string eventJson, long timestamp, string reason);
}

/// <summary>
/// A partitioned window stage, as its host drives it. <see cref="InvokeAsync"/> runs an action in the stage's loop,
/// between events and ticks; every other member except <see cref="BeginRestore"/> must be called from such an action.
/// </summary>
internal interface IPartitionedWindow
{
    /// <summary>Gets a description of the window, aggregate and types, to check that every worker runs the same computation.</summary>
    IReadOnlyDictionary<string, string> Definition { get; }

    /// <summary>
    /// The partition of an event of this stage (by its key), or <see langword="null"/> when its key cannot be read: a
    /// failure of the aggregate happens only on the owner, so its dead letter belongs to the key's partition.
    /// </summary>
    int? PartitionOfEvent(object? item);

    /// <summary>Gets the stage's name.</summary>
    string StageName { get; }

    /// <summary>Gets or sets the largest event time the stage has seen, across all partitions (the watermark's source).</summary>
    long StreamMaxTimestamp { get; set; }

    /// <summary>Runs <paramref name="action"/> in the stage's loop and completes when it has run (or faults with its exception).</summary>
    Task InvokeAsync(Action action, CancellationToken cancellationToken);

    /// <summary>Starts restoring a partition into a new engine, on any thread; hand it over with <see cref="Adopt"/>.</summary>
    IRestoringPartition BeginRestore(WindowClock clock);

    /// <summary>Makes <paramref name="restored"/> the engine of <paramref name="partition"/>.</summary>
    void Adopt(int partition, IRestoringPartition restored);

    /// <summary>
    /// Brings the partition's engine to the stage's watermark (its firings go to the host first) and writes the state
    /// changed since the last export; returns the engine clock the state is at. A partition never seen exports nothing.
    /// </summary>
    WindowClock Export(int partition, IWindowStateWriter writer);

    /// <summary>Fires every window of the partition not fired yet (the watermark becomes +∞) and purges its state; the firings go to the host.</summary>
    void FireAll(int partition);

    /// <summary>Forgets the partition (it moved to another owner).</summary>
    void Drop(int partition);
}

/// <summary>A partition's engine being restored, before the stage adopts it.</summary>
internal interface IRestoringPartition
{
    /// <summary>Restores one state entry.</summary>
    void RestoreEntry(ReadOnlySpan<byte> field, ReadOnlySpan<byte> value);
}
