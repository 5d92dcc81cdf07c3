namespace EventStream;

/// <summary>
/// One of the most frequent items of a window, as <see cref="Aggregates.TopK{T, TItem}(int, Func{T, TItem}, int?)"/>
/// reports it: the item's true count (or total weight) lies between <c>Count - Error</c> and <see cref="Count"/>.
/// While the window held no more distinct items than the summary's capacity, <see cref="Error"/> is 0 and the count exact.
/// </summary>
/// <typeparam name="TItem">The item type.</typeparam>
/// <param name="Item">The item.</param>
/// <param name="Count">The item's count: never below its true count, at most <paramref name="Error"/> above it.</param>
/// <param name="Error">How far <paramref name="Count"/> may be above the true count (0: exact).</param>
public readonly record struct TopKItem<TItem>(TItem Item, long Count, long Error);
