namespace EventStream;

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
