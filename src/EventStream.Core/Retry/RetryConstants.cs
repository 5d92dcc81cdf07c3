namespace EventStream.Retry;

/// <summary>The defaults of <see cref="RetryOptions"/>.</summary>
public static class RetryConstants
{
    /// <summary>The default total number of attempts, the first one included: 3.</summary>
    public const int DefaultMaxAttempts = 3;

    /// <summary>The default delay before the first retry: 100 ms.</summary>
    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromMilliseconds(100);

    /// <summary>The default cap on a single retry delay: 30 s.</summary>
    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>The default growth factor of the delay per attempt: 2.</summary>
    public const double DefaultBackoffMultiplier = 2.0;

    /// <summary>
    /// The default retry filter: retries every exception except those that say the input itself is wrong
    /// (<see cref="ArgumentException"/>, <see cref="FormatException"/>, <see cref="InvalidCastException"/>,
    /// <see cref="NotSupportedException"/>, <see cref="System.Text.Json.JsonException"/>,
    /// <see cref="StageResultNullException"/>) — retrying those repeats a failure that cannot change.
    /// </summary>
    /// <param name="exception">The failure.</param>
    /// <returns><see langword="true"/> when the failure may be transient.</returns>
    public static bool IsTransient(Exception exception) => exception is not (
        ArgumentException
        or FormatException
        or InvalidCastException
        or NotSupportedException
        or System.Text.Json.JsonException
        or StageResultNullException);
}
