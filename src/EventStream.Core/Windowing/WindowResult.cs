namespace EventStream;

/// <summary>One firing of one window of one key.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The aggregate's result type.</typeparam>
/// <param name="Key">The key.</param>
/// <param name="Start">The window start, epoch milliseconds (inclusive).</param>
/// <param name="End">The window end, epoch milliseconds (exclusive).</param>
/// <param name="Value">The aggregate over the window's events so far.</param>
/// <param name="Count">How many events the window holds.</param>
/// <param name="Firing">What kind of firing this is.</param>
/// <param name="FiringNumber">How many times this window has fired, this firing included (1 for the first).</param>
public sealed record WindowResult<TKey, TValue>(TKey Key, long Start, long End, TValue Value, long Count, WindowFiring Firing, int FiringNumber);
