namespace EventStream;

/// <summary>What an <see cref="InMemoryDeadLetterStore"/> does when it holds <see cref="InMemoryDeadLetterStoreOptions.Capacity"/> entries or <see cref="InMemoryDeadLetterStoreOptions.CapacityBytes"/> bytes.</summary>
public enum DeadLetterFullMode
{
    /// <summary>Recording waits for room: the failing stage stalls and backpressure reaches the producers.</summary>
    Wait = 0,

    /// <summary>
    /// Recording goes on past the capacity (nothing admitted is dropped), and pipelines reject new events with
    /// <see cref="DeadLetterStoreFullException"/> until the store is below capacity again (entries replayed, removed or discarded).
    /// </summary>
    RejectIngest = 1,
}
