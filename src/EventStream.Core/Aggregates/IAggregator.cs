namespace EventStream;

/// <summary>
/// An aggregate over the events of a window: an accumulator is created empty, events are added to it, accumulators
/// are merged (session windows merge when a gap closes; sliding windows merge their shared slices) and a result is read.
/// </summary>
/// <typeparam name="T">The event type.</typeparam>
/// <typeparam name="TAccumulator">The accumulator: a value (copied) or a mutable object (changed in place and returned).</typeparam>
/// <typeparam name="TResult">The result type.</typeparam>
public interface IAggregator<in T, TAccumulator, out TResult>
{
    /// <summary>Creates an empty accumulator.</summary>
    /// <returns>The accumulator.</returns>
    TAccumulator Create();

    /// <summary>Adds an event. May change <paramref name="accumulator"/> in place and return it.</summary>
    /// <param name="accumulator">The accumulator.</param>
    /// <param name="item">The event.</param>
    /// <returns>The updated accumulator.</returns>
    TAccumulator Add(TAccumulator accumulator, T item);

    /// <summary>Merges <paramref name="right"/> into <paramref name="left"/>. May change <paramref name="left"/>; must not change <paramref name="right"/>.</summary>
    /// <param name="left">The accumulator merged into.</param>
    /// <param name="right">The accumulator merged from.</param>
    /// <returns>The merged accumulator.</returns>
    TAccumulator Merge(TAccumulator left, TAccumulator right);

    /// <summary>Reads the result. Must not change the accumulator: a window that fires early goes on accumulating.</summary>
    /// <param name="accumulator">The accumulator.</param>
    /// <returns>The result.</returns>
    TResult GetResult(TAccumulator accumulator);
}
