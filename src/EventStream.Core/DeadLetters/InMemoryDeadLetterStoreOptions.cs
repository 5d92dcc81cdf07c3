namespace EventStream;

/// <summary>Options of <see cref="InMemoryDeadLetterStore"/>.</summary>
public sealed class InMemoryDeadLetterStoreOptions
{
    /// <summary>Gets or sets the number of entries at which the store is full.</summary>
    /// <value>The default value is 100,000.</value>
    public int Capacity { get; set; } = 100_000;

    /// <summary>
    /// Gets or sets the approximate bytes at which the store is full, whatever the number of entries: what an entry counts
    /// is described at <see cref="InMemoryDeadLetterStore.Bytes"/>. The store is full when it holds <see cref="Capacity"/>
    /// entries or this many bytes, whichever comes first; an empty store always takes one entry, however large.
    /// </summary>
    /// <value>The default value is 64 MiB (67,108,864 bytes).</value>
    public long CapacityBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Gets or sets what happens when the store is full. Nothing is dropped in either mode.</summary>
    /// <value>The default value is <see cref="DeadLetterFullMode.RejectIngest"/>.</value>
    public DeadLetterFullMode FullMode { get; set; } = DeadLetterFullMode.RejectIngest;
}
