namespace EventStream.Retry;

/// <summary>The defaults of <see cref="RetryOptions"/>, documented there.</summary>
internal static class RetryConstants
{
    public const int DefaultMaxAttempts = 3;

    public const double DefaultBackoffMultiplier = 2.0;

    /// <summary>The share of a delay by which jitter moves it, either way: ±25 %.</summary>
    public const double JitterSpread = 0.25;

    public static readonly TimeSpan DefaultBaseDelay = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan DefaultMaxDelay = TimeSpan.FromSeconds(30);
}
