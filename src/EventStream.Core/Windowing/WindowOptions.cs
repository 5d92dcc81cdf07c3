namespace EventStream;

/// <summary>
/// How a window stage groups and times events. Required: <see cref="Assigner"/> and <see cref="Key"/>, and
/// <see cref="Timestamp"/> for event time.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
/// <typeparam name="TKey">The key type.</typeparam>
public sealed class WindowOptions<T, TKey>
{
    /// <summary>Gets or sets the windows: tumbling, sliding or session.</summary>
    public WindowAssigner? Assigner { get; set; }

    /// <summary>Gets or sets the key each window is kept per (for example the page URL or the site).</summary>
    public Func<T, TKey>? Key { get; set; }

    /// <summary>Gets or sets the event time, in epoch milliseconds. Required for <see cref="TimeCharacteristic.EventTime"/>.</summary>
    public Func<T, long>? Timestamp { get; set; }

    /// <summary>Gets or sets whose clock drives the windows.</summary>
    /// <value>The default value is <see cref="TimeCharacteristic.EventTime"/>.</value>
    public TimeCharacteristic Time { get; set; } = TimeCharacteristic.EventTime;

    /// <summary>Gets or sets how far out of order events may arrive: the watermark trails the largest timestamp seen by this much (plus 1 ms).</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan OutOfOrderness { get; set; }

    /// <summary>Gets or sets how long after a window fired its state is kept, so later events still update it (each update fires it again).</summary>
    /// <value>The default value is zero.</value>
    public TimeSpan AllowedLateness { get; set; }

    /// <summary>
    /// Gets or sets the interval, in processing time, at which windows that have not fired yet emit their in-progress value
    /// (only windows that changed since their last early firing). For dashboards that update every second.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: no early firings.</value>
    public TimeSpan? EarlyFiringInterval { get; set; }

    /// <summary>
    /// Gets or sets how long the stage may go without events before its watermark advances with processing time, so the
    /// windows of a source that went quiet still close instead of waiting for the next event.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the watermark moves only with events.</value>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>
    /// Gets or sets where late events (added to no window) go. They are counted as late in the metrics either way.
    /// </summary>
    /// <value>The default value is <see langword="null"/>: the dead-letter store, with reason <see cref="DeadLetterReason.Late"/>.</value>
    public Func<T, CancellationToken, ValueTask>? LateOutput { get; set; }

    /// <summary>Gets or sets the key comparer.</summary>
    /// <value>The default value is <see langword="null"/>: <see cref="EqualityComparer{T}.Default"/>.</value>
    public IEqualityComparer<TKey>? KeyComparer { get; set; }

    internal IEnumerable<string> Validate(string label)
    {
        if (Assigner is null)
        {
            yield return $"{label}: Assigner is required (WindowAssigner.Tumbling, Sliding or Session).";
        }

        if (Key is null)
        {
            yield return $"{label}: Key is required.";
        }

        if (Time == TimeCharacteristic.EventTime && Timestamp is null)
        {
            yield return $"{label}: Timestamp is required for event time (or set Time = ProcessingTime).";
        }

        if (OutOfOrderness < TimeSpan.Zero)
        {
            yield return $"{label}: OutOfOrderness must not be negative (was {OutOfOrderness}).";
        }

        if (AllowedLateness < TimeSpan.Zero)
        {
            yield return $"{label}: AllowedLateness must not be negative (was {AllowedLateness}).";
        }

        if (EarlyFiringInterval is { } early && early < TimeSpan.FromMilliseconds(1))
        {
            yield return $"{label}: EarlyFiringInterval must be at least 1 ms (was {early}).";
        }

        if (IdleTimeout is { } idle && idle < TimeSpan.FromMilliseconds(1))
        {
            yield return $"{label}: IdleTimeout must be at least 1 ms (was {idle}).";
        }
    }

    internal WindowOptions<T, TKey> Clone() => (WindowOptions<T, TKey>)MemberwiseClone();
}
