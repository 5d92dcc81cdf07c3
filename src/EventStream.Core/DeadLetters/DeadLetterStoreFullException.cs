namespace EventStream;

/// <summary>
/// The dead-letter store is full and the pipeline rejects new events (<see cref="DeadLetterFullMode.RejectIngest"/>) until
/// dead letters are replayed, removed or discarded (<see cref="IEventPipeline{T}.DiscardDeadLettersAsync"/>). Not a kind of <see cref="BackpressureException"/>: waiting and retrying does not
/// help until an operator acts, so an HTTP door answers 503 Service Unavailable (not 429 Too Many Requests).
/// </summary>
public sealed class DeadLetterStoreFullException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public DeadLetterStoreFullException()
        : base("The dead-letter store is full; replay, remove or discard dead letters before writing more events.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public DeadLetterStoreFullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public DeadLetterStoreFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
