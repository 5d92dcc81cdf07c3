namespace EventStream.DeadLetters;

/// <summary>What an <see cref="InMemoryDeadLetterStore"/> does when it holds <see cref="InMemoryDeadLetterStoreOptions.Capacity"/> entries.</summary>
public enum DeadLetterFullMode
{
    /// <summary>Recording waits for room: the failing stage stalls and backpressure reaches the producers.</summary>
    Wait = 0,

    /// <summary>
    /// Recording goes on past the capacity (nothing admitted is dropped), and pipelines reject new events with
    /// <see cref="DeadLetterStoreFullException"/> until the store is below capacity again.
    /// </summary>
    RejectIngest = 1,
}

/// <summary>Options of <see cref="InMemoryDeadLetterStore"/>.</summary>
public sealed class InMemoryDeadLetterStoreOptions
{
    /// <summary>Gets or sets the number of entries at which the store is full.</summary>
    /// <value>The default value is 100,000.</value>
    public int Capacity { get; set; } = 100_000;

    /// <summary>Gets or sets what happens when the store is full. Nothing is dropped in either mode.</summary>
    /// <value>The default value is <see cref="DeadLetterFullMode.RejectIngest"/>.</value>
    public DeadLetterFullMode FullMode { get; set; } = DeadLetterFullMode.RejectIngest;
}
