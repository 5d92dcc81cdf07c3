namespace EventStream.Testing;

/// <summary>
/// A pipeline's accounting does not balance: some admitted event is not accounted for exactly once as delivered,
/// filtered, dead-lettered, late or windowed (or still waiting for a retry). The message gives both sides, term by term.
/// </summary>
public sealed class PipelineAccountingException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="PipelineAccountingException"/> class.</summary>
    public PipelineAccountingException()
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PipelineAccountingException"/> class with a message.</summary>
    /// <param name="message">What does not balance.</param>
    public PipelineAccountingException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="PipelineAccountingException"/> class with a message and a cause.</summary>
    /// <param name="message">What does not balance.</param>
    /// <param name="innerException">The cause.</param>
    public PipelineAccountingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
