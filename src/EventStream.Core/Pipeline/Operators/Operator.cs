using EventStream.Retry;

namespace EventStream;

/// <summary>An operator that takes <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The event type it takes.</typeparam>
internal abstract class Operator<T> : OperatorBase
{
    /// <summary>Processes one event: a first attempt (<paramref name="state"/> null), a retry or a replay.</summary>
    public abstract ValueTask ProcessAsync(T item, RetryState? state);
}
