namespace EventStream;

/// <summary>Why an event was dead-lettered.</summary>
public enum DeadLetterReason
{
    /// <summary>The stage handler failed (threw, timed out or returned null) and its retries were spent or the failure was permanent.</summary>
    Failed = 0,

    /// <summary>The pipeline was cancelled (disposed) while the event was in flight.</summary>
    Canceled = 1,

    /// <summary>The event arrived after its windows had closed.</summary>
    Late = 2,
}
