namespace EventStream;

/// <summary>
/// Thrown by the non-waiting ingest door when the pipeline has more events in flight than its
/// <see cref="PipelineOptions.BackpressureThreshold"/>. The whole batch was rejected; nothing of it was admitted.
/// </summary>
public class BackpressureException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BackpressureException()
        : this("The pipeline is under backpressure; retry later.", TimeSpan.FromSeconds(1), 0, 0)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public BackpressureException(string message)
        : this(message, TimeSpan.FromSeconds(1), 0, 0)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public BackpressureException(string message, Exception innerException)
        : base(message, innerException)
    {
        RetryAfter = TimeSpan.FromSeconds(1);
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="retryAfter">When a retry is likely to be admitted.</param>
    /// <param name="pending">Events in flight when the batch was rejected.</param>
    /// <param name="rejected">Events in the rejected batch.</param>
    public BackpressureException(string message, TimeSpan retryAfter, long pending, int rejected)
        : base(message)
    {
        RetryAfter = retryAfter;
        Pending = pending;
        Rejected = rejected;
    }

    /// <summary>
    /// Gets an estimate of when the pipeline will have drained below its threshold, from the drain rate
    /// measured over the recent metrics interval. Suitable for an HTTP <c>Retry-After</c> header.
    /// </summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Gets the number of events in flight when the batch was rejected.</summary>
    public long Pending { get; }

    /// <summary>Gets the number of events in the rejected batch.</summary>
    public int Rejected { get; }
}
