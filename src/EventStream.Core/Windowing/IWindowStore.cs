namespace EventStream.Windowing;

/// <summary>
/// Window state for one window stage: assigns events to windows, keeps their aggregates, tracks the watermark, and
/// fires and purges windows exactly as the stage's semantics say (see <see cref="WindowAssigner"/>). The in-memory
/// store (<see cref="WindowStore.InMemory{T, TKey, TAccumulator, TResult}"/>) keeps it in process; a shared store (such as
/// the Redis one) keeps it where several workers see it. Called from one thread at a time.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TResult">The aggregate's result type.</typeparam>
public interface IWindowStore<in T, TKey, TResult>
    where TKey : notnull
{
    /// <summary>Gets the watermark in epoch ms: <see cref="long.MinValue"/> before the first event, <see cref="long.MaxValue"/> after completion.</summary>
    long Watermark { get; }

    /// <summary>Gets the number of windows holding state (fired or not, not yet purged).</summary>
    int OpenWindows { get; }

    /// <summary>Adds an event; appends the firings it causes to <paramref name="results"/>.</summary>
    /// <param name="key">The event's key.</param>
    /// <param name="timestamp">The event's time, epoch ms, within <see cref="WindowAssigner.MinTimestamp"/> and <see cref="WindowAssigner.MaxTimestamp"/>.</param>
    /// <param name="item">The event.</param>
    /// <param name="results">Receives the firings.</param>
    /// <returns><see langword="false"/> when the event is late: every window it belongs to is late, and it was added to none.</returns>
    bool Add(TKey key, long timestamp, T item, List<WindowResult<TKey, TResult>> results);

    /// <summary>Moves the watermark forward (never back); appends the firings it causes.</summary>
    /// <param name="watermark">The new watermark, epoch ms.</param>
    /// <param name="results">Receives the firings.</param>
    void AdvanceWatermark(long watermark, List<WindowResult<TKey, TResult>> results);

    /// <summary>Appends an early firing for every window that has not fired and changed since its last early firing.</summary>
    /// <param name="results">Receives the firings.</param>
    void FireEarly(List<WindowResult<TKey, TResult>> results);

    /// <summary>The input is complete: the watermark becomes +∞, every window not yet fired fires, and all state is purged.</summary>
    /// <param name="results">Receives the firings.</param>
    void Complete(List<WindowResult<TKey, TResult>> results);
}
