namespace EventStream.Windowing;

/// <summary>Creates window stores.</summary>
public static class WindowStore
{
    /// <summary>Creates an in-memory window store.</summary>
    /// <typeparam name="T">The event type.</typeparam>
    /// <typeparam name="TKey">The key type.</typeparam>
    /// <typeparam name="TAccumulator">The aggregate's accumulator type.</typeparam>
    /// <typeparam name="TResult">The aggregate's result type.</typeparam>
    /// <param name="assigner">The windows.</param>
    /// <param name="aggregate">The aggregate.</param>
    /// <param name="outOfOrderness">How far the watermark trails the largest timestamp (plus 1 ms).</param>
    /// <param name="allowedLateness">How long fired windows keep their state for late updates.</param>
    /// <param name="keyComparer">The key comparer, or <see langword="null"/> for the default.</param>
    /// <returns>The store.</returns>
    public static IWindowStore<T, TKey, TResult> InMemory<T, TKey, TAccumulator, TResult>(
        WindowAssigner assigner,
        Aggregates.IAggregator<T, TAccumulator, TResult> aggregate,
        TimeSpan outOfOrderness,
        TimeSpan allowedLateness,
        IEqualityComparer<TKey>? keyComparer = null)
        where TKey : notnull
    {
        ArgumentNullException.ThrowIfNull(assigner);
        ArgumentNullException.ThrowIfNull(aggregate);
        ArgumentOutOfRangeException.ThrowIfLessThan(outOfOrderness, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(allowedLateness, TimeSpan.Zero);
        return new WindowEngine<T, TKey, TAccumulator, TResult>(assigner, aggregate, (long)outOfOrderness.TotalMilliseconds, (long)allowedLateness.TotalMilliseconds, keyComparer);
    }
}
