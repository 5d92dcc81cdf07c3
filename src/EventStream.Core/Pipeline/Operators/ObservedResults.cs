using EventStream.Retry;

namespace EventStream;

/// <summary>
/// Sits between a window stage and the operator after it when the pipeline has an <see cref="IPipelineObserver"/>: tells
/// it of each result, then passes the result on unchanged. Retries and replays of later stages re-enter those stages'
/// own operators, so each result is seen once.
/// </summary>
/// <typeparam name="T">The result type.</typeparam>
internal sealed class ObservedResults<T> : Operator<T>
    where T : notnull
{
    private readonly IPipelineObserver _observer;
    private readonly string _stage;
    private readonly Operator<T> _next;

    public ObservedResults(IPipelineObserver observer, string stage, Operator<T> next)
    {
        _observer = observer;
        _stage = stage;
        _next = next;
    }

    public override ValueTask ProcessAsync(T item, RetryState? state)
    {
        _observer.WindowResult(_stage, item);
        return _next.ProcessAsync(item, state);
    }

    public override ValueTask FlushAsync() => _next.FlushAsync();

    public override ValueTask CompleteAsync() => _next.CompleteAsync();
}
