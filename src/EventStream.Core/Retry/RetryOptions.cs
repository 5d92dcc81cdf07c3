using EventStream.Retry;
namespace EventStream;

/// <summary>
/// How a stage retries an event whose handler failed. A retried event waits on a timer (from the pipeline's
/// <see cref="TimeProvider"/>) while the events behind it go on; it re-enters the failing stage only, so earlier
/// stages do not repeat their side effects. When the attempts are spent, or <see cref="ShouldRetry"/> says the
/// failure is permanent, the event goes to the dead-letter store.
/// </summary>
public sealed class RetryOptions
{
    /// <summary>Gets or sets the total number of attempts, the first one included. 1 disables retries.</summary>
    /// <value>The default value is 3.</value>
    public int MaxAttempts { get; set; } = RetryConstants.DefaultMaxAttempts;

    /// <summary>Gets or sets the delay before the first retry; later delays grow by <see cref="BackoffMultiplier"/>.</summary>
    /// <value>The default value is 100 ms.</value>
    public TimeSpan BaseDelay { get; set; } = RetryConstants.DefaultBaseDelay;

    /// <summary>Gets or sets the cap on a single delay, jitter included.</summary>
    /// <value>The default value is 30 s.</value>
    public TimeSpan MaxDelay { get; set; } = RetryConstants.DefaultMaxDelay;

    /// <summary>Gets or sets the factor by which the delay grows per attempt (exponential back-off).</summary>
    /// <value>The default value is 2.</value>
    public double BackoffMultiplier { get; set; } = RetryConstants.DefaultBackoffMultiplier;

    /// <summary>
    /// Gets or sets whether each delay is randomised, uniformly within ±25 %, so that events failing together do not retry
    /// together. A randomised delay never passes <see cref="MaxDelay"/>: a delay at the cap is spread over 75–100 % of it.
    /// </summary>
    /// <value>The default value is <see langword="true"/>.</value>
    public bool UseJitter { get; set; } = true;

    /// <summary>Gets or sets which failures are retried; the others are dead-lettered at once.</summary>
    /// <value>The default value is <see cref="IsTransient"/>.</value>
    public Func<Exception, bool> ShouldRetry { get; set; } = IsTransient;

    /// <summary>Gets options that never retry.</summary>
    public static RetryOptions None => new() { MaxAttempts = 1 };

    /// <summary>
    /// The default <see cref="ShouldRetry"/>: every failure may be transient except those that say the input itself is
    /// wrong (<see cref="ArgumentException"/>, <see cref="FormatException"/>, <see cref="InvalidCastException"/>,
    /// <see cref="NotSupportedException"/>, <see cref="System.Text.Json.JsonException"/>,
    /// <see cref="StageResultNullException"/>) — retrying those repeats a failure that cannot change. Combine it with
    /// rules of your own: <c>ShouldRetry = ex =&gt; RetryOptions.IsTransient(ex) &amp;&amp; ex is not MyPermanentException</c>.
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

    internal RetryOptions Clone() => (RetryOptions)MemberwiseClone();

    internal IEnumerable<string> Validate(string owner)
    {
        if (MaxAttempts < 1)
        {
            yield return $"{owner}: Retry.MaxAttempts must be at least 1 (was {MaxAttempts}).";
        }

        if (BaseDelay < TimeSpan.Zero)
        {
            yield return $"{owner}: Retry.BaseDelay must not be negative (was {BaseDelay}).";
        }

        if (MaxDelay < BaseDelay)
        {
            yield return $"{owner}: Retry.MaxDelay ({MaxDelay}) must not be less than Retry.BaseDelay ({BaseDelay}).";
        }

        if (!(BackoffMultiplier >= 1.0))
        {
            yield return $"{owner}: Retry.BackoffMultiplier must be at least 1 (was {BackoffMultiplier}).";
        }

        if (ShouldRetry is null)
        {
            yield return $"{owner}: Retry.ShouldRetry must not be null.";
        }
    }

    /// <summary>
    /// Whether a failed attempt is tried again: attempts are left and <see cref="ShouldRetry"/> says the failure may be
    /// transient. A filter that throws makes the failure permanent (it must not stop the worker).
    /// </summary>
    internal bool AllowsRetry(int attempt, Exception exception)
    {
        if (attempt >= MaxAttempts)
        {
            return false;
        }

        try
        {
            return ShouldRetry(exception);
        }
#pragma warning disable CA1031 // A faulty filter must not kill the worker: treat the failure as permanent.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>The delay before attempt <paramref name="nextAttempt"/> (2 for the first retry).</summary>
    internal TimeSpan GetDelay(int nextAttempt)
    {
        var exponent = Math.Max(0, nextAttempt - 2);
        var ms = BaseDelay.TotalMilliseconds * Math.Pow(BackoffMultiplier, exponent);
        var max = MaxDelay.TotalMilliseconds;
        if (UseJitter)
        {
            // Uniform within ±25 % of the back-off, cut at the cap: a capped delay is spread over [75 % of the cap, the cap],
            // so events failing together during a long outage do not retry in lock-step at exactly MaxDelay.
            var low = Math.Min(ms, max) * (1 - RetryConstants.JitterSpread);
            var high = Math.Min(ms * (1 + RetryConstants.JitterSpread), max);
            ms = low + (Random.Shared.NextDouble() * (high - low));
        }

        return TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, max));
    }
}
