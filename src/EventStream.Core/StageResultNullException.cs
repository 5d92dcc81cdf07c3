namespace EventStream;

/// <summary>
/// Recorded (never thrown to the producer) when a stage handler returns <see langword="null"/> and the stage does not
/// allow null results (<see cref="StageOptions.AllowNullResult"/>). The event is dead-lettered; it is not retried,
/// since the same input would give the same result.
/// </summary>
public sealed class StageResultNullException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StageResultNullException()
        : base("The stage handler returned null.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StageResultNullException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public StageResultNullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
