namespace EventStream;

/// <summary>
/// An event that could not be processed, with everything needed to understand and replay it.
/// </summary>
public sealed record DeadLetterEntry
{
    /// <summary>Gets the entry's unique id.</summary>
    public required string Id { get; init; }

    /// <summary>Gets the name of the pipeline the event was in.</summary>
    public required string Pipeline { get; init; }

    /// <summary>Gets the name of the stage that failed; replay re-enters the event there.</summary>
    public required string Stage { get; init; }

    /// <summary>Gets why the event was dead-lettered.</summary>
    public DeadLetterReason Reason { get; init; }

    /// <summary>Gets the full name of the last exception's type, if any.</summary>
    public string? ExceptionType { get; init; }

    /// <summary>Gets the last exception's message, if any.</summary>
    public string? Message { get; init; }

    /// <summary>Gets how many times the stage tried the event, replays included.</summary>
    public int Attempts { get; init; }

    /// <summary>Gets when the event first failed.</summary>
    public DateTimeOffset FirstFailure { get; init; }

    /// <summary>Gets when the event last failed.</summary>
    public DateTimeOffset LastFailure { get; init; }

    /// <summary>Gets how many times the entry has been replayed and failed again.</summary>
    public int Replays { get; init; }

    /// <summary>
    /// Gets the W3C <c>traceparent</c> of the span that admitted the event (a child of the request that brought it, so
    /// its trace id is the request's), or <see langword="null"/> when nothing was tracing (see <see cref="EventStreamTracing"/>).
    /// A replay's span links back to it.
    /// </summary>
    public string? TraceParent { get; init; }

    /// <summary>Gets the event as it entered the failing stage.</summary>
    public object? Event { get; init; }
}
