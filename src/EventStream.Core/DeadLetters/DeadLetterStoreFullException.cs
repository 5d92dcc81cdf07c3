namespace EventStream.DeadLetters;

/// <summary>
/// Thrown by a pipeline's ingest doors while its dead-letter store is full and configured to reject
/// (<see cref="DeadLetterFullMode.RejectIngest"/>). Replay or remove dead letters to make room.
/// </summary>
public sealed class DeadLetterStoreFullException : BackpressureException
{
    /// <summary>Creates the exception.</summary>
    public DeadLetterStoreFullException()
        : base("The dead-letter store is full; replay or remove dead letters before writing more events.")
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
